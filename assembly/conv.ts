// Convolutions on NHWC images, by indirect GEMM (XNNPACK's design).
//
// An image item is (H, W, C) row-major: pixel (h, w) holds its C channels contiguously. The
// planner (sdk/conv.ts) turns every convolution into passes of the kernels below: for each
// output pixel p it precomputes, once at load, an indirection row ind[p][t] (one per tap t)
// holding the BYTE offset, relative to an item's base, of the input pixel that tap reads, or
// -1 when the tap falls in the zero padding (the kernel then reads `zero`, a vector of zeros).
// `outPix[p]` is the byte offset, relative to an item's base, where output pixel p is stored.
// So one kernel serves strides, dilations, asymmetric padding, every phase of a transposed
// convolution (sdk/conv.ts) and groups (pointers offset by the group's first channel, pixel
// offsets stepping by the full pixel width).
//
// Weights of one group: the (cout, taps*cin) matrix with K index t*cin + c, packed exactly as
// f32_pack_weights_nr8 packs it: (ceil(cout/8), taps*cin, 8); bias padded to ceil(cout/8)*8.
// Micro-kernels:
//   4x8  : 4 output pixels x 8 output channels; 8 accumulators + 2 weight vectors + broadcasts.
//   1x32 : 1 pixel x 4 panels, for the 1..3 pixels left over (8 independent add chains).
//   1x8  : 1 pixel x 1 panel, for what is left.
// relu and leaky_relu are fused into the store, like the GEMM's epilogue.

import { madd, loadPartial, storePartial } from "./simd";
import { ACT_RELU, ACT_LEAKY_RELU } from "./activations";

const NR = 8;

// @ts-ignore: decorator
@inline function epilogue(v: v128, act: i32, slope: f32): v128 {
  if (act == ACT_RELU) return f32x4.max(v, f32x4.splat(0));
  if (act == ACT_LEAKY_RELU) {
    return v128.bitselect(v, f32x4.mul(v, f32x4.splat(slope)), f32x4.gt(v, f32x4.splat(0)));
  }
  return v;
}

// Stores 8 channels (two vectors) of one output pixel, or the first `cols` (1..8) of them.
// @ts-ignore: decorator
@inline function store8(y: usize, lo: v128, hi: v128, cols: i32): void {
  if (cols >= 8) { v128.store(y, lo); v128.store(y, hi, 16); return; }
  if (cols >= 4) {
    v128.store(y, lo);
    if (cols > 4) storePartial(y + 16, hi, cols - 4);
    return;
  }
  storePartial(y, lo, cols);
}

// @ts-ignore: decorator
@inline function tapSource(ind: usize, xb: usize, zero: usize): usize {
  const o = load<i32>(ind);
  return o < 0 ? zero : xb + <usize>o;
}

