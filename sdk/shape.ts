// Shapes of one item's values (FORMAT.md, version 2): [N] a vector, [C, L] a sequence,
// [C, H, W] an image. Items are always exchanged in PyTorch's channel-major order; inside
// wasm memory, sequences and images are kept NHWC (pixel-major, channels contiguous), the
// layout the convolution kernels want. A sequence [C, L] is an image with H = 1, W = L.

export type Shape = readonly number[];

/** Values in one item of this shape. */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Channels, rows and columns of a sequence or image ([C, L] is C x 1 x L). */
export function spatial(shape: Shape): { c: number; h: number; w: number } {
  if (shape.length === 3) return { c: shape[0]!, h: shape[1]!, w: shape[2]! };
  if (shape.length === 2) return { c: shape[0]!, h: 1, w: shape[1]! };
  return { c: shape[0]!, h: 1, w: 1 };
}

/** Whether a value of this shape is kept NHWC inside wasm memory (sequences and images). */
export function isSpatial(shape: Shape): boolean {
  return shape.length >= 2;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function showShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}
