// The Gaussian parts of a VAE: reparameterised sampling, the analytic KL, the importance
// weights' Gaussian terms and a streaming log-sum-exp.
//
// Layout: the encoder writes one row per item, h (items, 2J) = [mean (J) | logvar (J)].
// Samples are item-major: row (b*S + s) of z and eps belongs to item b, sample s.

import { madd, loadPartial, storePartial, hsum } from "./simd";
import { vexp } from "./vmath";

// h (items, 2J); eps (items*S, J); z (items*S, J): z = mean + exp(logvar / 2) * eps.
export function f32_reparameterise(h: usize, items: i32, samples: i32, j: i32,
                                   eps: usize, z: usize): void {
  const hRow = <usize>(2 * j) << 2;
  const zRow = <usize>j << 2;
  for (let b = 0; b < items; b++) {
    const mean = h + <usize>b * hRow;
    const logvar = mean + zRow;
    for (let s = 0; s < samples; s++) {
      const row = <usize>(b * samples + s) * zRow;
      for (let i = 0; i < j; i += 4) {
        const o = <usize>i << 2, n = j - i;
        const std = vexp(f32x4.mul(loadPartial(logvar + o, n), f32x4.splat(0.5)));
        storePartial(z + row + o, madd(std, loadPartial(eps + row + o, n), loadPartial(mean + o, n)), n);
      }
    }
  }
}

// h (items, 2J) -> out (items): KL(N(mean, exp(logvar)) || N(0, I))
//   = 0.5 * sum_j (mean^2 + exp(logvar) - 1 - logvar).
export function f32_kl_std_normal(h: usize, items: i32, j: i32, out: usize): void {
  const hRow = <usize>(2 * j) << 2;
  for (let b = 0; b < items; b++) {
    const mean = h + <usize>b * hRow;
    const logvar = mean + (<usize>j << 2);
    let acc = f32x4.splat(0);
    for (let i = 0; i < j; i += 4) {
      const o = <usize>i << 2, n = j - i;
      const m = loadPartial(mean + o, n), lv = loadPartial(logvar + o, n);
      // padding lanes: m = 0, lv = 0, exp(0) - 1 - 0 = 0, so they add nothing
      acc = f32x4.add(acc, f32x4.sub(madd(m, m, vexp(lv)), f32x4.add(lv, f32x4.splat(1))));
    }
    store<f32>(out + (<usize>b << 2), <f32>(0.5 * hsum(acc)));
  }
}

// h (items, 2J); z, eps (items*S, J); w (items*S), in place:
//   w[r] += log N(z_r; 0, I) - log q(z_r | x_b) = -0.5 sum z^2 + 0.5 sum (logvar + eps^2).
// (z - mean)^2 / exp(logvar) is eps^2 by construction, and the 2 pi terms cancel.
export function f32_add_log_prior_minus_log_q(h: usize, items: i32, samples: i32, j: i32,
                                              z: usize, eps: usize, w: usize): void {
  const hRow = <usize>(2 * j) << 2;
  const zRow = <usize>j << 2;
  for (let b = 0; b < items; b++) {
    const logvar = h + <usize>b * hRow + zRow;
    let lvSum = f32x4.splat(0);
    for (let i = 0; i < j; i += 4) lvSum = f32x4.add(lvSum, loadPartial(logvar + (<usize>i << 2), j - i));
    const sumLogvar = hsum(lvSum);
    for (let s = 0; s < samples; s++) {
      const r = b * samples + s;
      const row = <usize>r * zRow;
      let acc = f32x4.splat(0);
      for (let i = 0; i < j; i += 4) {
        const o = <usize>i << 2, n = j - i;
        const zz = loadPartial(z + row + o, n), e = loadPartial(eps + row + o, n);
        acc = f32x4.add(acc, f32x4.sub(f32x4.mul(e, e), f32x4.mul(zz, zz)));
      }
      const q = w + (<usize>r << 2);
      store<f32>(q, <f32>(<f64>load<f32>(q) + 0.5 * (hsum(acc) + sumLogvar)));
    }
  }
}

