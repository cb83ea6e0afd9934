// Diagonal Gaussian pieces of the VAE: the closed-form KL to the prior, the
// reparameterisation, log-densities and a stable log-sum-exp. All float64.
//
// Conventions: J = latent_dim. mean/logvar are [batch, J] row-major. Noise and
// latent samples are item-major, [batch][samples][J], i.e. row r = b*samples + s.

import type { Numbers } from "./activations";

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * KL(N(mean, exp(logvar)) || N(0, I)) per item.
 * mean, logvar: [batch, J]. Returns [batch].
 */
export function kl(mean: Numbers, logvar: Numbers, batch: number, J: number): Float64Array {
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    let acc = 0;
    for (let j = 0; j < J; j++) {
      const m = mean[b * J + j];
      const lv = logvar[b * J + j];
      acc += m * m + Math.exp(lv) - 1 - lv;
    }
    out[b] = 0.5 * acc;
  }
  return out;
}

/**
 * z = mean + exp(logvar/2) * eps, one z per (item, sample).
 * mean, logvar: [batch, J]; eps: [batch, samples, J]. Returns z: [batch, samples, J].
 */
export function reparameterise(
  mean: Numbers,
  logvar: Numbers,
  eps: Numbers,
  batch: number,
  samples: number,
  J: number,
): Float64Array {
  if (eps.length !== batch * samples * J) {
    throw new Error(`reparameterise: eps has ${eps.length} values, expected batch*samples*J = ${batch}*${samples}*${J}`);
  }
  const z = new Float64Array(batch * samples * J);
  for (let b = 0; b < batch; b++) {
    for (let s = 0; s < samples; s++) {
      for (let j = 0; j < J; j++) {
        const r = (b * samples + s) * J + j;
        z[r] = mean[b * J + j] + Math.exp(logvar[b * J + j] / 2) * eps[r];
      }
    }
  }
  return z;
}

/**
 * log N(z; 0, I) per row, normalising constant included.
 * z: [rows, J]. Returns [rows].
 */
export function logStdNormal(z: Numbers, rows: number, J: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    for (let j = 0; j < J; j++) {
      const v = z[r * J + j];
      acc += v * v;
    }
    out[r] = -0.5 * acc - 0.5 * J * LOG_2PI;
  }
  return out;
}

/**
 * log N(z; mean, diag(exp(logvar))) per row, normalising constant included.
 * z: [rows, J]. mean, logvar: [rows/repeat, J]: row r of z is scored under
 * row floor(r/repeat) of mean/logvar, so that the `samples` rows of one item
 * (item-major layout) share that item's posterior. repeat = 1 pairs rows 1:1.
 * Returns [rows].
 */
export function logDiagNormal(
  z: Numbers,
  mean: Numbers,
  logvar: Numbers,
  rows: number,
  J: number,
  repeat = 1,
): Float64Array {
  if (rows % repeat !== 0 || mean.length !== (rows / repeat) * J || logvar.length !== mean.length) {
    throw new Error(`logDiagNormal: mean/logvar must hold (rows/repeat)*J = (${rows}/${repeat})*${J} values`);
  }
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const p = Math.floor(r / repeat);
    let acc = 0;
    for (let j = 0; j < J; j++) {
      const d = z[r * J + j] - mean[p * J + j];
      const lv = logvar[p * J + j];
      acc += LOG_2PI + lv + d * d * Math.exp(-lv);
    }
    out[r] = -0.5 * acc;
  }
  return out;
}

/**
 * log(sum_i exp(values_i)), shifted by the maximum so nothing overflows.
 * Empty input or all -Infinity gives -Infinity; any +Infinity gives +Infinity; NaN propagates.
 */
export function logSumExp(values: Numbers): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) return NaN;
    if (values[i] > max) max = values[i];
  }
  // Shifting by an infinite max would produce inf - inf = NaN.
  if (max === -Infinity || max === Infinity) return max;
  let acc = 0;
  for (let i = 0; i < values.length; i++) acc += Math.exp(values[i] - max);
  return max + Math.log(acc);
}
