// What one layer type is: the op registry's entry (sdk/ops/index.ts lists them). Each layer
// type of FORMAT.md is defined once, in its own file here, by an OpDef: how to read and check
// its JSON against the shape it receives, its output shape, its parameters, and how to compile
// it into steps over packed weights. Format parsing (sdk/format.ts), the inference plan
// (sdk/network.ts), the trainer and the fuzzer read this registry; the float64 reference of
// every type is test/reference/ops.ts, keyed by the same type names (kept out of the SDK
// bundle; the compiler checks that it covers every type).

import type { ErrorCode } from "../errors";
import type { Kernels, TrainKernels } from "../kernels";
import type { Arena } from "../memory";
import type { TensorInfo } from "../safetensors";
import type { Shape } from "../shape";

/** What every parsed layer carries: where it is (for messages) and the shapes around it. */
export interface LayerBase {
  readonly type: string;
  /** Its place in the file, e.g. "encoder[3]" or "decoder[1].body[0]". */
  readonly at: string;
  readonly input: Shape;
  readonly output: Shape;
  /** Nested layer lists (a residual's body and shortcut), walked by sdk/network.ts. */
  readonly children?: readonly (readonly LayerBase[])[];
}

/** A value of a network: an index into the program's value table. */
export type ValueId = number;

/** One kernel call of a compiled network. Pointers are byte offsets into wasm memory. */
export interface StepSpec {
  /** For messages and profiles: the layer and what the step does. */
  readonly name: string;
  readonly inputs: readonly ValueId[];
  /** The shape of the value the step writes (values are NHWC inside for [C, L] / [C, H, W]). */
  readonly shape: Shape;
  /** The step may write its output over inputs[0] (elementwise ops): the planner decides. */
  readonly inPlace?: boolean;
  /**
   * Bytes of per-call scratch the step needs (int8 weights widened for one call), not kept
   * between calls: the workspace holds one scratch buffer, the largest any step asks for.
   */
  readonly scratchBytes?: number;
  /** Runs over `rows` items: ins[i] points at inputs[i]'s rows, out at the output's; scratch at the workspace's scratch buffer. */
  run(k: Kernels, rows: number, ins: readonly number[], out: number, scratch: number): void;
}

/** What compile() gets: the wasm instance, the Model's arena, the file's tensors, and the program being built. */
export interface Compiler {
  readonly k: Kernels;
  /** The Model's memory: packed weights go here, once, and stay immutable. */
  readonly arena: Arena;
  /** LoadOptions that change how layers compile (the opt-in int16 activations of int8 layers). */
  readonly options: { readonly int16Activations: boolean };
  /** A tensor of the file as f32 (F16 widened exactly), already checked finite: a JS copy. */
  tensorF32(name: string): Float32Array;
  /**
   * The same, staged in wasm memory at byte offset `at` (no copy out to JS), in memory that
   * holds nothing yet (a Reserve's `stage`); returns `at`.
   */
  stageF32(name: string, at: number): number;
  /** The tensor's bytes as the file holds them (an I8 weight), copied to `at` as stageF32 does; returns `at`. */
  stageRaw(name: string, at: number): number;
  /** Appends a step; returns the value it writes. */
  step(spec: StepSpec): ValueId;
  /** Compiles a nested layer list (residual branches) from `input`; returns its output value. */
  layers(layers: readonly LayerBase[], input: ValueId): ValueId;
}

/** What the network compiler fuses into a linear or conv layer: a following affine batch_norm, then relu / leaky_relu. */
export interface Fused {
  /** y = layer(x) * scale[c] + shift[c] per output channel (a folded batch_norm), or null. */
  readonly affine: { readonly scale: Float64Array; readonly shift: Float64Array } | null;
  /** Activation code (sdk/kernels.ts ACT): identity, relu or leaky_relu, and its slope. */
  readonly act: number;
  readonly slope: number;
}

export const NOT_FUSED: Fused = { affine: null, act: 0, slope: 0 };

/** What parse() gets besides the layer's JSON. */
export interface ParseContext {
  /** The file's format version: version 1 files see every value as a flat vector. */
  readonly version: 1 | 2;
  /** Parses a nested layer list (residual branches) from `input`; returns the layers and the output shape. */
  layers(raw: unknown, input: Shape, at: string): { layers: LayerBase[]; output: Shape };
  /** Counts parameters against LIMITS.maxParameters. */
  count(parameters: number): void;
}

