// Convolution planning: turns one conv / conv_transpose layer (2-D, or 1-D as H = 1) into
// passes of the NHWC indirect-GEMM kernels (assembly/conv.ts), once, at load.
//
// Everything a prepared convolution keeps is allocated in the arena when it is prepared and
// never written again (part of the immutable model):
//   - per pass (one for a convolution, one per output phase of a transposed convolution):
//       ind    i32 (pixels, taps): byte offset, relative to an item's base, of the input pixel
//              each tap of each output pixel reads, or -1 for zero padding;
//       outPix i32 (pixels): byte offset, relative to an item's base, of each output pixel;
//       one weight block per group, in the layout of the kernel the layer runs:
//         igemm / gemm: (ceil(coutG/8), taps*cinG, 8), K index t*cinG + c
//                       (f32_pack_weights_nr8's layout);
//         dot (coutG <= 4 and cinG >= 8): (coutG, taps, ceil(cinG/4)*4), padding zeros;
//         depthwise: (taps, ceil(c/4)*4), padding zeros;
//   - per group, a bias padded to ceil(coutG/8)*8 (dot: ceil(coutG/4)*4; depthwise:
//     ceil(c/4)*4), zeros when the layer has none;
//   - one zero vector of max(ceil(cinG/4)*4, 4) floats (depthwise: ceil(c/4)*4).
//
// Regular convolution: output pixel (oy, ox), tap t = ky*kw + kx reads input pixel
//   (oy*sh - top + ky*dh, ox*sw - left + kx*dw).
// Transposed convolution (XNNPACK's sub-convolutions): output pixel oy receives input iy
// through tap ky exactly when oy = iy*sh - ph + ky*dh, i.e. (oy + ph - ky*dh) is a multiple of
// sh and iy = (oy + ph - ky*dh)/sh. Whether it is a multiple depends only on oy mod sh, so the
// output splits into sh x sw phases (oy mod sh, ox mod sw); each phase is a regular indirect
// convolution over the input with only the taps that reach it (no multiply by the zeros a
// zero-stuffed input would hold), its outputs written strided. A phase no tap reaches gets
// bias only (taps = 0).
// Small images: a pass whose output pixels mostly read padding (a 1x1 input under a 4x4
// kernel) is split by each pixel's set of in-bounds taps, so every pass runs only real taps
// (splitByValidTaps; only where it saves >= 25% of the work for <= 2x the weights).
// The tables are built by wasm kernels from each pass's grid (i32_conv_indirection).
// Groups: one kernel call per group (pointers offset by the group's first channel), except
// depthwise (groups == cin == cout), which runs f32_dwconv. Groups of 1..4 output channels
// (and >= 8 inputs) run f32_conv_dot_4x1, vectorised over input channels. A 1x1 convolution that maps pixel p
// to pixel p (stride 1, no padding, one group) is a plain GEMM over items*pixels rows.

import type { Kernels } from "./kernels";
import type { Arena } from "./memory";

export interface ConvSpec {
  transposed: boolean;
  cin: number; cout: number; groups: number;
  inH: number; inW: number;              // 1-D layers: inH = 1, kh = 1, strideH = dilationH = 1, pads 0 on H
  kh: number; kw: number;
  strideH: number; strideW: number;
  dilationH: number; dilationW: number;
  padTop: number; padLeft: number; padBottom: number; padRight: number; // transposed: top = bottom = ph, left = right = pw
  outPadH: number; outPadW: number;      // transposed only (0 otherwise)
  outH: number; outW: number;            // already computed and checked >= 1 by the caller
}

/** One pass: a set of output pixels computed by one kernel call per group. */
export interface ConvPass {
  readonly pixels: number;            // output pixels in this pass
  readonly taps: number;              // taps per output pixel (0: bias only)
  readonly ind: number;               // i32 (pixels, taps) byte offsets or -1
  readonly outPix: number;            // i32 (pixels) byte offsets
  readonly weights: readonly number[]; // per group (depthwise: one)
}

export type ConvKind = "igemm" | "dot" | "depthwise" | "gemm";

