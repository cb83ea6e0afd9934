// Images for hosts without JavaScript (docs/image.md). The memory plan and the model loader
// live in this SDK, so a host with only a wasm engine (wasmtime, wasmer, a C program) cannot
// load a model file. compileImage does it for them: it loads the model with the real Vae,
// keeps the wasm memory as loading left it (packed weights, tables: the bytes that differ from
// a fresh instance), and records the kernel calls the Vae makes for one chunk of items of
// encode, decode and elbo, with where it writes the inputs and reads the outputs. A host
// replays those calls on a fresh instance of the same wasm and gets the SDK's numbers, bit for
// bit. Nothing is re-implemented here: the programs are what the Vae did, observed through a
// recording Kernels object and the Arena's copies in and out.
//
// The recording runs every program on three chunks; arguments that change from chunk to chunk
// (the noise's first index) must change by the same amount each time, and become per-chunk
// deltas. Before returning, the image is replayed by ImageRunner (the format's JS host) on a
// fresh instance and its outputs compared with the Vae's, bit for bit.

import { ArgumentError, FormatError, RuntimeError } from "./errors";
import type { Kernels } from "./kernels";
import type { Arena } from "./memory";
import { compileWasm } from "./runtime";
import { Vae } from "./vae";

/** The first 8 bytes of an image file. */
export const IMAGE_MAGIC = "EVIMAGE\0";
export const IMAGE_VERSION = 1;
const PREFIX = 16; // magic, u32 version, u32 header bytes
const PAGE = 65536;

export type WasmType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref";
export interface WasmSignature { readonly params: readonly WasmType[]; readonly results: readonly WasmType[] }

/** An input or output of a program: `floats` f32 at byte `address`, `per_item` of them per item. */
export interface ImageRegion { readonly name: string; readonly address: number; readonly floats: number; readonly per_item: number }

/** A kernel argument: a number, or "Infinity" / "-Infinity" / "NaN" (JSON has no such numbers). */
export type ImageArg = number | "Infinity" | "-Infinity" | "NaN";

export interface ImageProgram {
  /** Items per chunk: the host writes this many items' inputs, runs the calls, reads the outputs. */
  readonly items: number;
  readonly inputs: readonly ImageRegion[];
  readonly outputs: readonly ImageRegion[];
  /** [export name, ...arguments], in order. Argument types are in the header's `kernels`. */
  readonly calls: readonly (readonly [string, ...ImageArg[]])[];
  /** [call index, argument index (0-based, after the name), delta]: chunk c adds c * delta to that argument. */
  readonly per_chunk: readonly (readonly [number, number, number])[];
  /** What the program was recorded with (elbo: seed, samples, beta). */
  readonly options: Readonly<Record<string, number>>;
}

export type ImageProgramName = "encode" | "decode" | "elbo";

export interface ImageHeader {
  readonly format: "edgevae-image";
  readonly version: 1;
  readonly wasm: { readonly build: "baseline" | "relaxed"; readonly abi_version: number; readonly sha256: string; readonly bytes: number };
  readonly memory: {
    /** Grow the instance's memory to this many 64 KiB pages, then write the segments. */
    readonly pages: number;
    readonly heap_base: number;
    /** Bytes the SDK's arena had allocated (static data, Model, Workspace). */
    readonly used_bytes: number;
    /** Where the memory differs from a fresh instance's: `length` bytes at `address`, stored at `offset` in the data section. */
    readonly segments: readonly { readonly address: number; readonly length: number; readonly offset: number }[];
    readonly data_bytes: number;
  };
  readonly model: {
    readonly sha256: string; readonly bytes: number;
    readonly input_shape: readonly number[]; readonly input_size: number; readonly latent_dim: number;
    readonly likelihood: unknown; readonly parameters: number; readonly dtype: string;
  };
  /** Rows of the Workspace the programs were recorded on (the SDK's maxBatchRows). */
  readonly rows: number;
  /** The signature of every export the programs call. */
  readonly kernels: Readonly<Record<string, WasmSignature>>;
  readonly programs: Readonly<Record<ImageProgramName, ImageProgram>>;
}

