// Int8 weights (FORMAT.md "Weights: int8 and BF16"): w = q * scale[output], q an i8.
//
// Linear layers keep q in the GEMM's panel layout, one byte per weight:
//   packed (ceil(N/8), K, 8) i8: packed[p][k][c] = q[p*8 + c][k], 0 where p*8 + c >= N,
// and scale, bias padded to ceil(N/8)*8 f32. Every output is computed the same way whatever
// the batch size: acc = sum_k x[k] * f32(q[k]) in k order (the conversion is exact), then
// y = act(acc * scale + bias): the scale is applied once per output. Small batches (m < 4) widen
// q in registers (the weights stream from memory once per row: a quarter of the f32 bytes);
// larger ones widen one panel at a time into `buf` (K*8 f32, 32K bytes per 1000 inputs) and run
// the f32 4x8 micro-kernel over every row on it, so the widening is paid once per panel per call.
// Both paths give the same bits for a row (same products, same order), so results do not
// depend on how a batch is chunked or split.

import { madd, storePartial } from "./simd";
import { epilogue, storeRow8 } from "./gemm";

const NR = 8;

// The 8 int8 weights loaded by v128.load8x8_s (as i16 lanes) -> two f32x4, exact: sign
// extension and an integer conversion (cheaper on V8 than byte shuffles, measured).
// @ts-ignore: decorator
@inline function lo16(v: v128): v128 { return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(v)); }
// @ts-ignore: decorator
@inline function hi16(v: v128): v128 { return f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(v)); }

// src q (N, K) row-major i8 -> dst packed (ceil(N/8), K, 8) i8 (layout above). Runs at load:
// blocks of 8 rows x 8 inputs are transposed with byte shuffles (cold start), the rest byte by byte.
export function i8_pack_weights_nr8(src: usize, dst: usize, n: i32, k: i32): void {
  const fullPanels = n / NR;
  const k8 = k & ~7;
  const row = <usize>k;
  for (let p = 0; p < fullPanels; p++) {
    const r0 = src + <usize>(p * NR) * row;
    const out = dst + <usize>p * row * NR;
    for (let kk = 0; kk < k8; kk += 8) {
      const at = r0 + <usize>kk;
      // a = rows 0,1; b = rows 2,3; c = rows 4,5; d = rows 6,7 (8 bytes each)
      const a = v128.load64_lane(at + row, v128.load64_zero(at), 1);
      const b = v128.load64_lane(at + 3 * row, v128.load64_zero(at + 2 * row), 1);
      const c = v128.load64_lane(at + 5 * row, v128.load64_zero(at + 4 * row), 1);
      const d = v128.load64_lane(at + 7 * row, v128.load64_zero(at + 6 * row), 1);
      // e: inputs 0..3 of rows 0..3 (input-major); f: inputs 4..7; g, h: the same for rows 4..7
      const e = i8x16.shuffle(a, b, 0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27);
      const f = i8x16.shuffle(a, b, 4, 12, 20, 28, 5, 13, 21, 29, 6, 14, 22, 30, 7, 15, 23, 31);
      const g = i8x16.shuffle(c, d, 0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27);
      const h = i8x16.shuffle(c, d, 4, 12, 20, 28, 5, 13, 21, 29, 6, 14, 22, 30, 7, 15, 23, 31);
      const o = out + (<usize>kk << 3);
      v128.store(o, i8x16.shuffle(e, g, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23));
      v128.store(o, i8x16.shuffle(e, g, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31), 16);
      v128.store(o, i8x16.shuffle(f, h, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23), 32);
      v128.store(o, i8x16.shuffle(f, h, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31), 48);
    }
    for (let kk = k8; kk < k; kk++) {
      for (let c = 0; c < NR; c++) store<i8>(out + (<usize>kk << 3) + c, load<i8>(r0 + <usize>c * row + kk));
    }
  }
  if (fullPanels * NR < n) { // the last, partial panel: missing rows are zero
    const p = fullPanels;
    const out = dst + <usize>p * row * NR;
    for (let kk = 0; kk < k; kk++) {
      for (let c = 0; c < NR; c++) {
        const r = p * NR + c;
        store<i8>(out + (<usize>kk << 3) + c, r < n ? load<i8>(src + <usize>r * row + kk) : <i8>0);
      }
    }
  }
}

