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

// Counts the values in p (n) f32 that are NaN or +-Infinity (the loader refuses them).
export function f32_count_nonfinite(p: usize, n: i32): i32 {
  let count = 0;
  for (let i = 0; i < n; i++) {
    const bits = load<u32>(p + (<usize>i << 2));
    if ((bits & 0x7f800000) == 0x7f800000) count++;
  }
  return count;
}
