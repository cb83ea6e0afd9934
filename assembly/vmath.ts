// Vectorised f32x4 transcendental functions, written from basic SIMD ops so that every
// runtime computes the same bits (no host Math, no imports).
//
// Accuracy, measured by test/kernels.test.ts against float64: exp about 1 ulp; log about
// 1 ulp; the others a few ulp relative, except where stated.

import { madd } from "./simd";

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;       // ln 2 split in two so n * LN2_HI is exact (Cody-Waite)
const LN2_LO: f32 = -2.12194440e-4;
const EXP_MAX: f32 = 88.0;             // keeps 2^n inside the f32 exponent range (n <= 127)
const EXP_MIN: f32 = -87.33654475;     // ln(2^-126): results below are flushed to 2^-126

// e^x, lane-wise. Range reduction x = n ln2 + r, |r| <= ln2/2, then the Cephes expf
// polynomial, then 2^n built in the exponent bits. Saturates outside [EXP_MIN, EXP_MAX].
export function vexp(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(EXP_MIN)), f32x4.splat(EXP_MAX));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  let r = madd(n, f32x4.splat(-LN2_HI), x);
  r = madd(n, f32x4.splat(-LN2_LO), r);
  let p = f32x4.splat(1.9875691500e-4);
  p = madd(p, r, f32x4.splat(1.3981999507e-3));
  p = madd(p, r, f32x4.splat(8.3334519073e-3));
  p = madd(p, r, f32x4.splat(4.1665795894e-2));
  p = madd(p, r, f32x4.splat(1.6666665459e-1));
  p = madd(p, r, f32x4.splat(5.0000001201e-1));
  p = madd(p, f32x4.mul(r, r), f32x4.add(r, f32x4.splat(1)));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

// e^x - 1, accurate near 0 (where exp(x) - 1 cancels): a degree-7 Taylor polynomial for
// |x| < 0.5 (truncation error below 2e-8 relative), exp(x) - 1 elsewhere.
export function vexpm1(x: v128): v128 {
  let p = f32x4.splat(1.0 / 5040.0);
  p = madd(p, x, f32x4.splat(1.0 / 720.0));
  p = madd(p, x, f32x4.splat(1.0 / 120.0));
  p = madd(p, x, f32x4.splat(1.0 / 24.0));
  p = madd(p, x, f32x4.splat(1.0 / 6.0));
  p = madd(p, x, f32x4.splat(0.5));
  p = madd(p, f32x4.mul(x, x), x);
  const big = f32x4.sub(vexp(x), f32x4.splat(1));
  return v128.bitselect(p, big, f32x4.lt(f32x4.abs(x), f32x4.splat(0.5)));
}

// ln x for x > 0 (the only use here): Cephes logf. x = m 2^e with m in [sqrt(1/2), sqrt 2).
export function vlog(x: v128): v128 {
  const bits = x;
  let e = i32x4.sub(i32x4.shr_u(bits, 23), i32x4.splat(126));          // exponent for m in [0.5, 1)
  let m = v128.or(v128.and(bits, i32x4.splat(0x007fffff)), i32x4.splat(0x3f000000));
  const small = f32x4.lt(m, f32x4.splat(0.707106781186547524));
  e = i32x4.sub(e, v128.and(small, i32x4.splat(1)));
  // m < sqrt(1/2): use 2m - 1, else m - 1
  const f = f32x4.sub(f32x4.add(m, v128.and(small, m)), f32x4.splat(1));
  const ef = f32x4.convert_i32x4_s(e);
  const z = f32x4.mul(f, f);
  let y = f32x4.splat(7.0376836292e-2);
  y = madd(y, f, f32x4.splat(-1.1514610310e-1));
  y = madd(y, f, f32x4.splat(1.1676998740e-1));
  y = madd(y, f, f32x4.splat(-1.2420140846e-1));
  y = madd(y, f, f32x4.splat(1.4249322787e-1));
  y = madd(y, f, f32x4.splat(-1.6668057665e-1));
  y = madd(y, f, f32x4.splat(2.0000714765e-1));
  y = madd(y, f, f32x4.splat(-2.4999993993e-1));
  y = madd(y, f, f32x4.splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, f), z);
  y = madd(ef, f32x4.splat(LN2_LO), y);
  y = madd(z, f32x4.splat(-0.5), y);
  return madd(ef, f32x4.splat(LN2_HI), f32x4.add(f, y));
}

// ln(1 + t) for t in [0, 1], accurate for tiny t: with u = fl(1 + t), ln(u) * t / (u - 1)
// corrects the rounding of 1 + t (Goldberg's trick); u == 1 means ln(1 + t) = t to f32.
export function vlog1pUnit(t: v128): v128 {
  const u = f32x4.add(t, f32x4.splat(1));
  const d = f32x4.sub(u, f32x4.splat(1));
  const corrected = f32x4.div(f32x4.mul(vlog(u), t), d);
  return v128.bitselect(t, corrected, f32x4.eq(d, f32x4.splat(0)));
}

// softplus(x) = ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), without overflow.
export function vsoftplus(x: v128): v128 {
  const t = vexp(f32x4.neg(f32x4.abs(x)));
  return f32x4.add(f32x4.max(x, f32x4.splat(0)), vlog1pUnit(t));
}

// 1 / (1 + e^-x)
export function vsigmoid(x: v128): v128 {
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), vexp(f32x4.neg(x))));
}

// tanh: the Cephes tanhf polynomial for |x| < 0.625 (where 1 - e^-2|x| would cancel),
// else sign(x) (1 - e) / (1 + e) with e = e^-2|x|.
export function vtanh(x: v128): v128 {
  const a = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = madd(p, z, f32x4.splat(2.06390887954e-2));
  p = madd(p, z, f32x4.splat(-5.37397155531e-2));
  p = madd(p, z, f32x4.splat(1.33314422036e-1));
  p = madd(p, z, f32x4.splat(-3.33332819422e-1));
  const near0 = madd(f32x4.mul(p, z), x, x);
  const e = vexp(f32x4.mul(a, f32x4.splat(-2)));
  const far = f32x4.div(f32x4.sub(f32x4.splat(1), e), f32x4.add(f32x4.splat(1), e));
  const signed = v128.or(far, v128.and(x, i32x4.splat(0x80000000)));
  return v128.bitselect(near0, signed, f32x4.lt(a, f32x4.splat(0.625)));
}

// erfc(x), from the Chebyshev fit in Numerical Recipes (erfcc): fractional error below
// 1.2e-7 for x >= 0, so small tails keep their relative accuracy; erfc(-x) = 2 - erfc(x).
export function verfc(x: v128): v128 {
  const a = f32x4.abs(x);
  const t = f32x4.div(f32x4.splat(1), madd(a, f32x4.splat(0.5), f32x4.splat(1)));
  let p = f32x4.splat(0.17087277);
  p = madd(p, t, f32x4.splat(-0.82215223));
  p = madd(p, t, f32x4.splat(1.48851587));
  p = madd(p, t, f32x4.splat(-1.13520398));
  p = madd(p, t, f32x4.splat(0.27886807));
  p = madd(p, t, f32x4.splat(-0.18628806));
  p = madd(p, t, f32x4.splat(0.09678418));
  p = madd(p, t, f32x4.splat(0.37409196));
  p = madd(p, t, f32x4.splat(1.00002368));
  p = madd(p, t, f32x4.splat(-1.26551223));
  const r = f32x4.mul(t, vexp(f32x4.sub(p, f32x4.mul(a, a))));
  return v128.bitselect(f32x4.sub(f32x4.splat(2), r), r, f32x4.lt(x, f32x4.splat(0)));
}
