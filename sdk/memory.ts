// The arena: one bump allocator over a wasm instance's linear memory. Weights are placed
// first (they live as long as the Vae), then the buffers of the compute plan. Nothing is
// allocated per call; the memory only grows while loading, and never past `limitBytes`: the
// limit bounds the instance's whole memory (static data, weights, buffers), in whole pages.

import { RuntimeError } from "./errors";

const PAGE = 65536;

export class Arena {
  private top: number;
  private f32: Float32Array;
  private u8: Uint8Array;

  private mem: WebAssembly.Memory | undefined;

  constructor(memory: WebAssembly.Memory, base: number, readonly limitBytes: number) {
    this.mem = memory;
    this.top = align(base, 64);
    if (memory.buffer.byteLength > limitBytes || this.top > limitBytes) {
      throw new RuntimeError("E_MEMORY", `the wasm instance starts with ${memory.buffer.byteLength} bytes of memory, more than the limit of ${limitBytes} bytes; raise maxMemoryBytes`);
    }
    this.f32 = new Float32Array(memory.buffer);
    this.u8 = new Uint8Array(memory.buffer);
  }

  /** Whether the memory could hold `end` bytes (growing in whole pages) within the limit. */
  fits(end: number): boolean {
    return Math.ceil(end / PAGE) * PAGE <= this.limitBytes;
  }

  /** A dry run: an allocator that counts from the current top and touches no memory. */
  measure(): { end: number; alloc(bytes: number): number; allocF32(count: number): number; allocF64(count: number): number } {
    const dry = {
      end: this.top,
      alloc(bytes: number): number { const at = align(dry.end, 64); dry.end = at + bytes; return at; },
      allocF32(count: number): number { return dry.alloc(count * 4); },
      allocF64(count: number): number { return dry.alloc(count * 8); },
    };
    return dry;
  }

  /** Drops the memory and the views on it, so they can be collected (the arena is unusable afterwards). */
  dispose(): void {
    this.mem = undefined;
    this.f32 = new Float32Array(0);
    this.u8 = new Uint8Array(0);
  }

  /** The instance's memory (throws after dispose()). */
  get memory(): WebAssembly.Memory {
    if (this.mem === undefined) throw new RuntimeError("E_INTERNAL", "the arena was disposed");
    return this.mem;
  }

  /** Bytes of wasm memory in use (the instance's whole memory; 0 after dispose()). */
  get memoryBytes(): number { return this.mem === undefined ? 0 : this.mem.buffer.byteLength; }
  get used(): number { return this.top; }

  /** Reserves `bytes` (64-byte aligned: one cache line, and v128-aligned), growing memory. */
  alloc(bytes: number): number {
    const at = align(this.top, 64);
    const end = at + bytes;
    if (!this.fits(end)) {
      throw new RuntimeError("E_MEMORY", `this model needs more than the memory limit of ${this.limitBytes} bytes (asked for ${end}); raise maxMemoryBytes or lower maxBatchRows`);
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch (err) {
        throw new RuntimeError("E_MEMORY", `the host refused to grow wasm memory to ${end} bytes: ${(err as Error).message}`, { cause: err });
      }
    }
    this.top = end;
    return at;
  }

  allocF32(count: number): number { return this.alloc(count * 4); }
  allocF64(count: number): number { return this.alloc(count * 8); }

  /** A position to rewind to: what is allocated after it is freed by release(). */
  mark(): number { return this.top; }
  release(mark: number): void { this.top = mark; }

  /** The memory as f32 (a fresh view if the memory grew since the last call). */
  heapF32(): Float32Array {
    if (this.f32.buffer !== this.memory.buffer) this.f32 = new Float32Array(this.memory.buffer);
    return this.f32;
  }

  heapU8(): Uint8Array {
    if (this.u8.buffer !== this.memory.buffer) this.u8 = new Uint8Array(this.memory.buffer);
    return this.u8;
  }

  /** Copies `count` f32 from memory at `ptr` into a new array (or into `out` at `outOffset`). */
  readF32(ptr: number, count: number, out?: Float32Array, outOffset = 0): Float32Array {
    const src = this.heapF32().subarray(ptr >>> 2, (ptr >>> 2) + count);
    if (out === undefined) return src.slice();
    out.set(src, outOffset);
    return out;
  }

  /** Copies `count` values of `src` from `srcOffset` into memory at `ptr` (f32). */
  writeF32(ptr: number, src: Float32Array, srcOffset = 0, count = src.length - srcOffset): void {
    this.heapF32().set(src.subarray(srcOffset, srcOffset + count), ptr >>> 2);
  }
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