export interface ImageOptions {
  /** The bytes of the wasm build the host will run (build/edgevae.wasm): the image is tied to them by SHA-256. */
  wasm: Uint8Array;
  /** Workspace rows: encode and decode take this many items per chunk, elbo floor(rows / samples) (at least 1). Default 16. */
  rows?: number;
  /** The elbo program's noise seed (integer below 2^53). Default 0. */
  seed?: number;
  /** Monte-Carlo samples per item of the elbo program. Default 1. */
  samples?: number;
  /** KL weight of the elbo program. Default 1. */
  beta?: number;
  maxMemoryBytes?: number;
}

export interface CompiledImage {
  readonly bytes: Uint8Array;
  readonly header: ImageHeader;
}

/** Exports the Vae calls only to check values (they read memory and return a count): not part of a program. */
const CHECKS = new Set(["f32_count_nonfinite", "f32_count_nan"]);
const CHUNKS = 3;

type Event =
  | { kind: "call"; name: string; args: ImageArg[] }
  | { kind: "write"; ptr: number; count: number; src: Float32Array; srcOffset: number }
  | { kind: "read"; ptr: number; count: number; out: Float32Array | undefined; offset: number };

/** Compiles a model file into an image (docs/image.md) for the given wasm build. */
export async function compileImage(model: Uint8Array, options: ImageOptions): Promise<CompiledImage> {
  const o = options as Partial<ImageOptions>;
  if (!(o?.wasm instanceof Uint8Array)) throw new ArgumentError("E_ARGUMENT", "compileImage: options.wasm must be the bytes (Uint8Array) of the wasm build the host will run, e.g. build/edgevae.wasm");
  const rows = o.rows ?? 16, seed = o.seed ?? 0, samples = o.samples ?? 1, beta = o.beta ?? 1;
  intOption(rows, "rows", 1, 1 << 16);
  intOption(seed, "seed", 0, Number.MAX_SAFE_INTEGER);
  intOption(samples, "samples", 1, 1 << 20);
  if (typeof beta !== "number" || !Number.isFinite(Math.fround(beta))) throw new ArgumentError("E_ARGUMENT", `compileImage: beta must be a finite number, got ${String(beta)}`);

  const wasm = o.wasm;
  const signatures = wasmSignatures(wasm);
  const module = await compileWasm(wasm);
  const vae = await Vae.load(model, { wasm: module, maxBatchRows: rows, ...(o.maxMemoryBytes !== undefined ? { maxMemoryBytes: o.maxMemoryBytes } : {}) });
  try {
    if (vae.info.maxBatchRows !== rows) {
      throw new RuntimeError("E_MEMORY", `compileImage: ${rows} rows do not fit under the memory limit (only ${vae.info.maxBatchRows} do); lower rows or raise maxMemoryBytes`);
    }
    // The Vae's private fields, by element access (type-checked: a rename fails the build).
    const k = vae["k"]!, arena: Arena = vae["arena"];
    const memory = k.memory;
    const snapshot = new Uint8Array(memory.buffer).slice();
    const fresh = new Uint8Array(((await WebAssembly.instantiate(module, {})).exports.memory as WebAssembly.Memory).buffer);
    // Past the arena's top is only load-time staging, which no call reads.
    const segments = diffSegments(snapshot.subarray(0, arena.used), fresh);

    // Inputs of the recording: any finite values do (no kernel branches on them).
    const D = vae.inputSize, J = vae.latentDim;
    const elboItems = Math.max(1, Math.floor(rows / samples));
    const x = pseudoRandom(CHUNKS * rows * D, 1, 0, 1);
    const z = pseudoRandom(CHUNKS * rows * J, 2, -2, 2);
    const xe = x.subarray(0, CHUNKS * elboItems * D);
    const elboOptions = { seed, samples, beta };

    const events: Event[] = [];
    vae["k"] = recorder(k, signatures, events);
    const writeF32 = arena.writeF32, readF32 = arena.readF32;
    arena.writeF32 = function (ptr, src, srcOffset = 0, count = src.length - srcOffset) {
      events.push({ kind: "write", ptr, count, src, srcOffset });
      writeF32.call(this, ptr, src, srcOffset, count);
    };
    arena.readF32 = function (ptr, count, out, outOffset = 0) {
      events.push({ kind: "read", ptr, count, out, offset: outOffset });
      return readF32.call(this, ptr, count, out, outOffset);
    };
    const record = <R>(run: () => R): { result: R; events: Event[] } => {
      events.length = 0;
      const result = run();
      return { result, events: events.splice(0) };
    };
    let enc, dec, elb;
    try {
      enc = record(() => vae.encode(x));
      dec = record(() => vae.decode(z));
      elb = record(() => vae.elbo(xe, elboOptions));
    } finally {
      vae["k"] = k;
      delete (arena as { writeF32?: unknown }).writeF32; // back to the prototype's methods
      delete (arena as { readF32?: unknown }).readF32;
    }
    if (memory.buffer.byteLength !== snapshot.length) {
      throw new RuntimeError("E_INTERNAL", "compileImage: the wasm memory grew during a call; an image cannot express that (this is a bug in edgevae)");
    }
    const programs = {
      encode: programOf("encode", enc.events, CHUNKS * rows, { x }, { mean: enc.result.mean, logvar: enc.result.logvar }, {}),
      decode: programOf("decode", dec.events, CHUNKS * rows, { z }, { mean: dec.result }, {}),
      elbo: programOf("elbo", elb.events, CHUNKS * elboItems, { x: xe }, { elbo: elb.result.elbo, recon: elb.result.recon, kl: elb.result.kl }, elboOptions),
    };
    const used = new Set(Object.values(programs).flatMap((p) => p.calls.map((c) => c[0])));
    const kernels: Record<string, WasmSignature> = {};
    for (const name of [...used].sort()) kernels[name] = signatures.get(name)!;

    let offset = 0;
    const placed = segments.map((s) => { const seg = { address: s.address, length: s.length, offset }; offset += s.length; return seg; });
    const header: ImageHeader = {
      format: "edgevae-image", version: IMAGE_VERSION,
      wasm: { build: vae.info.simd, abi_version: k.abi_version(), sha256: await sha256Hex(wasm), bytes: wasm.length },
      memory: { pages: snapshot.length / PAGE, heap_base: k.heap_base(), used_bytes: arena.used, segments: placed, data_bytes: offset },
      model: {
        sha256: await sha256Hex(model), bytes: model.length, input_shape: [...vae.inputShape], input_size: D,
        latent_dim: J, likelihood: vae.info.likelihood, parameters: vae.info.parameterCount, dtype: vae.info.dtype,
      },
      rows, kernels, programs,
    };
    const bytes = writeImage(header, segments.map((s) => snapshot.subarray(s.address, s.address + s.length)));

    // The self-check: the format's own host must give the Vae's numbers on the same inputs.
    const runner = await ImageRunner.create(bytes, wasm);
    const check = (name: ImageProgramName, inputs: Record<string, Float32Array>, expected: Record<string, Float32Array>) => {
      const got = runner.run(name, inputs);
      for (const [key, want] of Object.entries(expected)) {
        const bad = firstDifference(got[key]!, want);
        if (bad >= 0) {
          throw new RuntimeError("E_INTERNAL", `compileImage: replaying the ${name} program gives ${key}[${bad}] = ${got[key]![bad]}, the Vae gave ${want[bad]}; the image does not reproduce the SDK (this is a bug in edgevae, please report it with the model file)`);
        }
      }
    };
    check("encode", { x }, { mean: enc.result.mean, logvar: enc.result.logvar });
    check("decode", { z }, { mean: dec.result });
    check("elbo", { x: xe }, { elbo: elb.result.elbo, recon: elb.result.recon, kl: elb.result.kl });
    return { bytes, header };
  } finally {
    vae.dispose();
  }
}

