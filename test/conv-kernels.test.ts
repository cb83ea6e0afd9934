// The convolution engine against the float64 reference (test/reference/conv.ts): every kernel of
// assembly/conv.ts, layout.ts and norm.ts, and sdk/conv.ts's prepareConv/runConv, on tile-edge
// sizes (items 1, 3, 37; pixels 1..5 and multiples; output channels 1..9, 16, 17, 32, 33), odd
// images, non-square kernels, strides and dilations that differ per axis, asymmetric padding,
// groups, depthwise, transposed convolutions of every phase shape, and 1-D layers (H = 1).
// Inputs are PyTorch-layout (CHW per item); the tests move them to NHWC with
// f32_transpose_items and back, so the transposes are checked on every case too.
//
// Tolerance (f32 vs f64): |got - ref| <= 1e-5 * scale + 1e-5 * |ref|, where scale is the largest
// |ref| of the output (a convolution's error is a dot product's, ~K * 2^-24 of its terms, far
// below this for the K <= 600 used here). Unwritten outputs are caught: outputs start as NaN,
// and a sentinel after the output must survive.
// Both builds run: the baseline, and the relaxed-SIMD one where the host validates it (Node 22+;
// on Node 20 `npx vitest run test/conv-kernels.test.ts --execArgv=--experimental-wasm-relaxed-simd`;
// otherwise that half is skipped, saying why).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { kernelHarness, type KernelHarness } from "./helpers/wasm";
import { expectClose } from "./helpers/close";
import { mulberry32 } from "./helpers/safetensors";
import * as ref from "./reference/conv";
import { prepareConv, runConv, type ConvSpec } from "../sdk/conv";
import { ACT } from "../sdk/kernels";

const BUILDS = [
  { name: "baseline", url: new URL("../build/edgevae.wasm", import.meta.url) },
  { name: "relaxed", url: new URL("../build/edgevae-relaxed.wasm", import.meta.url) },
];

