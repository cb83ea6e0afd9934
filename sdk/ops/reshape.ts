// flatten and reshape (FORMAT.md version 2). Both are row-major over PyTorch's channel-major
// item order; since images and sequences are NHWC inside, they move values only when the
// order changes (a transpose per item), and cost nothing otherwise.

import type { Kernels } from "../kernels";
import { LIMITS } from "../limits";
import { isSpatial, showShape, sizeOf, spatial, type Shape } from "../shape";
import type { Compiler, LayerBase, OpDef, ValueId } from "./types";

export interface FlattenLayer extends LayerBase { readonly type: "flatten" }
export interface ReshapeLayer extends LayerBase { readonly type: "reshape" }

/** Whether values of this shape are stored in a different order than channel-major (C > 1 and more than one pixel). */
function reordered(shape: Shape): boolean {
  if (!isSpatial(shape)) return false;
  const { c, h, w } = spatial(shape);
  return c > 1 && h * w > 1;
}

/** NHWC -> channel-major (a [C, H, W] item's (H*W, C) matrix transposed), or nothing when the order is the same. */
export function toChannelMajor(c: Compiler, at: string, input: ValueId, shape: Shape): ValueId {
  if (!reordered(shape)) return input;
  const { c: C, h, w } = spatial(shape);
  return c.step({
    name: `${at} NHWC->NCHW`, inputs: [input], shape: [sizeOf(shape)],
    run(k: Kernels, rows, [x], y) { k.f32_transpose_items(x!, rows, h * w, C, y); },
  });
}

/** Channel-major -> NHWC for a value of `shape`, or nothing when the order is the same. */
export function toNhwc(c: Compiler, at: string, input: ValueId, shape: Shape): ValueId {
  if (!reordered(shape)) return input;
  const { c: C, h, w } = spatial(shape);
  return c.step({
    name: `${at} NCHW->NHWC`, inputs: [input], shape,
    run(k: Kernels, rows, [x], y) { k.f32_transpose_items(x!, rows, C, h * w, y); },
  });
}

export const flatten: OpDef<FlattenLayer> = {
  types: ["flatten"],
  version: 2,
  parse: (r, input) => ({ type: "flatten", at: r.at, input, output: [sizeOf(input)] }),
  parameters: () => 0,
  tensors: () => [],
  describe: (l) => `flatten -> ${showShape(l.output)}`,
  compile: (layer, c, input) => toChannelMajor(c, layer.at, input, layer.input),
};

export const reshape: OpDef<ReshapeLayer> = {
  types: ["reshape"],
  version: 2,
  parse(r, input) {
    const shape = r.ints("shape", [1, 2, 3], 1, undefined, LIMITS.maxValues);
    if (sizeOf(shape) !== sizeOf(input)) {
      r.fail("E_ARCHITECTURE", `${r.at}: reshape to ${showShape(shape)} (${sizeOf(shape)} values) does not match its input ${showShape(input)} (${sizeOf(input)} values)`);
    }
    return { type: "reshape", at: r.at, input, output: shape };
  },
  parameters: () => 0,
  tensors: () => [],
  describe: (l) => `reshape -> ${showShape(l.output)}`,
  compile: (layer, c, input) => toNhwc(c, layer.at, toChannelMajor(c, layer.at, input, layer.input), layer.output),
};