/** A Kernels object that calls through to `k` and appends every call but the checks to `events`. */
function recorder(k: Kernels, signatures: ReadonlyMap<string, WasmSignature>, events: Event[]): Kernels {
  const rec: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(k)) {
    if (typeof value !== "function") { rec[name] = value; continue; }
    const sig = signatures.get(name);
    rec[name] = (...args: number[]): unknown => {
      const result = (value as (...a: number[]) => unknown)(...args);
      if (CHECKS.has(name)) return result;
      if (sig === undefined || sig.results.length > 0 || sig.params.length !== args.length) {
        throw new RuntimeError("E_INTERNAL", `compileImage: the Vae called ${name}(${args.length} arguments), which an image cannot replay (not a void export of this wasm with that arity)`);
      }
      events.push({ kind: "call", name, args: args.map((a, i) => canonical(a, sig.params[i]!, name)) });
      return result;
    };
  }
  return rec as unknown as Kernels;
}

/** The value the wasm receives for a JS number of type t (ToInt32, fround), as JSON can hold it. */
function canonical(v: number, t: WasmType, name: string): ImageArg {
  if (t === "i32") return v | 0;
  if (t === "f32" || t === "f64") {
    const w = t === "f32" ? Math.fround(v) : v;
    if (Number.isNaN(w)) return "NaN";
    if (w === Infinity) return "Infinity";
    if (w === -Infinity) return "-Infinity";
    return Object.is(w, -0) ? 0 : w; // JSON has no -0; no kernel argument distinguishes it
  }
  throw new RuntimeError("E_INTERNAL", `compileImage: ${name} takes a ${t} argument, which an image cannot hold`);
}

