// The project's counter-based RNG: Philox4x32-10 (Salmon, Moraes, Dror, Shaw,
// "Parallel random numbers: as easy as 1, 2, 3", SC 2011; the Random123 library)
// feeding Box-Muller. Normal number i of a seed is a pure function of (seed, i),
// so any slice can be produced independently and in any order. The wasm build
// implements exactly this; this file is the test oracle for it.

export type U32x4 = [number, number, number, number];
export type U32x2 = [number, number];

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9; // golden ratio
const PHILOX_W1 = 0xbb67ae85; // sqrt(3) - 1
const PHILOX_ROUNDS = 10;

const TWO_POW_32 = 2 ** 32;
const TWO_POW_MINUS_24 = 2 ** -24;

// BigInt keeps the 32x32 -> 64-bit product exact and obviously so; the reference
// values clarity over speed (a double cannot hold the 64-bit product).
const SHIFT_32 = BigInt(32);
const MASK_32 = BigInt(0xffffffff);

/** The full 64-bit product of two u32 values as [hi, lo] (u32 each). */
function mulhilo(a: number, b: number): U32x2 {
  const p = BigInt(a) * BigInt(b);
  return [Number(p >> SHIFT_32), Number(p & MASK_32)];
}

/**
 * One Philox4x32-10 block: 4 u32 counter words and 2 u32 key words -> 4 u32 outputs.
 * Inputs are taken modulo 2^32, outputs are in [0, 2^32).
 */
export function philox4x32(counter: U32x4, key: U32x2): U32x4 {
  let c0 = counter[0] >>> 0, c1 = counter[1] >>> 0, c2 = counter[2] >>> 0, c3 = counter[3] >>> 0;
  let k0 = key[0] >>> 0, k1 = key[1] >>> 0;
  for (let round = 0; round < PHILOX_ROUNDS; round++) {
    if (round > 0) {
      // The key schedule is a Weyl sequence, bumped between rounds (not before the first).
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const [hi0, lo0] = mulhilo(PHILOX_M0, c0);
    const [hi1, lo1] = mulhilo(PHILOX_M1, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  return [c0, c1, c2, c3];
}

/**
 * Box-Muller on two u32 values -> [r cos t, r sin t] in float64.
 * u1 = ((xa >>> 8) + 1) * 2^-24 lies in (0, 1], so log(u1) is finite;
 * u2 = (xb >>> 8) * 2^-24 lies in [0, 1). Both are exact 24-bit fractions.
 */
function boxMuller(xa: number, xb: number): [number, number] {
  const u1 = ((xa >>> 8) + 1) * TWO_POW_MINUS_24;
  const u2 = (xb >>> 8) * TWO_POW_MINUS_24;
  const r = Math.sqrt(-2 * Math.log(u1));
  const t = 2 * Math.PI * u2;
  return [r * Math.cos(t), r * Math.sin(t)];
}

/** The four normals of Philox block n for a key, in lane order, rounded to float32. */
function blockNormals(n: number, key: U32x2): [number, number, number, number] {
  const [x0, x1, x2, x3] = philox4x32([n % TWO_POW_32, Math.floor(n / TWO_POW_32), 0, 0], key);
  const [a, b] = boxMuller(x0, x1);
  const [c, d] = boxMuller(x2, x3);
  return [Math.fround(a), Math.fround(b), Math.fround(c), Math.fround(d)];
}

function checkIndex(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new Error(`normals: ${name} must be an integer in [0, 2^53), got ${v}`);
  }
}

/**
 * Standard normal numbers start .. start+count-1 of the stream for `seed`.
 * seed: integer in [0, 2^53), key = [seed mod 2^32, floor(seed / 2^32)].
 * Number i comes from block n = floor(i/4) (counter [n mod 2^32, floor(n/2^32), 0, 0]),
 * lane i mod 4. Returns Float32Array(count).
 */
export function normals(seed: number, start: number, count: number): Float32Array {
  checkIndex("seed", seed);
  checkIndex("start", start);
  checkIndex("count", count);
  checkIndex("start + count", start + count);
  const key: U32x2 = [seed % TWO_POW_32, Math.floor(seed / TWO_POW_32)];
  const out = new Float32Array(count);
  let cachedBlock = -1;
  let lanes = [0, 0, 0, 0];
  for (let k = 0; k < count; k++) {
    const i = start + k;
    const n = Math.floor(i / 4);
    if (n !== cachedBlock) {
      lanes = blockNormals(n, key);
      cachedBlock = n;
    }
    out[k] = lanes[i % 4];
  }
  return out;
}
