// conv2d, conv1d, conv_transpose2d, conv_transpose1d (PyTorch nn.Conv*d / nn.ConvTranspose*d,
// FORMAT.md version 2). One definition for the four: a 1-D layer is the 2-D one on a 1 x L
// image. The kernels are indirect GEMMs over NHWC values (sdk/conv.ts, assembly/conv.ts);
// transposed convolutions run as stride_h x stride_w sub-convolutions. A following batch_norm
// is folded into the weights (int8: into the scales), a following relu / leaky_relu into the
// kernel's store. An I8 weight stays int8 in the model and is widened per call (sdk/conv.ts).

import { prepareConv, runConv, type ConvSpec } from "../conv";
import { LIMITS } from "../limits";
import type { TensorInfo } from "../safetensors";
import { showShape, sizeOf } from "../shape";
import type { LayerBase, LayerReader, OpDef } from "./types";
import { weightScales } from "./util";

export type ConvType = "conv2d" | "conv1d" | "conv_transpose2d" | "conv_transpose1d";

export interface ConvLayer extends LayerBase {
  readonly type: ConvType;
  readonly weight: TensorInfo;
  /** [Cout] per-output-channel scales when the weight is I8 (w = q * scale), else null. */
  readonly scale: TensorInfo | null;
  readonly bias: TensorInfo | null;
  /** The geometry as a 2-D convolution (1-D layers: H = 1, kh = 1). */
  readonly spec: ConvSpec;
}

/** Floor division that rounds towards minus infinity (FORMAT.md: floor, not truncation). */
const floorDiv = (a: number, b: number) => Math.floor(a / b);

function parseConv(r: LayerReader, input: readonly number[]): ConvLayer {
  const type = r.type as ConvType;
  const transposed = type.startsWith("conv_transpose");
  const dims = type.endsWith("2d") ? 2 : 1;
  if (input.length !== dims + 1) {
    r.fail("E_ARCHITECTURE", `${r.at}: ${type} needs ${dims === 2 ? "an image [C, H, W]" : "a sequence [C, L]"} input, but its input is ${showShape(input)}`);
  }
  const cin = input[0]!;
  const [h, w] = dims === 2 ? [input[1]!, input[2]!] : [1, input[1]!];
  const groups = r.int("groups", 1, 1);
  if (cin % groups !== 0) r.fail("E_ARCHITECTURE", `${r.at}: groups = ${groups} does not divide the ${cin} input channels`);

  // kernel size and output channels come from the weight: conv [Cout, Cin/g, k...], transposed [Cin, Cout/g, k...]
  const ws = r.tensorShape("weight");
  if (ws !== null && ws.length !== dims + 2) {
    r.fail("E_TENSOR_SHAPE", `tensor ${r.raw.weight as string} has shape ${JSON.stringify(ws)} but ${r.at} needs a ${dims + 2}-D ${type} weight`);
  }
  const cout = ws === null ? 1 : transposed ? ws[1]! * groups : ws[0]!;
  const kernel = ws === null ? [1, 1] : ws.slice(2);
  const [kh, kw] = dims === 2 ? [kernel[0]!, kernel[1]!] : [1, kernel[0]!];
  if (ws !== null && (cout < 1 || kh < 1 || kw < 1)) r.fail("E_TENSOR_SHAPE", `tensor ${r.raw.weight as string} has shape ${JSON.stringify(ws)}: ${r.at} needs at least one output channel and a kernel of at least 1`);
  if (cout % groups !== 0) r.fail("E_ARCHITECTURE", `${r.at}: groups = ${groups} does not divide the ${cout} output channels`);
  const wantShape = transposed ? [cin, cout / groups, ...kernel] : [cout, cin / groups, ...kernel];
  const { weight, scale } = r.weight(wantShape, cout, ` (its input has ${cin} channels, groups = ${groups})`);
  const bias = r.tensor("bias", [cout], true);

  const ones = Array(dims).fill(1), zeros = Array(dims).fill(0);
  const stride = r.ints("stride", [dims], 1, ones);
  const dilation = r.ints("dilation", [dims], 1, ones);
  const padding = r.ints("padding", transposed ? [dims] : [dims, 2 * dims], 0, zeros);
  // [ph, pw] | [top, left, bottom, right]; 1-D: [p] | [left, right]
  const pads = padding.length === 2 * dims ? padding : [...padding, ...padding];
  const [sh, sw] = dims === 2 ? stride : [1, stride[0]!];
  const [dh, dw] = dims === 2 ? dilation : [1, dilation[0]!];
  const [padTop, padLeft, padBottom, padRight] = dims === 2 ? pads : [0, pads[0]!, 0, pads[1]!];
  let outPadH = 0, outPadW = 0, outH: number, outW: number;
  if (transposed) {
    const op = r.ints("output_padding", [dims], 0, zeros);
    [outPadH, outPadW] = dims === 2 ? op : [0, op[0]!];
    op.forEach((v, i) => {
      const limit = Math.max(stride[i]!, dilation[i]!);
      if (v >= limit) r.fail("E_ARCHITECTURE", `${r.at}: output_padding ${JSON.stringify(op)} is too large: each value must be below max(stride, dilation) = ${limit}`);
    });
    outH = (h - 1) * sh - 2 * padTop + dh * (kh - 1) + outPadH + 1;
    outW = (w - 1) * sw - 2 * padLeft + dw * (kw - 1) + outPadW + 1;
  } else {
    outH = floorDiv(h + padTop + padBottom - dh * (kh - 1) - 1, sh) + 1;
    outW = floorDiv(w + padLeft + padRight - dw * (kw - 1) - 1, sw) + 1;
  }
  if (outH < 1 || outW < 1) {
    const out = dims === 2 ? `${outH} x ${outW}` : `${outW}`;
    r.fail("E_ARCHITECTURE", `${r.at}: ${type} on ${showShape(input)} with kernel ${dims === 2 ? `${kh}x${kw}` : kw}, stride ${JSON.stringify(stride)}, padding ${JSON.stringify(padding)}, dilation ${JSON.stringify(dilation)} would output ${out}; every output size must be at least 1`);
  }
  const output = dims === 2 ? [cout, outH, outW] : [cout, outW];
  if (sizeOf(output) > LIMITS.maxValues) {
    r.fail("E_LIMIT", `${r.at}: ${type} would output ${showShape(output)}, ${sizeOf(output)} values per item; at most ${LIMITS.maxValues} are supported`);
  }
  // the kernels keep one i32 per (output pixel, kernel tap): bound it before anything is allocated
  if (outH * outW * kh * kw > LIMITS.maxConvTaps) {
    r.fail("E_LIMIT", `${r.at}: ${type} with a ${kh}x${kw} kernel over ${outH}x${outW} outputs needs ${outH * outW * kh * kw} taps; at most ${LIMITS.maxConvTaps} are supported`);
  }
  const spec: ConvSpec = {
    transposed, cin, cout, groups, inH: h, inW: w, kh, kw, strideH: sh, strideW: sw,
    dilationH: dh, dilationW: dw, padTop, padLeft, padBottom, padRight, outPadH, outPadW, outH, outW,
  };
  return { type, at: r.at, input, output, weight, scale, bias, spec };
}