// acc * scale + bias, then the fused activation, for 8 columns.
// @ts-ignore: decorator
@inline function finish(acc: v128, s: v128, b: v128, act: i32, slope: f32): v128 {
  return epilogue(f32x4.add(f32x4.mul(acc, s), b), act, slope);
}

// x (m, k) row-major f32; w packed (ceil(n/8), k, 8) i8; scale, bias (ceil(n/8)*8) f32;
// y (m, n) row-major; buf k*8 f32 (used when m >= 4). act: 0 none, 1 relu, 2 leaky_relu(slope).
// y[r][o] = act((sum_k x[r][k] * q[o][k]) * scale[o] + bias[o]).
export function i8_gemm_bias_act(x: usize, m: i32, k: i32, w: usize, scale: usize, bias: usize,
                                 n: i32, y: usize, act: i32, slope: f32, buf: usize): void {
  if (m < 4) {
    for (let r = 0; r < m; r++) {
      gemv_i8_row(x + (<usize>r * k << 2), k, w, scale, bias, n, y + (<usize>r * n << 2), act, slope);
    }
    return;
  }
  const panels = (n + NR - 1) / NR;
  const rowBytes = <usize>k << 2;
  const yRow = <usize>n << 2;
  for (let p = 0; p < panels; p++) {
    widen_panel(w + <usize>p * k * NR, buf, k);
    const s0 = v128.load(scale + (<usize>p * NR << 2)), s1 = v128.load(scale + (<usize>p * NR << 2), 16);
    const b0 = v128.load(bias + (<usize>p * NR << 2)), b1 = v128.load(bias + (<usize>p * NR << 2), 16);
    const cols = min(NR, n - p * NR);
    let r = 0;
    for (; r + 4 <= m; r += 4) {
      const zero = f32x4.splat(0);
      let a00 = zero, a01 = zero, a10 = zero, a11 = zero, a20 = zero, a21 = zero, a30 = zero, a31 = zero;
      let wq = buf, xq = x + <usize>r * rowBytes;
      const xEnd = xq + rowBytes, r2 = 2 * rowBytes, r3 = 3 * rowBytes;
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
      const yq = y + ((<usize>r * n + p * NR) << 2);
      storeRow8(yq, finish(a00, s0, b0, act, slope), finish(a01, s1, b1, act, slope), cols);
      storeRow8(yq + yRow, finish(a10, s0, b0, act, slope), finish(a11, s1, b1, act, slope), cols);
      storeRow8(yq + 2 * yRow, finish(a20, s0, b0, act, slope), finish(a21, s1, b1, act, slope), cols);
      storeRow8(yq + 3 * yRow, finish(a30, s0, b0, act, slope), finish(a31, s1, b1, act, slope), cols);
    }
    for (; r < m; r++) { // the last rows, one at a time, on the same widened panel
      let a0 = f32x4.splat(0), a1 = a0;
      let wq = buf, xq = x + <usize>r * rowBytes;
      const xEnd = xq + rowBytes;
      while (xq < xEnd) {
        const v = v128.load_splat<f32>(xq);
        a0 = madd(v, v128.load(wq), a0); a1 = madd(v, v128.load(wq, 16), a1);
        wq += NR << 2; xq += 4;
      }
      storeRow8(y + ((<usize>r * n + p * NR) << 2), finish(a0, s0, b0, act, slope), finish(a1, s1, b1, act, slope), cols);
    }
  }
}

// One panel's q (k, 8) i8 -> buf (k, 8) f32, exact.
function widen_panel(src: usize, buf: usize, k: i32): void {
  let s = src, d = buf;
  const end = src + (<usize>k << 3);
  for (; s < end; s += 8, d += 32) {
    const v = v128.load8x8_s(s);
    v128.store(d, lo16(v)); v128.store(d, hi16(v), 16);
  }
}

