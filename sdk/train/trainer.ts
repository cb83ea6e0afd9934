// The Trainer: a VAE being trained on its own wasm instance, with the same kernels as the Vae.
//
// Weights live unpacked in one contiguous parameter buffer, W (N, K) row-major as PyTorch's
// nn.Linear, with gradients and Adam moments in buffers of the same layout (one Adam call per
// step). The forward pass packs the weights (after every optimiser step) and runs the
// inference GEMM and activation kernels, so an exported model reproduces exactly through
// Vae. Backward passes and Adam are in assembly/train/*.ts. No DOM or Node APIs here.

import type { TrainKernels } from "../kernels";
import { FormatError } from "../errors";
import { parseArchitecture } from "../format";
import { OPS, type Layer } from "../ops/index";
import type { TrainDef, TrainSlots } from "../ops/types";
import type { TensorInfo } from "../safetensors";
import { Arena } from "../memory";
import { compileWasm, defaultModule, type WasmSource } from "../runtime";
import { ArgumentError, RuntimeError } from "../errors";
import { writeSafetensors, type OutTensor } from "./safetensors";
import { STREAM } from "./rng";

export type ActivationName = "relu" | "leaky_relu" | "elu" | "gelu" | "silu" | "tanh" | "sigmoid" | "softplus";

/** A layer of a network to train: a linear layer gives only its output width. */
export type TrainLayer =
  | { type: "linear"; out: number; bias?: boolean }
  | { type: ActivationName; negative_slope?: number; alpha?: number };

export type TrainLikelihood = { type: "bernoulli" } | { type: "gaussian"; sigma: number } | { type: "gaussian_learned" };

/** What to train: FORMAT v1's architecture with linear layers given by their widths. */
export interface TrainArchitecture {
  inputShape: number[];
  latentDim: number;
  /** x -> 2 * latentDim ([mean | logvar]): the last layer is linear with out = 2 * latentDim. */
  encoder: TrainLayer[];
  /** z -> the likelihood's parameters (D, or 2D for gaussian_learned). */
  decoder: TrainLayer[];
  likelihood: TrainLikelihood;
}

/** An MLP VAE: encoder D-h1-...-hn-2J, decoder J-hn-...-h1-P, one activation after each hidden layer. */
export function mlpArchitecture(opts: {
  inputSize: number; hidden: number[]; latentDim: number; activation?: ActivationName | TrainLayer;
  likelihood: TrainLikelihood; inputShape?: number[];
}): TrainArchitecture {
  const act: TrainLayer = typeof opts.activation === "object" ? opts.activation : { type: opts.activation ?? "tanh" } as TrainLayer;
  const D = opts.inputSize, J = opts.latentDim;
  const P = opts.likelihood.type === "gaussian_learned" ? 2 * D : D;
  const encoder: TrainLayer[] = [], decoder: TrainLayer[] = [];
  for (const h of opts.hidden) encoder.push({ type: "linear", out: h }, { ...act });
  encoder.push({ type: "linear", out: 2 * J });
  for (const h of [...opts.hidden].reverse()) decoder.push({ type: "linear", out: h }, { ...act });
  decoder.push({ type: "linear", out: P });
  return { inputShape: opts.inputShape ?? [D], latentDim: J, encoder, decoder, likelihood: opts.likelihood };
}

export interface TrainerOptions {
  /** Integer seed in [0, 2^32): weight init and noise. Default 0. */
  seed?: number;
  /** Largest batch (items) per step. Default 256. */
  maxBatch?: number;
  /** Monte-Carlo samples of z per item in the ELBO. Default 1. */
  samples?: number;
  /** The wasm to run (default: the packaged baseline-SIMD build, the Vae's default). */
  wasm?: WasmSource;
  /** Adam settings. */
  betas?: [number, number];
  adamEps?: number;
  /** Clip the gradient's global L2 norm to this (0: no clipping). Default 0. */
  clipNorm?: number;
}

export interface StepOptions {
  /** KL weight. Default 1. */
  beta?: number;
  /** Learning rate of this step (Adam). Default 1e-3. */
  lr?: number;
  /** Noise, item-major [batch][samples][latentDim]; default: the trainer's noise stream. */
  eps?: Float32Array;
}