function uniform(n: number, lo: number, hi: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function expectScaled(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rel = 1e-5): void {
  expectClose(got, want, { rtol: rel, atol: rel * Math.max(maxAbs(want), 1e-30) }, what);
}

const SENTINEL = 12345.5;

/** Reserves n f32 filled with NaN, plus a sentinel right after them. */
function nanBuffer(h: KernelHarness, n: number): number {
  const p = h.zeros(n + 4);
  const f = h.arena.heapF32();
  f.fill(NaN, p >>> 2, (p >>> 2) + n);
  f[(p >>> 2) + n] = SENTINEL;
  return p;
}

function sentinelIntact(h: KernelHarness, p: number, n: number): boolean {
  return h.arena.heapF32()[(p >>> 2) + n] === SENTINEL;
}

interface ConvCase {
  name: string;
  transposed?: boolean;
  items: number; cin: number; cout: number; h: number; w: number;
  kh: number; kw: number;
  stride?: [number, number]; dilation?: [number, number];
  padding?: [number, number, number, number]; // conv: [top, left, bottom, right]; transposed: [ph, pw, ph, pw]
  outputPadding?: [number, number];
  groups?: number;
  bias?: boolean;
  act?: number; slope?: number;
}

function specOf(c: ConvCase): ConvSpec {
  const [sh, sw] = c.stride ?? [1, 1];
  const [dh, dw] = c.dilation ?? [1, 1];
  const [top, left, bottom, right] = c.padding ?? [0, 0, 0, 0];
  const [oph, opw] = c.outputPadding ?? [0, 0];
  const outH = c.transposed ? (c.h - 1) * sh - top - bottom + dh * (c.kh - 1) + oph + 1
    : Math.floor((c.h + top + bottom - dh * (c.kh - 1) - 1) / sh) + 1;
  const outW = c.transposed ? (c.w - 1) * sw - left - right + dw * (c.kw - 1) + opw + 1
    : Math.floor((c.w + left + right - dw * (c.kw - 1) - 1) / sw) + 1;
  return {
    transposed: c.transposed ?? false, cin: c.cin, cout: c.cout, groups: c.groups ?? 1,
    inH: c.h, inW: c.w, kh: c.kh, kw: c.kw, strideH: sh, strideW: sw, dilationH: dh, dilationW: dw,
    padTop: top, padLeft: left, padBottom: bottom, padRight: right, outPadH: oph, outPadW: opw, outH, outW,
  };
}

function activate(v: number, act: number, slope: number): number {
  if (act === ACT.relu) return Math.max(v, 0);
  if (act === ACT.leaky_relu) return v > 0 ? v : v * slope;
  return v;
}

/** Runs one case through prepareConv/runConv and compares with the reference. */
function checkConv(h: KernelHarness, c: ConvCase, seed: number): { kind: string } {
  h.reset();
  const s = specOf(c);
  expect(s.outH >= 1 && s.outW >= 1, "case geometry").toBe(true);
  const g = s.groups;
  const wLen = c.transposed ? c.cin * (c.cout / g) * c.kh * c.kw : c.cout * (c.cin / g) * c.kh * c.kw;
  const weight = uniform(wLen, -1, 1, seed);
  const bias = c.bias === false ? null : uniform(c.cout, -1, 1, seed + 1);
  const x = uniform(c.items * c.cin * c.h * c.w, -1, 1, seed + 2);
  const want = c.transposed
    ? ref.convTranspose2d(x, c.items, c.cin, c.h, c.w, weight, bias, c.cout, c.kh, c.kw, {
      stride: c.stride, padding: c.padding ? [c.padding[0], c.padding[1]] : undefined,
      outputPadding: c.outputPadding, dilation: c.dilation, groups: g,
    })
    : ref.conv2d(x, c.items, c.cin, c.h, c.w, weight, bias, c.cout, c.kh, c.kw, {
      stride: c.stride, padding: c.padding, dilation: c.dilation, groups: g,
    });
  expect([want.h, want.w]).toEqual([s.outH, s.outW]);
  const act = c.act ?? ACT.identity, slope = c.slope ?? 0;
  const expected = want.data.map((v) => activate(v, act, slope));

  const prepared = prepareConv(h.k, h.arena, s, weight, bias);
  expect(prepared.modelBytes).toBeGreaterThan(0);
  const inPix = c.h * c.w, outPix = s.outH * s.outW;
  const xChw = h.put(x);
  const xHwc = h.zeros(c.items * inPix * c.cin);
  h.k.f32_transpose_items(xChw, c.items, c.cin, inPix, xHwc);
  const n = c.items * outPix * c.cout;
  const yHwc = nanBuffer(h, n);
  runConv(h.k, prepared, xHwc, yHwc, c.items, act, slope);
  expect(sentinelIntact(h, yHwc, n), "wrote past the output").toBe(true);
  const yChw = h.zeros(n);
  h.k.f32_transpose_items(yHwc, c.items, outPix, c.cout, yChw);
  expectScaled(h.get(yChw, n), expected, `${c.name} (${prepared.kind})`);
  return { kind: prepared.kind };
}

// ---- the case matrix ---------------------------------------------------------------------

const CONV_CASES: ConvCase[] = [];
// output channels across the panel edges x input channels, 3x3 "same" on an odd image
for (const cout of [1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 32, 33]) {
  for (const cin of [1, 3, 5, 8, 13, 33]) {
    CONV_CASES.push({ name: `3x3 p1 cin ${cin} cout ${cout}`, items: 3, cin, cout, h: 5, w: 7, kh: 3, kw: 3, padding: [1, 1, 1, 1] });
  }
}
// output pixel counts 1..5, 8, 15 and bigger images (4-pixel tiles and the 1-pixel tail)
for (const [hh, ww] of [[1, 1], [1, 2], [1, 3], [2, 2], [1, 5], [2, 4], [3, 5], [13, 11], [28, 28]] as const) {
  for (const cout of [4, 9, 32]) {
    CONV_CASES.push({ name: `3x3 p1 ${hh}x${ww} cout ${cout}`, items: 3, cin: 4, cout, h: hh, w: ww, kh: 3, kw: 3, padding: [1, 1, 1, 1] });
  }
}
CONV_CASES.push(
  { name: "batch 1", items: 1, cin: 3, cout: 8, h: 13, w: 11, kh: 3, kw: 3, padding: [1, 1, 1, 1] },
  { name: "batch 37", items: 37, cin: 5, cout: 9, h: 5, w: 7, kh: 3, kw: 3, padding: [1, 1, 1, 1] },
  { name: "3x3 32->32 28x28", items: 1, cin: 32, cout: 32, h: 28, w: 28, kh: 3, kw: 3, padding: [1, 1, 1, 1] },
  { name: "3x3 no padding", items: 3, cin: 4, cout: 5, h: 13, w: 11, kh: 3, kw: 3 },
  { name: "1x1 (gemm)", items: 3, cin: 13, cout: 17, h: 5, w: 7, kh: 1, kw: 1 },
  { name: "1x1 (gemm) batch 37", items: 37, cin: 4, cout: 9, h: 1, w: 5, kh: 1, kw: 1, bias: false },
  { name: "1x1 stride 2", items: 3, cin: 5, cout: 9, h: 13, w: 11, kh: 1, kw: 1, stride: [2, 2] },
  { name: "1x1 padded", items: 3, cin: 5, cout: 9, h: 5, w: 7, kh: 1, kw: 1, padding: [1, 0, 0, 2] },
  { name: "2x5 non-square", items: 3, cin: 3, cout: 7, h: 13, w: 11, kh: 2, kw: 5, padding: [1, 2, 0, 2] },
  { name: "4x4 stride 2 pad 1", items: 3, cin: 8, cout: 16, h: 28, w: 28, kh: 4, kw: 4, stride: [2, 2], padding: [1, 1, 1, 1] },
  { name: "3x3 stride 2", items: 3, cin: 9, cout: 17, h: 13, w: 11, kh: 3, kw: 3, stride: [2, 2], padding: [1, 1, 1, 1] },
  { name: "3x3 stride (2,1)", items: 3, cin: 5, cout: 8, h: 13, w: 11, kh: 3, kw: 3, stride: [2, 1], padding: [1, 1, 1, 1] },
  { name: "3x3 stride (1,3)", items: 3, cin: 5, cout: 8, h: 13, w: 11, kh: 3, kw: 3, stride: [1, 3] },
  { name: "dilation (2,1)", items: 3, cin: 4, cout: 9, h: 13, w: 11, kh: 3, kw: 3, dilation: [2, 1], padding: [2, 1, 2, 1] },
  { name: "dilation (1,3) stride 2", items: 3, cin: 4, cout: 9, h: 13, w: 11, kh: 3, kw: 3, dilation: [1, 3], stride: [2, 2] },
  { name: "asymmetric padding (0,1,1,0)", items: 3, cin: 5, cout: 9, h: 5, w: 7, kh: 3, kw: 3, padding: [0, 1, 1, 0] },
  { name: "asymmetric 'same' stride 2 (0,0,1,1)", items: 3, cin: 3, cout: 4, h: 28, w: 28, kh: 3, kw: 3, stride: [2, 2], padding: [0, 0, 1, 1] },
  { name: "padding larger than the kernel", items: 1, cin: 3, cout: 5, h: 5, w: 7, kh: 2, kw: 2, padding: [3, 2, 3, 4] },
  { name: "groups 2", items: 3, cin: 8, cout: 18, h: 5, w: 7, kh: 3, kw: 3, groups: 2, padding: [1, 1, 1, 1] },
  { name: "groups 3", items: 3, cin: 9, cout: 3, h: 13, w: 11, kh: 3, kw: 3, groups: 3, padding: [1, 1, 1, 1] },
  { name: "groups 3, 1x1", items: 3, cin: 6, cout: 9, h: 5, w: 7, kh: 1, kw: 1, groups: 3 },
  { name: "groups 2 stride 2 dilation 2", items: 3, cin: 26, cout: 34, h: 13, w: 11, kh: 3, kw: 3, groups: 2, stride: [2, 2], dilation: [2, 2], padding: [2, 2, 2, 2] },
  { name: "channel multiplier 2 (groups = cin)", items: 3, cin: 5, cout: 10, h: 5, w: 7, kh: 3, kw: 3, groups: 5, padding: [1, 1, 1, 1] },
  { name: "relu", items: 3, cin: 5, cout: 9, h: 5, w: 7, kh: 3, kw: 3, padding: [1, 1, 1, 1], act: ACT.relu },
  { name: "leaky_relu", items: 3, cin: 5, cout: 33, h: 5, w: 7, kh: 3, kw: 3, padding: [1, 1, 1, 1], act: ACT.leaky_relu, slope: 0.1 },
  { name: "leaky_relu 1 pixel", items: 3, cin: 5, cout: 33, h: 1, w: 1, kh: 3, kw: 3, padding: [1, 1, 1, 1], act: ACT.leaky_relu, slope: 0.2 },
  // few output channels: f32_conv_dot_4x1 (input channels at and off the vector edge)
  { name: "dot: 3x3 cin 32 cout 1, 13x11", items: 3, cin: 32, cout: 1, h: 13, w: 11, kh: 3, kw: 3, padding: [1, 1, 1, 1] },
  { name: "dot: 1x1 cin 33 cout 2 (not gemm)", items: 3, cin: 33, cout: 2, h: 5, w: 7, kh: 1, kw: 1 },
  { name: "dot: 4x4 s2 cin 9 cout 3 relu", items: 37, cin: 9, cout: 3, h: 5, w: 7, kh: 4, kw: 4, stride: [2, 2], padding: [1, 1, 1, 1], act: ACT.relu },
  { name: "dot: groups 2, 16 -> 8 (4 per group), leaky", items: 3, cin: 16, cout: 8, groups: 2, h: 5, w: 7, kh: 3, kw: 3, padding: [1, 1, 1, 1], act: ACT.leaky_relu, slope: 0.1 },
  { name: "dot: 1 pixel, cin 11 cout 4", items: 5, cin: 11, cout: 4, h: 1, w: 1, kh: 3, kw: 3, padding: [1, 1, 1, 1] },
  { name: "dot: 3 pixels, cin 12 cout 1", items: 3, cin: 12, cout: 1, h: 1, w: 3, kh: 2, kw: 2, padding: [1, 1, 0, 0] },
  // 1-D (H = 1)
  { name: "conv1d k3 p1", items: 3, cin: 5, cout: 9, h: 1, w: 37, kh: 1, kw: 3, padding: [0, 1, 0, 1] },
  { name: "conv1d k4 s2 p(1,2)", items: 3, cin: 4, cout: 16, h: 1, w: 28, kh: 1, kw: 4, stride: [1, 2], padding: [0, 1, 0, 2] },
  { name: "conv1d k5 dilation 3", items: 37, cin: 3, cout: 7, h: 1, w: 28, kh: 1, kw: 5, dilation: [1, 3] },
);
// depthwise (groups == cin == cout), channels across the vector edges
for (const c of [2, 3, 4, 5, 9, 13, 16, 17, 32, 33]) {
  CONV_CASES.push({ name: `depthwise 3x3 c ${c}`, items: 3, cin: c, cout: c, groups: c, h: 5, w: 7, kh: 3, kw: 3, padding: [1, 1, 1, 1] });
}
CONV_CASES.push(
  { name: "depthwise 5x5 stride 2 relu", items: 3, cin: 13, cout: 13, groups: 13, h: 13, w: 11, kh: 5, kw: 5, stride: [2, 2], padding: [2, 2, 2, 2], act: ACT.relu },
  { name: "depthwise 2x5 dilation (2,1) asymmetric", items: 37, cin: 5, cout: 5, groups: 5, h: 5, w: 7, kh: 2, kw: 5, dilation: [2, 1], padding: [0, 1, 1, 0], bias: false },
  { name: "depthwise conv1d", items: 3, cin: 8, cout: 8, groups: 8, h: 1, w: 13, kh: 1, kw: 3, padding: [0, 1, 0, 1] },
);

const T: Partial<ConvCase> = { transposed: true };
const TRANSPOSED_CASES: ConvCase[] = [
  { ...T, name: "k4 s2 p1 (DCGAN)", items: 3, cin: 8, cout: 16, h: 7, w: 7, kh: 4, kw: 4, stride: [2, 2], padding: [1, 1, 1, 1] },
  { ...T, name: "k4 s2 p1 32->32 14x14", items: 1, cin: 32, cout: 32, h: 14, w: 14, kh: 4, kw: 4, stride: [2, 2], padding: [1, 1, 1, 1] },
  { ...T, name: "k3 s2 p1 op1", items: 3, cin: 5, cout: 9, h: 5, w: 7, kh: 3, kw: 3, stride: [2, 2], padding: [1, 1, 1, 1], outputPadding: [1, 1] },
  { ...T, name: "k3 s1 p1", items: 3, cin: 5, cout: 7, h: 5, w: 7, kh: 3, kw: 3, padding: [1, 1, 1, 1] },
  { ...T, name: "k3 s1 p0", items: 3, cin: 4, cout: 3, h: 5, w: 7, kh: 3, kw: 3 },
  { ...T, name: "k1 s1 (gemm)", items: 3, cin: 13, cout: 9, h: 5, w: 7, kh: 1, kw: 1 },
  { ...T, name: "k1 s2 (phases without taps)", items: 3, cin: 5, cout: 9, h: 5, w: 7, kh: 1, kw: 1, stride: [2, 2] },
  { ...T, name: "k1 s2 op1", items: 3, cin: 5, cout: 9, h: 5, w: 7, kh: 1, kw: 1, stride: [2, 2], outputPadding: [1, 1] },
  { ...T, name: "k2 s3", items: 3, cin: 4, cout: 5, h: 5, w: 7, kh: 2, kw: 2, stride: [3, 3] },
  { ...T, name: "k5 s3 p2 op2", items: 3, cin: 3, cout: 8, h: 5, w: 7, kh: 5, kw: 5, stride: [3, 3], padding: [2, 2, 2, 2], outputPadding: [2, 2] },
  { ...T, name: "k3 s(2,1) p(1,0) op(1,0)", items: 3, cin: 5, cout: 17, h: 5, w: 7, kh: 3, kw: 3, stride: [2, 1], padding: [1, 0, 1, 0], outputPadding: [1, 0] },
  { ...T, name: "k2x5 s(1,2) p(0,2) op(0,1)", items: 3, cin: 4, cout: 7, h: 13, w: 11, kh: 2, kw: 5, stride: [1, 2], padding: [0, 2, 0, 2], outputPadding: [0, 1] },
  { ...T, name: "k3 s2 dilation (2,1) op(1,1)", items: 3, cin: 4, cout: 9, h: 5, w: 7, kh: 3, kw: 3, stride: [2, 2], dilation: [2, 1], padding: [1, 1, 1, 1], outputPadding: [1, 1] },
  { ...T, name: "k3 s1 dilation 3 op 2 (op < dilation)", items: 3, cin: 4, cout: 5, h: 5, w: 7, kh: 3, kw: 3, dilation: [3, 3], padding: [1, 2, 1, 2], outputPadding: [2, 1] },
  { ...T, name: "k4 s2 p3 (padding crops)", items: 3, cin: 4, cout: 5, h: 5, w: 7, kh: 4, kw: 4, stride: [2, 2], padding: [3, 3, 3, 3] },
  { ...T, name: "1x1 input k4 s1 p0 (DCGAN's first layer; split by valid taps)", items: 3, cin: 32, cout: 33, h: 1, w: 1, kh: 4, kw: 4 },
  { ...T, name: "2x2 input k4 s1 p0 (split)", items: 3, cin: 9, cout: 17, h: 2, w: 2, kh: 4, kw: 4 },
  { ...T, name: "1x1 input k4 s1 p0 -> 1 channel (dot, split)", items: 3, cin: 16, cout: 1, h: 1, w: 1, kh: 4, kw: 4 },
  { ...T, name: "depthwise 1x1 input k3 s1 (split)", items: 3, cin: 5, cout: 5, groups: 5, h: 1, w: 1, kh: 3, kw: 3 },
  { ...T, name: "1x1 input k4 s2", items: 37, cin: 9, cout: 8, h: 1, w: 1, kh: 4, kw: 4, stride: [2, 2] },
  { ...T, name: "groups 2", items: 3, cin: 8, cout: 18, h: 5, w: 7, kh: 4, kw: 4, stride: [2, 2], padding: [1, 1, 1, 1], groups: 2 },
  { ...T, name: "groups 3 k3 s3", items: 3, cin: 9, cout: 6, h: 5, w: 7, kh: 3, kw: 3, stride: [3, 3], groups: 3 },
  { ...T, name: "depthwise k4 s2 p1", items: 3, cin: 13, cout: 13, groups: 13, h: 5, w: 7, kh: 4, kw: 4, stride: [2, 2], padding: [1, 1, 1, 1] },
  { ...T, name: "depthwise k1 s3 (no taps)", items: 3, cin: 5, cout: 5, groups: 5, h: 5, w: 7, kh: 1, kw: 1, stride: [3, 3] },
  { ...T, name: "channel multiplier 3 (groups = cin)", items: 3, cin: 4, cout: 12, groups: 4, h: 5, w: 7, kh: 3, kw: 3, stride: [2, 2] },
  { ...T, name: "relu, no bias", items: 3, cin: 5, cout: 33, h: 5, w: 7, kh: 4, kw: 4, stride: [2, 2], padding: [1, 1, 1, 1], act: ACT.relu, bias: false },
  { ...T, name: "leaky_relu", items: 37, cin: 3, cout: 4, h: 5, w: 7, kh: 3, kw: 3, stride: [2, 2], act: ACT.leaky_relu, slope: 0.3 },
  { ...T, name: "decoder output k4 s2 p1 32 -> 1 (dot)", items: 3, cin: 32, cout: 1, h: 14, w: 14, kh: 4, kw: 4, stride: [2, 2], padding: [1, 1, 1, 1] },
  { ...T, name: "decoder output k3 s2 p1 op1 13 -> 2 (dot)", items: 3, cin: 13, cout: 2, h: 5, w: 7, kh: 3, kw: 3, stride: [2, 2], padding: [1, 1, 1, 1], outputPadding: [1, 1] },
  { ...T, name: "k1 s2 cin 8 cout 3 (dot, phases without taps)", items: 3, cin: 8, cout: 3, h: 5, w: 7, kh: 1, kw: 1, stride: [2, 2] },
  // 1-D (H = 1)
  { ...T, name: "conv_transpose1d k4 s2 p1", items: 3, cin: 8, cout: 5, h: 1, w: 13, kh: 1, kw: 4, stride: [1, 2], padding: [0, 1, 0, 1] },
  { ...T, name: "conv_transpose1d k3 s3 op2", items: 3, cin: 4, cout: 9, h: 1, w: 28, kh: 1, kw: 3, stride: [1, 3], outputPadding: [0, 2] },
  { ...T, name: "1x1 input k1 s3 (one output pixel)", items: 3, cin: 5, cout: 9, h: 1, w: 1, kh: 1, kw: 1, stride: [3, 3] },
  { ...T, name: "1x1 input k1 s3 op2 (bias-only phases)", items: 3, cin: 5, cout: 9, h: 1, w: 1, kh: 1, kw: 1, stride: [3, 3], outputPadding: [2, 2] },
  { ...T, name: "k3 s2 dilation 2 (one phase gets every tap)", items: 3, cin: 4, cout: 9, h: 5, w: 7, kh: 3, kw: 3, stride: [2, 2], dilation: [2, 2], outputPadding: [1, 1] },
  { ...T, name: "conv_transpose1d k1 s2", items: 37, cin: 3, cout: 3, h: 1, w: 5, kh: 1, kw: 1, stride: [1, 2] },
];

// Random legal layers (seeded): every geometry parameter drawn independently, so combinations
// nobody listed above (dilation with output_padding and groups, strides above the kernel, ...)
// are checked too.
function randomCases(count: number, seed: number): ConvCase[] {
  const r = mulberry32(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const out: ConvCase[] = [];
  while (out.length < count) {
    const transposed = r() < 0.5, oneD = r() < 0.2;
    const groups = [1, 1, 2, 3][int(0, 3)]!;
    const depthwise = r() < 0.15;
    const cin = depthwise ? int(1, 9) : groups * int(1, 10), cout = depthwise ? cin : groups * int(1, 6);
    const kh = oneD ? 1 : int(1, 5), kw = int(1, 5);
    const stride: [number, number] = [oneD ? 1 : int(1, 3), int(1, 3)];
    const dilation: [number, number] = [oneD ? 1 : int(1, 3), int(1, 3)];
    const h = oneD ? 1 : int(1, 9), w = int(1, 9);
    let padding: [number, number, number, number];
    let outputPadding: [number, number] | undefined;
    if (transposed) {
      const ph = oneD ? 0 : int(0, 3), pw = int(0, 3);
      padding = [ph, pw, ph, pw];
      outputPadding = [oneD ? 0 : int(0, Math.max(stride[0], dilation[0]) - 1), int(0, Math.max(stride[1], dilation[1]) - 1)];
    } else {
      padding = oneD ? [0, int(0, 3), 0, int(0, 3)] : [int(0, 3), int(0, 3), int(0, 3), int(0, 3)];
    }
    const c: ConvCase = {
      name: `random ${out.length}: ${transposed ? "T " : ""}${cin}->${cout} g${depthwise ? cin : groups} ${h}x${w} k${kh}x${kw} s${stride} d${dilation} p${padding}${outputPadding ? ` op${outputPadding}` : ""}`,
      transposed, items: int(1, 4), cin, cout, groups: depthwise ? cin : groups, h, w, kh, kw, stride, dilation, padding, outputPadding,
      bias: r() < 0.8, act: [ACT.identity, ACT.relu, ACT.leaky_relu][int(0, 2)], slope: 0.15,
    };
    const sp = specOf(c);
    if (sp.outH >= 1 && sp.outW >= 1) out.push(c);
  }
  return out;
}
// EDGEVAE_CONV_RANDOM=<count> (and EDGEVAE_CONV_SEED) run more.
const RANDOM_CASES = randomCases(Number(process.env.EDGEVAE_CONV_RANDOM ?? 200), Number(process.env.EDGEVAE_CONV_SEED ?? 2026));

// ---- the kernels' own tests --------------------------------------------------------------

for (const build of BUILDS) {
  const bytes = readFileSync(build.url);
  const ok = WebAssembly.validate(bytes);
  const suite = ok ? describe : describe.skip;
  const why = ok ? "" : " (skipped: this host has no relaxed SIMD; Node 20 needs --experimental-wasm-relaxed-simd)";

  suite(`${build.name} build${why}`, () => {
    // (a skipped suite's body is still collected: do not compile what the host rejects)
    const h = ok ? kernelHarness(build.url) : (undefined as unknown as KernelHarness);

    describe("prepareConv/runConv: conv2d / conv1d", () => {
      it.each(CONV_CASES.map((c, i) => [c.name, c, i] as const))("%s", (_n, c, i) => {
        const { kind } = checkConv(h, c, 100 + i * 7);
        if (c.groups !== undefined && c.groups === c.cin && c.cin === c.cout) expect(kind).toBe("depthwise");
        if (c.name.startsWith("dot:")) expect(kind).toBe("dot");
      });
      it("a 1x1 stride-1 unpadded conv runs as a GEMM, other shapes as indirect GEMM", () => {
        expect(checkConv(h, { name: "1x1", items: 1, cin: 3, cout: 4, h: 2, w: 3, kh: 1, kw: 1 }, 1).kind).toBe("gemm");
        expect(checkConv(h, { name: "3x3", items: 1, cin: 3, cout: 4, h: 2, w: 3, kh: 3, kw: 3, padding: [1, 1, 1, 1] }, 1).kind).toBe("igemm");
      });
    });

    it("the 1-D references are the 2-D ones with H = 1", () => {
      const x = uniform(3 * 4 * 9, -1, 1, 1), w = uniform(6 * 2 * 3, -1, 1, 2), b = uniform(6, -1, 1, 3);
      const a = ref.conv1d(x, 3, 4, 9, w, b, 6, 3, { stride: 2, padding: [1, 2], dilation: 2, groups: 2 });
      expect(a.w).toBe(Math.floor((9 + 3 - 2 * 2 - 1) / 2) + 1);
      // the same sequence as a column of width 1 (H = L): both axes are treated alike
      const c = ref.conv2d(x, 3, 4, 9, 1, w, b, 6, 3, 1, { stride: [2, 1], padding: [1, 0, 2, 0], dilation: [2, 1], groups: 2 });
      expect(Array.from(a.data)).toEqual(Array.from(c.data));
      const wt = uniform(4 * 3 * 3, -1, 1, 4);
      const t = ref.convTranspose1d(x, 3, 4, 9, wt, b, 6, 3, { stride: 3, padding: 1, outputPadding: 2, groups: 2 });
      expect(t.w).toBe((9 - 1) * 3 - 2 + 2 + 2 + 1);
      const t2 = ref.convTranspose2d(x, 3, 4, 9, 1, wt, b, 6, 3, 1, { stride: [3, 1], padding: [1, 0], outputPadding: [2, 0], groups: 2 });
      expect(Array.from(t.data)).toEqual(Array.from(t2.data));
    });

    it("small images run only in-bounds taps (passes split by valid taps)", () => {
      const macs = (c: ConvCase): number => {
        h.reset();
        const s = specOf(c);
        const w = new Float32Array(c.transposed ? c.cin * c.cout * c.kh * c.kw : c.cout * c.cin * c.kh * c.kw);
        const p = prepareConv(h.k, h.arena, s, w, null);
        return p.passes.reduce((m, pass) => m + pass.pixels * pass.taps, 0);
      };
      // 16 output pixels, one real tap each
      expect(macs({ name: "", transposed: true, items: 1, cin: 8, cout: 8, h: 1, w: 1, kh: 4, kw: 4 })).toBe(16);
      // 3x3 "same" on 1x1: the centre tap only
      expect(macs({ name: "", items: 1, cin: 8, cout: 8, h: 1, w: 1, kh: 3, kw: 3, padding: [1, 1, 1, 1] })).toBe(1);
      // a 13x11 image keeps one pass with every tap (the padding is a small fraction)
      expect(macs({ name: "", items: 1, cin: 8, cout: 8, h: 13, w: 11, kh: 3, kw: 3, padding: [1, 1, 1, 1] })).toBe(13 * 11 * 9);
    });

    describe("prepareConv/runConv: conv_transpose2d / conv_transpose1d", () => {
      it.each(TRANSPOSED_CASES.map((c, i) => [c.name, c, i] as const))("%s", (_n, c, i) => {
        checkConv(h, c, 900 + i * 11);
      });
    });

    describe(`prepareConv/runConv: ${RANDOM_CASES.length} random legal layers`, () => {
      const kinds = new Set<string>();
      it.each(RANDOM_CASES.map((c, i) => [c.name, c, i] as const))("%s", (_n, c, i) => {
        kinds.add(checkConv(h, c, 5000 + i).kind);
      });
      it("the random layers ran each conv kernel (the GEMM path is rare at random: listed cases cover it)", () => {
        for (const kind of ["depthwise", "dot", "igemm"]) expect(kinds.has(kind), kind).toBe(true);
      });
    });

    describe("f32_conv_igemm_4x8 directly: arbitrary indirection, strided pixels, taps = 0", () => {
      // pixels at 1..9 (tiles of 4 and the tail), cout at the panel edges, cin odd;
      // channel vectors inside wider pixels (stride 13 floats in, 40 out, at offsets 2 and 3)
      // passes of 1..3 pixels tile (item, pixel) rows across items: items 1, 3, 37 there
      const cases: [number, number, number, number, number][] = [];
      for (const pixels of [1, 2, 3, 4, 5, 8, 9]) for (const cout of [1, 7, 8, 9, 17, 33]) cases.push([3, pixels, 3, 5, cout]);
      for (const pixels of [1, 2, 3]) for (const items of [1, 37]) cases.push([items, pixels, 2, 3, 9], [items, pixels, 3, 1, 33]);
      cases.push([3, 6, 0, 5, 9], [3, 5, 1, 1, 1], [3, 7, 4, 9, 32], [5, 2, 0, 3, 3], [37, 5, 3, 1, 8]);
      it.each(cases)("items %i pixels %i taps %i cin %i cout %i", (items, pixels, taps, cin, cout) => {
        h.reset();
        const inPixels = 11, inStride = 13, inOff = 2, outStride = 40, outOff = 3;
        const r = mulberry32(items * 7919 + pixels * 1000 + taps * 100 + cout);
        const x = uniform(items * inPixels * inStride, -1, 1, 7 + cout);
        const m = uniform(cout * taps * cin, -1, 1, 8 + cout); // (cout, taps*cin), K = t*cin + c
        const bias = uniform(cout, -1, 1, 9);
        const ind = new Int32Array(pixels * taps);
        for (let i = 0; i < ind.length; i++) ind[i] = r() < 0.2 ? -1 : Math.floor(r() * inPixels) * inStride * 4;
        const order = Array.from({ length: pixels }, (_, p) => pixels - 1 - p); // reversed, strided output
        const outPix = Int32Array.from(order, (q) => q * outStride * 4);
        const panels = Math.ceil(cout / 8);
        const mp = h.put(m), wp = h.zeros(panels * 8 * Math.max(taps * cin, 1));
        h.k.f32_pack_weights_nr8(mp, wp, cout, taps * cin);
        const bp = h.put(Float32Array.from({ length: panels * 8 }, (_, j) => (j < cout ? bias[j]! : 0)));
        const put32 = (a: Int32Array): number => {
          const p = h.zeros(Math.max(a.length, 1));
          new Int32Array(h.k.memory.buffer, p, a.length).set(a);
          return p;
        };
        const indp = put32(ind), outp = put32(outPix), zero = h.zeros(cin + 4);
        const xp = h.put(x);
        const yLen = items * pixels * outStride;
        const yp = h.put(new Float32Array(yLen).fill(-777));
        h.k.f32_conv_igemm_4x8(items, pixels, taps, cin, xp + inOff * 4, inPixels * inStride * 4, indp, zero, wp, bp, cout,
          yp + outOff * 4, pixels * outStride * 4, outp, ACT.identity, 0);
        const want = new Float64Array(yLen).fill(-777);
        for (let b = 0; b < items; b++) {
          for (let p = 0; p < pixels; p++) {
            for (let co = 0; co < cout; co++) {
              let s = bias[co]!;
              for (let t = 0; t < taps; t++) {
                const o = ind[p * taps + t]!;
                if (o < 0) continue;
                for (let c = 0; c < cin; c++) s += x[b * inPixels * inStride + o / 4 + inOff + c]! * m[co * taps * cin + t * cin + c]!;
              }
              want[b * pixels * outStride + order[p]! * outStride + outOff + co] = s;
            }
          }
        }
        expectScaled(h.get(yp, yLen), want, "y (untouched channels stay -777)");
      });
    });

    describe("f32_dwconv directly: channel tails", () => {
      it.each([1, 2, 3, 4, 5, 15, 16, 17, 20, 33])("c %i", (c) => {
        h.reset();
        const items = 2, pixels = 5, taps = 4, inPixels = 6, cPad = Math.ceil(c / 4) * 4;
        const r = mulberry32(c);
        const x = uniform(items * inPixels * c, -1, 1, c + 1);
        const w = uniform(taps * cPad, -1, 1, c + 2);
        for (let t = 0; t < taps; t++) for (let j = c; j < cPad; j++) w[t * cPad + j] = 0;
        const bias = uniform(cPad, -1, 1, c + 3);
        const ind = Int32Array.from({ length: pixels * taps }, () => (r() < 0.25 ? -1 : Math.floor(r() * inPixels) * c * 4));
        const outPix = Int32Array.from({ length: pixels }, (_, p) => p * c * 4);
        const put32 = (a: Int32Array): number => {
          const p = h.zeros(a.length);
          new Int32Array(h.k.memory.buffer, p, a.length).set(a);
          return p;
        };
        const n = items * pixels * c;
        const yp = nanBuffer(h, n);
        h.k.f32_dwconv(items, pixels, taps, c, h.put(x), inPixels * c * 4, put32(ind), h.zeros(cPad), h.put(w), h.put(bias),
          yp, pixels * c * 4, put32(outPix), ACT.leaky_relu, 0.25);
        const want = new Float64Array(n);
        for (let b = 0; b < items; b++) for (let p = 0; p < pixels; p++) for (let j = 0; j < c; j++) {
          let s = bias[j]!;
          for (let t = 0; t < taps; t++) {
            const o = ind[p * taps + t]!;
            if (o >= 0) s += x[b * inPixels * c + o / 4 + j]! * w[t * cPad + j]!;
          }
          want[(b * pixels + p) * c + j] = activate(s, ACT.leaky_relu, 0.25);
        }
        expect(sentinelIntact(h, yp, n)).toBe(true);
        expectScaled(h.get(yp, n), want, "y");
      });
    });

    describe("f32_transpose_items", () => {
      const cases: [number, number, number][] = [];
      for (const items of [1, 3]) for (const rows of [1, 3, 4, 5, 8, 13]) for (const cols of [1, 2, 4, 7, 16, 35]) cases.push([items, rows, cols]);
      cases.push([37, 3, 784], [2, 32, 4096]);
      it.each(cases)("items %i rows %i cols %i", (items, rows, cols) => {
        h.reset();
        const x = uniform(items * rows * cols, -1, 1, rows * 31 + cols);
        const n = x.length, d = nanBuffer(h, n);
        h.k.f32_transpose_items(h.put(x), items, rows, cols, d);
        const want = new Float32Array(n);
        for (let b = 0; b < items; b++) for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
          want[b * rows * cols + c * rows + r] = x[b * rows * cols + r * cols + c]!;
        }
        expect(sentinelIntact(h, d, n)).toBe(true);
        expect(h.get(d, n)).toEqual(want);
      });
    });

    describe("f32_upsample_nearest_nhwc", () => {
      it.each([
        [1, 1, 1, 1, 2, 2], [3, 5, 7, 1, 2, 3], [3, 5, 7, 3, 1, 2], [2, 4, 4, 4, 2, 2], [3, 3, 5, 9, 3, 1],
        [37, 1, 13, 5, 1, 4], [1, 7, 7, 32, 2, 2], [2, 2, 3, 13, 1, 1],
      ])("items %i %ix%i c %i factors (%i,%i)", (items, hh, ww, c, fh, fw) => {
        h.reset();
        const x = uniform(items * c * hh * ww, -1, 1, hh * 13 + ww + c);
        const want = ref.upsampleNearest2d(x, items, c, hh, ww, fh, fw);
        const xp = h.put(x), xh = h.zeros(x.length);
        h.k.f32_transpose_items(xp, items, c, hh * ww, xh);
        const n = want.data.length, y = nanBuffer(h, n);
        h.k.f32_upsample_nearest_nhwc(xh, items, hh, ww, c, fh, fw, y);
        expect(sentinelIntact(h, y, n)).toBe(true);
        const back = h.zeros(n);
        h.k.f32_transpose_items(y, items, want.h * want.w, c, back);
        expect(Array.from(h.get(back, n))).toEqual(Array.from(want.data));
      });
    });

    describe("f32_channel_affine (inference batch_norm folded to scale and shift)", () => {
      it.each([[1, 1], [3, 1], [37, 1], [1, 3], [5, 4], [35, 5], [3, 13], [7, 33]])("pixels %i c %i, and in place", (pixels, c) => {
        h.reset();
        const x = uniform(pixels * c, -3, 3, pixels * 7 + c);
        const mean = uniform(c, -1, 1, 1), variance = uniform(c, 0, 2, 2), gamma = uniform(c, -2, 2, 3), beta = uniform(c, -1, 1, 4);
        // a vector of c features per "pixel" is BatchNorm1d on items = pixels, positions = 1
        const want = ref.batchNorm(x, pixels, c, 1, mean, variance, gamma, beta, 1e-5);
        const scale = Float32Array.from({ length: c }, (_, j) => gamma[j]! / Math.sqrt(variance[j]! + 1e-5));
        const shift = Float32Array.from({ length: c }, (_, j) => beta[j]! - mean[j]! * scale[j]!);
        const xp = h.put(x), y = nanBuffer(h, x.length);
        h.k.f32_channel_affine(xp, pixels, c, h.put(scale), h.put(shift), y);
        expect(sentinelIntact(h, y, x.length)).toBe(true);
        expectScaled(h.get(y, x.length), want, "y");
        h.k.f32_channel_affine(xp, pixels, c, h.put(scale), h.put(shift), xp);
        expectScaled(h.get(xp, x.length), want, "in place");
      });
      it("NHWC batch_norm2d over items x pixels", () => {
        h.reset();
        const items = 3, c = 9, hw = 35;
        const x = uniform(items * c * hw, -3, 3, 5);
        const mean = uniform(c, -1, 1, 1), variance = uniform(c, 0, 2, 2), gamma = uniform(c, -2, 2, 3), beta = uniform(c, -1, 1, 4);
        const want = ref.chwToHwc(ref.batchNorm(x, items, c, hw, mean, variance, gamma, beta, 1e-3), items, c, hw);
        const scale = Float32Array.from({ length: c }, (_, j) => gamma[j]! / Math.sqrt(variance[j]! + 1e-3));
        const shift = Float32Array.from({ length: c }, (_, j) => beta[j]! - mean[j]! * scale[j]!);
        const xh = h.zeros(x.length);
        h.k.f32_transpose_items(h.put(x), items, c, hw, xh);
        h.k.f32_channel_affine(xh, items * hw, c, h.put(scale), h.put(shift), xh);
        expectScaled(h.get(xh, x.length), want, "y");
      });
    });

    describe("f32_group_norm_nhwc", () => {
      it.each([
        [1, 1, 1, 1], [3, 35, 4, 1], [3, 35, 6, 3], [3, 35, 12, 3], [37, 5, 13, 13], [3, 1, 8, 4],
        [2, 143, 32, 8], [1, 784, 33, 3], [3, 9, 10, 5], [1, 28, 9, 1],
      ])("items %i pixels %i c %i groups %i, and in place", (items, pixels, c, groups) => {
        h.reset();
        const x = uniform(items * pixels * c, -2, 3, items * pixels + c);
        const gamma = uniform(c, -2, 2, 1), beta = uniform(c, -1, 1, 2);
        const want = ref.chwToHwc(ref.groupNorm(x, items, c, pixels, groups, gamma, beta, 1e-5), items, c, pixels);
        const xh = h.zeros(x.length), n = x.length, y = nanBuffer(h, n);
        h.k.f32_transpose_items(h.put(x), items, c, pixels, xh);
        const gp = h.put(gamma), bp = h.put(beta);
        h.k.f32_group_norm_nhwc(xh, items, pixels, c, groups, 1e-5, gp, bp, y);
        expect(sentinelIntact(h, y, n)).toBe(true);
        expectScaled(h.get(y, n), want, "y");
        h.k.f32_group_norm_nhwc(xh, items, pixels, c, groups, 1e-5, gp, bp, xh);
        expectScaled(h.get(xh, n), want, "in place");
      });
      it("a 64x64x32 item with a large mean matches float64 to 1e-5", () => {
        h.reset();
        const items = 2, pixels = 64 * 64, c = 32, groups = 8;
        const x = uniform(items * pixels * c, 99, 101, 77); // mean 100, std ~0.58: cancellation-prone
        const gamma = uniform(c, 0.5, 2, 1), beta = uniform(c, -1, 1, 2);
        const want = ref.chwToHwc(ref.groupNorm(x, items, c, pixels, groups, gamma, beta, 1e-6), items, c, pixels);
        const xh = h.zeros(x.length);
        h.k.f32_transpose_items(h.put(x), items, c, pixels, xh);
        h.k.f32_group_norm_nhwc(xh, items, pixels, c, groups, 1e-6, h.put(gamma), h.put(beta), xh);
        expectScaled(h.get(xh, x.length), want, "y");
      });
    });

    describe("f32_layer_norm", () => {
      it.each([[1, 1], [3, 3], [5, 4], [37, 5], [3, 13], [2, 784], [1, 4099]])("items %i n %i, and in place", (items, n) => {
        h.reset();
        const x = uniform(items * n, -2, 5, items + n);
        const gamma = uniform(n, -2, 2, 1), beta = uniform(n, -1, 1, 2);
        const want = ref.layerNorm(x, items, n, gamma, beta, 1e-5);
        const xp = h.put(x), y = nanBuffer(h, x.length);
        h.k.f32_layer_norm(xp, items, n, 1e-5, h.put(gamma), h.put(beta), y);
        expect(sentinelIntact(h, y, x.length)).toBe(true);
        expectScaled(h.get(y, x.length), want, "y");
        h.k.f32_layer_norm(xp, items, n, 1e-5, h.put(gamma), h.put(beta), xp);
        expectScaled(h.get(xp, x.length), want, "in place");
      });
    });

    describe("f32_add", () => {
      it.each([1, 3, 4, 5, 15, 16, 17, 37, 1000])("n %i, and aliased", (n) => {
        h.reset();
        const a = uniform(n, -1, 1, n), b = uniform(n, -1, 1, n + 1);
        const want = Float32Array.from(ref.add(a, b)); // one f32 rounding of the exact sum
        const ap = h.put(a), bp = h.put(b), y = nanBuffer(h, n);
        h.k.f32_add(ap, bp, n, y);
        expect(sentinelIntact(h, y, n)).toBe(true);
        expect(h.get(y, n)).toEqual(want);
        h.k.f32_add(ap, bp, n, bp);
        expect(h.get(bp, n)).toEqual(want);
        h.k.f32_add(ap, ap, n, ap);
        expect(h.get(ap, n)).toEqual(Float32Array.from(a, (v) => 2 * v));
      });
    });
  });
}