interface Chunk { writes: Extract<Event, { kind: "write" }>[]; calls: Extract<Event, { kind: "call" }>[]; reads: Extract<Event, { kind: "read" }>[] }

/** Cuts a recording into chunks: writes, then kernel calls, then reads (a write after a read starts the next chunk). */
function chunksOf(name: string, events: readonly Event[]): Chunk[] {
  const chunks: Chunk[] = [];
  let cur: Chunk | undefined;
  for (const e of events) {
    if (e.kind === "write") {
      if (cur === undefined || cur.calls.length > 0 || cur.reads.length > 0) chunks.push(cur = { writes: [], calls: [], reads: [] });
      cur.writes.push(e);
    } else if (cur === undefined) {
      throw new RuntimeError("E_INTERNAL", `compileImage: the ${name} call ran a kernel before writing its inputs; an image cannot express that`);
    } else if (e.kind === "call") {
      if (cur.reads.length > 0) throw new RuntimeError("E_INTERNAL", `compileImage: the ${name} call ran ${e.name} after reading results; an image cannot express that`);
      cur.calls.push(e);
    } else {
      cur.reads.push(e);
    }
  }
  return chunks;
}

/** One program from the recording of three chunks, with arguments that change per chunk as deltas. */
function programOf(name: ImageProgramName, events: readonly Event[], totalItems: number, inputs: Record<string, Float32Array>,
                   outputs: Record<string, Float32Array>, options: Record<string, number>): ImageProgram {
  const fail = (what: string): never => { throw new RuntimeError("E_INTERNAL", `compileImage: the ${name} program ${what} (this is a bug in edgevae)`); };
  const chunks = chunksOf(name, events);
  if (chunks.length !== CHUNKS) fail(`ran in ${chunks.length} chunks, not ${CHUNKS}`);
  const [c0, c1, c2] = chunks as [Chunk, Chunk, Chunk];
  const region = (arrays: Record<string, Float32Array>, e: { ptr: number; count: number }, arr: Float32Array | undefined, offsets: number[]): ImageRegion => {
    const key = nameOf(arr, arrays, fail);
    const perItem = arrays[key]!.length / totalItems;
    if (!offsets.every((off, c) => off === c * e.count)) fail(`reads or writes ${key} at offsets ${offsets.join(", ")}, not one chunk after another`);
    return { name: key, address: e.ptr, floats: e.count, per_item: perItem };
  };
  const same = (a: readonly { ptr: number; count: number }[], b: readonly { ptr: number; count: number }[]) =>
    a.length === b.length && a.every((e, i) => e.ptr === b[i]!.ptr && e.count === b[i]!.count);
  if (!same(c0.writes, c1.writes) || !same(c0.writes, c2.writes)) fail("writes its inputs to different places in different chunks");
  if (!same(c0.reads, c1.reads) || !same(c0.reads, c2.reads)) fail("reads its outputs from different places in different chunks");
  if (c0.calls.length !== c1.calls.length || c0.calls.length !== c2.calls.length) fail("makes different numbers of kernel calls in different chunks");
  const ins = c0.writes.map((w, i) => region(inputs, w, w.src, [w.srcOffset, c1.writes[i]!.srcOffset, c2.writes[i]!.srcOffset]));
  const outs = c0.reads.map((r, i) => region(outputs, r, r.out, [r.offset, c1.reads[i]!.offset, c2.reads[i]!.offset]));
  const items = ins[0]!.floats / ins[0]!.per_item;
  for (const reg of [...ins, ...outs]) if (reg.floats !== items * reg.per_item) fail(`moves ${reg.floats} floats of ${reg.name} per chunk of ${items} items`);
  const perChunk: [number, number, number][] = [];
  const calls = c0.calls.map((call, i) => {
    const a = call.args, b = c1.calls[i]!.args, c = c2.calls[i]!.args;
    if (c1.calls[i]!.name !== call.name || c2.calls[i]!.name !== call.name) fail(`calls ${call.name} in chunk 0 where another chunk calls ${c1.calls[i]!.name}`);
    a.forEach((v, j) => {
      if (v === b[j] && v === c[j]) return;
      const d1 = typeof v === "number" && typeof b[j] === "number" ? (b[j] as number) - v : NaN;
      const d2 = typeof b[j] === "number" && typeof c[j] === "number" ? (c[j] as number) - (b[j] as number) : NaN;
      if (!(d1 === d2) || !Number.isSafeInteger(d1) || !Number.isSafeInteger(v as number)) fail(`passes ${call.name} argument ${j} as ${v}, ${b[j]}, ${c[j]} in three chunks: not a constant step per chunk`);
      perChunk.push([i, j, d1]);
    });
    return [call.name, ...a] as [string, ...ImageArg[]];
  });
  return { items, inputs: ins, outputs: outs, calls, per_chunk: perChunk, options };
}

