// Small SIMD helpers shared by every kernel file.
//
// Two builds come from this one source: the baseline SIMD build, and a relaxed-SIMD build
// (`--enable relaxed-simd`) in which multiply-add may fuse. ASC_FEATURE_RELAXED_SIMD is a
// compile-time constant, so the branch below costs nothing at run time.

// a * b + c, on four f32 lanes.
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// Loads n (1..4) f32 values from p into the low lanes; the other lanes are 0.
// Used for the tails of rows whose width is not a multiple of 4, so that one vector
// routine serves every width without reading past the end of a buffer.
// @ts-ignore: decorator
@inline export function loadPartial(p: usize, n: i32): v128 {
  if (n >= 4) return v128.load(p);
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

// Stores the low n (1..4) lanes of v at p.
// @ts-ignore: decorator
@inline export function storePartial(p: usize, v: v128, n: i32): void {
  if (n >= 4) { v128.store(p, v); return; }
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

// A mask that keeps the low n (0..4) lanes: used to sum a partial vector without
// counting the padding lanes (which are not always 0 after a transform, e.g. exp(0) = 1).
// @ts-ignore: decorator
@inline export function laneMask(n: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(n));
}

// Sum of the four lanes, in f64 so that long reductions lose less.
// @ts-ignore: decorator
@inline export function hsum(v: v128): f64 {
  return (<f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1)) +
         (<f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3));
}