// One group of a convolution, every item.
// x: items at x + b*xItemBytes, input pixel channel vectors of cin f32 at ind offsets;
// ind (pixels, taps) i32 byte offsets or -1; zero >= cin f32 zeros;
// w packed (ceil(cout/8), taps*cin, 8), K index t*cin + c; bias (ceil(cout/8)*8);
// y: output pixel p of item b at y + b*yItemBytes + outPix[p], the first cout channels.
// act: 0 none, 1 relu, 2 leaky_relu(slope). taps may be 0 (y = bias).
export function f32_conv_igemm_4x8(items: i32, pixels: i32, taps: i32, cin: i32,
                                   x: usize, xItemBytes: i32, ind: usize, zero: usize,
                                   w: usize, bias: usize, cout: i32,
                                   y: usize, yItemBytes: i32, outPix: usize,
                                   act: i32, slope: f32): void {
  const panels = (cout + NR - 1) / NR;
  const panelBytes = <usize>(taps * cin) * (NR << 2);
  const cinBytes = <usize>cin << 2;
  const rowBytes = <usize>taps << 2; // one pixel's indirection row
  for (let b = 0; b < items; b++) {
    const xb = x + <usize>b * <usize>xItemBytes;
    const yb = y + <usize>b * <usize>yItemBytes;
    let p = 0;
    for (; p + 4 <= pixels; p += 4) {
      const i0 = ind + <usize>p * rowBytes;
      const op = outPix + (<usize>p << 2);
      const y0 = yb + <usize>load<i32>(op), y1 = yb + <usize>load<i32>(op, 4);
      const y2 = yb + <usize>load<i32>(op, 8), y3 = yb + <usize>load<i32>(op, 12);
      for (let pn = 0; pn < panels; pn++) {
        const bp = bias + (<usize>pn * NR << 2);
        let a00 = v128.load(bp), a01 = v128.load(bp, 16);
        let a10 = a00, a11 = a01, a20 = a00, a21 = a01, a30 = a00, a31 = a01;
        let wq = w + <usize>pn * panelBytes;
        let ip = i0;
        const ipEnd = i0 + rowBytes;
        while (ip < ipEnd) {
          const s0 = tapSource(ip, xb, zero);
          // the other three pixels as distances from the first (wrapping u32 arithmetic),
          // so the inner loop steps one pointer
          const d1 = tapSource(ip + rowBytes, xb, zero) - s0;
          const d2 = tapSource(ip + 2 * rowBytes, xb, zero) - s0;
          const d3 = tapSource(ip + 3 * rowBytes, xb, zero) - s0;
          let q = s0;
          const qEnd = s0 + cinBytes;
          while (q < qEnd) {
            const w0 = v128.load(wq), w1 = v128.load(wq, 16);
            const v0 = v128.load_splat<f32>(q);
            const v1 = v128.load_splat<f32>(q + d1);
            const v2 = v128.load_splat<f32>(q + d2);
            const v3 = v128.load_splat<f32>(q + d3);
            a00 = madd(v0, w0, a00); a01 = madd(v0, w1, a01);
            a10 = madd(v1, w0, a10); a11 = madd(v1, w1, a11);
            a20 = madd(v2, w0, a20); a21 = madd(v2, w1, a21);
            a30 = madd(v3, w0, a30); a31 = madd(v3, w1, a31);
            wq += NR << 2; q += 4;
          }
          ip += 4;
        }
        const cols = min(NR, cout - pn * NR);
        const co = <usize>pn * NR << 2;
        store8(y0 + co, epilogue(a00, act, slope), epilogue(a01, act, slope), cols);
        store8(y1 + co, epilogue(a10, act, slope), epilogue(a11, act, slope), cols);
        store8(y2 + co, epilogue(a20, act, slope), epilogue(a21, act, slope), cols);
        store8(y3 + co, epilogue(a30, act, slope), epilogue(a31, act, slope), cols);
      }
    }
    for (; p < pixels; p++) {
      conv_pixel(taps, cin, xb, ind + <usize>p * rowBytes, zero, w, bias, cout,
                 yb + <usize>load<i32>(outPix + (<usize>p << 2)), act, slope);
    }
  }
}

// One output pixel, every output channel: the 1x32 micro-kernel, then 1x8.
// ir: the pixel's indirection row (taps); y: where its cout channels go.
function conv_pixel(taps: i32, cin: i32, xb: usize, ir: usize, zero: usize, w: usize,
                    bias: usize, cout: i32, y: usize, act: i32, slope: f32): void {
  const panels = (cout + NR - 1) / NR;
  const panelBytes = <usize>(taps * cin) * (NR << 2);
  const cinBytes = <usize>cin << 2;
  const irEnd = ir + (<usize>taps << 2);
  let pn = 0;
  for (; pn + 4 <= panels; pn += 4) {
    const bp = bias + (<usize>pn * NR << 2);
    let a0 = v128.load(bp), a1 = v128.load(bp, 16), a2 = v128.load(bp, 32), a3 = v128.load(bp, 48);
    let a4 = v128.load(bp, 64), a5 = v128.load(bp, 80), a6 = v128.load(bp, 96), a7 = v128.load(bp, 112);
    let wq = w + <usize>pn * panelBytes;
    const p2 = 2 * panelBytes, p3 = 3 * panelBytes;
    for (let ip = ir; ip < irEnd; ip += 4) {
      let q = tapSource(ip, xb, zero);
      const qEnd = q + cinBytes;
      while (q < qEnd) {
        const v = v128.load_splat<f32>(q);
        a0 = madd(v, v128.load(wq), a0);
        a1 = madd(v, v128.load(wq, 16), a1);
        a2 = madd(v, v128.load(wq + panelBytes), a2);
        a3 = madd(v, v128.load(wq + panelBytes, 16), a3);
        a4 = madd(v, v128.load(wq + p2), a4);
        a5 = madd(v, v128.load(wq + p2, 16), a5);
        a6 = madd(v, v128.load(wq + p3), a6);
        a7 = madd(v, v128.load(wq + p3, 16), a7);
        wq += NR << 2; q += 4;
      }
    }
    const yq = y + (<usize>pn * NR << 2);
    const left = cout - pn * NR; // > 24 here
    store8(yq, epilogue(a0, act, slope), epilogue(a1, act, slope), 8);
    store8(yq + 32, epilogue(a2, act, slope), epilogue(a3, act, slope), 8);
    store8(yq + 64, epilogue(a4, act, slope), epilogue(a5, act, slope), 8);
    store8(yq + 96, epilogue(a6, act, slope), epilogue(a7, act, slope), min(8, left - 24));
  }
  for (; pn < panels; pn++) {
    const bp = bias + (<usize>pn * NR << 2);
    let a0 = v128.load(bp), a1 = v128.load(bp, 16);
    let wq = w + <usize>pn * panelBytes;
    for (let ip = ir; ip < irEnd; ip += 4) {
      let q = tapSource(ip, xb, zero);
      const qEnd = q + cinBytes;
      while (q < qEnd) {
        const v = v128.load_splat<f32>(q);
        a0 = madd(v, v128.load(wq), a0);
        a1 = madd(v, v128.load(wq, 16), a1);
        wq += NR << 2; q += 4;
      }
    }
    store8(y + (<usize>pn * NR << 2), epilogue(a0, act, slope), epilogue(a1, act, slope),
           min(NR, cout - pn * NR));
  }
}

