// Linear layers: y = act(x W^T + b), the PyTorch nn.Linear convention.
//
// Weights are packed once, at load, into panels of NR = 8 output columns:
//   packed (ceil(N/8), K, 8): packed[p][k][c] = W[p*8 + c][k], zero where p*8 + c >= N,
// so the inner loop reads 8 consecutive weights (two v128) per k. Bias is padded the same way.
// Micro-kernels (register blocks of output rows x columns):
//   4x8  : 4 rows, one panel; 8 accumulators + 2 weight vectors + 1 broadcast.
//   1x32 : 1 row, four panels; 8 accumulators, so a single row (batch 1, the GEMV case)
//          still has 8 independent add chains instead of 2.
//   1x8  : 1 row, one panel, for what is left.
// Only relu and leaky_relu are fused into the store (they cost one op); other activations
// run afterwards over the output, which is still in cache.

import { madd } from "./simd";
import { ACT_RELU, ACT_LEAKY_RELU } from "./activations";

const NR = 8;

// src W (N, K) row-major f32 -> dst packed (ceil(N/8), K, 8) f32.
// Runs once per layer at load, before the engine has optimised anything, so it matters for
// cold start: full panels move 8 rows x 4 k at a time with two 4x4 shuffle transposes.
export function f32_pack_weights_nr8(src: usize, dst: usize, n: i32, k: i32): void {
  const fullPanels = n / NR;
  const rowBytes = <usize>k << 2;
  const k4 = k & ~3;
  for (let p = 0; p < fullPanels; p++) {
    const r0 = src + <usize>(p * NR) * rowBytes;
    let out = dst + <usize>p * rowBytes * NR;
    for (let kk = 0; kk < k4; kk += 4) {
      const at = r0 + (<usize>kk << 2);
      transpose4x4Store(out, at, rowBytes);                   // rows 0..3 -> low halves
      transpose4x4Store(out + 16, at + 4 * rowBytes, rowBytes); // rows 4..7 -> high halves
      out += 4 * NR * 4;
    }
    for (let kk = k4; kk < k; kk++) {
      for (let c = 0; c < NR; c++) {
        store<f32>(out + (<usize>c << 2), load<f32>(r0 + <usize>c * rowBytes + (<usize>kk << 2)));
      }
      out += NR * 4;
    }
  }
  if (fullPanels * NR < n) { // the last, partial panel: missing rows are zero
    const p = fullPanels;
    for (let kk = 0; kk < k; kk++) {
      const out = dst + ((<usize>(p * k + kk) * NR) << 2);
      for (let c = 0; c < NR; c++) {
        const row = p * NR + c;
        const v: f32 = row < n ? load<f32>(src + <usize>row * rowBytes + (<usize>kk << 2)) : 0;
        store<f32>(out + (<usize>c << 2), v);
      }
    }
  }
}

// Reads 4 rows x 4 values at `at` (rows `stride` bytes apart) and stores the transpose as
// four vectors 32 bytes apart (column j of the block -> out + 32 j), i.e. into the packed
// panel's 8-wide rows.
// @ts-ignore: decorator
@inline function transpose4x4Store(out: usize, at: usize, stride: usize): void {
  const a0 = v128.load(at), a1 = v128.load(at + stride);
  const a2 = v128.load(at + 2 * stride), a3 = v128.load(at + 3 * stride);
  const s0 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), s1 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5);
  const s2 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7), s3 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
  v128.store(out, v128.shuffle<f32>(s0, s1, 0, 1, 4, 5));
  v128.store(out, v128.shuffle<f32>(s0, s1, 2, 3, 6, 7), 32);
  v128.store(out, v128.shuffle<f32>(s2, s3, 0, 1, 4, 5), 64);
  v128.store(out, v128.shuffle<f32>(s2, s3, 2, 3, 6, 7), 96);
}

// The fused store's activation (relu, leaky_relu(slope), or none); conv.ts uses it too.
// @ts-ignore: decorator
@inline export function epilogue(v: v128, act: i32, slope: f32): v128 {
  if (act == ACT_RELU) return f32x4.max(v, f32x4.splat(0));
  if (act == ACT_LEAKY_RELU) {
    return v128.bitselect(v, f32x4.mul(v, f32x4.splat(slope)), f32x4.gt(v, f32x4.splat(0)));
  }
  return v;
}

// Stores 8 columns (two vectors) of one output row, or the first `cols` of them (int8.ts too).
// @ts-ignore: decorator
@inline export function storeRow8(y: usize, lo: v128, hi: v128, cols: i32): void {
  if (cols >= 8) { v128.store(y, lo); v128.store(y, hi, 16); return; }
  for (let c = 0; c < cols; c++) {
    const v = c < 4 ? lo : hi;
    let s: f32;
    switch (c & 3) {
      case 0: s = f32x4.extract_lane(v, 0); break;
      case 1: s = f32x4.extract_lane(v, 1); break;
      case 2: s = f32x4.extract_lane(v, 2); break;
      default: s = f32x4.extract_lane(v, 3);
    }
    store<f32>(y + (<usize>c << 2), s);
  }
}