/** One int8 weight block's per-call dequantisation (i8_dequantize's arguments). */
interface DequantBlock {
  readonly src: number; readonly scale: number; readonly dst: number; // dst: offset in the scratch
  readonly groups: number; readonly rows: number; readonly width: number; readonly broadcast: number;
}

export interface PreparedConv {
  readonly kind: ConvKind;
  /** int8 weights: per group (depthwise: one) scales in the bias's layout; null for float weights. */
  readonly scales: readonly number[] | null;
  /** int8: the blocks widened into the step's scratch at each call, in pass-major order. */
  readonly dequant: readonly DequantBlock[];
  /** Bytes of per-call scratch (int8: every weight block as f32, or one GEMM panel; float: 0). */
  readonly scratchBytes: number;
  readonly spec: Readonly<ConvSpec>;
  readonly passes: readonly ConvPass[];
  readonly biases: readonly number[]; // per group (depthwise: one)
  readonly zero: number;
  readonly cinG: number;
  readonly coutG: number;
  readonly xItemBytes: number;
  readonly yItemBytes: number;
  /** Arena bytes this convolution keeps (tables, weights, biases, alignment). */
  readonly modelBytes: number;
}

const NR = 8;
/** f32_conv_dot_4x1 serves groups of at most this many output channels ... */
const DOT_MAX_COUT = 4;
/** ... with at least this many input channels (fewer would leave its lanes idle). */
const DOT_MIN_CIN = 8;

/**
 * The geometry of one pass over a qh x qw grid of output pixels: grid pixel (qy, qx) is output
 * pixel (oy0 + qy*sy, ox0 + qx*sx) and reads, through tap i (kernel position taps[i]), input
 * pixel (qy*ay + ty[i], qx*ax + tx[i]) or padding outside the image.
 *   regular:               sy = sx = 1, ay = sh, ty[i] = ky*dh - top (likewise x)
 *   transposed, phase ry:  oy0 = ry, sy = sh, ay = 1, ty[i] = (ry + ph - ky*dh) / sh (exact)
 */
interface GridPass {
  taps: [number, number][];
  ty: number[]; tx: number[];
  qh: number; qw: number; ay: number; ax: number;
  oy0: number; ox0: number; sy: number; sx: number;
}

/** A pass listed pixel by pixel (a class of splitByValidTaps). */
interface ListPass {
  taps: [number, number][];
  pixels: number[];    // output pixel indices oy*outW + ox
  ind: Int32Array;     // (pixels, taps) byte offsets, all in bounds
}

type PassPlan = { grid: GridPass } | { list: ListPass };

function planGrids(s: ConvSpec): GridPass[] {
  if (!s.transposed) {
    const taps: [number, number][] = [], ty: number[] = [], tx: number[] = [];
    for (let ky = 0; ky < s.kh; ky++) {
      for (let kx = 0; kx < s.kw; kx++) {
        taps.push([ky, kx]); ty.push(ky * s.dilationH - s.padTop); tx.push(kx * s.dilationW - s.padLeft);
      }
    }
    return [{ taps, ty, tx, qh: s.outH, qw: s.outW, ay: s.strideH, ax: s.strideW, oy0: 0, ox0: 0, sy: 1, sx: 1 }];
  }
  const mod = (a: number, m: number): number => ((a % m) + m) % m;
  const grids: GridPass[] = [];
  for (let ry = 0; ry < Math.min(s.strideH, s.outH); ry++) {
    for (let rx = 0; rx < Math.min(s.strideW, s.outW); rx++) {
      const taps: [number, number][] = [], ty: number[] = [], tx: number[] = [];
      for (let ky = 0; ky < s.kh; ky++) {
        if (mod(ry + s.padTop - ky * s.dilationH, s.strideH) !== 0) continue;
        for (let kx = 0; kx < s.kw; kx++) {
          if (mod(rx + s.padLeft - kx * s.dilationW, s.strideW) !== 0) continue;
          taps.push([ky, kx]);
          ty.push((ry + s.padTop - ky * s.dilationH) / s.strideH);
          tx.push((rx + s.padLeft - kx * s.dilationW) / s.strideW);
        }
      }
      grids.push({
        taps, ty, tx, qh: Math.ceil((s.outH - ry) / s.strideH), qw: Math.ceil((s.outW - rx) / s.strideW),
        ay: 1, ax: 1, oy0: ry, ox0: rx, sy: s.strideH, sx: s.strideW,
      });
    }
  }
  return grids;
}