// Depthwise convolution (groups == cin == cout), every item.
// x, ind, zero, y, outPix as in f32_conv_igemm_4x8, with c channels per input and output
// vector; zero >= ceil(c/4)*4 f32 zeros; w (taps, ceil(c/4)*4) row-major: w[t][ch] is
// tap t's weight of channel ch (padding columns 0); bias (ceil(c/4)*4).
// y[ch] = act(bias[ch] + sum_t src_t[ch] * w[t][ch]).
export function f32_dwconv(items: i32, pixels: i32, taps: i32, c: i32,
                           x: usize, xItemBytes: i32, ind: usize, zero: usize,
                           w: usize, bias: usize,
                           y: usize, yItemBytes: i32, outPix: usize,
                           act: i32, slope: f32): void {
  const cPadBytes = <usize>((c + 3) & ~3) << 2;
  const rowBytes = <usize>taps << 2;
  for (let b = 0; b < items; b++) {
    const xb = x + <usize>b * <usize>xItemBytes;
    const yb = y + <usize>b * <usize>yItemBytes;
    for (let p = 0; p < pixels; p++) {
      const ir = ind + <usize>p * rowBytes;
      const irEnd = ir + rowBytes;
      const yq = yb + <usize>load<i32>(outPix + (<usize>p << 2));
      let j = 0;
      for (; j + 16 <= c; j += 16) { // 4 vectors of channels at a time
        const jo = <usize>j << 2;
        let a0 = v128.load(bias + jo), a1 = v128.load(bias + jo, 16);
        let a2 = v128.load(bias + jo, 32), a3 = v128.load(bias + jo, 48);
        let wq = w + jo;
        for (let ip = ir; ip < irEnd; ip += 4) {
          const s = tapSource(ip, xb, zero) + jo;
          a0 = madd(v128.load(s), v128.load(wq), a0);
          a1 = madd(v128.load(s, 16), v128.load(wq, 16), a1);
          a2 = madd(v128.load(s, 32), v128.load(wq, 32), a2);
          a3 = madd(v128.load(s, 48), v128.load(wq, 48), a3);
          wq += cPadBytes;
        }
        const q = yq + jo;
        v128.store(q, epilogue(a0, act, slope));
        v128.store(q, epilogue(a1, act, slope), 16);
        v128.store(q, epilogue(a2, act, slope), 32);
        v128.store(q, epilogue(a3, act, slope), 48);
      }
      for (; j < c; j += 4) { // one vector, the last one partial
        const n = min(4, c - j);
        const jo = <usize>j << 2;
        let a = v128.load(bias + jo);
        let wq = w + jo;
        for (let ip = ir; ip < irEnd; ip += 4) {
          a = madd(loadPartial(tapSource(ip, xb, zero) + jo, n), v128.load(wq), a);
          wq += cPadBytes;
        }
        storePartial(yq + jo, epilogue(a, act, slope), n);
      }
    }
  }
}
