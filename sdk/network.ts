// A network (the encoder or the decoder): its layer list read from the file with shapes
// inferred through it, then compiled into a Program (kernel steps over values) and a buffer
// plan. Layer types come from the registry (sdk/ops/index.ts).
//
//   parseNetwork:   JSON layers -> parsed layers with their shapes (coded errors naming the layer)
//   compileModel:   parsed layers -> steps over values; weights packed into the Model's arena
//   planBuffers:    steps -> where each value lives, from the values' sizes and lifetimes
//
// A Program's values are per row (one item, or one item x sample): a value's buffer holds
// `rows` consecutive items. Sequences and images are NHWC inside; the program converts from
// and to PyTorch's channel-major order at its ends (and at flatten / reshape).

import { FormatError, type ErrorCode } from "./errors";
import type { Kernels } from "./kernels";
import { ACT } from "./kernels";
import { LIMITS } from "./limits";
import type { Arena } from "./memory";
import { OPS, typesOfVersion, type Layer } from "./ops/index";
import { batchNormAffine, type BatchNormLayer } from "./ops/norm";
import { toChannelMajor, toNhwc } from "./ops/reshape";
import { LayerReader, NOT_FUSED, type Compiler, type Fused, type LayerBase, type ParseContext, type StepSpec, type ValueId } from "./ops/types";
import { copyF32 } from "./ops/util";
import { isPlainObject, type TensorInfo } from "./safetensors";
import { sizeOf, type Shape } from "./shape";

function fail(code: ErrorCode, message: string): never {
  throw new FormatError(code, message);
}

// ---- parsing -------------------------------------------------------------------------------

export interface ParseState {
  readonly version: 1 | 2;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly readableDtypes: readonly string[];
  /** Counts parameters against the model's limit. */
  count(parameters: number): void;
}

/**
 * Reads one network's layers from `input`, inferring every shape. Iterative in the layers of
 * one list, recursive only through residuals, whose depth is bounded (LIMITS.maxNesting), as
 * is the number of layers in all (LIMITS.maxLayers).
 */
export function parseNetwork(raw: unknown, where: string, input: Shape, st: ParseState): { layers: Layer[]; output: Shape } {
  let layerCount = 0;
  const parseList = (list: unknown, shape: Shape, at: string, depth: number): { layers: Layer[]; output: Shape } => {
    if (!Array.isArray(list) || list.length === 0) fail("E_ARCHITECTURE", `${at} must be a non-empty array of layers`);
    if (layerCount + list.length > LIMITS.maxLayers) fail("E_LIMIT", `${where} has more than ${LIMITS.maxLayers} layers (nested ones included); at most ${LIMITS.maxLayers} are supported`);
    layerCount += list.length;
    const ctx: ParseContext = {
      version: st.version,
      count: st.count,
      layers: (nested, from, nestedAt) => {
        if (depth + 1 > LIMITS.maxNesting) fail("E_LIMIT", `${nestedAt}: residual blocks nest deeper than ${LIMITS.maxNesting} levels; at most ${LIMITS.maxNesting} are supported`);
        return parseList(nested, from, nestedAt, depth + 1);
      },
    };
    const layers: Layer[] = [];
    for (let i = 0; i < list.length; i++) {
      const item: unknown = list[i];
      const layerAt = `${at}[${i}]`;
      if (!isPlainObject(item) || typeof item.type !== "string") fail("E_ARCHITECTURE", `${layerAt} must be an object with a string "type"`);
      const def = OPS.get(item.type);
      if (def === undefined) {
        fail("E_LAYER_TYPE", `${layerAt} has unknown layer type ${JSON.stringify(item.type.slice(0, 100))} (version ${st.version} knows ${typesOfVersion(st.version).join(", ")})`);
      }
      if (def.version > st.version) {
        fail("E_LAYER_TYPE", `${layerAt} is a ${item.type} layer, which format version ${def.version} introduced; this file says "version": ${st.version}`);
      }
      const reader = new LayerReader(item, layerAt, st.tensors, fail, st.readableDtypes);
      const layer = def.parse(reader, shape, ctx);
      st.count(def.parameters(layer));
      layers.push(layer);
      shape = layer.output;
    }
    return { layers, output: shape };
  };
  return parseList(raw, input, where, 0);
}