export interface OpDef<L extends LayerBase = LayerBase> {
  /** The layer types this entry reads (the activations share one entry, so do the convolutions). */
  readonly types: readonly string[];
  /** The first format version that has these types. */
  readonly version: 1 | 2;
  /** Fusions the network compiler may apply: a following batch_norm folded, a following relu / leaky_relu fused. */
  readonly fuses?: { readonly batchNorm?: boolean; readonly activation?: boolean };
  /** Reads and checks the layer's JSON for an input of shape `input` (coded errors naming the layer). */
  parse(r: LayerReader, input: Shape, ctx: ParseContext): L;
  /** Weights and biases this layer holds itself (nested layers are counted by their own entries). */
  parameters(layer: L): number;
  /** The file tensors this layer reads itself. */
  tensors(layer: L): string[];
  /** One line for Vae.info: "conv2d 1->32 3x3 stride 2". */
  describe(layer: L): string;
  /**
   * Appends the layer's steps (packing what it needs into the Model); returns the output value.
   * `reserved` is what `reserve.fill` returned, for types that reserve their weights.
   */
  compile(layer: L, c: Compiler, input: ValueId, fused: Fused, reserved?: unknown): ValueId;
  /**
   * Big weights placed before anything else is compiled (sdk/network.ts reserveWeights): the
   * Model's blocks are laid out largest first and each tensor is staged just after its own
   * block, in blocks not yet filled, so loading needs (almost) no memory beyond the Model's own
   * and touches few fresh pages (they dominate cold start).
   */
  readonly reserve?: Reserve<L>;
  /** The trainer's forward and backward passes (sdk/train/trainer.ts); a type without them cannot be trained. */
  readonly train?: TrainDef<L>;
}

export interface Reserve<L extends LayerBase> {
  /** Bytes of the layer's block in the Model. */
  bytes(layer: L): number;
  /** Bytes of staging its tensors need while it is filled. */
  stageBytes(layer: L): number;
  /** Fills the block at `at`, staging tensors at `stage` (= at + bytes); returns what compile() gets. */
  fill(layer: L, c: Compiler, at: number, stage: number, fused: Fused): unknown;
}

/** Where the trainer keeps a layer's parameters (byte offsets; 0 when the layer has none). */
export interface TrainSlots {
  /** W (N, K) row-major as PyTorch, and b (N). */
  readonly w: number; readonly b: number;
  /** The inference GEMM's packed copies of W and b, refreshed after every optimiser step. */
  readonly packed: number; readonly pbias: number;
  /** d loss / d W and d loss / d b, accumulated by backward. */
  readonly gw: number; readonly gb: number;
}

export interface TrainDef<L extends LayerBase> {
  /** y = layer(x) over `rows` rows, on the inference kernels (so an exported model reproduces exactly). */
  forward(k: TrainKernels, layer: L, s: TrainSlots, rows: number, x: number, y: number): void;
  /**
   * From dy = d loss / d y (rows, out) and the layer's input x: accumulates the parameter
   * gradients and returns where d loss / d x is: dy itself (elementwise layers, in place), or
   * `spare`; `spare` = 0 means d loss / d x is not wanted (the network's first layer).
   */
  backward(k: TrainKernels, layer: L, s: TrainSlots, rows: number, x: number, dy: number, spare: number): number;
}

/** Thrown for a bad layer: a FormatError made by sdk/format.ts from this. */
export type Fail = (code: ErrorCode, message: string) => never;

/**
 * A layer's JSON object with typed accessors that check each field and name the layer in
 * every message (FORMAT.md's general rules: sizes >= 1, paddings >= 0, defaults when a key is
 * absent).
 */
export class LayerReader {
  constructor(readonly raw: Readonly<Record<string, unknown>>, readonly at: string,
              readonly tensors: ReadonlyMap<string, TensorInfo>, readonly fail: Fail,
              readonly readableDtypes: readonly string[]) {}

  get type(): string { return this.raw.type as string; }

