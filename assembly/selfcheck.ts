// self_check(): a known-answer test of the module with no host at all, for non-JS hosts
// (wasm-interp, wasmtime, ...): `wasm-interp --enable-simd build/edgevae.wasm -r self_check`.
// It runs a tiny fixed GEMM (3x5 by 9x5 with bias and ReLU: a full 8-wide panel plus a
// 1-column tail), the vectorised exp, one Philox4x32-10 block and the normal transform, and
// compares them with constants computed outside the module (float64 JavaScript).
// Returns 0 when everything matches, else the number of the first failing check:
//   1 GEMM, 2 exp, 3 Philox (Random123 known answer), 4 normal numbers.

import { f32_pack_weights_nr8, f32_gemm_bias_act } from "./gemm";
import { f32_exp } from "./activations";
import { philox4x32_10, rng_normal_fill } from "./rng";

// Scratch in the module's static data, so the check needs no allocator and no memory.grow.
const SCRATCH: usize = memory.data(2048, 16);

// y = relu(x W^T + b) with x[i][k] = (5i + k) mod 7 - 3, W[n][k] = (3n + 2k) mod 5 - 2,
// b[n] = n - 4: small integers, so every product and sum is exact in f32 (with or without FMA).
const GEMM_Y: StaticArray<f32> = [
  1, 0, 3, 0, 0, 6, 2, 8, 0,
  0, 0, 3, 1, 9, 0, 0, 8, 6,
  0, 4, 0, 0, 9, 0, 9, 0, 0,
];
// fround(Math.exp(v)) for v in EXP_X
const EXP_X: StaticArray<f32> = [0, 1, -1, 0.5, -3.25, 10];
const EXP_Y: StaticArray<f64> = [1.0, 2.71828175, 0.367879450, 1.64872122, 0.0387742072, 22026.4648];
// normal numbers 3..8 of the seed 2^32 + 5 (test/reference/rng.ts normals(2**32 + 5, 3, 6))
const NORMALS: StaticArray<f64> = [0.255770653, 1.73638463, 1.52959299, -0.00244075549, 1.86687064, -0.934626102];

function close(got: f64, want: f64, rtol: f64): bool {
  return Math.abs(got - want) <= rtol * Math.abs(want) + 1e-30;
}

export function self_check(): i32 {
  const M = 3, K = 5, N = 9;
  const x = SCRATCH;           // (3, 5)      60 bytes
  const w = SCRATCH + 64;      // (9, 5)     180 bytes
  const packed = SCRATCH + 256; // (2, 5, 8) 320 bytes
  const bias = SCRATCH + 576;  // 16 (padded) 64 bytes
  const y = SCRATCH + 640;     // (3, 9)     108 bytes
  for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) store<f32>(x + (<usize>(i * K + k) << 2), <f32>(<i32>((5 * i + k) % 7) - 3));
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) store<f32>(w + (<usize>(n * K + k) << 2), <f32>(<i32>((3 * n + 2 * k) % 5) - 2));
  for (let n = 0; n < 16; n++) store<f32>(bias + (<usize>n << 2), n < N ? <f32>(n - 4) : 0);
  f32_pack_weights_nr8(w, packed, N, K);
  f32_gemm_bias_act(x, M, K, packed, bias, N, y, 1, 0);
  for (let i = 0; i < M * N; i++) {
    if (load<f32>(y + (<usize>i << 2)) != GEMM_Y[i]) return 1;
  }

  const e = SCRATCH + 768;
  for (let i = 0; i < EXP_X.length; i++) store<f32>(e + (<usize>i << 2), EXP_X[i]);
  f32_exp(e, EXP_X.length);
  for (let i = 0; i < EXP_X.length; i++) {
    if (!close(<f64>load<f32>(e + (<usize>i << 2)), EXP_Y[i], 3e-7)) return 2;
  }

  const out = SCRATCH + 832;
  philox4x32_10(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out);
  if (load<u32>(out) != 0xd16cfe09 || load<u32>(out, 4) != 0x94fdcceb
    || load<u32>(out, 8) != 0x5001e420 || load<u32>(out, 12) != 0x24126ea1) return 3;

  const z = SCRATCH + 896;
  rng_normal_fill(z, 6, 5, 1, 3, out);
  for (let i = 0; i < 6; i++) {
    if (!close(<f64>load<f32>(z + (<usize>i << 2)), NORMALS[i], 1e-6)) return 4;
  }
  return 0;
}