/** Every layer of a list, nested ones included, depth first (an explicit stack: no recursion). */
export function allLayers(layers: readonly LayerBase[]): Layer[] {
  const out: Layer[] = [], stack = [...layers].reverse();
  while (stack.length > 0) {
    const layer = stack.pop()! as Layer;
    out.push(layer);
    for (const list of [...(layer.children ?? [])].reverse()) for (let i = list.length - 1; i >= 0; i--) stack.push(list[i]!);
  }
  return out;
}

// ---- compiling -----------------------------------------------------------------------------

/** A compiled step: a kernel call reading some values and writing one. */
export interface Step extends StepSpec { readonly output: ValueId }

/** A compiled network: steps over values, and where each value lives. */
export interface Program {
  readonly steps: readonly Step[];
  /** Floats per row of each value; value 0 is the input, `output` the result. */
  readonly sizes: readonly number[];
  readonly output: ValueId;
  /** Where each value lives: its buffer's offset in the workspace, in floats per row (-1: the input, -2: the output). */
  readonly offsets: readonly number[];
  /** Floats per row of the program's workspace (its intermediate buffers). */
  readonly workspaceFloats: number;
  /** Bytes of per-call scratch its steps need (the largest StepSpec.scratchBytes; 0 for none). */
  readonly scratchBytes: number;
}

/** How a model is compiled (LoadOptions). */
export interface CompileOptions {
  /** Int8 linear layers quantise their inputs to int16 (the opt-in integer kernel). */
  readonly int16Activations: boolean;
}

/** Where a tensor of the file is read from while loading (sdk/model.ts). */
export interface TensorSource {
  tensorF32(name: string): Float32Array;
  stageF32(name: string, at: number): number;
  stageRaw(name: string, at: number): number;
}

/** What each layer of a list is compiled with: the batch_norm and activation that follow it, when it can fuse them. */
function fusions(list: readonly Layer[], c: Pick<Compiler, "tensorF32" | "stageF32" | "stageRaw" | "k" | "arena" | "options">, out: Map<Layer, Fused>): void {
  for (let i = 0; i < list.length; i++) {
    const layer = list[i]!;
    const def = OPS.get(layer.type)!;
    let fused: Fused = NOT_FUSED;
    let next = list[i + 1];
    if (def.fuses?.batchNorm && next?.type === "batch_norm") {
      fused = { ...fused, affine: batchNormAffine(next as BatchNormLayer, c as Compiler) };
      out.set(next, FUSED_AWAY);
      next = list[++i + 1];
    }
    if (def.fuses?.activation && (next?.type === "relu" || next?.type === "leaky_relu")) {
      fused = { ...fused, act: ACT[next.type], slope: next.type === "leaky_relu" ? next.param : 0 };
      out.set(next, FUSED_AWAY);
      i++;
    }
    out.set(layer, fused);
    for (const children of layer.children ?? []) fusions(children as readonly Layer[], c, out);
  }
}

/** Marks a layer that runs inside the one before it. */
const FUSED_AWAY: Fused = { affine: null, act: -1, slope: 0 };

/**
 * Compiles the networks of a model: packs their weights into `arena` (the Model) and returns
 * one program per network. `input` is each network's input shape as the caller sees it
 * (channel-major). Weights of types with a `reserve` (linear layers) are placed first, largest
 * first, each staged in the blocks after its own that are not filled yet; the rest are packed
 * as their layers compile, staged just past the arena's top.
 */