// One output row, q widened in registers: x (k) f32; w packed (ceil(n/8), k, 8) i8; y (n).
// Four panels at a time give 8 independent add chains (as the f32 GEMV).
function gemv_i8_row(x: usize, k: i32, w: usize, scale: usize, bias: usize, n: i32, y: usize,
                     act: i32, slope: f32): void {
  const panels = (n + NR - 1) / NR;
  const panelBytes = <usize>k * NR;
  let p = 0;
  for (; p + 4 <= panels; p += 4) {
    const zero = f32x4.splat(0);
    let a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;
    let wq = w + <usize>p * panelBytes, xq = x;
    const xEnd = x + (<usize>k << 2), p2 = 2 * panelBytes, p3 = 3 * panelBytes;
    while (xq < xEnd) {
      const v = v128.load_splat<f32>(xq);
      const q0 = v128.load8x8_s(wq), q1 = v128.load8x8_s(wq + panelBytes);
      const q2 = v128.load8x8_s(wq + p2), q3 = v128.load8x8_s(wq + p3);
      a0 = madd(v, lo16(q0), a0); a1 = madd(v, hi16(q0), a1);
      a2 = madd(v, lo16(q1), a2); a3 = madd(v, hi16(q1), a3);
      a4 = madd(v, lo16(q2), a4); a5 = madd(v, hi16(q2), a5);
      a6 = madd(v, lo16(q3), a6); a7 = madd(v, hi16(q3), a7);
      wq += NR; xq += 4;
    }
    for (let j = 0; j < 4; j++) {
      const c = (p + j) * NR;
      const s0 = v128.load(scale + (<usize>c << 2)), s1 = v128.load(scale + (<usize>c << 2), 16);
      const b0 = v128.load(bias + (<usize>c << 2)), b1 = v128.load(bias + (<usize>c << 2), 16);
      const lo = j == 0 ? a0 : j == 1 ? a2 : j == 2 ? a4 : a6;
      const hi = j == 0 ? a1 : j == 1 ? a3 : j == 2 ? a5 : a7;
      storeRow8(y + (<usize>c << 2), finish(lo, s0, b0, act, slope), finish(hi, s1, b1, act, slope), min(NR, n - c));
    }
  }
  for (; p < panels; p++) {
    let a0 = f32x4.splat(0), a1 = a0;
    let wq = w + <usize>p * panelBytes, xq = x;
    const xEnd = x + (<usize>k << 2);
    while (xq < xEnd) {
      const v = v128.load_splat<f32>(xq);
      const q = v128.load8x8_s(wq);
      a0 = madd(v, lo16(q), a0); a1 = madd(v, hi16(q), a1);
      wq += NR; xq += 4;
    }
    const c = p * NR;
    const s0 = v128.load(scale + (<usize>c << 2)), s1 = v128.load(scale + (<usize>c << 2), 16);
    const b0 = v128.load(bias + (<usize>c << 2)), b1 = v128.load(bias + (<usize>c << 2), 16);
    storeRow8(y + (<usize>c << 2), finish(a0, s0, b0, act, slope), finish(a1, s1, b1, act, slope), min(NR, n - c));
  }
}

// Dequantises a conv layer's packed weights for one call: src (groups, rows, width) i8 ->
// dst (groups, rows, width) f32, dst = q * scale. Per-column scales (igemm panels, depthwise):
// scale (groups, width), element [g][r][c] uses scale[g][c] (width a multiple of 4). Per-group
// scales (the dot kernel's rows): broadcast = 1, scale (groups), element [g][r][c] uses scale[g].
export function i8_dequantize(src: usize, scale: usize, dst: usize, groups: i32, rows: i32, width: i32, broadcast: i32): void {
  let s = src, d = dst;
  for (let g = 0; g < groups; g++) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < width; c += 4, s += 4, d += 16) {
        const sc = broadcast ? v128.load_splat<f32>(scale + (<usize>g << 2)) : v128.load(scale + (<usize>(g * width + c) << 2));
        // q exact in f32, then one rounding in the multiply by the scale
        v128.store(d, f32x4.mul(lo16(i16x8.extend_low_i8x16_s(v128.load32_zero(s))), sc));
      }
    }
  }
}