// x (m, k) row-major; w packed (ceil(n/8), k, 8); bias padded (ceil(n/8)*8);
// y (m, n) row-major. act: 0 none, 1 relu, 2 leaky_relu(slope).
export function f32_gemm_bias_act(x: usize, m: i32, k: i32, w: usize, bias: usize,
                                  n: i32, y: usize, act: i32, slope: f32): void {
  const panels = (n + NR - 1) / NR;
  const panelBytes = <usize>k * NR * 4;
  const rowBytes = <usize>k << 2;
  let r = 0;
  for (; r + 4 <= m; r += 4) {
    const x0 = x + <usize>r * rowBytes;
    for (let p = 0; p < panels; p++) {
      const wp = w + <usize>p * panelBytes;
      const b = bias + (<usize>p * NR << 2);
      let a00 = v128.load(b), a01 = v128.load(b, 16);
      let a10 = a00, a11 = a01, a20 = a00, a21 = a01, a30 = a00, a31 = a01;
      // pointers step through the panel and the 4 rows (no index arithmetic in the loop)
      // (measured ~5-10% faster than indexing by kk on V8: fewer integer ops per step)
      let wq = wp, xq = x0;
      const xEnd = x0 + rowBytes, r2 = 2 * rowBytes, r3 = 3 * rowBytes;
      while (xq < xEnd) {
        const w0 = v128.load(wq), w1 = v128.load(wq, 16);
        const v0 = v128.load_splat<f32>(xq);
        const v1 = v128.load_splat<f32>(xq + rowBytes);
        const v2 = v128.load_splat<f32>(xq + r2);
        const v3 = v128.load_splat<f32>(xq + r3);
        a00 = madd(v0, w0, a00); a01 = madd(v0, w1, a01);
        a10 = madd(v1, w0, a10); a11 = madd(v1, w1, a11);
        a20 = madd(v2, w0, a20); a21 = madd(v2, w1, a21);
        a30 = madd(v3, w0, a30); a31 = madd(v3, w1, a31);
        wq += NR << 2; xq += 4;
      }
      const cols = min(NR, n - p * NR);
      const yq = y + ((<usize>r * n + p * NR) << 2);
      const yRow = <usize>n << 2;
      storeRow8(yq, epilogue(a00, act, slope), epilogue(a01, act, slope), cols);
      storeRow8(yq + yRow, epilogue(a10, act, slope), epilogue(a11, act, slope), cols);
      storeRow8(yq + 2 * yRow, epilogue(a20, act, slope), epilogue(a21, act, slope), cols);
      storeRow8(yq + 3 * yRow, epilogue(a30, act, slope), epilogue(a31, act, slope), cols);
    }
  }
  for (; r < m; r++) {
    gemv_row(x + <usize>r * rowBytes, k, w, bias, n, y + (<usize>r * n << 2), act, slope);
  }
}

// One output row: x (k); w packed (ceil(n/8), k, 8); y (n).
function gemv_row(x: usize, k: i32, w: usize, bias: usize, n: i32, y: usize,
                  act: i32, slope: f32): void {
  const panels = (n + NR - 1) / NR;
  const panelBytes = <usize>k * NR * 4;
  let p = 0;
  for (; p + 4 <= panels; p += 4) {
    const wp = w + <usize>p * panelBytes;
    const b = bias + (<usize>p * NR << 2);
    let a0 = v128.load(b), a1 = v128.load(b, 16), a2 = v128.load(b, 32), a3 = v128.load(b, 48);
    let a4 = v128.load(b, 64), a5 = v128.load(b, 80), a6 = v128.load(b, 96), a7 = v128.load(b, 112);
    let wq = wp, xq = x;
    const xEnd = x + (<usize>k << 2), p2 = 2 * panelBytes, p3 = 3 * panelBytes;
    while (xq < xEnd) {
      const v = v128.load_splat<f32>(xq);
      a0 = madd(v, v128.load(wq), a0);
      a1 = madd(v, v128.load(wq, 16), a1);
      a2 = madd(v, v128.load(wq + panelBytes), a2);
      a3 = madd(v, v128.load(wq + panelBytes, 16), a3);
      a4 = madd(v, v128.load(wq + p2), a4);
      a5 = madd(v, v128.load(wq + p2, 16), a5);
      a6 = madd(v, v128.load(wq + p3), a6);
      a7 = madd(v, v128.load(wq + p3, 16), a7);
      wq += NR << 2; xq += 4;
    }
    const yq = y + (<usize>p * NR << 2);
    const left = n - p * NR; // columns left from this panel on (> 24 here)
    storeRow8(yq, epilogue(a0, act, slope), epilogue(a1, act, slope), 8);
    storeRow8(yq + 32, epilogue(a2, act, slope), epilogue(a3, act, slope), 8);
    storeRow8(yq + 64, epilogue(a4, act, slope), epilogue(a5, act, slope), 8);
    storeRow8(yq + 96, epilogue(a6, act, slope), epilogue(a7, act, slope), min(8, left - 24));
  }
  for (; p < panels; p++) {
    const wp = w + <usize>p * panelBytes;
    const b = bias + (<usize>p * NR << 2);
    let a0 = v128.load(b), a1 = v128.load(b, 16);
    for (let kk = 0; kk < k; kk++) {
      const v = v128.load_splat<f32>(x + (<usize>kk << 2));
      const wq = wp + (<usize>kk * NR << 2);
      a0 = madd(v, v128.load(wq), a0);
      a1 = madd(v, v128.load(wq, 16), a1);
    }
    storeRow8(y + (<usize>p * NR << 2), epilogue(a0, act, slope), epilogue(a1, act, slope),
              min(NR, n - p * NR));
  }
}
