// The project's counter-based RNG (Philox4x32-10, as assembly/rng.ts) in plain JS, for the
// trainer's shuffles, data splits and synthetic data: output block n of a key depends only on
// (key, n), so a seed gives the same data and the same order on every runtime.

const M0 = 0xd2511f53, M1 = 0xcd9e8d57, W0 = 0x9e3779b9, W1 = 0xbb67ae85;

/** The 64-bit product of two u32 as [hi, lo]. */
function mulhilo(a: number, b: number): [number, number] {
  const lo = Math.imul(a, b) >>> 0;
  const aL = a & 0xffff, aH = a >>> 16, bL = b & 0xffff, bH = b >>> 16;
  const ll = aL * bL, lh = aL * bH, hl = aH * bL, hh = aH * bH;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  const hi = (hh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) >>> 0;
  return [hi, lo];
}

/** One Philox4x32-10 block (the wasm philox4x32_10), outputs written to out[0..3]. */
export function philox(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number,
                       out: Uint32Array = new Uint32Array(4)): Uint32Array {
  c0 >>>= 0; c1 >>>= 0; c2 >>>= 0; c3 >>>= 0; k0 >>>= 0; k1 >>>= 0;
  for (let round = 0; round < 10; round++) {
    const [hi0, lo0] = mulhilo(M0, c0);
    const [hi1, lo1] = mulhilo(M1, c2);
    const n0 = (hi1 ^ c1 ^ k0) >>> 0, n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    k0 = (k0 + W0) >>> 0; k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
  return out;
}

/** Named streams of one seed: key = [seed, stream]. */
export const STREAM = { init: 1, noise: 2, shuffle: 3, evalNoise: 4, data: 5, split: 6 } as const;

/** Sequential u32 / uniform / normal numbers from Philox blocks 0, 1, 2, ... of a key. */
export class PhiloxStream {
  private block = 0;
  private lane = 4;
  private readonly buf = new Uint32Array(4);
  constructor(private readonly seed: number, private readonly stream: number) {}

  u32(): number {
    if (this.lane === 4) {
      philox(this.block % 2 ** 32, Math.floor(this.block / 2 ** 32), 0, 0, this.seed, this.stream, this.buf);
      this.block++;
      this.lane = 0;
    }
    return this.buf[this.lane++]!;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    return ((this.u32() >>> 5) * 67108864 + (this.u32() >>> 6)) / 9007199254740992;
  }

  /** An integer uniform in [0, n) (n <= 2^32), without modulo bias (rejection). */
  below(n: number): number {
    const limit = Math.floor(2 ** 32 / n) * n;
    for (;;) {
      const v = this.u32();
      if (v < limit) return v % n;
    }
  }

  /** A standard normal (Box-Muller on two uniforms; u1 in (0, 1]). */
  normal(): number {
    const u1 = 1 - this.uniform(), u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Fisher-Yates shuffle of `a` in place. */
  shuffle(a: Uint32Array): Uint32Array {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = a[i]!; a[i] = a[j]!; a[j] = t;
    }
    return a;
  }
}
