// The messages between a VaePool (sdk/parallel/pool.ts) and its workers (sdk/parallel/worker.ts),
// and how an error crosses the thread boundary. Everything here is structured-clone data:
// Float32Arrays travel as transferred buffers, errors as { name, code, message }.
//
//   worker -> pool  { type: "started" }                     its script ran and it listens
//   pool -> worker  { type: "load", model, options }        model: the file's bytes (a private copy)
//   worker -> pool  { type: "ready", info } | { type: "failed", error }
//   pool -> worker  { type: "run", id, method, start, x, eps?, options }
//   worker -> pool  { type: "done", id, values } | { type: "error", id, error }

import { ArgumentError, EdgeVaeError, FormatError, RuntimeError, type ErrorCode } from "../errors";
import type { ModelInfo } from "../vae";

/** What a pool runs on a slice of items (or, for decode / decodeParams, of latent rows). */
export type Method = "encode" | "decode" | "decodeParams" | "reconstruct" | "elbo" | "logLikelihood";

/** Vae load options as sent to a worker (simd already resolved, wasm as cloneable data). */
export interface WorkerLoadOptions {
  simd?: "baseline" | "relaxed";
  maxBatchRows?: number;
  maxMemoryBytes?: number;
  wasm?: WebAssembly.Module | ArrayBuffer | ArrayBufferView | string;
}

/** The options of one slice, already checked by the pool (seed chosen when the caller gave none). */
export interface RunOptions {
  samples?: number;
  beta?: number;
  k?: number;
  seed?: number;
  useMean?: boolean;
}

export type PoolMessage =
  | { type: "load"; model: ArrayBuffer; options: WorkerLoadOptions }
  | {
      type: "run"; id: number; method: Method;
      /** Index of x's first item (or z's first row) in the caller's batch: seeded noise is indexed from it. */
      start: number;
      /** The slice: items x inputSize values (decode: rows x latentDim). */
      x: Float32Array;
      /** The slice's noise, [items][samples or k][latentDim], when the caller gave eps. */
      eps?: Float32Array;
      options: RunOptions;
    }
  // test hook (test/parallel*.test.ts): makes the worker die the way a crashing one does
  | { type: "crash"; how: "throw" | "exit" };

export interface SerializedError { name: string; code: ErrorCode; message: string; stack?: string }

export type WorkerReply =
  | { type: "started" }
  | { type: "ready"; info: ModelInfo }
  | { type: "failed"; error: SerializedError }
  | { type: "done"; id: number; values: Float32Array[] }
  | { type: "error"; id: number; error: SerializedError };

/** An error as data: EdgeVaeErrors keep their class name and code; anything else is E_INTERNAL (a bug). */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof EdgeVaeError) return { name: err.name, code: err.code, message: err.message, stack: err.stack };
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return {
    name: "RuntimeError", code: "E_INTERNAL",
    message: `internal error in an edgevae worker (${message}); this is a bug in edgevae, please report it with the model file`,
    stack: err instanceof Error ? err.stack : undefined,
  };
}

/** The caller's side of serializeError: the same class and code, the message optionally prefixed. */
export function deserializeError(e: SerializedError, prefix = ""): EdgeVaeError {
  const message = prefix + e.message;
  // the worker's stack, for bug reports: this thread's stack says only where the reply arrived
  const cause = e.stack === undefined ? undefined : Object.assign(new Error(`(in the worker) ${e.message}`), { stack: e.stack });
  switch (e.name) {
    case "FormatError": return new FormatError(e.code, message, { cause });
    case "ArgumentError": return new ArgumentError(e.code, message);
    case "RuntimeError": return new RuntimeError(e.code, message, { cause });
    default: return new EdgeVaeError(e.code, message, { cause });
  }
}

/**
 * A worker sees only its slice, so the indices in its messages are slice-relative. These two
 * message shapes come from sdk/vae.ts (writeChecked, output); rewriting their index to the
 * caller's batch makes the pool's message the single-threaded Vae's for the same bad value.
 *   "x[12] is NaN; ..."  (E_INPUT_VALUE; names x, z or eps)   "... has NaN at index 3 ..." (E_NONFINITE_RESULT)
 * widths: values per item of each input array, and of the result arrays.
 */
export function toBatchIndices(e: SerializedError, start: number, widths: { x: number; eps: number; out: number }): SerializedError {
  if (e.code === "E_INPUT_VALUE") {
    const message = e.message.replace(/^(x|z|eps)\[(\d+)\]/, (_m, name: string, at: string) => `${name}[${Number(at) + start * (name === "eps" ? widths.eps : widths.x)}]`);
    return { ...e, message };
  }
  if (e.code === "E_NONFINITE_RESULT") {
    return { ...e, message: e.message.replace(/at index (\d+)/, (_m, at: string) => `at index ${Number(at) + start * widths.out}`) };
  }
  return e;
}