/** How many q in [0, n) have 0 <= q*a + b < size. */
function inBounds(n: number, a: number, b: number, size: number): number {
  let c = 0;
  for (let q = 0; q < n; q++) { const i = q * a + b; if (i >= 0 && i < size) c++; }
  return c;
}

/**
 * On small images most taps of most output pixels fall in the padding (a 1x1 input under a
 * 4x4 transposed kernel: 15 of 16 taps of every output pixel read zeros). Such a pass is split
 * into one pass per set of in-bounds taps, each running only those taps, when that saves at
 * least SPLIT_MIN_SAVING of the multiply-adds and the repacked weights stay within
 * SPLIT_MAX_WEIGHTS times the pass's own (and at most SPLIT_MAX_PASSES passes).
 */
const SPLIT_MIN_SAVING = 0.25, SPLIT_MAX_WEIGHTS = 2, SPLIT_MAX_PASSES = 64;

function splitByValidTaps(s: ConvSpec, g: GridPass): PassPlan[] {
  const t = g.taps.length, n = g.qh * g.qw;
  if (t <= 1 || n === 0) return [{ grid: g }];
  // in-bounds taps, counted per axis (the bounds are separable)
  let valid = 0;
  for (let i = 0; i < t; i++) valid += inBounds(g.qh, g.ay, g.ty[i]!, s.inH) * inBounds(g.qw, g.ax, g.tx[i]!, s.inW);
  if (valid > (1 - SPLIT_MIN_SAVING) * n * t) return [{ grid: g }];
  const classes = new Map<string, number[]>(); // key: the pixel's in-bounds taps
  for (let qy = 0; qy < g.qh; qy++) {
    for (let qx = 0; qx < g.qw; qx++) {
      let key = "";
      for (let i = 0; i < t; i++) {
        const iy = qy * g.ay + g.ty[i]!, ix = qx * g.ax + g.tx[i]!;
        key += iy >= 0 && iy < s.inH && ix >= 0 && ix < s.inW ? "1" : "0";
      }
      const list = classes.get(key);
      if (list) list.push(qy * g.qw + qx); else classes.set(key, [qy * g.qw + qx]);
    }
  }
  let classTaps = 0;
  for (const key of classes.keys()) for (const ch of key) if (ch === "1") classTaps++;
  if (classTaps > SPLIT_MAX_WEIGHTS * t || classes.size > SPLIT_MAX_PASSES) return [{ grid: g }];
  const pixBytes = s.cin * 4;
  const out: PassPlan[] = [];
  for (const [key, qs] of classes) {
    const keep: number[] = [];
    for (let i = 0; i < t; i++) if (key[i] === "1") keep.push(i);
    const ind = new Int32Array(qs.length * keep.length);
    const pixels: number[] = [];
    qs.forEach((q, r) => {
      const qy = Math.floor(q / g.qw), qx = q % g.qw;
      pixels.push((g.oy0 + qy * g.sy) * s.outW + g.ox0 + qx * g.sx);
      keep.forEach((i, c) => { ind[r * keep.length + c] = ((qy * g.ay + g.ty[i]!) * s.inW + qx * g.ax + g.tx[i]!) * pixBytes; });
    });
    out.push({ list: { taps: keep.map((i) => g.taps[i]!), pixels, ind } });
  }
  return out;
}

/**
 * Packs weights, biases and indirection tables of one convolution into the arena.
 * weight in PyTorch layout as f32: conv [cout, cin/g, kh, kw]; transposed [cin, cout/g, kh, kw];
 * bias [cout] or null. With `scales` ([cout]), `weight` holds int8 values q (exact in f32): the
 * blocks keep them as i8, in the same layouts, with w = q * scales[out channel]; each call
 * widens them into its scratch (runConv), or the GEMM does (1x1 convolutions).
 * Everything kept is allocated first; the weights are then staged above it and reordered, and
 * the tables built, by wasm kernels (f32_transpose_items, f32_pack_weights_nr8,
 * i32_conv_indirection: fast even before the JS engine has optimised anything, which matters
 * for cold start), and the staging space is released.
 */
