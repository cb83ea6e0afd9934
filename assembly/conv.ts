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
//   f32_conv_igemm_4x8     one group; weights of the (cout, taps*cin) matrix with K index
//                          t*cin + c, packed exactly as f32_pack_weights_nr8 packs it:
//                          (ceil(cout/8), taps*cin, 8); bias padded to ceil(cout/8)*8.
//       4x8  : 4 output pixels x 8 output channels; 8 accumulators + 2 weight vectors +
//              broadcasts. Passes of 1..3 pixels tile (item, pixel) rows across items instead.
//       1x32 : 1 pixel x 4 panels, for the 1..3 pixels left over (8 independent add chains).
//       1x8  : 1 pixel x 1 panel, for what is left.
//   f32_conv_dot_4x1       one group of 1..4 output channels, vectorised over input channels.
//   f32_dwconv             depthwise, vectorised over channels.
//   i32_conv_indirection, i32_conv_output_offsets: the tables, built at load.
// relu and leaky_relu are fused into the store, like the GEMM's epilogue.

import { madd, loadPartial, storePartial } from "./simd";
import { epilogue } from "./gemm";

const NR = 8;

// Applies the activation to 8 channels of one output pixel and stores them (the first `cols`).
// Not inlined: it runs once per tile, and inlining its 4 copies per kernel costs code size.
function storeAct8(y: usize, lo: v128, hi: v128, cols: i32, act: i32, slope: f32): void {
  store8(y, epilogue(lo, act, slope), epilogue(hi, act, slope), cols);
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
  if (pixels < 4) {
    igemm_across_items_4x8(items, pixels, taps, cin, x, xItemBytes, ind, zero, w, bias, cout,
                           y, yItemBytes, outPix, act, slope);
    return;
  }
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
        if (cin == 1) { // one channel (an encoder's first layer): no channel loop per tap
          while (ip < ipEnd) {
            const w0 = v128.load(wq), w1 = v128.load(wq, 16);
            const v0 = v128.load_splat<f32>(tapSource(ip, xb, zero));
            const v1 = v128.load_splat<f32>(tapSource(ip + rowBytes, xb, zero));
            const v2 = v128.load_splat<f32>(tapSource(ip + 2 * rowBytes, xb, zero));
            const v3 = v128.load_splat<f32>(tapSource(ip + 3 * rowBytes, xb, zero));
            a00 = madd(v0, w0, a00); a01 = madd(v0, w1, a01);
            a10 = madd(v1, w0, a10); a11 = madd(v1, w1, a11);
            a20 = madd(v2, w0, a20); a21 = madd(v2, w1, a21);
            a30 = madd(v3, w0, a30); a31 = madd(v3, w1, a31);
            wq += NR << 2; ip += 4;
          }
        }
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
        storeAct8(y0 + co, a00, a01, cols, act, slope);
        storeAct8(y1 + co, a10, a11, cols, act, slope);
        storeAct8(y2 + co, a20, a21, cols, act, slope);
        storeAct8(y3 + co, a30, a31, cols, act, slope);
      }
    }
    for (; p < pixels; p++) {
      conv_pixel(taps, cin, xb, ind + <usize>p * rowBytes, zero, w, bias, cout,
                 yb + <usize>load<i32>(outPix + (<usize>p << 2)), act, slope);
    }
  }
}

