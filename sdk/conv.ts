// Convolution planning: turns one conv / conv_transpose layer (2-D, or 1-D as H = 1) into
// passes of the NHWC indirect-GEMM kernels (assembly/conv.ts), once, at load.
//
// Everything a prepared convolution keeps is allocated in the arena when it is prepared and
// never written again (part of the immutable model):
//   - per pass (one for a convolution, one per output phase of a transposed convolution):
//       ind    i32 (pixels, taps): byte offset, relative to an item's base, of the input pixel
//              each tap of each output pixel reads, or -1 for zero padding;
//       outPix i32 (pixels): byte offset, relative to an item's base, of each output pixel;
//       one packed weight block per group: (ceil(coutG/8), taps*cinG, 8), K index t*cinG + c
//       (f32_pack_weights_nr8's layout), or for depthwise (taps, ceil(c/4)*4);
//   - per group, a bias padded to ceil(coutG/8)*8 (depthwise: ceil(c/4)*4), zeros when none;
//   - one zero vector of at least max(cinG, 4) rounded up to 4 floats.
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
// Groups: one kernel call per group (pointers offset by the group's first channel), except
// depthwise (groups == cin == cout), which runs f32_dwconv. A 1x1 convolution that maps pixel p
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

export type ConvKind = "igemm" | "depthwise" | "gemm";