function nameOf(arr: Float32Array | undefined, arrays: Record<string, Float32Array>, fail: (what: string) => never): string {
  for (const [key, value] of Object.entries(arrays)) if (value === arr) return key;
  return fail("copies an array that is neither an input nor a result");
}

/** The ranges (4-byte aligned) where `snapshot` differs from `fresh` (zero past its end); gaps under 64 bytes are bridged. */
function diffSegments(snapshot: Uint8Array, fresh: Uint8Array): { address: number; length: number }[] {
  const a = new Uint32Array(snapshot.buffer, snapshot.byteOffset, snapshot.length >>> 2);
  const b = new Uint32Array(fresh.buffer, fresh.byteOffset, fresh.length >>> 2);
  const out: { address: number; length: number }[] = [];
  const GAP = 16; // words
  let start = -1, last = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === (i < b.length ? b[i] : 0)) continue;
    if (start >= 0 && i - last > GAP) { out.push({ address: start * 4, length: (last + 1 - start) * 4 }); start = -1; }
    if (start < 0) start = i;
    last = i;
  }
  if (start >= 0) out.push({ address: start * 4, length: (last + 1 - start) * 4 });
  return out;
}

function writeImage(header: ImageHeader, data: readonly Uint8Array[]): Uint8Array {
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((PREFIX + json.length) / 8) * 8 - PREFIX; // the data section starts 8-byte aligned
  const text = new Uint8Array(padded).fill(0x20);
  text.set(json);
  json = text;
  const total = PREFIX + json.length + data.reduce((n, d) => n + d.length, 0);
  const out = new Uint8Array(total);
  for (let i = 0; i < 8; i++) out[i] = IMAGE_MAGIC.charCodeAt(i);
  const view = new DataView(out.buffer);
  view.setUint32(8, IMAGE_VERSION, true);
  view.setUint32(12, json.length, true);
  out.set(json, PREFIX);
  let at = PREFIX + json.length;
  for (const d of data) { out.set(d, at); at += d.length; }
  return out;
}

