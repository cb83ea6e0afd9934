// Direct access to the wasm kernels for kernel-level tests: one instance, an arena, and
// helpers to put arrays in and take them out.
import { readFileSync } from "node:fs";
import { Arena } from "../../sdk/memory";
import type { Kernels } from "../../sdk/kernels";

export const WASM_PATH = new URL("../../build/edgevae.wasm", import.meta.url);

export interface KernelHarness {
  k: Kernels;
  arena: Arena;
  /** Copies values into fresh arena memory; returns the pointer. */
  put(values: ArrayLike<number>): number;
  /** Reserves n f32 (zeroed). */
  zeros(n: number): number;
  /** Reserves n f64, filled with `value`. */
  f64(n: number, value?: number): number;
  get(ptr: number, n: number): Float32Array;
  getF64(ptr: number, n: number): Float64Array;
  /** Frees everything allocated since the harness was made. */
  reset(): void;
}

export function kernelHarness(path: URL = WASM_PATH): KernelHarness {
  const module = new WebAssembly.Module(readFileSync(path));
  const k = new WebAssembly.Instance(module, {}).exports as unknown as Kernels;
  const arena = new Arena(k.memory, k.heap_base(), 2 ** 31);
  const start = arena.mark();
  return {
    k, arena,
    put(values) {
      const p = arena.allocF32(values.length);
      arena.heapF32().set(Float32Array.from(values), p >>> 2);
      return p;
    },
    zeros(n) {
      const p = arena.allocF32(Math.max(n, 1));
      arena.heapF32().fill(0, p >>> 2, (p >>> 2) + n);
      return p;
    },
    f64(n, value = 0) {
      const p = arena.allocF64(Math.max(n, 1));
      new Float64Array(k.memory.buffer, p, n).fill(value);
      return p;
    },
    get(ptr, n) { return arena.readF32(ptr, n); },
    getF64(ptr, n) { return new Float64Array(k.memory.buffer, ptr, n).slice(); },
    reset() { arena.release(start); },
  };
}
