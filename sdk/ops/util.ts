// Small helpers shared by the op definitions.

import { FormatError } from "../errors";
import type { Kernels } from "../kernels";
import type { TensorInfo } from "../safetensors";
import type { Compiler } from "./types";

/**
 * Copies n f32 in wasm memory from src to dst (byte offsets; the ranges may overlap). A kernel
 * call (memory.copy), not a JS copy: every memory change of a call is then a kernel call, which
 * sdk/image.ts records for hosts without JavaScript.
 */
export function copyF32(k: Kernels, src: number, dst: number, n: number): void {
  k.f32_copy(src, dst, n);
}

/**
 * An int8 layer's per-output-channel scales (FORMAT.md: w = q * scale[o]) as f64, times a
 * folded batch_norm's per-channel factor when there is one; refuses negative scales (finite
 * was checked when the tensor was staged) and products beyond float32.
 */
export function weightScales(c: Pick<Compiler, "tensorF32">, scale: TensorInfo, at: string, fold: Float64Array | null): Float64Array {
  const s = c.tensorF32(scale.name);
  const out = new Float64Array(s.length);
  for (let o = 0; o < s.length; o++) {
    if (!(s[o]! >= 0)) throw new FormatError("E_TENSOR_VALUE", `tensor ${scale.name}[${o}] is ${s[o]}; ${at}'s int8 weight scales must be >= 0`);
    out[o] = s[o]! * (fold === null ? 1 : fold[o]!);
    if (!Number.isFinite(Math.fround(out[o]!))) throw new FormatError("E_TENSOR_VALUE", `${at}: scale ${o} times the folded batch_norm's factor is ${out[o]}, beyond float32`);
  }
  return out;
}