/** Reads and checks an image file's framing and header; returns the header and the data section. */
export function parseImage(bytes: Uint8Array): { header: ImageHeader; data: Uint8Array } {
  const bad = (what: string): never => { throw new FormatError("E_IMAGE", `not a valid edgevae image: ${what}`); };
  if (!(bytes instanceof Uint8Array)) bad("expected the file's bytes as a Uint8Array");
  if (bytes.length < PREFIX || String.fromCharCode(...bytes.subarray(0, 8)) !== IMAGE_MAGIC) bad(`it does not start with "EVIMAGE\\0" (docs/image.md)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true), size = view.getUint32(12, true);
  if (version !== IMAGE_VERSION) bad(`format version ${version}; this edgevae reads version ${IMAGE_VERSION}`);
  if (PREFIX + size > bytes.length) bad(`its header says ${size} bytes but the file has ${bytes.length - PREFIX} after the prefix`);
  let header: ImageHeader;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(PREFIX, PREFIX + size))) as ImageHeader;
  } catch (err) {
    return bad(`its header is not UTF-8 JSON (${(err as Error).message})`);
  }
  const data = bytes.subarray(PREFIX + size);
  if (header?.format !== "edgevae-image" || typeof header.memory !== "object" || typeof header.programs !== "object" || typeof header.kernels !== "object") bad("its header lacks format, memory, kernels or programs");
  const limit = header.memory.pages * PAGE;
  if (!Number.isSafeInteger(header.memory.pages) || header.memory.pages < 1 || header.memory.pages > PAGE) bad(`memory.pages is ${header.memory.pages}`);
  for (const s of header.memory.segments ?? bad("memory.segments is missing")) {
    if (!(Number.isSafeInteger(s.address) && Number.isSafeInteger(s.length) && Number.isSafeInteger(s.offset) && s.address >= 0 && s.length >= 0 && s.offset >= 0)) bad("a segment has a non-integer or negative field");
    if (s.address + s.length > limit) bad(`a segment ends at ${s.address + s.length}, past the memory's ${limit} bytes`);
    if (s.offset + s.length > data.length) bad(`a segment's bytes end at ${s.offset + s.length}, past the data section's ${data.length} bytes`);
  }
  for (const [name, p] of Object.entries(header.programs)) {
    if (!Array.isArray(p?.calls) || !Array.isArray(p.inputs) || !Array.isArray(p.outputs) || !Array.isArray(p.per_chunk)) bad(`program ${name} lacks calls, inputs, outputs or per_chunk`);
    for (const call of p.calls) {
      const sig = header.kernels[call[0]];
      if (sig === undefined || sig.params.length !== call.length - 1) bad(`program ${name} calls ${String(call[0])} with ${call.length - 1} arguments, which the header's kernels do not list`);
    }
    for (const r of [...p.inputs, ...p.outputs]) if (r.address < 0 || r.address + r.floats * 4 > limit) bad(`program ${name}'s region ${r.name} lies outside the memory`);
  }
  return { header, data };
}

/**
 * The format's host in JavaScript (the self-check of compileImage, and a reference for other
 * hosts; examples/wasmtime/host.py is the same in Python): a fresh instance of the image's
 * wasm, its memory restored from the image, running programs chunk by chunk.
 */
export class ImageRunner {
  private constructor(readonly header: ImageHeader, private readonly exports: Record<string, unknown>) {}

  /** `wasm`: the bytes the image names (checked by SHA-256), or a compiled Module of them (not checked). */
  static async create(image: Uint8Array, wasm: Uint8Array | WebAssembly.Module): Promise<ImageRunner> {
    const { header, data } = parseImage(image);
    let module: WebAssembly.Module;
    if (wasm instanceof WebAssembly.Module) {
      module = wasm;
    } else {
      const hash = await sha256Hex(wasm);
      if (hash !== header.wasm.sha256) {
        throw new FormatError("E_IMAGE", `this image was built for the ${header.wasm.build} wasm with SHA-256 ${header.wasm.sha256}; the given wasm has ${hash} (rebuild the image with this wasm)`);
      }
      module = await compileWasm(wasm);
    }
    const exports = (await WebAssembly.instantiate(module, {})).exports as Record<string, unknown>;
    const abi = (exports.abi_version as () => number)(), build = (exports.relaxed_simd as () => number)() === 1 ? "relaxed" : "baseline";
    if (abi !== header.wasm.abi_version || build !== header.wasm.build) {
      throw new FormatError("E_IMAGE", `this image was built for the ${header.wasm.build} wasm of ABI ${header.wasm.abi_version}; the given wasm is the ${build} build of ABI ${abi}`);
    }
    const memory = exports.memory as WebAssembly.Memory;
    const have = memory.buffer.byteLength / PAGE;
    if (have > header.memory.pages) throw new FormatError("E_IMAGE", `the wasm starts with ${have} pages of memory, more than the image's ${header.memory.pages}`);
    if (have < header.memory.pages) memory.grow(header.memory.pages - have);
    const mem = new Uint8Array(memory.buffer);
    for (const s of header.memory.segments) mem.set(data.subarray(s.offset, s.offset + s.length), s.address);
    return new ImageRunner(header, exports);
  }