// Streaming log-sum-exp over the samples of each item, so any number of samples can be
// processed in blocks. State per item, f64: runMax (items), runSum (items) with
// sum_k exp(w_k - runMax); start from runMax = -inf, runSum = 0.
// w (items, S) f32.
export function f64_logsumexp_update(w: usize, items: i32, samples: i32,
                                     runMax: usize, runSum: usize): void {
  for (let b = 0; b < items; b++) {
    const row = w + (<usize>(b * samples) << 2);
    let m: f64 = load<f64>(runMax + (<usize>b << 3));
    let blockMax: f64 = -Infinity;
    for (let s = 0; s < samples; s++) blockMax = max(blockMax, <f64>load<f32>(row + (<usize>s << 2)));
    let sum: f64 = load<f64>(runSum + (<usize>b << 3));
    if (blockMax > m) {
      sum = m == -Infinity ? 0 : sum * Math.exp(m - blockMax);
      m = blockMax;
    }
    if (m != -Infinity) {
      for (let s = 0; s < samples; s++) sum += Math.exp(<f64>load<f32>(row + (<usize>s << 2)) - m);
    }
    store<f64>(runMax + (<usize>b << 3), m);
    store<f64>(runSum + (<usize>b << 3), sum);
  }
}

// out (items) = runMax + ln(runSum) - ln(count): the mean of exp(w) in log space.
export function f64_logsumexp_finish(runMax: usize, runSum: usize, items: i32, count: f64,
                                     out: usize): void {
  const logCount = Math.log(count);
  for (let b = 0; b < items; b++) {
    const m = load<f64>(runMax + (<usize>b << 3));
    const v = m == -Infinity ? m : m + Math.log(load<f64>(runSum + (<usize>b << 3))) - logCount;
    store<f32>(out + (<usize>b << 2), <f32>v);
  }
}

// Per-item sums over samples, f64: acc (items) += sum_s w[b*S + s]; w (items, S) f32.
export function f64_sum_samples(w: usize, items: i32, samples: i32, acc: usize): void {
  for (let b = 0; b < items; b++) {
    let s0: f64 = 0;
    const row = w + (<usize>(b * samples) << 2);
    for (let s = 0; s < samples; s++) s0 += <f64>load<f32>(row + (<usize>s << 2));
    store<f64>(acc + (<usize>b << 3), load<f64>(acc + (<usize>b << 3)) + s0);
  }
}

// ELBO parts per item: recon = acc / S, elbo = recon - beta * kl.
// acc (items) f64; kl (items) f32 -> recon, elbo (items) f32.
export function f32_elbo_finish(acc: usize, items: i32, samples: i32, kl: usize, beta: f32,
                                recon: usize, elbo: usize): void {
  for (let b = 0; b < items; b++) {
    const r = load<f64>(acc + (<usize>b << 3)) / <f64>samples;
    store<f32>(recon + (<usize>b << 2), <f32>r);
    store<f32>(elbo + (<usize>b << 2), <f32>(r - <f64>beta * <f64>load<f32>(kl + (<usize>b << 2))));
  }
}

// f64 fill: p (n) = value. Used to reset the streaming states.
export function f64_fill(p: usize, n: i32, value: f64): void {
  for (let i = 0; i < n; i++) store<f64>(p + (<usize>i << 3), value);
}

// Rows on the line between two latents: za, zb (J); z (count, J) holds points
// first .. first + count - 1 of `total` evenly spaced points from za to zb (both ends included;
// za alone when total == 1): z[t] = za + (zb - za) * (first + t) / (total - 1).
export function f32_lerp_rows(za: usize, zb: usize, j: i32, first: i32, count: i32, total: i32,
                              z: usize): void {
  for (let t = 0; t < count; t++) {
    const f: f32 = total > 1 ? <f32>(<f64>(first + t) / <f64>(total - 1)) : 0;
    for (let i = 0; i < j; i++) {
      const a = load<f32>(za + (<usize>i << 2)), b = load<f32>(zb + (<usize>i << 2));
      store<f32>(z + (<usize>(t * j + i) << 2), a + (b - a) * f);
    }
  }
}

// src (rows, 2 * half) -> first (rows, half) = left halves, second (rows, half) = right halves.
// Splits the encoder's [mean | logvar] rows, and gaussian_learned's decoder rows.
export function f32_split_halves(src: usize, rows: i32, half: i32, first: usize, second: usize): void {
  const h = <usize>half << 2;
  for (let r = 0; r < rows; r++) {
    memory.copy(first + <usize>r * h, src + <usize>(2 * r) * h, h);
    memory.copy(second + <usize>r * h, src + <usize>(2 * r + 1) * h, h);
  }
}
