// batch_norm (inference mode), group_norm and layer_norm (FORMAT.md version 2), as PyTorch's
// nn.BatchNorm1d/2d in eval(), nn.GroupNorm and nn.LayerNorm(N). A batch_norm right after a
// linear or conv layer is folded into that layer's weights by sdk/network.ts; anywhere else it
// runs as a per-channel affine map. The norms' statistics are computed per item in wasm
// (assembly/norm.ts), accumulated in f64.

import { FormatError } from "../errors";
import type { TensorInfo } from "../safetensors";
import { showShape, sizeOf, spatial } from "../shape";
import type { Compiler, LayerBase, LayerReader, OpDef } from "./types";

export interface BatchNormLayer extends LayerBase {
  readonly type: "batch_norm";
  readonly mean: TensorInfo; readonly variance: TensorInfo;
  readonly weight: TensorInfo | null; readonly bias: TensorInfo | null;
  readonly eps: number;
}

export interface GroupNormLayer extends LayerBase {
  readonly type: "group_norm";
  readonly groups: number;
  readonly weight: TensorInfo | null; readonly bias: TensorInfo | null;
  readonly eps: number;
}

export interface LayerNormLayer extends LayerBase {
  readonly type: "layer_norm";
  readonly weight: TensorInfo | null; readonly bias: TensorInfo | null;
  readonly eps: number;
}

const tensorsOf = (...ts: (TensorInfo | null)[]) => ts.filter((t): t is TensorInfo => t !== null).map((t) => t.name);

/** The affine map of a batch_norm, in f64: y = x * scale[c] + shift[c], scale = g / sqrt(v + eps), shift = b - m * scale. */
export function batchNormAffine(layer: BatchNormLayer, c: Compiler): { scale: Float64Array; shift: Float64Array } {
  const C = layer.input[0]!;
  const m = c.tensorF32(layer.mean.name), v = c.tensorF32(layer.variance.name);
  const g = layer.weight === null ? null : c.tensorF32(layer.weight.name);
  const b = layer.bias === null ? null : c.tensorF32(layer.bias.name);
  const scale = new Float64Array(C), shift = new Float64Array(C);
  for (let i = 0; i < C; i++) {
    if (!(v[i]! >= 0)) throw new FormatError("E_TENSOR_VALUE", `tensor ${layer.variance.name}[${i}] is ${v[i]}; ${layer.at} (batch_norm) needs running_var >= 0`);
    scale[i] = (g === null ? 1 : g[i]!) / Math.sqrt(v[i]! + Math.fround(layer.eps));
    shift[i] = (b === null ? 0 : b[i]!) - m[i]! * scale[i]!;
    if (!Number.isFinite(Math.fround(scale[i]!)) || !Number.isFinite(Math.fround(shift[i]!))) {
      throw new FormatError("E_TENSOR_VALUE", `${layer.at} (batch_norm): channel ${i} scales by ${scale[i]} and shifts by ${shift[i]}, beyond float32 (running_var + eps is too small for its weight)`);
    }
  }
  return { scale, shift };
}

/** gamma and beta of a norm in the Model: the file's tensors, or ones and zeros. */
function affineParams(c: Compiler, n: number, weight: TensorInfo | null, bias: TensorInfo | null): { gamma: number; beta: number } {
  const gamma = c.arena.allocF32(n), beta = c.arena.allocF32(n);
  const heap = c.arena.heapF32();
  if (weight === null) heap.fill(1, gamma >>> 2, (gamma >>> 2) + n); else heap.set(c.tensorF32(weight.name), gamma >>> 2);
  if (bias === null) heap.fill(0, beta >>> 2, (beta >>> 2) + n); else heap.set(c.tensorF32(bias.name), beta >>> 2);
  return { gamma, beta };
}

function optionalPair(r: LayerReader, n: number) {
  return { weight: r.tensor("weight", [n], true), bias: r.tensor("bias", [n], true) };
}

