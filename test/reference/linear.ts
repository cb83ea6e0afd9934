// A fully connected layer in float64: y = x W^T + b (PyTorch nn.Linear layout).

import type { Numbers } from "./activations";

/**
 * x: [batch, inFeatures] row-major; weight: [outFeatures, inFeatures] row-major;
 * bias: [outFeatures] or null. Returns y: [batch, outFeatures] as Float64Array.
 *
 * Plain left-to-right float64 accumulation: with float32 weights and inputs the
 * float64 rounding error is far below anything the float32 kernels can reach.
 */
export function linear(
  x: Numbers,
  batch: number,
  inFeatures: number,
  weight: Numbers,
  bias: Numbers | null,
  outFeatures: number,
): Float64Array {
  if (x.length !== batch * inFeatures) {
    throw new Error(`linear: x has ${x.length} values, expected batch*in = ${batch}*${inFeatures}`);
  }
  if (weight.length !== outFeatures * inFeatures) {
    throw new Error(`linear: weight has ${weight.length} values, expected out*in = ${outFeatures}*${inFeatures}`);
  }
  if (bias !== null && bias.length !== outFeatures) {
    throw new Error(`linear: bias has ${bias.length} values, expected out = ${outFeatures}`);
  }
  const y = new Float64Array(batch * outFeatures);
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < outFeatures; o++) {
      let acc = bias === null ? 0 : bias[o];
      for (let i = 0; i < inFeatures; i++) {
        acc += x[b * inFeatures + i] * weight[o * inFeatures + i];
      }
      y[b * outFeatures + o] = acc;
    }
  }
  return y;
}