// f32_conv_igemm_4x8 for passes of 1..3 pixels (small images, phases of a transposed conv on
// them): the 4-row tiles run over (item, pixel) rows, item-major, so they continue across items
// and a batch still gets the 4x8 micro-kernel. (Used for small passes only: the per-row item
// bases cost registers, ~5% on big images.)
function igemm_across_items_4x8(items: i32, pixels: i32, taps: i32, cin: i32,
                                x: usize, xItemBytes: i32, ind: usize, zero: usize,
                                w: usize, bias: usize, cout: i32,
                                y: usize, yItemBytes: i32, outPix: usize,
                                act: i32, slope: f32): void {
  const panels = (cout + NR - 1) / NR;
  const panelBytes = <usize>(taps * cin) * (NR << 2);
  const cinBytes = <usize>cin << 2;
  const rowBytes = <usize>taps << 2; // one pixel's indirection row
  const rows = items * pixels;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const b0 = r / pixels, b1 = (r + 1) / pixels, b2 = (r + 2) / pixels, b3 = (r + 3) / pixels;
    const p0 = r - b0 * pixels, p1 = r + 1 - b1 * pixels, p2 = r + 2 - b2 * pixels, p3 = r + 3 - b3 * pixels;
    const i0 = ind + <usize>p0 * rowBytes, i1 = ind + <usize>p1 * rowBytes;
    const i2 = ind + <usize>p2 * rowBytes, i3 = ind + <usize>p3 * rowBytes;
    const x0 = x + <usize>b0 * <usize>xItemBytes, x1 = x + <usize>b1 * <usize>xItemBytes;
    const x2 = x + <usize>b2 * <usize>xItemBytes, x3 = x + <usize>b3 * <usize>xItemBytes;
    const y0 = y + <usize>b0 * <usize>yItemBytes + <usize>load<i32>(outPix + (<usize>p0 << 2));
    const y1 = y + <usize>b1 * <usize>yItemBytes + <usize>load<i32>(outPix + (<usize>p1 << 2));
    const y2 = y + <usize>b2 * <usize>yItemBytes + <usize>load<i32>(outPix + (<usize>p2 << 2));
    const y3 = y + <usize>b3 * <usize>yItemBytes + <usize>load<i32>(outPix + (<usize>p3 << 2));
    for (let pn = 0; pn < panels; pn++) {
      const bp = bias + (<usize>pn * NR << 2);
      let a00 = v128.load(bp), a01 = v128.load(bp, 16);
      let a10 = a00, a11 = a01, a20 = a00, a21 = a01, a30 = a00, a31 = a01;
      let wq = w + <usize>pn * panelBytes;
      let t: usize = 0; // byte offset of the tap in an indirection row
      while (t < rowBytes) {
        const s0 = tapSource(i0 + t, x0, zero);
        // the other three rows as distances from the first (wrapping u32 arithmetic), so the
        // inner loop steps one pointer
        const d1 = tapSource(i1 + t, x1, zero) - s0;
        const d2 = tapSource(i2 + t, x2, zero) - s0;
        const d3 = tapSource(i3 + t, x3, zero) - s0;
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
        t += 4;
      }
      const cols = min(NR, cout - pn * NR);
      const co = <usize>pn * NR << 2;
      storeAct8(y0 + co, a00, a01, cols, act, slope);
      storeAct8(y1 + co, a10, a11, cols, act, slope);
      storeAct8(y2 + co, a20, a21, cols, act, slope);
      storeAct8(y3 + co, a30, a31, cols, act, slope);
    }
  }
  for (; r < rows; r++) {
    const b = r / pixels, p = r - b * pixels;
    conv_pixel(taps, cin, x + <usize>b * <usize>xItemBytes, ind + <usize>p * rowBytes, zero, w, bias, cout,
               y + <usize>b * <usize>yItemBytes + <usize>load<i32>(outPix + (<usize>p << 2)), act, slope);
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
    storeAct8(yq, a0, a1, 8, act, slope);
    storeAct8(yq + 32, a2, a3, 8, act, slope);
    storeAct8(yq + 64, a4, a5, 8, act, slope);
    storeAct8(yq + 96, a6, a7, min(8, left - 24), act, slope);
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
    storeAct8(y + (<usize>pn * NR << 2), a0, a1, min(NR, cout - pn * NR), act, slope);
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
    // (a 4-pixel x 8-channel tile sharing each weight vector measured no faster: it needs 4
    // indirection loads per tap per 8 channels instead of 1 per 16)
    for (let p = 0; p < pixels; p++) {
      dwconv_pixel(c, ind + <usize>p * rowBytes, rowBytes, xb, zero, w, bias, cPadBytes,
                   yb + <usize>load<i32>(outPix + (<usize>p << 2)), act, slope);
    }
  }
}