export const batchNorm: OpDef<BatchNormLayer> = {
  types: ["batch_norm"],
  version: 2,
  parse(r, input) {
    const C = input[0]!;
    return {
      type: "batch_norm", at: r.at, input, output: input,
      mean: r.tensor("running_mean", [C], false)!, variance: r.tensor("running_var", [C], false)!,
      ...optionalPair(r, C), eps: r.positive("eps", 1e-5),
    };
  },
  parameters: (l) => 2 * l.input[0]! + (l.weight === null ? 0 : l.input[0]!) + (l.bias === null ? 0 : l.input[0]!),
  tensors: (l) => tensorsOf(l.mean, l.variance, l.weight, l.bias),
  describe: (l) => `batch_norm ${l.input[0]}`,
  compile(layer, c, input) {
    const C = layer.input[0]!, pixels = sizeOf(layer.input) / C;
    const { scale, shift } = batchNormAffine(layer, c);
    const s = c.arena.allocF32(C), t = c.arena.allocF32(C);
    c.arena.heapF32().set(scale, s >>> 2);
    c.arena.heapF32().set(shift, t >>> 2);
    return c.step({
      name: `${layer.at} batch_norm`, inputs: [input], shape: layer.output, inPlace: true,
      run(k, rows, [x], y) { k.f32_channel_affine(x!, rows * pixels, C, s, t, y); },
    });
  },
};

export const groupNorm: OpDef<GroupNormLayer> = {
  types: ["group_norm"],
  version: 2,
  parse(r, input) {
    if (input.length < 2) r.fail("E_ARCHITECTURE", `${r.at}: group_norm needs a sequence [C, L] or an image [C, H, W], but its input is ${showShape(input)} (use layer_norm on vectors)`);
    const C = input[0]!;
    const groups = r.int("num_groups", 1);
    if (C % groups !== 0) r.fail("E_ARCHITECTURE", `${r.at}: num_groups = ${groups} does not divide the ${C} channels`);
    return { type: "group_norm", at: r.at, input, output: input, groups, ...optionalPair(r, C), eps: r.positive("eps", 1e-5) };
  },
  parameters: (l) => (l.weight === null ? 0 : l.input[0]!) + (l.bias === null ? 0 : l.input[0]!),
  tensors: (l) => tensorsOf(l.weight, l.bias),
  describe: (l) => `group_norm ${l.groups} groups of ${l.input[0]! / l.groups}`,
  compile(layer, c, input) {
    const { c: C, h, w } = spatial(layer.input), groups = layer.groups, eps = layer.eps;
    const { gamma, beta } = affineParams(c, C, layer.weight, layer.bias);
    return c.step({
      name: `${layer.at} group_norm`, inputs: [input], shape: layer.output, inPlace: true,
      run(k, rows, [x], y) { k.f32_group_norm_nhwc(x!, rows, h * w, C, groups, eps, gamma, beta, y); },
    });
  },
};

export const layerNorm: OpDef<LayerNormLayer> = {
  types: ["layer_norm"],
  version: 2,
  parse(r, input) {
    if (input.length !== 1) r.fail("E_ARCHITECTURE", `${r.at}: layer_norm normalises a vector [N], but its input is ${showShape(input)}; put a flatten before it, or use group_norm with num_groups 1`);
    return { type: "layer_norm", at: r.at, input, output: input, ...optionalPair(r, input[0]!), eps: r.positive("eps", 1e-5) };
  },
  parameters: (l) => (l.weight === null ? 0 : l.input[0]!) + (l.bias === null ? 0 : l.input[0]!),
  tensors: (l) => tensorsOf(l.weight, l.bias),
  describe: (l) => `layer_norm ${l.input[0]}`,
  compile(layer, c, input) {
    const n = layer.input[0]!, eps = layer.eps;
    const { gamma, beta } = affineParams(c, n, layer.weight, layer.bias);
    return c.step({
      name: `${layer.at} layer_norm`, inputs: [input], shape: layer.output, inPlace: true,
      run(k, rows, [x], y) { k.f32_layer_norm(x!, rows, n, eps, gamma, beta, y); },
    });
  },
};