export interface PreparedConv {
  readonly kind: ConvKind;
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

interface PhasePlan { pixels: number[]; taps: [number, number][]; ind: Int32Array }

/** The passes' geometry: which output pixels, which taps, which input pixel per tap. */
function planPhases(s: ConvSpec): PhasePlan[] {
  const pixBytes = s.cin * 4;
  const inputOffset = (iy: number, ix: number): number =>
    iy < 0 || iy >= s.inH || ix < 0 || ix >= s.inW ? -1 : (iy * s.inW + ix) * pixBytes;
  if (!s.transposed) {
    const taps: [number, number][] = [];
    for (let ky = 0; ky < s.kh; ky++) for (let kx = 0; kx < s.kw; kx++) taps.push([ky, kx]);
    const n = s.outH * s.outW, t = taps.length;
    const ind = new Int32Array(n * t);
    const pixels: number[] = [];
    for (let oy = 0; oy < s.outH; oy++) {
      for (let ox = 0; ox < s.outW; ox++) {
        const p = oy * s.outW + ox;
        pixels.push(p);
        for (let i = 0; i < t; i++) {
          const [ky, kx] = taps[i]!;
          ind[p * t + i] = inputOffset(oy * s.strideH - s.padTop + ky * s.dilationH, ox * s.strideW - s.padLeft + kx * s.dilationW);
        }
      }
    }
    return [{ pixels, taps, ind }];
  }
  const mod = (a: number, m: number): number => ((a % m) + m) % m;
  const phases: PhasePlan[] = [];
  for (let ry = 0; ry < Math.min(s.strideH, s.outH); ry++) {
    for (let rx = 0; rx < Math.min(s.strideW, s.outW); rx++) {
      const taps: [number, number][] = [];
      for (let ky = 0; ky < s.kh; ky++) {
        if (mod(ry + s.padTop - ky * s.dilationH, s.strideH) !== 0) continue;
        for (let kx = 0; kx < s.kw; kx++) {
          if (mod(rx + s.padLeft - kx * s.dilationW, s.strideW) === 0) taps.push([ky, kx]);
        }
      }
      const pixels: number[] = [];
      for (let oy = ry; oy < s.outH; oy += s.strideH) for (let ox = rx; ox < s.outW; ox += s.strideW) pixels.push(oy * s.outW + ox);
      const t = taps.length;
      const ind = new Int32Array(pixels.length * t);
      pixels.forEach((p, j) => {
        const oy = Math.floor(p / s.outW), ox = p % s.outW;
        for (let i = 0; i < t; i++) {
          const [ky, kx] = taps[i]!;
          // exact divisions: the phase's taps make these numerators multiples of the strides
          const iy = (oy + s.padTop - ky * s.dilationH) / s.strideH;
          const ix = (ox + s.padLeft - kx * s.dilationW) / s.strideW;
          ind[j * t + i] = inputOffset(iy, ix);
        }
      });
      phases.push({ pixels, taps, ind });
    }
  }
  return phases;
}

/**
 * Packs weights, biases and indirection tables of one convolution into the arena.
 * weight in PyTorch layout as f32: conv [cout, cin/g, kh, kw]; transposed [cin, cout/g, kh, kw];
 * bias [cout] or null.
 */
export function prepareConv(k: Kernels, arena: Arena, spec: ConvSpec, weight: Float32Array, bias: Float32Array | null): PreparedConv {
  void k;
  const s = { ...spec };
  const start = arena.mark();
  const g = s.groups, cinG = s.cin / g, coutG = s.cout / g;
  const depthwise = g === s.cin && g === s.cout && g > 1;
  const tapWeight = (ci: number, co: number, ky: number, kx: number): number => {
    // ci, co: global input / output channel
    if (!s.transposed) return weight[((co * cinG + (ci - Math.floor(co / coutG) * cinG)) * s.kh + ky) * s.kw + kx]!;
    return weight[((ci * coutG + (co - Math.floor(ci / cinG) * coutG)) * s.kh + ky) * s.kw + kx]!;
  };
  const writeI32 = (values: ArrayLike<number>): number => {
    const p = arena.alloc(Math.max(values.length, 1) * 4);
    new Int32Array(arena.memory.buffer, p, values.length).set(values);
    return p;
  };
  const writeF32 = (values: Float32Array): number => {
    const p = arena.allocF32(Math.max(values.length, 1));
    arena.writeF32(p, values);
    return p;
  };

  const phases = planPhases(s);
  const cPad = Math.ceil(s.cin / 4) * 4;
  const zero = writeF32(new Float32Array(Math.max(Math.ceil(Math.max(cinG, 4) / 4) * 4, depthwise ? cPad : 0)));
  const passes: ConvPass[] = [];
  const biases: number[] = [];
  const outPixBytes = s.cout * 4;

  if (depthwise) {
    const b = new Float32Array(cPad);
    if (bias) b.set(bias.subarray(0, s.cout));
    biases.push(writeF32(b));
    for (const ph of phases) {
      if (ph.pixels.length === 0) continue;
      const t = ph.taps.length;
      const w = new Float32Array(Math.max(t, 1) * cPad);
      for (let i = 0; i < t; i++) {
        const [ky, kx] = ph.taps[i]!;
        for (let c = 0; c < s.cin; c++) w[i * cPad + c] = tapWeight(c, c, ky, kx);
      }
      passes.push({
        pixels: ph.pixels.length, taps: t, ind: writeI32(ph.ind),
        outPix: writeI32(ph.pixels.map((p) => p * outPixBytes)), weights: [writeF32(w)],
      });
    }
  } else {
    const panels = Math.ceil(coutG / NR);
    for (let gi = 0; gi < g; gi++) {
      const b = new Float32Array(panels * NR);
      if (bias) b.set(bias.subarray(gi * coutG, (gi + 1) * coutG));
      biases.push(writeF32(b));
    }
    for (const ph of phases) {
      if (ph.pixels.length === 0) continue;
      const t = ph.taps.length, kc = t * cinG;
      const weights: number[] = [];
      for (let gi = 0; gi < g; gi++) {
        // packed[(pn*kc + t*cinG + c)*8 + j] = W(out channel pn*8 + j, in channel c, tap t)
        const w = new Float32Array(Math.max(panels * kc * NR, 1));
        for (let co = 0; co < coutG; co++) {
          const pn = Math.floor(co / NR), j = co % NR;
          for (let i = 0; i < t; i++) {
            const [ky, kx] = ph.taps[i]!;
            for (let c = 0; c < cinG; c++) {
              w[(pn * kc + i * cinG + c) * NR + j] = tapWeight(gi * cinG + c, gi * coutG + co, ky, kx);
            }
          }
        }
        weights.push(writeF32(w));
      }
      passes.push({
        pixels: ph.pixels.length, taps: t, ind: writeI32(ph.ind),
        outPix: writeI32(ph.pixels.map((p) => p * outPixBytes)), weights,
      });
    }
  }

  // A 1x1 convolution mapping pixel p to pixel p, one group: the GEMM over items*pixels rows
  // (the packed weights are the GEMM's (ceil(cout/8), cin, 8)).
  let kind: ConvKind = depthwise ? "depthwise" : "igemm";
  if (!depthwise && g === 1 && passes.length === 1 && passes[0]!.taps === 1 &&
      passes[0]!.pixels === s.inH * s.inW && phases[0]!.ind.every((o, p) => o === p * s.cin * 4) &&
      phases[0]!.pixels.every((q, p) => q === p)) {
    kind = "gemm";
  }

  return {
    kind, spec: s, passes, biases, zero, cinG, coutG,
    xItemBytes: s.inH * s.inW * s.cin * 4,
    yItemBytes: s.outH * s.outW * s.cout * 4,
    modelBytes: arena.mark() - start,
  };
}

/**
 * y = act(conv(x)): x items x (inH*inW*cin) f32 NHWC at byte offset x; y items x
 * (outH*outW*cout) NHWC at byte offset y (x != y). act: 0 none, 1 relu, 2 leaky_relu(slope).
 */
export function runConv(k: Kernels, p: PreparedConv, x: number, y: number, items: number, act: number, slope: number): void {
  if (items <= 0) return;
  const s = p.spec;
  if (p.kind === "gemm") {
    k.f32_gemm_bias_act(x, items * s.inH * s.inW, s.cin, p.passes[0]!.weights[0]!, p.biases[0]!, s.cout, y, act, slope);
    return;
  }
  if (p.kind === "depthwise") {
    for (const pass of p.passes) {
      k.f32_dwconv(items, pass.pixels, pass.taps, s.cin, x, p.xItemBytes, pass.ind, p.zero,
        pass.weights[0]!, p.biases[0]!, y, p.yItemBytes, pass.outPix, act, slope);
    }
    return;
  }
  for (const pass of p.passes) {
    for (let g = 0; g < s.groups; g++) {
      k.f32_conv_igemm_4x8(items, pass.pixels, pass.taps, p.cinG, x + g * p.cinG * 4, p.xItemBytes,
        pass.ind, p.zero, pass.weights[g]!, p.biases[g]!, p.coutG,
        y + g * p.coutG * 4, p.yItemBytes, pass.outPix, act, slope);
    }
  }
}
