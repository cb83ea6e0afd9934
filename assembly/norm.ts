// Normalisation layers on NHWC activations: per-channel affine (inference batch_norm, folded
// to scale and shift by the SDK), group_norm and layer_norm.
//
// Statistics are accumulated in f64 in two passes (the mean, then the sum of squared
// deviations from it), so they match a float64 reference to ~1e-7 relative however many
// values a group holds. The normalisation itself runs in f32 as
// ((x - mean_hi) - mean_lo) * (gamma * rstd) + beta, where mean_hi + mean_lo is the f64 mean
// to ~48 bits, so a large mean does not cost precision either.

import { madd } from "./simd";

// dst[p*c + j] = src[p*c + j] * scale[j] + shift[j], p < pixels (items*H*W pixels of an NHWC
// tensor, or items of a vector with c features). In place allowed.
export function f32_channel_affine(src: usize, pixels: i32, c: i32, scale: usize, shift: usize,
                                   dst: usize): void {
  if (c == 1) { // one channel: every value shares one scale and shift
    const s = f32x4.splat(load<f32>(scale)), t = f32x4.splat(load<f32>(shift));
    let i = 0;
    for (; i + 4 <= pixels; i += 4) {
      const o = <usize>i << 2;
      v128.store(dst + o, madd(v128.load(src + o), s, t));
    }
    for (; i < pixels; i++) {
      const o = <usize>i << 2;
      store<f32>(dst + o, load<f32>(src + o) * load<f32>(scale) + load<f32>(shift));
    }
    return;
  }
  const pixBytes = <usize>c << 2;
  const c4 = c & ~3;
  for (let p = 0; p < pixels; p++) {
    const s = src + <usize>p * pixBytes, d = dst + <usize>p * pixBytes;
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      v128.store(d + o, madd(v128.load(s + o), v128.load(scale + o), v128.load(shift + o)));
    }
    for (; j < c; j++) {
      const o = <usize>j << 2;
      store<f32>(d + o, load<f32>(s + o) * load<f32>(scale + o) + load<f32>(shift + o));
    }
  }
}

// Sum (f64) of n f32 values at stride `stride` bytes between runs of `run` values:
// `runs` runs of `run` consecutive f32, the first at p.
function sumRuns(p: usize, runs: i32, run: i32, stride: usize): f64 {
  let acc0 = f64x2.splat(0), acc1 = f64x2.splat(0);
  let s: f64 = 0;
  const r4 = run & ~3;
  for (let r = 0; r < runs; r++) {
    const q = p + <usize>r * stride;
    let j = 0;
    for (; j < r4; j += 4) {
      const v = v128.load(q + (<usize>j << 2));
      acc0 = f64x2.add(acc0, f64x2.promote_low_f32x4(v));
      acc1 = f64x2.add(acc1, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)));
    }
    for (; j < run; j++) s += <f64>load<f32>(q + (<usize>j << 2));
  }
  const t = f64x2.add(acc0, acc1);
  return s + (f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1));
}

// Sum (f64) of (x - mean)^2 over the same values as sumRuns.
function sumSquaredDeviations(p: usize, runs: i32, run: i32, stride: usize, mean: f64): f64 {
  let acc0 = f64x2.splat(0), acc1 = f64x2.splat(0);
  const m = f64x2.splat(mean);
  let s: f64 = 0;
  const r4 = run & ~3;
  for (let r = 0; r < runs; r++) {
    const q = p + <usize>r * stride;
    let j = 0;
    for (; j < r4; j += 4) {
      const v = v128.load(q + (<usize>j << 2));
      const d0 = f64x2.sub(f64x2.promote_low_f32x4(v), m);
      const d1 = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)), m);
      acc0 = f64x2.add(acc0, f64x2.mul(d0, d0));
      acc1 = f64x2.add(acc1, f64x2.mul(d1, d1));
    }
    for (; j < run; j++) {
      const d = <f64>load<f32>(q + (<usize>j << 2)) - mean;
      s += d * d;
    }
  }
  const t = f64x2.add(acc0, acc1);
  return s + (f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1));
}

// d[j] = ((s[j] - mhi) - mlo) * gamma[j] * rstd + beta[j] over `runs` runs of `run` values
// (src and dst runs `stride` bytes apart; gamma and beta indexed by the position in a run).
function normaliseRuns(s: usize, d: usize, runs: i32, run: i32, stride: usize, mean: f64,
                       rstd: f64, gamma: usize, beta: usize): void {
  const mhi = <f32>mean, mlo = <f32>(mean - <f64>mhi), r = <f32>rstd;
  const vhi = f32x4.splat(mhi), vlo = f32x4.splat(mlo), vr = f32x4.splat(r);
  const r4 = run & ~3;
  for (let k = 0; k < runs; k++) {
    const sq = s + <usize>k * stride, dq = d + <usize>k * stride;
    let j = 0;
    for (; j < r4; j += 4) {
      const o = <usize>j << 2;
      const c = f32x4.sub(f32x4.sub(v128.load(sq + o), vhi), vlo);
      v128.store(dq + o, madd(c, f32x4.mul(v128.load(gamma + o), vr), v128.load(beta + o)));
    }
    for (; j < run; j++) {
      const o = <usize>j << 2;
      const c = (load<f32>(sq + o) - mhi) - mlo;
      store<f32>(dq + o, c * (load<f32>(gamma + o) * r) + load<f32>(beta + o));
    }
  }
}

// Per item of src items x (pixels, c) NHWC: the c channels in `groups` groups of c/groups
// consecutive channels; each group is normalised by the mean and biased variance of its
// channels over all pixels, then y = (x - mean)/sqrt(var + eps) * gamma[ch] + beta[ch]
// (PyTorch nn.GroupNorm). gamma, beta (c). In place allowed.
export function f32_group_norm_nhwc(src: usize, items: i32, pixels: i32, c: i32, groups: i32,
                                    eps: f32, gamma: usize, beta: usize, dst: usize): void {
  const cg = c / groups;
  const pixBytes = <usize>c << 2;
  const itemBytes = <usize>pixels * pixBytes;
  const count = <f64>pixels * <f64>cg;
  for (let b = 0; b < items; b++) {
    for (let g = 0; g < groups; g++) {
      const go = <usize>(g * cg) << 2;
      const s = src + <usize>b * itemBytes + go, d = dst + <usize>b * itemBytes + go;
      const mean = sumRuns(s, pixels, cg, pixBytes) / count;
      const variance = sumSquaredDeviations(s, pixels, cg, pixBytes, mean) / count;
      const rstd = 1.0 / Math.sqrt(variance + <f64>eps);
      normaliseRuns(s, d, pixels, cg, pixBytes, mean, rstd, gamma + go, beta + go);
    }
  }
}

// Per item of src items x (n): y = (x - mean)/sqrt(var + eps) * gamma + beta over the item's n
// values (PyTorch nn.LayerNorm(n), biased variance). gamma, beta (n). In place allowed.
export function f32_layer_norm(src: usize, items: i32, n: i32, eps: f32, gamma: usize,
                               beta: usize, dst: usize): void {
  const itemBytes = <usize>n << 2;
  for (let b = 0; b < items; b++) {
    const s = src + <usize>b * itemBytes, d = dst + <usize>b * itemBytes;
    const mean = sumRuns(s, 1, n, itemBytes) / <f64>n;
    const variance = sumSquaredDeviations(s, 1, n, itemBytes, mean) / <f64>n;
    const rstd = 1.0 / Math.sqrt(variance + <f64>eps);
    normaliseRuns(s, d, 1, n, itemBytes, mean, rstd, gamma, beta);
  }
}