  /** Runs a program over any number of items (the last chunk is padded with zeros; their results are dropped). */
  run(name: ImageProgramName, inputs: Readonly<Record<string, Float32Array>>): Record<string, Float32Array> {
    const p = this.header.programs[name];
    if (p === undefined) throw new ArgumentError("E_ARGUMENT", `this image has no ${name} program`);
    const first = p.inputs[0]!;
    const given = inputs[first.name];
    if (!(given instanceof Float32Array) || given.length === 0 || given.length % first.per_item !== 0) {
      throw new ArgumentError("E_INPUT_LENGTH", `${name}: input ${first.name} must be a Float32Array of a whole, non-zero number of items of ${first.per_item} values`);
    }
    const n = given.length / first.per_item;
    for (const r of p.inputs) {
      if (inputs[r.name]?.length !== n * r.per_item) throw new ArgumentError("E_INPUT_LENGTH", `${name}: input ${r.name} must hold ${n} items of ${r.per_item} values`);
    }
    const out: Record<string, Float32Array> = {};
    for (const r of p.outputs) out[r.name] = new Float32Array(n * r.per_item);
    const memory = this.exports.memory as WebAssembly.Memory;
    const fns = p.calls.map((c) => this.exports[c[0]] as (...a: number[]) => void);
    for (let c = 0; c * p.items < n; c++) {
      const items = Math.min(p.items, n - c * p.items);
      const heap = new Float32Array(memory.buffer);
      for (const r of p.inputs) {
        const src = inputs[r.name]!.subarray(c * p.items * r.per_item, (c * p.items + items) * r.per_item);
        heap.set(src, r.address >>> 2);
        heap.fill(0, (r.address >>> 2) + src.length, (r.address >>> 2) + r.floats); // padding of the last chunk
      }
      const args = p.calls.map((call) => call.slice(1).map(Number));
      for (const [i, j, delta] of p.per_chunk) args[i]![j]! += c * delta;
      args.forEach((a, i) => fns[i]!(...a));
      const after = new Float32Array(memory.buffer);
      for (const r of p.outputs) out[r.name]!.set(after.subarray(r.address >>> 2, (r.address >>> 2) + items * r.per_item), c * p.items * r.per_item);
    }
    return out;
  }
}

/** The signatures of a wasm module's exported functions, read from its type, import, function and export sections. */
export function wasmSignatures(bytes: Uint8Array): Map<string, WasmSignature> {
  const bad = (what: string): never => { throw new RuntimeError("E_WASM_LOAD", `not a readable wasm module: ${what}`); };
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) bad("no \\0asm magic");
  let p = 8;
  const u8 = (): number => (p < bytes.length ? bytes[p++]! : bad("truncated"));
  const leb = (): number => {
    let v = 0, shift = 0, b: number;
    do { b = u8(); v += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
    return v;
  };
  const TYPES: Record<number, WasmType> = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128", 0x70: "funcref", 0x6f: "externref" };
  const valtype = (): WasmType => TYPES[u8()] ?? bad("unknown value type");
  const name = (): string => { const n = leb(); const s = new TextDecoder().decode(bytes.subarray(p, p + n)); p += n; return s; };
  const limits = (): void => { const flags = u8(); leb(); if (flags & 1) leb(); };
  const types: WasmSignature[] = [], funcs: WasmSignature[] = [];
  const out = new Map<string, WasmSignature>();
  while (p < bytes.length) {
    const id = u8(), size = leb(), end = p + size;
    if (id === 1) {
      for (let n = leb(); n > 0; n--) {
        if (u8() !== 0x60) bad("a type that is not a function type");
        const params = Array.from({ length: leb() }, valtype);
        const results = Array.from({ length: leb() }, valtype);
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = leb(); n > 0; n--) {
        name(); name();
        const kind = u8();
        if (kind === 0) funcs.push(types[leb()] ?? bad("an import of an unknown type"));
        else if (kind === 1) { u8(); limits(); }
        else if (kind === 2) limits();
        else if (kind === 3) { valtype(); u8(); }
        else bad("an unknown import kind");
      }
    } else if (id === 3) {
      for (let n = leb(); n > 0; n--) funcs.push(types[leb()] ?? bad("a function of an unknown type"));
    } else if (id === 7) {
      for (let n = leb(); n > 0; n--) {
        const key = name(), kind = u8(), index = leb();
        if (kind === 0) out.set(key, funcs[index] ?? bad(`export ${key} names an unknown function`));
      }
    }
    p = end;
  }
  return out;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** n values in [lo, hi) from a fixed xorshift stream (the recording's inputs). */
function pseudoRandom(n: number, seed: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(n);
  let s = (0x9e3779b9 ^ seed) >>> 0;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = lo + (hi - lo) * (s / 2 ** 32);
  }
  return out;
}

/** The first index where a and b differ in bits, or -1. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

function intOption(v: unknown, what: string, min: number, max: number): void {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new ArgumentError("E_ARGUMENT", `compileImage: ${what} must be an integer from ${min} to ${max}, got ${String(v)}`);
  }
}