// src (n) f32 holding integers in [-128, 127] -> dst (n) i8 (exact; packing q at load).
export function f32_to_i8(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<i8>(dst + i, <i8>(<i32>load<f32>(src + (<usize>i << 2))));
}

// src (n) i8 -> dst (n) f32, exact (staging q as f32 at load). src and dst may not overlap.
export function i8_to_f32(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), <f32>load<i8>(src + i));
}

// src (n) bfloat16 bits (u16, little-endian) -> dst (n) f32: the top half of an f32, so exact.
export function bf16_to_f32(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<u32>(dst + (<usize>i << 2), <u32>load<u16>(src + (<usize>i << 1)) << 16);
}

// ---- opt-in: int16 activations (LoadOptions.int16Activations) ----------------------------------
// Each row's input is quantised on the fly to int16, x ~ xq * sx with sx = max|x| / 16383, and
// the int8 weights are multiplied in integers, 8 multiply-adds per i32x4.dot_i16x8_s:
//   y[o] = act(f32(sum_k xq[k] * q[o][k]) * (sx * scale[o]) + bias[o]).
// Not the default: the input rounding costs up to max|x| / 32766 per value (FORMAT.md's numbers
// are defined on f32 inputs). |xq * q| <= 16383 * 128, so an i32 lane holds 1024 inputs' sum
// exactly; longer rows add their blocks of 1024 in f32.
// Weights, packed for the dot product: pairs (ceil(N/4), ceil(K/2), 4, 2) i8:
//   pairs[p][j][c][t] = q[p*4 + c][2j + t], 0 outside q.

const QX_MAX: f32 = 16383;
const QX_BLOCK_PAIRS = 512; // 1024 inputs per exact i32 block

// src q (N, K) row-major i8 -> dst pairs (ceil(N/4), ceil(K/2), 4, 2) i8. Runs at load.
export function i8_pack_weights_pairs4(src: usize, dst: usize, n: i32, k: i32): void {
  const panels = (n + 3) >> 2, pairs = (k + 1) >> 1;
  let d = dst;
  for (let p = 0; p < panels; p++) {
    for (let j = 0; j < pairs; j++) {
      for (let c = 0; c < 4; c++) {
        const row = p * 4 + c;
        for (let t = 0; t < 2; t++) {
          const kk = 2 * j + t;
          store<i8>(d++, row < n && kk < k ? load<i8>(src + <usize>row * k + kk) : <i8>0);
        }
      }
    }
  }
}

// One row x (k) f32 -> xq (ceil(k/2)*2) i16 (the pad 0); returns sx (0 for an all-zero row).
function quantise_row(x: usize, k: i32, xq: usize): f32 {
  let amax = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= k; i += 4) amax = f32x4.max(amax, f32x4.abs(v128.load(x + (<usize>i << 2))));
  let m = max(max(f32x4.extract_lane(amax, 0), f32x4.extract_lane(amax, 1)), max(f32x4.extract_lane(amax, 2), f32x4.extract_lane(amax, 3)));
  for (; i < k; i++) m = max(m, abs(load<f32>(x + (<usize>i << 2))));
  if (k & 1) store<i16>(xq + (<usize>k << 1), 0); // the pad of an odd row
  if (m == 0) { memory.fill(xq, 0, <usize>((k + 1) & ~1) << 1); return 0; }
  const sx = m / QX_MAX, inv = f32x4.splat(QX_MAX / m);
  i = 0;
  for (; i + 8 <= k; i += 8) {
    const a = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(x + (<usize>i << 2)), inv)));
    const b = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(x + (<usize>i << 2), 16), inv)));
    v128.store(xq + (<usize>i << 1), i16x8.narrow_i32x4_s(a, b));
  }
  const s = QX_MAX / m;
  for (; i < k; i++) store<i16>(xq + (<usize>i << 1), <i16>(<i32>nearest(load<f32>(x + (<usize>i << 2)) * s)));
  return sx;
}

