// Small helpers shared by the op definitions.

import type { Kernels } from "../kernels";

let view = new Float32Array(0);

/** Copies n f32 in wasm memory from src to dst (byte offsets; the ranges may overlap). */
export function copyF32(k: Kernels, src: number, dst: number, n: number): void {
  if (view.buffer !== k.memory.buffer) view = new Float32Array(k.memory.buffer);
  view.copyWithin(dst >>> 2, src >>> 2, (src >>> 2) + n);
}

/** Writes f32 values into wasm memory at `ptr`. */
export function writeF32(k: Kernels, ptr: number, values: ArrayLike<number>): void {
  if (view.buffer !== k.memory.buffer) view = new Float32Array(k.memory.buffer);
  view.set(values, ptr >>> 2);
}

/** Writes i32 values into wasm memory at `ptr`. */
export function writeI32(k: Kernels, ptr: number, values: ArrayLike<number>): void {
  new Int32Array(k.memory.buffer).set(values, ptr >>> 2);
}