// One output pixel of f32_dwconv: 16 channels at a time, then one vector at a time.
function dwconv_pixel(c: i32, ir: usize, rowBytes: usize, xb: usize, zero: usize,
                      w: usize, bias: usize, cPadBytes: usize, yq: usize,
                      act: i32, slope: f32): void {
  const irEnd = ir + rowBytes;
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

// One group of a convolution with few output channels (the last layer of an image decoder:
// 1 to 4 channels), vectorised over the input channels instead of the output channels, so no
// lane computes a padding channel: 4 output pixels x 1 output channel per step, 4 accumulators
// (one per pixel) summed across lanes at the end.
// x, ind, zero, y, outPix, act as in f32_conv_igemm_4x8; zero >= ceil(cin/4)*4 f32 zeros;
// w (cout, taps, ceil(cin/4)*4) row-major: w[co][t][c] (padding columns 0); bias (cout).
export function f32_conv_dot_4x1(items: i32, pixels: i32, taps: i32, cin: i32,
                                 x: usize, xItemBytes: i32, ind: usize, zero: usize,
                                 w: usize, bias: usize, cout: i32,
                                 y: usize, yItemBytes: i32, outPix: usize,
                                 act: i32, slope: f32): void {
  const cin4 = cin & ~3, tail = cin - cin4;
  const tapBytes = <usize>((cin + 3) & ~3) << 2;
  const rowBytes = <usize>taps << 2;
  const chanBytes = <usize>taps * tapBytes; // one output channel's weights
  for (let b = 0; b < items; b++) {
    const xb = x + <usize>b * <usize>xItemBytes;
    const yb = y + <usize>b * <usize>yItemBytes;
    let p = 0;
    for (; p + 4 <= pixels; p += 4) {
      const i0 = ind + <usize>p * rowBytes;
      const op = outPix + (<usize>p << 2);
      for (let co = 0; co < cout; co++) {
        let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
        let wq = w + <usize>co * chanBytes;
        for (let ip = i0; ip < i0 + rowBytes; ip += 4) {
          const s0 = tapSource(ip, xb, zero);
          const d1 = tapSource(ip + rowBytes, xb, zero) - s0;
          const d2 = tapSource(ip + 2 * rowBytes, xb, zero) - s0;
          const d3 = tapSource(ip + 3 * rowBytes, xb, zero) - s0;
          let q = s0, wt = wq;
          const qEnd = s0 + (<usize>cin4 << 2);
          while (q < qEnd) {
            const wv = v128.load(wt);
            a0 = madd(v128.load(q), wv, a0);
            a1 = madd(v128.load(q + d1), wv, a1);
            a2 = madd(v128.load(q + d2), wv, a2);
            a3 = madd(v128.load(q + d3), wv, a3);
            q += 16; wt += 16;
          }
          if (tail) {
            const wv = v128.load(wt);
            a0 = madd(loadPartial(q, tail), wv, a0);
            a1 = madd(loadPartial(q + d1, tail), wv, a1);
            a2 = madd(loadPartial(q + d2, tail), wv, a2);
            a3 = madd(loadPartial(q + d3, tail), wv, a3);
          }
          wq += tapBytes;
        }
        // transpose-add the four accumulators: lane i of s = sum of a_i's lanes
        const t0 = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
        const t1 = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
        let s = f32x4.add(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
        s = epilogue(f32x4.add(s, v128.load_splat<f32>(bias + (<usize>co << 2))), act, slope);
        const co4 = <usize>co << 2;
        store<f32>(yb + <usize>load<i32>(op) + co4, f32x4.extract_lane(s, 0));
        store<f32>(yb + <usize>load<i32>(op, 4) + co4, f32x4.extract_lane(s, 1));
        store<f32>(yb + <usize>load<i32>(op, 8) + co4, f32x4.extract_lane(s, 2));
        store<f32>(yb + <usize>load<i32>(op, 12) + co4, f32x4.extract_lane(s, 3));
      }
    }
    for (; p < pixels; p++) { // 1 pixel x 1 channel, two accumulators
      const ir = ind + <usize>p * rowBytes;
      const yq = yb + <usize>load<i32>(outPix + (<usize>p << 2));
      for (let co = 0; co < cout; co++) {
        let a0 = f32x4.splat(0), a1 = a0;
        let wq = w + <usize>co * chanBytes;
        for (let ip = ir; ip < ir + rowBytes; ip += 4) {
          let q = tapSource(ip, xb, zero), wt = wq;
          const qEnd = q + (<usize>cin4 << 2);
          for (; q + 16 < qEnd; q += 32, wt += 32) {
            a0 = madd(v128.load(q), v128.load(wt), a0);
            a1 = madd(v128.load(q, 16), v128.load(wt, 16), a1);
          }
          if (q < qEnd) { a0 = madd(v128.load(q), v128.load(wt), a0); q += 16; wt += 16; }
          if (tail) a1 = madd(loadPartial(q, tail), v128.load(wt), a1);
          wq += tapBytes;
        }
        const a = f32x4.add(a0, a1);
        const s = (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1)) +
                  (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3)) + load<f32>(bias + (<usize>co << 2));
        const v = epilogue(f32x4.splat(s), act, slope);
        store<f32>(yq + (<usize>co << 2), f32x4.extract_lane(v, 0));
      }
    }
  }
}

// The indirection table of one pass, built at load (sdk/conv.ts): output pixel (qy, qx) of a
// qh x qw grid reads, through tap t, input pixel (qy*ay + ty[t], qx*ax + tx[t]) of an
// inH x inW image; ind[(qy*qw + qx)*taps + t] = that pixel's byte offset
// (iy*inW + ix)*pixBytes, or -1 when it is outside the image. ty, tx: i32 (taps).
export function i32_conv_indirection(qh: i32, qw: i32, taps: i32, ty: usize, tx: usize,
                                     ay: i32, ax: i32, inH: i32, inW: i32, pixBytes: i32,
                                     ind: usize): void {
  let out = ind;
  for (let qy = 0; qy < qh; qy++) {
    for (let qx = 0; qx < qw; qx++) {
      for (let t = 0; t < taps; t++) {
        const iy = qy * ay + load<i32>(ty + (<usize>t << 2));
        const ix = qx * ax + load<i32>(tx + (<usize>t << 2));
        const ok = <u32>iy < <u32>inH && <u32>ix < <u32>inW;
        store<i32>(out, ok ? (iy * inW + ix) * pixBytes : -1);
        out += 4;
      }
    }
  }
}

// Output offsets of one pass: grid pixel (qy, qx) is output pixel (oy0 + qy*sy, ox0 + qx*sx)
// of an image outW wide; dst[qy*qw + qx] = its byte offset (oy*outW + ox)*pixBytes.
export function i32_conv_output_offsets(qh: i32, qw: i32, oy0: i32, ox0: i32, sy: i32, sx: i32,
                                        outW: i32, pixBytes: i32, dst: usize): void {
  let out = dst;
  for (let qy = 0; qy < qh; qy++) {
    for (let qx = 0; qx < qw; qx++) {
      store<i32>(out, ((oy0 + qy * sy) * outW + ox0 + qx * sx) * pixBytes);
      out += 4;
    }
  }
}