export function compileModel(networks: readonly { layers: readonly Layer[]; input: Shape }[], k: Kernels, arena: Arena,
                             source: TensorSource, options: CompileOptions = { int16Activations: false }): Program[] {
  const base = { k, arena, tensorF32: source.tensorF32, stageF32: source.stageF32, stageRaw: source.stageRaw, options };
  const fused = new Map<Layer, Fused>();
  for (const n of networks) fusions(n.layers, base, fused);
  const reserved = reserveWeights(networks.flatMap((n) => allLayers(n.layers)), base, fused);
  return networks.map((n) => compileNetwork(n.layers, n.input, base, fused, reserved));
}

function reserveWeights(layers: readonly Layer[], c: Pick<Compiler, "tensorF32" | "stageF32" | "stageRaw" | "k" | "arena" | "options">,
                        fused: ReadonlyMap<Layer, Fused>): Map<Layer, unknown> {
  const arena = c.arena;
  const items = layers.filter((l) => OPS.get(l.type)!.reserve !== undefined && fused.get(l) !== FUSED_AWAY)
    .map((layer) => ({ layer, reserve: OPS.get(layer.type)!.reserve! }))
    .map((it) => ({ ...it, bytes: it.reserve.bytes(it.layer), stage: it.reserve.stageBytes(it.layer), at: 0 }))
    .sort((p, q) => q.bytes - p.bytes);
  for (const it of items) it.at = arena.alloc(it.bytes);
  // grow once to the furthest staging end (the last, smallest block's may stick out past the Model)
  const top = arena.mark();
  const extent = Math.max(top, ...items.map((it) => it.at + it.bytes + it.stage));
  if (extent > top) { arena.alloc(extent - top); arena.release(top); }
  const out = new Map<Layer, unknown>();
  for (const it of items) out.set(it.layer, it.reserve.fill(it.layer, c as Compiler, it.at, it.at + it.bytes, fused.get(it.layer)!));
  return out;
}

function compileNetwork(layers: readonly Layer[], input: Shape, base: Pick<Compiler, "tensorF32" | "stageF32" | "stageRaw" | "k" | "arena" | "options">,
                        fused: ReadonlyMap<Layer, Fused>, reserved: ReadonlyMap<Layer, unknown>): Program {
  const steps: Step[] = [];
  const sizes: number[] = [sizeOf(input)];
  const c: Compiler = {
    ...base,
    step(spec) {
      const output = sizes.length;
      sizes.push(sizeOf(spec.shape));
      steps.push({ ...spec, output });
      return output;
    },
    layers: (list, from) => compileList(list as readonly Layer[], from),
  };
  const compileList = (list: readonly Layer[], from: ValueId): ValueId => {
    let v = from;
    for (const layer of list) {
      const f = fused.get(layer)!;
      if (f !== FUSED_AWAY) v = OPS.get(layer.type)!.compile(layer, c, v, f, reserved.get(layer));
    }
    return v;
  };
  let v = toNhwc(c, "input", 0, input);
  v = compileList(layers, v);
  const last = layers[layers.length - 1]!;
  v = toChannelMajor(c, "output", v, last.output);
  if (v === 0) { // the network changes nothing in memory (e.g. only a flatten): copy to the output
    const n = sizes[0]!;
    v = c.step({ name: "output copy", inputs: [0], shape: [n], run: (k, rows, [x], y) => copyF32(k, x!, y, rows * n) });
  }
  const scratchBytes = Math.max(0, ...steps.map((s) => s.scratchBytes ?? 0));
  return { steps, sizes, output: v, scratchBytes, ...planBuffers(steps, sizes, v) };
}

// ---- buffer planning -----------------------------------------------------------------------

const ALIGN = 16; // floats: every buffer of `rows` rows starts on a 64-byte boundary

/**
 * Places every value: elementwise steps write over their input when that input is not needed
 * afterwards (and is not the caller's input); the other values get buffers in a workspace,
 * placed greedily largest first at the lowest offset that no value alive at the same time uses
 * (the arena planner of TFLite / llm.c's one allocation). Offsets are in floats per row.
 */