export function prepareConv(k: Kernels, arena: Arena, spec: ConvSpec, weight: Float32Array, bias: Float32Array | null,
                            scales: Float32Array | null = null): PreparedConv {
  const s = { ...spec };
  const start = arena.mark();
  const g = s.groups, cinG = s.cin / g, coutG = s.cout / g;
  const T = s.kh * s.kw;
  const depthwise = g === s.cin && g === s.cout && g > 1;
  // Few output channels per group (a decoder's last layer): vectorise over input channels
  // instead of wasting output lanes of the 8-wide panels.
  const dot = !depthwise && coutG <= DOT_MAX_COUT && cinG >= DOT_MIN_CIN;
  const cPad = Math.ceil(s.cin / 4) * 4, cinGPad = Math.ceil(cinG / 4) * 4;
  const panels = Math.ceil(coutG / NR);
  const plans = planGrids(s).filter((gr) => gr.qh > 0 && gr.qw > 0).flatMap((gr) => splitByValidTaps(s, gr));
  const tapsOf = (p: PassPlan): [number, number][] => ("grid" in p ? p.grid.taps : p.list.taps);
  const pixelsOf = (p: PassPlan): number => ("grid" in p ? p.grid.qh * p.grid.qw : p.list.pixels.length);

  // 1. everything the model keeps
  const zeroLen = Math.max(cinGPad, 4, depthwise ? cPad : 0);
  const zero = arena.allocF32(zeroLen);
  const biasLen = depthwise ? cPad : dot ? Math.ceil(coutG / 4) * 4 : panels * NR;
  const biases: number[] = [];
  for (let gi = 0; gi < (depthwise ? 1 : g); gi++) biases.push(arena.allocF32(biasLen));
  const int8 = scales !== null;
  const scaleBlocks = int8 ? biases.map(() => arena.allocF32(biasLen)) : null;
  const weightLen = (taps: number): number =>
    Math.max(depthwise ? taps * cPad : dot ? coutG * taps * cinGPad : panels * taps * cinG * NR, 1);
  const passes: ConvPass[] = plans.map((pl) => ({
    pixels: pixelsOf(pl), taps: tapsOf(pl).length,
    ind: arena.alloc(Math.max(pixelsOf(pl) * tapsOf(pl).length, 1) * 4),
    outPix: arena.alloc(pixelsOf(pl) * 4),
    weights: Array.from({ length: depthwise ? 1 : g }, () => (int8 ? arena.alloc(weightLen(tapsOf(pl).length)) : arena.allocF32(weightLen(tapsOf(pl).length)))),
  }));
  const kept = arena.mark();

  // 2. staging: the weights, one group's (coutG, T, cinG) reordering (depthwise: (T, c)), tap offsets
  const src = arena.allocF32(weight.length);
  const all = arena.allocF32(depthwise ? T * s.cin : coutG * T * cinG);
  const tapIndex = (pl: PassPlan): number[] => tapsOf(pl).map(([ky, kx]) => ky * s.kw + kx);
  const allTaps = (S: number[]): boolean => S.length === T && S.every((v, i) => v === i);
  // a pass over a subset of the taps is gathered into `sub` before packing
  const needSub = !depthwise && !dot && plans.some((pl) => tapsOf(pl).length > 0 && !allTaps(tapIndex(pl)));
  const sub = needSub ? arena.allocF32(coutG * T * cinG) : 0;
  const tyP = arena.alloc(Math.max(T, 1) * 4), txP = arena.alloc(Math.max(T, 1) * 4);
  // int8: each block is packed as f32 here, then narrowed into its i8 block
  const maxLen = Math.max(...plans.map((pl) => weightLen(tapsOf(pl).length)));
  const narrow = int8 ? arena.allocF32(maxLen) : 0;
  const target = (w: number): number => (int8 ? narrow : w);
  const settle = (w: number, len: number): void => { if (int8) k.f32_to_i8(narrow, w, len); };
  arena.writeF32(src, weight);
  const heap = arena.heapF32();
  const i32 = new Int32Array(arena.memory.buffer);
  heap.fill(0, zero >>> 2, (zero >>> 2) + zeroLen);
  for (let gi = 0; gi < biases.length; gi++) {
    const b = biases[gi]! >>> 2, n = depthwise ? s.cout : coutG;
    heap.fill(0, b, b + biasLen);
    if (bias) heap.set(bias.subarray(gi * n, gi * n + n), b);
    if (scaleBlocks !== null) {
      const q = scaleBlocks[gi]! >>> 2;
      heap.fill(0, q, q + biasLen);
      heap.set(scales!.subarray(gi * n, gi * n + n), q);
    }
  }
  plans.forEach((pl, j) => {
    const pass = passes[j]!;
    if ("grid" in pl) {
      const gr = pl.grid;
      i32.set(gr.ty, tyP >>> 2); i32.set(gr.tx, txP >>> 2);
      k.i32_conv_indirection(gr.qh, gr.qw, gr.taps.length, tyP, txP, gr.ay, gr.ax, s.inH, s.inW, s.cin * 4, pass.ind);
      k.i32_conv_output_offsets(gr.qh, gr.qw, gr.oy0, gr.ox0, gr.sy, gr.sx, s.outW, s.cout * 4, pass.outPix);
    } else {
      i32.set(pl.list.ind, pass.ind >>> 2);
      const op = pass.outPix >>> 2;
      pl.list.pixels.forEach((p, q) => { i32[op + q] = p * s.cout * 4; });
    }
  });
  const copy = (from: number, to: number, len: number): void => { heap.copyWithin(to, from, from + len); };

  if (depthwise) {
    // W [c, 1, kh, kw] = (c, T) -> (T, c); pass weights (taps, cPad): row i = tap S[i]
    k.f32_transpose_items(src, 1, s.cin, T, all);
    plans.forEach((pl, j) => {
      const w = target(passes[j]!.weights[0]!) >>> 2, len = weightLen(tapsOf(pl).length);
      heap.fill(0, w, w + len);
      tapIndex(pl).forEach((t, i) => copy((all >>> 2) + t * s.cin, w + i * cPad, s.cin));
      settle(passes[j]!.weights[0]!, len);
    });
  } else {
    for (let gi = 0; gi < g; gi++) {
      // this group's weights as (coutG, T, cinG): element [j][t][c]
      if (!s.transposed) k.f32_transpose_items(src + gi * coutG * cinG * T * 4, coutG, cinG, T, all); // from [j][c][t]
      else k.f32_transpose_items(src + gi * cinG * coutG * T * 4, 1, cinG, coutG * T, all);          // from [c][j][t]
      plans.forEach((pl, j) => {
        const block = passes[j]!.weights[gi]!, w = target(block);
        const S = tapIndex(pl), t = S.length;
        if (dot) { // (coutG, t, cinGPad)
          const wq = w >>> 2;
          heap.fill(0, wq, wq + weightLen(t));
          for (let co = 0; co < coutG; co++) {
            S.forEach((tap, i) => copy((all >>> 2) + (co * T + tap) * cinG, wq + (co * t + i) * cinGPad, cinG));
          }
          settle(block, weightLen(t));
          return;
        }
        if (t === 0) { heap.fill(0, w >>> 2, (w >>> 2) + weightLen(0)); settle(block, weightLen(0)); return; }
        let m = all; // (coutG, t*cinG), K = i*cinG + c
        if (!allTaps(S)) {
          m = sub;
          for (let co = 0; co < coutG; co++) {
            S.forEach((tap, i) => copy((all >>> 2) + (co * T + tap) * cinG, (sub >>> 2) + (co * t + i) * cinG, cinG));
          }
        }
        k.f32_pack_weights_nr8(m, w, coutG, t * cinG);
        settle(block, weightLen(t));
      });
    }
  }
  arena.release(kept);

  // A 1x1 convolution mapping pixel p to pixel p, one group: the GEMM over items*pixels rows
  // (the packed weights are the GEMM's (ceil(cout/8), cin, 8)).
  let kind: ConvKind = depthwise ? "depthwise" : dot ? "dot" : "igemm";
  const only = plans.length === 1 ? plans[0]! : undefined;
  if (kind === "igemm" && g === 1 && only !== undefined && "grid" in only) {
    const gr = only.grid;
    if (gr.taps.length === 1 && gr.ty[0] === 0 && gr.tx[0] === 0 && gr.ay === 1 && gr.ax === 1 && gr.sy === 1 && gr.sx === 1 &&
        gr.qh === s.inH && gr.qw === s.inW && s.outH === s.inH && s.outW === s.inW) kind = "gemm";
  }

  // int8: what each call widens, and where in its scratch (the GEMM widens one panel itself)
  const dequant: DequantBlock[] = [];
  let scratchBytes = 0;
  if (scaleBlocks !== null && kind === "gemm") scratchBytes = s.cin * NR * 4;
  else if (scaleBlocks !== null) {
    passes.forEach((pass, j) => pass.weights.forEach((src, gi) => {
      const t = pass.taps;
      const shape = depthwise ? { groups: 1, rows: t, width: cPad, broadcast: 0 }
        : dot ? { groups: coutG, rows: t, width: cinGPad, broadcast: 1 }
        : { groups: panels, rows: t * cinG, width: NR, broadcast: 0 };
      dequant.push({ src, scale: scaleBlocks[gi]!, dst: scratchBytes, ...shape });
      scratchBytes += Math.ceil(weightLen(tapsOf(plans[j]!).length) / 16) * 64;
    }));
  }

  return {
    kind, spec: s, passes, biases, zero, cinG, coutG, scales: scaleBlocks, dequant, scratchBytes,
    xItemBytes: s.inH * s.inW * s.cin * 4,
    yItemBytes: s.outH * s.outW * s.cout * 4,
    modelBytes: kept - start,
  };
}

