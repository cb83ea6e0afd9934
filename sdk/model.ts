// The Model and the Workspace. A Model is a loaded file's immutable part: both networks
// compiled into programs over weights packed once into wasm memory. A Workspace is the
// per-call part: buffers for `rows` rows of every value the programs and the Vae's own steps
// touch. The Vae holds one of each; nothing in a Model changes after load, so several
// workspaces (threads, later) can run on one set of weights.
//
// Memory, in order from the arena's base: [Model: packed weights, conv tables] [Workspace].

import { FormatError } from "./errors";
import type { Architecture } from "./format";
import type { Kernels } from "./kernels";
import type { Arena } from "./memory";
import { bindProgram, compileModel, type BoundProgram, type CompileOptions, type Program, type TensorSource } from "./network";
import { elementsOf, stageFloats, type TensorInfo } from "./safetensors";

export interface Model {
  readonly arch: Architecture;
  readonly encoder: Program;
  readonly decoder: Program;
  /** Bytes of wasm memory the weights and tables take. */
  readonly bytes: number;
}

/**
 * Compiles both networks, packing their weights into `arena`. `bytes` is the whole model file
 * (tensor offsets are absolute). Each tensor is staged (copied raw, F16 widened, checked
 * finite) in memory that holds nothing yet: the big ones in the Model's not yet filled blocks
 * (sdk/network.ts reserveWeights), the others just past the arena's top, where the next
 * allocations land anyway; so loading needs little memory beyond what the Model and the
 * Workspace keep, and touches few fresh pages (they dominate cold start).
 */
export function loadModel(arch: Architecture, bytes: Uint8Array, tensors: ReadonlyMap<string, TensorInfo>,
                          k: Kernels, arena: Arena, options: CompileOptions = { int16Activations: false }): Model {
  const base = arena.mark();
  const source: TensorSource = {
    stageF32: (name, at) => stageTensor(tensors.get(name)!, bytes, k, arena, at),
    stageRaw(name, at) {
      const t = tensors.get(name)!;
      arena.heapU8().set(bytes.subarray(t.begin, t.end), at);
      return at;
    },
    tensorF32(name) {
      const t = tensors.get(name)!;
      return arena.readF32(stageTensor(t, bytes, k, arena, topStage(arena, t)), elementsOf(t));
    },
  };
  const [encoder, decoder] = compileModel([
    { layers: arch.encoder, input: arch.encoderInput },
    { layers: arch.decoder, input: arch.latentShape },
  ], k, arena, source, options);
  return { arch, encoder: encoder!, decoder: decoder!, bytes: arena.mark() - base };
}



/** Staging just past the arena's top for tensor t (grown into, never kept): valid until the next allocation. */
function topStage(arena: Arena, t: TensorInfo): number {
  const count = elementsOf(t);
  const mark = arena.mark();
  const at = arena.allocF32(stageFloats(t));
  arena.release(mark);
  return at;
}

/**
 * Copies a tensor to `at` as f32 (F16 / BF16 / I8 staged raw after it, then widened exactly in wasm) and
 * checks it is finite; returns `at`. The caller makes sure the memory is there and unused.
 */
function stageTensor(t: TensorInfo, bytes: Uint8Array, k: Kernels, arena: Arena, at: number): number {
  const count = elementsOf(t);
  if (t.dtype === "F32") {
    arena.heapU8().set(bytes.subarray(t.begin, t.end), at);
  } else { // widened exactly in wasm from the raw bytes staged behind the f32 values
    const raw = at + count * 4;
    arena.heapU8().set(bytes.subarray(t.begin, t.end), raw);
    if (t.dtype === "F16") k.f16_to_f32(raw, at, count);
    else if (t.dtype === "BF16") k.bf16_to_f32(raw, at, count);
    else k.i8_to_f32(raw, at, count); // I8: q, exact
  }
  const bad = k.f32_count_nonfinite(at, count);
  if (bad > 0) {
    throw new FormatError("E_NONFINITE_WEIGHTS", `tensor ${t.name} holds ${bad} NaN or infinite value(s); a trained model's weights are finite (check the export)`);
  }
  return at;
}

/** Buffers of one workspace (byte offsets), each sized for `rows` rows. */
export interface Workspace {
  readonly rows: number;
  readonly x: number;       // (rows, D) input items, channel-major
  readonly h: number;       // (rows, 2J) encoder output [mean | logvar]
  readonly z: number;       // (rows, J)
  readonly eps: number;     // (rows, J)
  readonly params: number;  // (rows, P) decoder output
  readonly mean: number;    // (rows, D) the likelihood's mean (gaussian_learned; else = params)
  readonly spare: number;   // (rows, D) the logvar half (gaussian_learned; else 0)
  readonly rowVals: number; // (rows) per-row log p(x|z) / log weights
  readonly kl: number; readonly recon: number; readonly elbo: number; // (rows) per item
  readonly accA: number; readonly accB: number; // (rows) f64 running states
  readonly pair: number;    // (2, J) interpolation ends
  readonly scratch: number; // 16 bytes for the RNG
  /** Per-call scratch of the programs' steps (int8 weights widened for one call): max of both programs' scratchBytes, or 0. */
  readonly dequant: number;
  /** The programs' intermediate values: max(encoder, decoder) workspaceFloats x rows. */
  readonly work: number;
  readonly encoder: BoundProgram; // x -> h
  readonly decoder: BoundProgram; // z -> params
}

export interface Allocator { alloc(bytes: number): number; allocF32(count: number): number; allocF64(count: number): number }

/** Plans a workspace of `rows` rows on `arena` (or on a dry-run allocator, to measure it). */
export function planWorkspace(arena: Allocator, model: Model, rows: number): Workspace {
  const { inputSize: D, latentDim: J, paramSize: P, likelihood } = model.arch;
  const learned = likelihood.type === "gaussian_learned";
  const x = arena.allocF32(rows * D), h = arena.allocF32(rows * 2 * J);
  const z = arena.allocF32(rows * J), eps = arena.allocF32(rows * J);
  const params = arena.allocF32(rows * P);
  const mean = learned ? arena.allocF32(rows * D) : params, spare = learned ? arena.allocF32(rows * D) : 0;
  const work = arena.allocF32(rows * Math.max(model.encoder.workspaceFloats, model.decoder.workspaceFloats, 1));
  const scratchBytes = Math.max(model.encoder.scratchBytes, model.decoder.scratchBytes);
  const dequant = scratchBytes > 0 ? arena.alloc(scratchBytes) : 0;
  return {
    rows, x, h, z, eps, params, mean, spare,
    rowVals: arena.allocF32(rows), kl: arena.allocF32(rows), recon: arena.allocF32(rows), elbo: arena.allocF32(rows),
    accA: arena.allocF64(rows), accB: arena.allocF64(rows),
    pair: arena.allocF32(2 * J), scratch: arena.alloc(16),
    work, dequant,
    encoder: bindProgram(model.encoder, rows, x, h, work, dequant),
    decoder: bindProgram(model.decoder, rows, z, params, work, dequant),
  };
}
