// Weight conversion at load time.

// src (n) IEEE 754 binary16 bits (u16, little-endian) -> dst (n) f32. Exact for every
// value: subnormals, infinities and NaN included. src and dst may not overlap.
export function f16_to_f32(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const h = <u32>load<u16>(src + (<usize>i << 1));
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    let mant = h & 0x3ff;
    let bits: u32;
    if (exp == 0x1f) {
      bits = sign | 0x7f800000 | (mant << 13);          // inf / NaN
    } else if (exp != 0) {
      bits = sign | ((exp + 112) << 23) | (mant << 13);  // normal: rebias 15 -> 127
    } else if (mant == 0) {
      bits = sign;                                       // signed zero
    } else {
      // subnormal: normalise the mantissa
      let e: u32 = 113;
      while ((mant & 0x400) == 0) { mant <<= 1; e--; }
      bits = sign | (e << 23) | ((mant & 0x3ff) << 13);
    }
    store<u32>(dst + (<usize>i << 2), bits);
  }
}

// Counts the values in p (n) f32 that are NaN or +-Infinity. The loader refuses such
// weights and the SDK such inputs, so this runs on every input: four lanes at a time
// (a value is finite when its exponent bits are not all ones).
export function f32_count_nonfinite(p: usize, n: i32): i32 {
  const expMask = i32x4.splat(0x7f800000);
  let bad = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const e = v128.and(v128.load(p + (<usize>i << 2)), expMask);
    bad = i32x4.sub(bad, i32x4.eq(e, expMask)); // eq gives -1 per non-finite lane
  }
  let count = i32x4.extract_lane(bad, 0) + i32x4.extract_lane(bad, 1) +
              i32x4.extract_lane(bad, 2) + i32x4.extract_lane(bad, 3);
  for (; i < n; i++) {
    if ((load<u32>(p + (<usize>i << 2)) & 0x7f800000) == 0x7f800000) count++;
  }
  return count;
}

// Counts the NaN values in p (n) f32 (NaN is the one value unequal to itself). Every result is
// checked before it leaves wasm memory: with finite inputs and weights, NaN means the model's
// f32 arithmetic overflowed, and the SDK refuses to return it.
export function f32_count_nan(p: usize, n: i32): i32 {
  let bad = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(p + (<usize>i << 2));
    bad = i32x4.sub(bad, f32x4.ne(v, v));
  }
  let count = i32x4.extract_lane(bad, 0) + i32x4.extract_lane(bad, 1) +
              i32x4.extract_lane(bad, 2) + i32x4.extract_lane(bad, 3);
  for (; i < n; i++) {
    const v = load<f32>(p + (<usize>i << 2));
    if (v != v) count++;
  }
  return count;
}