/** Mean over the batch of the ELBO (beta = 1) and its parts, and the loss that was minimised. */
export interface StepResult { loss: number; elbo: number; recon: number; kl: number }

export interface EvalResult { elbo: number; recon: number; kl: number; perItem: Float32Array }

/** A parameter tensor: its file name, PyTorch-layout shape, and place in the parameter buffer. */
export interface ParamInfo { readonly name: string; readonly shape: readonly number[]; readonly offset: number; readonly size: number }

/** A layer being trained: its registry entry's forward and backward passes over its parameter slots. */
interface Op {
  readonly train: TrainDef<Layer>;
  readonly layer: Layer;
  readonly slots: TrainSlots;
  /** Its parameter tensors (linear layers), else null. */
  readonly w: ParamInfo | null; readonly b: ParamInfo | null;
  readonly K: number; readonly N: number;
}

interface Net { ops: Op[]; widths: number[]; vals: number[] } // vals[i]: input of op i (rows, widths[i]); vals[n]: output

const NR = 8;

export class Trainer {
  readonly arch: TrainArchitecture;
  readonly inputSize: number;
  readonly latentDim: number;
  readonly paramSize: number;
  readonly params: readonly ParamInfo[];
  readonly parameterCount: number;
  readonly maxBatch: number;
  readonly samples: number;
  readonly seed: number;
  /** Optimiser steps taken. */
  steps = 0;
  /** Normal numbers of the noise stream used so far. */
  noiseIndex = 0;

  private readonly k: TrainKernels;
  private readonly arena: Arena;
  private readonly enc: Net;
  private readonly dec: Net;
  private readonly p: number; private readonly g: number; private readonly m: number; private readonly v: number;
  private readonly x: number; private readonly eps: number; private readonly dParams: number;
  private readonly rowVals: number; private readonly kl: number; private readonly dh: number;
  private readonly gA: number; private readonly gB: number; private readonly scratch: number;
  private readonly betas: [number, number];
  private readonly adamEps: number;
  private readonly clipNorm: number;
  private readonly total: number;

  private constructor(k: TrainKernels, arch: TrainArchitecture, o: TrainerOptions) {
    this.k = k;
    this.arch = arch;
    this.inputSize = arch.inputShape.reduce((a, b) => a * b, 1);
    this.latentDim = arch.latentDim;
    this.paramSize = arch.likelihood.type === "gaussian_learned" ? 2 * this.inputSize : this.inputSize;
    this.maxBatch = o.maxBatch ?? 256;
    this.samples = o.samples ?? 1;
    this.seed = o.seed ?? 0;
    this.betas = o.betas ?? [0.9, 0.999];
    this.adamEps = o.adamEps ?? 1e-8;
    this.clipNorm = o.clipNorm ?? 0;
    const D = this.inputSize, J = this.latentDim, B = this.maxBatch, R = B * this.samples;
    validate(arch, D, J, this.paramSize);

    // parameter table, PyTorch Sequential names
    const params: ParamInfo[] = [];
    let total = 0;
    const add = (name: string, shape: number[]): ParamInfo => {
      const size = shape.reduce((a, b) => a * b, 1);
      const info = { name, shape, offset: total, size };
      total += Math.ceil(size / 4) * 4;
      params.push(info);
      return info;
    };
    const tables = (["encoder", "decoder"] as const).map((which) => {
      const layers = arch[which];
      let width = which === "encoder" ? D : J;
      const entries: { layer: TrainLayer; w?: ParamInfo; b?: ParamInfo | null; K: number; N: number }[] = [];
      layers.forEach((layer, i) => {
        if (layer.type === "linear") {
          const w = add(`${which}.${i}.weight`, [layer.out, width]);
          const b = layer.bias === false ? null : add(`${which}.${i}.bias`, [layer.out]);
          entries.push({ layer, w, b, K: width, N: layer.out });
          width = layer.out;
        } else {
          entries.push({ layer, K: width, N: width });
        }
      });
      return entries;
    });
    this.params = params;
    this.total = total;
    const parsed = parseTrainable(this.architectureJson(), params);
    this.parameterCount = params.reduce((n, p) => n + p.size, 0);

    const arena = new Arena(k.memory, k.heap_base(), 2 ** 32 - 65536);
    this.arena = arena;
    this.p = arena.allocF32(total); this.g = arena.allocF32(total);
    this.m = arena.allocF32(total); this.v = arena.allocF32(total);
    const maxW = Math.max(D, this.paramSize, 2 * J, ...[...arch.encoder, ...arch.decoder].map((l) => (l.type === "linear" ? l.out : 0)));
    const build = (entries: typeof tables[0], layers: readonly Layer[], rows: number, input: number | null): Net => {
      const ops: Op[] = [], widths: number[] = [], vals: number[] = [];
      vals.push(input ?? arena.allocF32(rows * entries[0]!.K));
      widths.push(entries[0]!.K);
      entries.forEach((e, index) => {
        const layer = layers[index]!;
        const w = e.w ?? null, b = e.b ?? null;
        const panels = Math.ceil(e.N / NR);
        const slots: TrainSlots = w === null ? { w: 0, b: 0, packed: 0, pbias: 0, gw: 0, gb: 0 } : {
          w: this.p + w.offset * 4, b: b === null ? 0 : this.p + b.offset * 4,
          packed: arena.allocF32(panels * NR * e.K), pbias: arena.allocF32(panels * NR),
          gw: this.g + w.offset * 4, gb: b === null ? 0 : this.g + b.offset * 4,
        };
        ops.push({ train: OPS.get(layer.type)!.train!, layer, slots, w, b, K: e.K, N: e.N });
        widths.push(e.N);
        vals.push(arena.allocF32(rows * e.N));
      });
      return { ops, widths, vals };
    };
    this.x = arena.allocF32(B * D);
    this.enc = build(tables[0]!, parsed.encoder, B, this.x);
    this.dec = build(tables[1]!, parsed.decoder, R, null);
    this.eps = arena.allocF32(R * J);
    this.dParams = arena.allocF32(R * this.paramSize);
    this.rowVals = arena.allocF32(R);
    this.kl = arena.allocF32(B);
    this.dh = arena.allocF32(B * 2 * J);
    this.gA = arena.allocF32(R * maxW);
    this.gB = arena.allocF32(R * maxW);
    this.scratch = arena.alloc(64);
    this.initWeights();
  }

