// Small helpers shared by the op definitions.

import type { Kernels } from "../kernels";

let view = new Float32Array(0);

/** Copies n f32 in wasm memory from src to dst (byte offsets; the ranges may overlap). */
export function copyF32(k: Kernels, src: number, dst: number, n: number): void {
  if (view.buffer !== k.memory.buffer) view = new Float32Array(k.memory.buffer);
  view.copyWithin(dst >>> 2, src >>> 2, (src >>> 2) + n);
}