// x (m, k) row-major f32; w pairs (ceil(n/4), ceil(k/2), 4, 2) i8; scale, bias (ceil(n/4)*4)
// f32; y (m, n); xq (ceil(k/2)*2) i16 scratch. act: 0 none, 1 relu, 2 leaky_relu(slope).
export function i8_gemm_qx_bias_act(x: usize, m: i32, k: i32, w: usize, scale: usize, bias: usize,
                                    n: i32, y: usize, act: i32, slope: f32, xq: usize): void {
  const panels = (n + 3) >> 2, pairs = (k + 1) >> 1;
  const panelBytes = <usize>pairs << 3;
  for (let r = 0; r < m; r++) {
    const yr = y + (<usize>r * n << 2);
    const sx = quantise_row(x + (<usize>r * k << 2), k, xq);
    let p = 0;
    for (; p + 4 <= panels; p += 4) { // 16 outputs: 4 accumulators
      let f0 = f32x4.splat(0), f1 = f0, f2 = f0, f3 = f0;
      const wp = w + <usize>p * panelBytes;
      for (let j0 = 0; j0 < pairs; j0 += QX_BLOCK_PAIRS) {
        const j1 = min(pairs, j0 + QX_BLOCK_PAIRS);
        let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
        let wq = wp + (<usize>j0 << 3), xp = xq + (<usize>j0 << 2);
        const xEnd = xq + (<usize>j1 << 2);
        while (xp < xEnd) {
          const v = v128.load32_splat(xp);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load8x8_s(wq), v));
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load8x8_s(wq + panelBytes), v));
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load8x8_s(wq + 2 * panelBytes), v));
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load8x8_s(wq + 3 * panelBytes), v));
          wq += 8; xp += 4;
        }
        f0 = f32x4.add(f0, f32x4.convert_i32x4_s(a0)); f1 = f32x4.add(f1, f32x4.convert_i32x4_s(a1));
        f2 = f32x4.add(f2, f32x4.convert_i32x4_s(a2)); f3 = f32x4.add(f3, f32x4.convert_i32x4_s(a3));
      }
      storeQx(yr, p, n, f0, sx, scale, bias, act, slope);
      storeQx(yr, p + 1, n, f1, sx, scale, bias, act, slope);
      storeQx(yr, p + 2, n, f2, sx, scale, bias, act, slope);
      storeQx(yr, p + 3, n, f3, sx, scale, bias, act, slope);
    }
    for (; p < panels; p++) {
      let f = f32x4.splat(0);
      for (let j0 = 0; j0 < pairs; j0 += QX_BLOCK_PAIRS) {
        const j1 = min(pairs, j0 + QX_BLOCK_PAIRS);
        let a = i32x4.splat(0);
        for (let j = j0; j < j1; j++) {
          a = i32x4.add(a, i32x4.dot_i16x8_s(v128.load8x8_s(w + <usize>p * panelBytes + (<usize>j << 3)), v128.load32_splat(xq + (<usize>j << 2))));
        }
        f = f32x4.add(f, f32x4.convert_i32x4_s(a));
      }
      storeQx(yr, p, n, f, sx, scale, bias, act, slope);
    }
  }
}

// Outputs p*4 .. p*4+3 (those below n) of one row: act(acc * sx * scale + bias).
// @ts-ignore: decorator
@inline function storeQx(yr: usize, p: i32, n: i32, acc: v128, sx: f32, scale: usize, bias: usize, act: i32, slope: f32): void {
  const c = p << 2;
  const v = epilogue(f32x4.add(f32x4.mul(acc, f32x4.mul(f32x4.splat(sx), v128.load(scale + (<usize>c << 2)))), v128.load(bias + (<usize>c << 2))), act, slope);
  storePartial(yr + (<usize>c << 2), v, min(4, n - c));
}
