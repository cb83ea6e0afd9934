// The decoder's likelihood p(x|z) from FORMAT.md, per row, in float64.
//
// D = the number of values in one item. The decoder emits P parameters per row:
// bernoulli: D logits; gaussian: D means; gaussian_learned: 2*D = [mean (D) | logvar (D)].

import { sigmoid, softplus, type Numbers } from "./activations";

export type Likelihood =
  | { type: "bernoulli" }
  | { type: "gaussian"; sigma: number }
  | { type: "gaussian_learned" };

const LOG_2PI = Math.log(2 * Math.PI);

/** P, the number of decoder outputs per row for this likelihood. */
export function likelihoodParamCount(lik: Likelihood, D: number): number {
  return lik.type === "gaussian_learned" ? 2 * D : D;
}

/**
 * log p(x | params) per row, summed over the item's D values, constants included.
 * x: [rows/repeat, D]; params: [rows, P]. Row r of params is scored against item
 * floor(r/repeat) of x, so S samples per item (item-major) share their x.
 * Returns [rows].
 */
export function logLikelihood(
  lik: Likelihood,
  x: Numbers,
  params: Numbers,
  rows: number,
  D: number,
  repeat = 1,
): Float64Array {
  const P = likelihoodParamCount(lik, D);
  if (params.length !== rows * P) {
    throw new Error(`logLikelihood: params has ${params.length} values, expected rows*P = ${rows}*${P}`);
  }
  if (rows % repeat !== 0 || x.length !== (rows / repeat) * D) {
    throw new Error(`logLikelihood: x has ${x.length} values, expected (rows/repeat)*D = (${rows}/${repeat})*${D}`);
  }
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const xr = Math.floor(r / repeat) * D;
    const pr = r * P;
    let acc = 0;
    for (let i = 0; i < D; i++) {
      const xi = x[xr + i];
      switch (lik.type) {
        case "bernoulli": {
          // log sigmoid(l)^x (1-sigmoid(l))^(1-x) = x*l - softplus(l), stable for any l.
          const l = params[pr + i];
          acc += xi * l - softplus(l);
          break;
        }
        case "gaussian": {
          const d = (xi - params[pr + i]) / lik.sigma;
          acc += -0.5 * LOG_2PI - Math.log(lik.sigma) - 0.5 * d * d;
          break;
        }
        case "gaussian_learned": {
          const d = xi - params[pr + i];
          const lv = params[pr + D + i];
          acc += -0.5 * (LOG_2PI + lv + d * d * Math.exp(-lv));
          break;
        }
        default:
          throw new Error(`logLikelihood: unknown likelihood ${JSON.stringify((lik as { type: unknown }).type)}`);
      }
    }
    out[r] = acc;
  }
  return out;
}

/**
 * E[x | params] per row: sigmoid(logits) / the means / the mean half.
 * params: [rows, P]. Returns [rows, D].
 */
export function likelihoodMean(lik: Likelihood, params: Numbers, rows: number, D: number): Float64Array {
  const P = likelihoodParamCount(lik, D);
  if (params.length !== rows * P) {
    throw new Error(`likelihoodMean: params has ${params.length} values, expected rows*P = ${rows}*${P}`);
  }
  const out = new Float64Array(rows * D);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < D; i++) {
      const v = params[r * P + i];
      out[r * D + i] = lik.type === "bernoulli" ? sigmoid(v) : v;
    }
  }
  return out;
}
