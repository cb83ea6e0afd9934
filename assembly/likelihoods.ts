// log p(x | z) for the three likelihoods of FORMAT.md, summed over an item's D values.
//
// Layout: x (items, D) holds the data; params (items*S, P) holds the decoder output, row
// b*S + s for item b, sample s (P = D, or 2D = [mean | logvar] for gaussian_learned);
// out (items*S) f32 receives log p(x_b | z_{b,s}) in nats, every constant included.

import { madd, loadPartial, laneMask, hsum } from "./simd";
import { vexp, vsoftplus } from "./vmath";

const HALF_LOG_2PI: f64 = 0.91893853320467274178;

// Bernoulli from logits l: sum_i x_i l_i - softplus(l_i) (x may be any value in [0, 1]).
// Two vectors (8 values) per step with two accumulators: softplus is a long dependent chain
// (exp, log, divide), so two independent chains keep the pipes busy; then 4-wide, then the tail.
export function f32_bernoulli_logprob(x: usize, params: usize, items: i32, samples: i32,
                                      d: i32, out: usize): void {
  const row = <usize>d << 2;
  for (let b = 0; b < items; b++) {
    const xb = x + <usize>b * row;
    for (let s = 0; s < samples; s++) {
      const r = b * samples + s;
      const l = params + <usize>r * row;
      let acc = f32x4.splat(0), acc2 = f32x4.splat(0);
      let i = 0;
      for (; i + 8 <= d; i += 8) {
        const o = <usize>i << 2;
        const l0 = v128.load(l + o), l1 = v128.load(l + o, 16);
        acc = f32x4.add(acc, f32x4.sub(f32x4.mul(v128.load(xb + o), l0), vsoftplus(l0)));
        acc2 = f32x4.add(acc2, f32x4.sub(f32x4.mul(v128.load(xb + o, 16), l1), vsoftplus(l1)));
      }
      for (; i < d; i += 4) {
        const o = <usize>i << 2, n = d - i;
        const li = loadPartial(l + o, n);
        // padding lanes hold l = 0, where softplus(0) = ln 2: mask them out
        const term = f32x4.sub(f32x4.mul(loadPartial(xb + o, n), li), vsoftplus(li));
        acc = f32x4.add(acc, v128.and(term, laneMask(n)));
      }
      store<f32>(out + (<usize>r << 2), <f32>(hsum(acc) + hsum(acc2)));
    }
  }
}

// Gaussian with a fixed standard deviation sigma, means m = params:
//   sum_i -0.5 ((x_i - m_i) / sigma)^2 - ln sigma - 0.5 ln 2 pi.
export function f32_gaussian_logprob(x: usize, params: usize, items: i32, samples: i32,
                                     d: i32, sigma: f32, out: usize): void {
  const row = <usize>d << 2;
  const constant = -<f64>d * (Math.log(<f64>sigma) + HALF_LOG_2PI);
  const invVar = 1.0 / (<f64>sigma * <f64>sigma);
  for (let b = 0; b < items; b++) {
    const xb = x + <usize>b * row;
    for (let s = 0; s < samples; s++) {
      const r = b * samples + s;
      const m = params + <usize>r * row;
      let acc = f32x4.splat(0);
      for (let i = 0; i < d; i += 4) {
        const o = <usize>i << 2, n = d - i;
        const diff = f32x4.sub(loadPartial(xb + o, n), loadPartial(m + o, n));
        acc = madd(diff, diff, acc);
      }
      store<f32>(out + (<usize>r << 2), <f32>(constant - 0.5 * invVar * hsum(acc)));
    }
  }
}

// Gaussian with a learned variance, params row = [mean (D) | logvar (D)]:
//   sum_i -0.5 (logvar_i + (x_i - m_i)^2 exp(-logvar_i) + ln 2 pi). No clamp on logvar.
export function f32_gaussian_learned_logprob(x: usize, params: usize, items: i32, samples: i32,
                                             d: i32, out: usize): void {
  const row = <usize>d << 2;
  for (let b = 0; b < items; b++) {
    const xb = x + <usize>b * row;
    for (let s = 0; s < samples; s++) {
      const r = b * samples + s;
      const m = params + <usize>(2 * r) * row;
      const lv = m + row;
      let acc = f32x4.splat(0);
      for (let i = 0; i < d; i += 4) {
        const o = <usize>i << 2, n = d - i;
        const diff = f32x4.sub(loadPartial(xb + o, n), loadPartial(m + o, n));
        const logvar = loadPartial(lv + o, n);
        // padding lanes: diff = 0 and logvar = 0 add 0
        acc = f32x4.add(acc, madd(f32x4.mul(diff, diff), vexp(f32x4.neg(logvar)), logvar));
      }
      store<f32>(out + (<usize>r << 2), <f32>(-0.5 * hsum(acc) - <f64>d * HALF_LOG_2PI));
    }
  }
}
