// The Adam optimiser (Kingma & Ba 2015), in the form PyTorch's torch.optim.Adam computes:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps),   bc1 = 1 - b1^t, bc2 = 1 - b2^t
// The trainer keeps every parameter in one contiguous buffer, so one call updates a model.

import { madd, loadPartial, storePartial, hsum } from "../simd";

// p, g, m, v (n) f32; p, m, v updated in place. bc1, bc2: bias corrections for this step.
export function f32_adam_step(p: usize, g: usize, m: usize, v: usize, n: i32, lr: f32, b1: f32, b2: f32,
                              eps: f32, bc1: f32, bc2: f32): void {
  const vb1 = f32x4.splat(b1), vb1c = f32x4.splat(1 - b1);
  const vb2 = f32x4.splat(b2), vb2c = f32x4.splat(1 - b2);
  const step = f32x4.splat(<f32>(<f64>lr / <f64>bc1));
  const invSqrtBc2 = f32x4.splat(<f32>(1.0 / Math.sqrt(<f64>bc2)));
  const ve = f32x4.splat(eps);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2, left = n - i;
    const gi = loadPartial(g + o, left);
    const mi = madd(vb1, loadPartial(m + o, left), f32x4.mul(vb1c, gi));
    const vi = madd(vb2, loadPartial(v + o, left), f32x4.mul(vb2c, f32x4.mul(gi, gi)));
    const denom = madd(f32x4.sqrt(vi), invSqrtBc2, ve);
    const pi = f32x4.sub(loadPartial(p + o, left), f32x4.div(f32x4.mul(step, mi), denom));
    storePartial(m + o, mi, left);
    storePartial(v + o, vi, left);
    storePartial(p + o, pi, left);
  }
}

// sum of squares of p (n), accumulated in f64 per block of 4 (for gradient-norm clipping).
export function f32_sum_squares(p: usize, n: i32): f64 {
  let total: f64 = 0;
  for (let i = 0; i < n; i += 4) {
    const x = loadPartial(p + (<usize>i << 2), n - i);
    total += hsum(f32x4.mul(x, x));
  }
  return total;
}

// p (n) *= s
export function f32_scale(p: usize, n: i32, s: f32): void {
  const vs = f32x4.splat(s);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2, left = n - i;
    storePartial(p + o, f32x4.mul(loadPartial(p + o, left), vs), left);
  }
}