/** Folds y * scale[o] + shift[o] (a batch_norm after the layer) into the weight and bias, per output channel o. */
function foldAffine(s: ConvSpec, weight: Float32Array, bias: Float32Array, scale: Float64Array, shift: Float64Array): void {
  const taps = s.kh * s.kw;
  if (!s.transposed) { // [Cout, Cin/g, kh, kw]: output channel o is row o
    const per = (s.cin / s.groups) * taps;
    for (let o = 0; o < s.cout; o++) for (let i = o * per; i < (o + 1) * per; i++) weight[i] = weight[i]! * scale[o]!;
  } else { // [Cin, Cout/g, kh, kw]: W[ci, j] feeds output channel (ci div (Cin/g)) * (Cout/g) + j
    const cinG = s.cin / s.groups, coutG = s.cout / s.groups;
    for (let ci = 0; ci < s.cin; ci++) {
      for (let j = 0; j < coutG; j++) {
        const o = Math.floor(ci / cinG) * coutG + j, at = (ci * coutG + j) * taps;
        for (let t = 0; t < taps; t++) weight[at + t] = weight[at + t]! * scale[o]!;
      }
    }
  }
  for (let o = 0; o < s.cout; o++) bias[o] = bias[o]! * scale[o]! + shift[o]!;
}

function describeConv(l: ConvLayer): string {
  const s = l.spec, two = l.type.endsWith("2d");
  const parts = [`${l.type} ${s.cin}->${s.cout} ${two ? `${s.kh}x${s.kw}` : s.kw}`];
  if (s.strideH !== 1 || s.strideW !== 1) parts.push(`stride ${two ? `${s.strideH}x${s.strideW}` : s.strideW}`);
  if (s.dilationH !== 1 || s.dilationW !== 1) parts.push(`dilation ${two ? `${s.dilationH}x${s.dilationW}` : s.dilationW}`);
  if (s.groups !== 1) parts.push(`groups ${s.groups}`);
  if (l.scale !== null) parts.push("int8");
  if (l.bias === null) parts.push("(no bias)");
  return `${parts.join(" ")} -> ${showShape(l.output)}`;
}

export const conv: OpDef<ConvLayer> = {
  types: ["conv2d", "conv1d", "conv_transpose2d", "conv_transpose1d"],
  version: 2,
  fuses: { batchNorm: true, activation: true },
  parse: parseConv,
  parameters: (l) => sizeOf(l.weight.shape) + (l.bias === null ? 0 : l.spec.cout),
  tensors: (l) => [l.weight.name, ...(l.scale === null ? [] : [l.scale.name]), ...(l.bias === null ? [] : [l.bias.name])],
  describe: describeConv,
  compile(layer, c, input, fused) {
    const s = layer.spec;
    const weight = c.tensorF32(layer.weight.name); // int8: q, exact
    let bias = layer.bias === null ? null : c.tensorF32(layer.bias.name);
    let scales: Float32Array | null = null;
    if (layer.scale !== null) {
      scales = Float32Array.from(weightScales(c, layer.scale, layer.at, fused.affine?.scale ?? null));
      if (fused.affine !== null) {
        bias ??= new Float32Array(s.cout);
        for (let o = 0; o < s.cout; o++) bias[o] = bias[o]! * fused.affine.scale[o]! + fused.affine.shift[o]!;
      }
    } else if (fused.affine !== null) {
      bias ??= new Float32Array(s.cout);
      foldAffine(s, weight, bias, fused.affine.scale, fused.affine.shift);
    }
    const prepared = prepareConv(c.k, c.arena, s, weight, bias, scales);
    return c.step({
      name: `${layer.at} ${layer.type}${scales === null ? "" : " int8"}`, inputs: [input], shape: layer.output,
      scratchBytes: prepared.scratchBytes,
      run(k, rows, [x], y, scratch) { runConv(k, prepared, x!, y, rows, fused.act, fused.slope, scratch); },
    });
  },
};
