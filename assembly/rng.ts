// Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11, as in Random123) and a
// Box-Muller transform. Normal number i of a seed depends only on (seed, i), so a seed gives
// the same bits on every runtime, for any batch size or chunking, in every call.
//
// Exact definition (test/reference/rng.ts is the oracle):
//   key = [seed mod 2^32, floor(seed / 2^32)]; block n uses counter [n lo, n hi, 0, 0];
//   normal i = lane (i mod 4) of block floor(i / 4). From outputs x0..x3, pairs (x0, x1) and
//   (x2, x3): u1 = ((xa >> 8) + 1) 2^-24 in (0, 1], u2 = (xb >> 8) 2^-24 in [0, 1),
//   r = sqrt(-2 ln u1), t = 2 pi u2; lanes are r cos t, r sin t of the first pair, then of
//   the second; computed in f64 (the AssemblyScript std's own Math, no host calls) and
//   rounded to f32.

const M0: u64 = 0xD2511F53;
const M1: u64 = 0xCD9E8D57;
const W0: u32 = 0x9E3779B9;
const W1: u32 = 0xBB67AE85;
const TWO_PI: f64 = 6.283185307179586;
const INV_2_24: f64 = 1.0 / 16777216.0;

// One Philox4x32-10 block, written to out (4 u32).
export function philox4x32_10(c0: u32, c1: u32, c2: u32, c3: u32, k0: u32, k1: u32, out: usize): void {
  for (let round = 0; round < 10; round++) {
    const p0 = M0 * <u64>c0;
    const p1 = M1 * <u64>c2;
    const n0 = <u32>(p1 >> 32) ^ c1 ^ k0;
    const n1 = <u32>p1;
    const n2 = <u32>(p0 >> 32) ^ c3 ^ k1;
    const n3 = <u32>p0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += W0; k1 += W1;
  }
  store<u32>(out, c0); store<u32>(out, c1, 4); store<u32>(out, c2, 8); store<u32>(out, c3, 12);
}

// dst (count) f32 = normal numbers start .. start + count - 1 of the seed (seedLo, seedHi).
// `start` is an f64 holding an integer < 2^53 (no i64 crosses the JS boundary).
// scratch: 16 bytes for one block.
export function rng_normal_fill(dst: usize, count: i32, seedLo: u32, seedHi: u32,
                                start: f64, scratch: usize): void {
  let index = <u64>start;
  let i = 0;
  while (i < count) {
    const block = index >> 2;
    philox4x32_10(<u32>block, <u32>(block >> 32), 0, 0, seedLo, seedHi, scratch);
    let lane = <i32>(index & 3);
    // each pair gives two lanes; compute the pair of the current lane
    while (lane < 4 && i < count) {
      const pair = lane >> 1;
      const xa = load<u32>(scratch + (<usize>pair << 3));
      const xb = load<u32>(scratch + (<usize>pair << 3) + 4);
      const u1 = (<f64>((xa >> 8) + 1)) * INV_2_24;
      const u2 = (<f64>(xb >> 8)) * INV_2_24;
      const r = Math.sqrt(-2.0 * Math.log(u1));
      const t = TWO_PI * u2;
      if ((lane & 1) == 0) {
        store<f32>(dst + (<usize>i << 2), <f32>(r * Math.cos(t)));
        i++; lane++; index++;
        if (i >= count) break;
      }
      store<f32>(dst + (<usize>i << 2), <f32>(r * Math.sin(t)));
      i++; lane++; index++;
    }
  }
}