  /** Builds a trainer with freshly initialised weights (LeCun normal, He for relu-like; biases 0). */
  static async create(arch: TrainArchitecture, options: TrainerOptions = {}): Promise<Trainer> {
    const seed = options.seed ?? 0;
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
      throw new ArgumentError("E_ARGUMENT", `Trainer: seed must be an integer from 0 to 2^32 - 1, got ${seed}`);
    }
    const module = options.wasm !== undefined ? await compileWasm(options.wasm) : await defaultModule("baseline");
    const instance = await WebAssembly.instantiate(module, {});
    const k = instance.exports as unknown as TrainKernels;
    if (typeof k.f32_adam_step !== "function") {
      throw new RuntimeError("E_WASM_LOAD", "this edgevae wasm build has no training kernels; use the build shipped with this SDK");
    }
    return new Trainer(k, arch, options);
  }

  // ---- parameters ------------------------------------------------------------------------

  private heap(): Float32Array { return this.arena.heapF32(); }

  private initWeights(): void {
    const k = this.k;
    for (const base of [this.p, this.g, this.m, this.v]) this.heap().fill(0, base >>> 2, (base >>> 2) + this.total);
    let index = 0;
    for (const net of [this.enc, this.dec]) {
      for (let i = 0; i < net.ops.length; i++) {
        const op = net.ops[i]!;
        if (op.w === null) continue;
        const next = net.ops[i + 1]?.layer.type;
        const reluLike = next === "relu" || next === "leaky_relu" || next === "elu";
        const std = Math.sqrt((reluLike ? 2 : 1) / op.K);
        const ptr = this.p + op.w.offset * 4;
        k.rng_normal_fill(ptr, op.w.size, this.seed, STREAM.init, index, this.scratch);
        index += op.w.size;
        k.f32_scale(ptr, op.w.size, std);
      }
    }
    this.repack();
  }

  /** Packs every weight matrix into the GEMM's layout (after any change to the parameters). */
  private repack(): void {
    const k = this.k;
    for (const net of [this.enc, this.dec]) {
      for (const op of net.ops) {
        if (op.w === null) continue;
        k.f32_pack_weights_nr8(op.slots.w, op.slots.packed, op.N, op.K);
        const heap = this.heap(), pb = op.slots.pbias >>> 2;
        heap.fill(0, pb, pb + Math.ceil(op.N / NR) * NR);
        if (op.b !== null) heap.copyWithin(pb, (this.p >>> 2) + op.b.offset, (this.p >>> 2) + op.b.offset + op.N);
      }
    }
  }

  /** A copy of every parameter tensor, by name (encoder.0.weight, ...). */
  getParameters(): Map<string, Float32Array> {
    return this.copyOut(this.p);
  }

  /** A copy of every gradient tensor of the last computeGradients(), by name. */
  getGradients(): Map<string, Float32Array> {
    return this.copyOut(this.g);
  }

  private copyOut(base: number): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const p of this.params) out.set(p.name, this.arena.readF32(base + p.offset * 4, p.size));
    return out;
  }

  /** Replaces parameter tensors (by name; shapes must match) and repacks. */
  setParameters(values: ReadonlyMap<string, ArrayLike<number>> | Record<string, ArrayLike<number>>): void {
    const entries = values instanceof Map ? [...values.entries()] : Object.entries(values);
    for (const [name, data] of entries) {
      const info = this.params.find((p) => p.name === name);
      if (info === undefined) throw new ArgumentError("E_ARGUMENT", `setParameters: no parameter named ${name}`);
      if (data.length !== info.size) throw new ArgumentError("E_INPUT_LENGTH", `setParameters: ${name} needs ${info.size} values, got ${data.length}`);
      this.heap().set(Float32Array.from(data), (this.p >>> 2) + info.offset);
    }
    this.repack();
  }

  // ---- forward and backward ----------------------------------------------------------------

  private forward(net: Net, rows: number): void {
    for (let i = 0; i < net.ops.length; i++) {
      const op = net.ops[i]!;
      op.train.forward(this.k, op.layer, op.slots, rows, net.vals[i]!, net.vals[i + 1]!);
    }
  }

  /** Backpropagates d loss / d output (at `g`) through net; returns the pointer of d loss / d input (or 0). */
  private backward(net: Net, rows: number, g: number, needInput: boolean): number {
    for (let i = net.ops.length - 1; i >= 0; i--) {
      const op = net.ops[i]!;
      const spare = i === 0 && !needInput ? 0 : g === this.gA ? this.gB : this.gA;
      g = op.train.backward(this.k, op.layer, op.slots, rows, net.vals[i]!, g, spare);
    }
    return g;
  }

  /** Writes items into the encoder's input and runs encoder, noise, reparameterisation, decoder, log p(x|z), KL. */
  private forwardAll(x: Float32Array, first: number, nb: number, S: number, eps: Float32Array | undefined,
                     seed: number, noiseStream: number, noiseStart: number): void {
    const k = this.k, D = this.inputSize, J = this.latentDim;
    this.arena.writeF32(this.x, x, first * D, nb * D);
    this.forward(this.enc, nb);
    const h = this.enc.vals[this.enc.ops.length]!;
    if (eps !== undefined) this.arena.writeF32(this.eps, eps, 0, nb * S * J);
    else k.rng_normal_fill(this.eps, nb * S * J, seed, noiseStream, noiseStart, this.scratch);
    k.f32_reparameterise(h, nb, S, J, this.eps, this.dec.vals[0]!);
    this.forward(this.dec, nb * S);
    const params = this.dec.vals[this.dec.ops.length]!;
    const lik = this.arch.likelihood;
    switch (lik.type) {
      case "bernoulli": k.f32_bernoulli_logprob(this.x, params, nb, S, D, this.rowVals); break;
      case "gaussian": k.f32_gaussian_logprob(this.x, params, nb, S, D, lik.sigma, this.rowVals); break;
      case "gaussian_learned": k.f32_gaussian_learned_logprob(this.x, params, nb, S, D, this.rowVals); break;
    }
    k.f32_kl_std_normal(h, nb, J, this.kl);
  }

  /**
   * Forward and backward on items x[first .. first + nb): leaves d loss / d parameters in the
   * gradient buffer, loss = -(1/nb) sum_b [(1/S) sum_s log p(x_b|z_bs) - beta KL_b].
   */
  computeGradients(x: Float32Array, first: number, nb: number, options: StepOptions = {}): StepResult {
    const k = this.k, J = this.latentDim, D = this.inputSize, S = this.samples;
    if (nb < 1 || nb > this.maxBatch) throw new ArgumentError("E_ARGUMENT", `batch of ${nb} items is outside 1..${this.maxBatch}`);
    const beta = options.beta ?? 1;
    if (options.eps !== undefined && options.eps.length !== nb * S * J) {
      throw new ArgumentError("E_NOISE_LENGTH", `eps has ${options.eps.length} values, needs ${nb * S * J}`);
    }
    this.forwardAll(x, first, nb, S, options.eps, this.seed, STREAM.noise, this.noiseIndex);
    if (options.eps === undefined) this.noiseIndex += nb * S * J;
    const heap = this.heap();
    let recon = 0, kl = 0;
    for (let r = 0; r < nb * S; r++) recon += heap[(this.rowVals >>> 2) + r]!;
    for (let b = 0; b < nb; b++) kl += heap[(this.kl >>> 2) + b]!;
    recon /= nb * S; kl /= nb;

    heap.fill(0, this.g >>> 2, (this.g >>> 2) + this.total);
    const params = this.dec.vals[this.dec.ops.length]!, scale = -1 / (nb * S), lik = this.arch.likelihood;
    switch (lik.type) {
      case "bernoulli": k.f32_bernoulli_backward(this.x, params, nb, S, D, scale, this.dParams); break;
      case "gaussian": k.f32_gaussian_backward(this.x, params, nb, S, D, lik.sigma, scale, this.dParams); break;
      case "gaussian_learned": k.f32_gaussian_learned_backward(this.x, params, nb, S, D, scale, this.dParams); break;
    }
    k.f32_copy(this.dParams, this.gA, nb * S * this.paramSize);
    const dz = this.backward(this.dec, nb * S, this.gA, true);
    const h = this.enc.vals[this.enc.ops.length]!;
    k.f32_reparameterise_kl_backward(h, nb, S, J, this.eps, dz, beta / nb, this.dh);
    const gEnc = dz === this.gA ? this.gB : this.gA;
    k.f32_copy(this.dh, gEnc, nb * 2 * J);
    this.backward(this.enc, nb, gEnc, false);
    return { loss: -(recon - beta * kl), elbo: recon - kl, recon, kl };
  }

  /** One Adam step on items x[first .. first + nb) (rows of inputSize values). */
  step(x: Float32Array, first: number, nb: number, options: StepOptions = {}): StepResult {
    const result = this.computeGradients(x, first, nb, options);
    const k = this.k, n = this.total;
    if (this.clipNorm > 0) {
      const norm = Math.sqrt(k.f32_sum_squares(this.g, n));
      if (norm > this.clipNorm) k.f32_scale(this.g, n, this.clipNorm / norm);
    }
    this.steps++;
    const [b1, b2] = this.betas;
    k.f32_adam_step(this.p, this.g, this.m, this.v, n, options.lr ?? 1e-3, b1, b2, this.adamEps,
                    1 - b1 ** this.steps, 1 - b2 ** this.steps);
    this.repack();
    return result;
  }

  /**
   * ELBO (beta = 1, one sample per item unless `samples`) of every item of x, with noise from
   * the evaluation stream of `seed` (default the trainer's seed) or the given eps.
   */
  evaluate(x: Float32Array, options: { seed?: number; eps?: Float32Array } = {}): EvalResult {
    const D = this.inputSize, J = this.latentDim, S = this.samples, n = x.length / D;
    const perItem = new Float32Array(n);
    let recon = 0, kl = 0;
    const seed = options.seed ?? this.seed;
    {
      for (let b0 = 0; b0 < n; b0 += this.maxBatch) {
        const nb = Math.min(this.maxBatch, n - b0);
        const eps = options.eps?.subarray(b0 * S * J, (b0 + nb) * S * J);
        this.forwardAll(x, b0, nb, S, eps, seed, STREAM.evalNoise, b0 * S * J);
        const heap = this.heap();
        for (let b = 0; b < nb; b++) {
          let r = 0;
          for (let s = 0; s < S; s++) r += heap[(this.rowVals >>> 2) + b * S + s]!;
          r /= S;
          const kv = heap[(this.kl >>> 2) + b]!;
          perItem[b0 + b] = r - kv;
          recon += r; kl += kv;
        }
      }
    }
    return { elbo: (recon - kl) / n, recon: recon / n, kl: kl / n, perItem };
  }

  // ---- export ------------------------------------------------------------------------------

  /** The FORMAT v1 architecture JSON of this model. */
  architectureJson(): Record<string, unknown> {
    const layers = (which: "encoder" | "decoder") => this.arch[which].map((l, i) => {
      if (l.type === "linear") return { type: "linear", weight: `${which}.${i}.weight`, bias: l.bias === false ? null : `${which}.${i}.bias` };
      if (l.type === "leaky_relu") return { type: l.type, negative_slope: l.negative_slope ?? 0.01 };
      if (l.type === "elu") return { type: l.type, alpha: l.alpha ?? 1 };
      return { type: l.type };
    });
    return {
      version: 1, input_shape: this.arch.inputShape, latent_dim: this.latentDim,
      encoder: layers("encoder"), decoder: layers("decoder"),
      likelihood: this.arch.likelihood, prior: { type: "standard_normal" },
    };
  }

  /** The model as a FORMAT v1 file (safetensors), F32 or F16, with extra string metadata. */
  exportModel(options: { dtype?: "F32" | "F16"; metadata?: Record<string, string> } = {}): Uint8Array {
    const values = this.getParameters();
    const tensors: OutTensor[] = this.params.map((p) => ({ name: p.name, shape: p.shape, data: values.get(p.name)! }));
    return writeSafetensors(tensors, { format: "pt", ...options.metadata, edgevae: JSON.stringify(this.architectureJson()) }, options.dtype ?? "F32");
  }

  /** The memory of this trainer's wasm instance, in bytes. */
  get memoryBytes(): number { return this.arena.memoryBytes; }
}