function planBuffers(steps: readonly Step[], sizes: readonly number[], output: ValueId): { offsets: number[]; workspaceFloats: number } {
  const n = sizes.length;
  // lifetimes: a value is born at the step that writes it (the input: before step 0) and dies at its last reader
  const born = new Array<number>(n).fill(-1), dies = new Array<number>(n).fill(-1);
  steps.forEach((s, i) => {
    born[s.output] = i;
    for (const v of s.inputs) dies[v] = i;
  });
  dies[output] = steps.length;
  // in-place chains: a buffer (by its first value) for every value
  const buffer = Array.from({ length: n }, (_, v) => v);
  steps.forEach((s, i) => {
    const x = s.inputs[0]!;
    if (s.inPlace && x !== 0 && dies[x] === i) buffer[s.output] = buffer[x]!;
  });
  // the output's chain ends in the caller's output buffer; everything else is planned
  const outBuffer = buffer[output]!;
  for (let v = 0; v < n; v++) if (buffer[v] === buffer[output]) buffer[v] = outBuffer;
  const start = new Map<number, number>(), end = new Map<number, number>(), floats = new Map<number, number>();
  for (let v = 1; v < n; v++) {
    const b = buffer[v]!;
    if (b === outBuffer) continue;
    start.set(b, Math.min(start.get(b) ?? Infinity, born[v]!));
    end.set(b, Math.max(end.get(b) ?? -1, dies[v]!, born[v]!));
    floats.set(b, Math.max(floats.get(b) ?? 0, Math.ceil(sizes[v]! / ALIGN) * ALIGN));
  }
  const placed: { b: number; at: number }[] = [];
  const at = new Map<number, number>();
  let workspaceFloats = 0;
  for (const b of [...floats.keys()].sort((p, q) => floats.get(q)! - floats.get(p)! || p - q)) {
    const size = floats.get(b)!;
    const overlapping = placed.filter((o) => start.get(o.b)! <= end.get(b)! && start.get(b)! <= end.get(o.b)!)
      .sort((p, q) => p.at - q.at);
    let offset = 0;
    for (const o of overlapping) {
      if (offset + size <= o.at) break;
      offset = Math.max(offset, o.at + floats.get(o.b)!);
    }
    placed.push({ b, at: offset });
    at.set(b, offset);
    workspaceFloats = Math.max(workspaceFloats, offset + size);
  }
  const offsets = buffer.map((b, v) => (v === 0 ? -1 : b === outBuffer ? -2 : at.get(b)!));
  return { offsets, workspaceFloats };
}

/** A program bound to buffers: every step's pointers resolved once (no work per call but the kernels). */
export interface BoundProgram {
  readonly steps: readonly { readonly step: Step; readonly ins: readonly number[]; readonly out: number }[];
  /** The workspace's scratch buffer (program.scratchBytes at least), or 0 when no step needs one. */
  readonly scratch: number;
}

/**
 * Binds a program to the caller's `input` and `output` buffers and to a workspace at `work`
 * holding `capacity` rows of its intermediate values (program.workspaceFloats * capacity
 * floats) and to `scratch` (p.scratchBytes bytes at least). All pointers are byte offsets.
 */
export function bindProgram(p: Program, capacity: number, input: number, output: number, work: number, scratch: number): BoundProgram {
  const ptr = (v: ValueId): number => {
    const o = p.offsets[v]!;
    return o === -1 ? input : o === -2 ? output : work + o * capacity * 4;
  };
  return { steps: p.steps.map((step) => ({ step, ins: step.inputs.map(ptr), out: ptr(step.output) })), scratch };
}

/** Runs a bound program over `rows` rows (at most its capacity). */
export function runProgram(k: Kernels, p: BoundProgram, rows: number): void {
  for (const s of p.steps) s.step.run(k, rows, s.ins, s.out, p.scratch);
}