/**
 * y = act(conv(x)): x items x (inH*inW*cin) f32 NHWC at byte offset x; y items x
 * (outH*outW*cout) NHWC at byte offset y (x != y). act: 0 none, 1 relu, 2 leaky_relu(slope).
 */
export function runConv(k: Kernels, p: PreparedConv, x: number, y: number, items: number, act: number, slope: number,
                        scratch = 0): void {
  if (items <= 0) return;
  const s = p.spec;
  if (p.kind === "gemm") {
    if (p.scales !== null) {
      k.i8_gemm_bias_act(x, items * s.inH * s.inW, s.cin, p.passes[0]!.weights[0]!, p.scales[0]!, p.biases[0]!, s.cout, y, act, slope, scratch);
    } else {
      k.f32_gemm_bias_act(x, items * s.inH * s.inW, s.cin, p.passes[0]!.weights[0]!, p.biases[0]!, s.cout, y, act, slope);
    }
    return;
  }
  // int8: this call's f32 weights, w = q * scale, widened into the scratch (the same every call)
  for (const d of p.dequant) k.i8_dequantize(d.src, d.scale, scratch + d.dst, d.groups, d.rows, d.width, d.broadcast);
  let block = 0;
  const weights = (pass: ConvPass, g: number): number => (p.scales === null ? pass.weights[g]! : scratch + p.dequant[block++]!.dst);
  if (p.kind === "depthwise") {
    for (const pass of p.passes) {
      k.f32_dwconv(items, pass.pixels, pass.taps, s.cin, x, p.xItemBytes, pass.ind, p.zero,
        weights(pass, 0), p.biases[0]!, y, p.yItemBytes, pass.outPix, act, slope);
    }
    return;
  }
  const conv = p.kind === "dot" ? k.f32_conv_dot_4x1 : k.f32_conv_igemm_4x8;
  for (const pass of p.passes) {
    for (let g = 0; g < s.groups; g++) {
      conv(items, pass.pixels, pass.taps, p.cinG, x + g * p.cinG * 4, p.xItemBytes,
        pass.ind, p.zero, weights(pass, g), p.biases[g]!, p.coutG,
        y + g * p.coutG * 4, p.yItemBytes, pass.outPix, act, slope);
    }
  }
}