function validate(arch: TrainArchitecture, D: number, J: number, P: number): void {
  const bad = (msg: string): never => { throw new ArgumentError("E_ARGUMENT", `train architecture: ${msg}`); };
  if (!Number.isInteger(D) || D < 1) bad(`input_shape ${JSON.stringify(arch.inputShape)} must hold positive integers`);
  if (!Number.isInteger(J) || J < 1) bad(`latentDim must be a positive integer, got ${J}`);
  for (const which of ["encoder", "decoder"] as const) {
    const layers = arch[which];
    const linears = layers.filter((l) => l.type === "linear") as { out: number }[];
    if (linears.length === 0) bad(`${which} needs at least one linear layer`);
    for (const l of linears) if (!Number.isInteger(l.out) || l.out < 1) bad(`${which}: linear out must be a positive integer, got ${l.out}`);
    const last = layers[layers.length - 1]!;
    const want = which === "encoder" ? 2 * J : P;
    if (last.type !== "linear" || last.out !== want) {
      bad(`${which} must end with a linear layer of ${want} outputs (${which === "encoder" ? "[mean | logvar]" : "the likelihood's parameters"})`);
    }
  }
  if (arch.likelihood.type === "gaussian" && !(arch.likelihood.sigma > 0)) bad(`gaussian sigma must be > 0`);
}

/**
 * Reads the trainer's architecture as the model file it will export (with its parameter
 * shapes), through the same parser as Vae.load, so the trainer accepts nothing that Vae.load
 * would refuse, and requires every layer type to have a backward pass in the op registry.
 */
function parseTrainable(json: Record<string, unknown>, params: readonly ParamInfo[]): { encoder: readonly Layer[]; decoder: readonly Layer[] } {
  const tensors = new Map<string, TensorInfo>(params.map((p) => [p.name, { name: p.name, dtype: "F32", shape: p.shape, begin: 0, end: 0 }]));
  let arch;
  try {
    arch = parseArchitecture(json, tensors);
  } catch (err) {
    if (err instanceof FormatError) throw new ArgumentError("E_ARGUMENT", `train architecture: ${err.message}`);
    throw err;
  }
  for (const layer of [...arch.encoder, ...arch.decoder]) {
    if (OPS.get(layer.type)!.train === undefined) {
      const trainable = [...OPS.entries()].filter(([, def]) => def.train !== undefined).map(([t]) => t);
      throw new ArgumentError("E_ARGUMENT", `train architecture: ${layer.at} is a ${layer.type} layer, which the trainer cannot train yet (it trains ${trainable.join(", ")})`);
    }
  }
  return arch;
}