  /** A finite number (within float32 range: the kernels take it as f32), or `fallback` when absent. */
  number(key: string, fallback: number): number {
    const v = this.raw[key];
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isFinite(Math.fround(v))) {
      this.fail("E_ARCHITECTURE", `${this.at}.${key} must be a finite number (within float32 range), got ${JSON.stringify(v)}`);
    }
    return v;
  }

  /** A number > 0 (an eps), or `fallback` when absent. */
  positive(key: string, fallback: number): number {
    const v = this.number(key, fallback);
    if (!(Math.fround(v) > 0)) this.fail("E_ARCHITECTURE", `${this.at}.${key} must be > 0, got ${JSON.stringify(v)}`);
    return v;
  }

  /** An integer >= min (and <= max), or `fallback` when absent (undefined fallback: required). */
  int(key: string, min: number, fallback?: number, max = 2 ** 31 - 1): number {
    const v = this.raw[key];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
      this.fail("E_ARCHITECTURE", `${this.at}.${key} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
    if (v > max) this.fail("E_LIMIT", `${this.at}.${key} is ${v}; at most ${max} is supported`);
    return v;
  }

  /** A list of integers >= min whose length is one of `lengths`, or `fallback` when absent. */
  ints(key: string, lengths: readonly number[], min: number, fallback?: readonly number[], max = 1 << 20): number[] {
    const v = this.raw[key];
    if (v === undefined && fallback !== undefined) return [...fallback];
    const want = lengths.join(" or ");
    if (!Array.isArray(v) || !lengths.includes(v.length)) {
      this.fail("E_ARCHITECTURE", `${this.at}.${key} must be a list of ${want} integers, got ${JSON.stringify(v)}`);
    }
    for (const d of v) {
      if (typeof d !== "number" || !Number.isSafeInteger(d) || d < min) {
        this.fail("E_ARCHITECTURE", `${this.at}.${key} must hold integers >= ${min}, got ${JSON.stringify(v)}`);
      }
      if (d > max) this.fail("E_LIMIT", `${this.at}.${key} holds ${d}; at most ${max} is supported`);
    }
    return v as number[];
  }

  /** The tensor named by `key`: present, of a readable dtype, of shape `shape`. null when optional and absent/null. */
  tensor(key: string, shape: readonly number[], optional: boolean, why = "", allowI8 = false): TensorInfo | null {
    const name = this.raw[key] ?? null;
    if (name === null) {
      if (optional) return null;
      this.fail("E_ARCHITECTURE", `${this.at}: a ${this.type} layer needs "${key}", a tensor name`);
    }
    if (typeof name !== "string") this.fail("E_ARCHITECTURE", `${this.at}: "${key}" must be a tensor name${optional ? " or null" : ""}, got ${JSON.stringify(name)}`);
    const t = this.tensors.get(name);
    if (t === undefined) this.fail("E_TENSOR_MISSING", `${this.at} names tensor "${name}", which is not in the file`);
    if (!this.readableDtypes.includes(t.dtype) || (t.dtype === "I8" && !allowI8)) {
      const floats = this.readableDtypes.filter((d) => d !== "I8").join(", ");
      const i8 = this.readableDtypes.includes("I8") ? ", and I8 only as a linear or conv layer's weight with a weight_scale" : "";
      this.fail("E_DTYPE", `tensor ${name} is ${t.dtype}; ${this.at} reads ${floats} tensors${i8} (convert it when exporting${this.readableDtypes.includes("I8") ? "" : ", or write a version 2 file"})`);
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      this.fail("E_TENSOR_SHAPE", `tensor ${name} has shape [${t.shape.join(", ")}] but ${this.at} needs [${shape.join(", ")}]${why}`);
    }
    return t;
  }

  /**
   * A linear / conv layer's "weight" of shape `shape`: floating point, or I8 with a
   * "weight_scale" of shape [cout] (w = q * scale[out channel]; FORMAT.md "Weights: int8 and
   * BF16"). A scale beside a float weight, or an I8 weight without one, is refused; the scale's
   * values (finite, >= 0) are checked when the weights load.
   */
  weight(shape: readonly number[], cout: number, why = ""): { weight: TensorInfo; scale: TensorInfo | null } {
    const weight = this.tensor("weight", shape, false, why, true)!;
    const scale = this.tensor("weight_scale", [cout], true, ` (one scale per output channel of ${this.at})`);
    if (weight.dtype === "I8" && scale === null) {
      this.fail("E_ARCHITECTURE", `${this.at}: tensor ${weight.name} is I8, so the layer needs "weight_scale", a tensor of ${cout} per-output-channel scales`);
    }
    if (weight.dtype !== "I8" && scale !== null) {
      this.fail("E_ARCHITECTURE", `${this.at}: "weight_scale" is only for an I8 weight, but tensor ${weight.name} is ${weight.dtype}`);
    }
    return { weight, scale };
  }

  /** The shape of the tensor named by `key` (to read out sizes before checking it), or null. */
  tensorShape(key: string): readonly number[] | null {
    const name = this.raw[key];
    if (typeof name !== "string") return null;
    return this.tensors.get(name)?.shape ?? null;
  }
}
