// The Vae: a loaded model on its own wasm instance. Loading is async; every compute call is
// synchronous, validates its arguments in TS, then runs wasm kernels over buffers planned at
// load time. Batches larger than the plan are processed in chunks; results do not depend on
// the chunking (noise is indexed by item and sample, not by position in a chunk).

import { count, invalid, newResult, optionsOf, seedOf, toFloat32, typeName, type Floats } from "./arguments";
import { DisposedError, EdgeVaeError, RuntimeError } from "./errors";
import { parameterCount, parseModel, type Architecture, type Likelihood } from "./format";
import type { TensorInfo } from "./safetensors";
import { ABI_VERSION, ACT, type Kernels } from "./kernels";
import { Arena } from "./memory";
import { loadModel, planWorkspace, type Model, type Workspace } from "./model";
import { allLayers, runProgram } from "./network";
import { OPS } from "./ops/index";
import { compileWasm, defaultModule, hasRelaxedSimd, type SimdLevel, type WasmSource } from "./runtime";

export interface LoadOptions {
  /** The wasm to run: a WebAssembly.Module (required on Cloudflare Workers), bytes, or a URL. Default: the packaged build. */
  wasm?: WasmSource;
  /** Which packaged build to use when `wasm` is not given: "auto" (default: relaxed SIMD where the host has it, else baseline), "baseline" (bit-identical on every runtime), or "relaxed". */
  simd?: SimdLevel | "auto";
  /** Rows (items x samples) processed per kernel pass; larger batches are chunked. Default 256. */
  maxBatchRows?: number;
  /** Upper bound on this model's wasm memory, in bytes. Default 1 GiB. */
  maxMemoryBytes?: number;
  /**
   * Opt-in, for int8 files: quantise each int8 linear layer's input to int16 on the fly (per
   * row, symmetric) and multiply in integers: about 2x faster per row than the default int8
   * path, at the cost of rounding inputs to 15 bits (relative changes of about 1e-4 in the
   * results; docs/int8.md). Default false: int8 weights are widened to f32 and every number is
   * defined on the dequantised weights. Convolutions and float layers are unaffected.
   */
  int16Activations?: boolean;
}

export type WeightDtype = "F32" | "F16" | "BF16" | "I8" | "mixed";

export interface ModelInfo {
  readonly inputShape: readonly number[];
  readonly inputSize: number;
  readonly latentDim: number;
  /** The decoder's input shape: the file's latent_shape, or [latentDim]. */
  readonly latentShape: readonly number[];
  /** The file's format version. */
  readonly version: 1 | 2;
  readonly likelihood: Likelihood;
  /** Weights and biases in the file's networks. */
  readonly parameterCount: number;
  /**
   * The dtype of the file's linear and conv weights when they all share one ("I8": int8 with
   * per-channel scales; biases, scales and norm tensors are floating point), else "mixed".
   */
  readonly dtype: WeightDtype;
  /** One line per layer (nested ones indented), e.g. "conv2d 1->32 3x3 stride 2x2 -> [32, 14, 14]". */
  readonly encoder: readonly string[];
  readonly decoder: readonly string[];
  /** Which wasm build runs this model. */
  readonly simd: SimdLevel;
  readonly maxBatchRows: number;
  /** Bytes of wasm memory this model's instance holds. */
  readonly memoryBytes: number;
  /** Of those, the packed weights and tables (the Model; the rest is the workspace for maxBatchRows rows). */
  readonly modelBytes: number;
  /** The file's __metadata__ entries other than the architecture. */
  readonly metadata: Readonly<Record<string, string>>;
}

export interface Posterior {
  /** Means of q(z|x), batch x latentDim, row-major. */
  readonly mean: Float32Array;
  /** Log-variances of q(z|x), batch x latentDim. */
  readonly logvar: Float32Array;
}

export interface ElboResult {
  /** Per item: recon - beta * kl. */
  readonly elbo: Float32Array;
  /** Per item: (1/S) sum_s log p(x | z_s). */
  readonly recon: Float32Array;
  /** Per item: KL(q(z|x) || N(0, I)). */
  readonly kl: Float32Array;
}

export type { Floats } from "./arguments";

export interface NoiseOptions {
  /** Integer seed in [0, 2^53): the same seed gives the same numbers on every runtime. Default: random. */
  seed?: number;
}

export interface ElboOptions extends NoiseOptions {
  /** Monte-Carlo samples of z per item. Default 1. */
  samples?: number;
  /** Weight of the KL term. Default 1. */
  beta?: number;
  /** Caller-supplied standard-normal noise, item-major [batch][samples][latentDim]; overrides seed. */
  eps?: Floats;
}

export interface LogLikelihoodOptions extends NoiseOptions {
  /** Importance samples per item. Default 64. */
  k?: number;
  /** Caller-supplied noise, item-major [batch][k][latentDim]; overrides seed. */
  eps?: Floats;
}

export interface ReconstructOptions extends NoiseOptions {
  /** Decode the posterior mean instead of a sample. Default false. */
  useMean?: boolean;
}

const MAX_SAMPLES = 1 << 20;
const MAX_ROWS_OPTION = 1 << 16;

/**
 * Internal (sdk/parallel), not exported from the package: an options key holding the index of
 * a call's first item in the batch it was cut from, so that a seeded elbo / logLikelihood /
 * reconstruct on a slice draws exactly the whole batch's noise for those items.
 */
export const NOISE_ITEM_OFFSET: unique symbol = Symbol("edgevae.noiseItemOffset");

function noiseItemOffset(options: object): number {
  const v = (options as { [NOISE_ITEM_OFFSET]?: unknown })[NOISE_ITEM_OFFSET];
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) invalid("E_ARGUMENT", `internal item offset must be a non-negative integer, got ${String(v)}`);
  return v;
}

/** What elbo / logLikelihood do around the shared sampling loop (forEachSampleBlock). */
interface SampleSteps {
  /** After a chunk of nb items is encoded (buf.h holds their posteriors). */
  start(nb: number): void;
  /** After a block of nb items x ns samples: buf.rowVals holds log p(x|z) per row. */
  block(nb: number, ns: number): void;
  /** After the chunk's last block; b0 is its first item. */
  finish(b0: number, nb: number): void;
}

export class Vae {
  readonly inputShape: readonly number[];
  readonly inputSize: number;
  readonly latentDim: number;
  readonly info: ModelInfo;

  private k: Kernels | undefined;
  private readonly arena: Arena;
  private readonly arch: Architecture;
  /** The immutable part: both networks' programs over packed weights. */
  private readonly model: Model;
  /** The per-call buffers, for buf.rows rows. */
  private readonly buf: Workspace;

  private constructor(k: Kernels, arena: Arena, model: Model, buf: Workspace, info: ModelInfo) {
    this.k = k;
    this.arena = arena;
    this.arch = model.arch;
    this.model = model;
    this.buf = buf;
    this.info = info;
    this.inputShape = this.arch.inputShape;
    this.inputSize = this.arch.inputSize;
    this.latentDim = this.arch.latentDim;
  }

  /**
   * Parses and validates a model file, then loads it into a fresh wasm instance. Every failure
   * is an EdgeVaeError (docs/SECURITY.md); the Vae keeps no reference to `model`.
   */
  static async load(model: Uint8Array | ArrayBuffer, options: LoadOptions = {}): Promise<Vae> {
    try {
      return await Vae.loadModel(model, options);
    } catch (err) {
      throw typedError(err, "Vae.load");
    }
  }

  private static async loadModel(model: Uint8Array | ArrayBuffer, options: LoadOptions): Promise<Vae> {
    let bytes = model instanceof Uint8Array ? model
      : model instanceof ArrayBuffer ? new Uint8Array(model)
      : invalid("E_INPUT_TYPE", `Vae.load(model): model must be a Uint8Array or ArrayBuffer holding a model file, got ${typeName(model)}`);
    // another thread could change shared memory between the checks and the copy: take a private copy
    if (typeof SharedArrayBuffer === "function" && bytes.buffer instanceof SharedArrayBuffer) bytes = bytes.slice();
    options = optionsOf(options, "Vae.load") as LoadOptions;
    const rows = options.maxBatchRows ?? 256;
    if (!Number.isSafeInteger(rows) || rows < 1 || rows > MAX_ROWS_OPTION) {
      invalid("E_ARGUMENT", `maxBatchRows must be an integer from 1 to ${MAX_ROWS_OPTION}, got ${rows}`);
    }
    const limit = options.maxMemoryBytes ?? 2 ** 30;
    if (!Number.isSafeInteger(limit) || limit < 1 << 20 || limit > 2 ** 32) {
      invalid("E_ARGUMENT", `maxMemoryBytes must be an integer from 1 MiB to 4 GiB, got ${limit}`);
    }
    parseModel(bytes); // validate before any wasm work
    const simd = options.simd ?? "auto";
    if (simd !== "auto" && simd !== "baseline" && simd !== "relaxed") {
      invalid("E_ARGUMENT", `simd must be "baseline", "relaxed" or "auto", got ${String(simd)}`);
    }
    const level: SimdLevel = simd === "auto" ? (hasRelaxedSimd() ? "relaxed" : "baseline") : simd;
    if (level === "relaxed" && options.wasm === undefined && !hasRelaxedSimd()) {
      throw new RuntimeError("E_WASM_UNSUPPORTED", `simd: "relaxed" needs relaxed SIMD, which this host lacks (Node 20 enables it with --experimental-wasm-relaxed-simd; Safari has it behind a flag); use simd: "auto" or "baseline"`);
    }
    const module = options.wasm !== undefined ? await compileWasm(options.wasm) : await defaultModule(level);
    const k = await instantiate(module);
    // From here on everything is synchronous. Parse again: the caller may have changed (or
    // transferred) the bytes while we awaited, and the weights must match the checked header.
    const parsed = parseModel(bytes);
    const arena = new Arena(k.memory, k.heap_base(), limit);
    const arch = parsed.architecture;
    if (options.int16Activations !== undefined && typeof options.int16Activations !== "boolean") {
      invalid("E_ARGUMENT", `int16Activations must be true or false, got ${String(options.int16Activations)}`);
    }
    const loaded = loadModel(arch, bytes, parsed.tensors, k, arena, { int16Activations: options.int16Activations ?? false });
    const buf = planWorkspace(arena, loaded, fittingRows(arena, loaded, rows));
    const { edgevae: _architecture, ...metadata } = parsed.metadata;
    const info: ModelInfo = {
      inputShape: arch.inputShape,
      inputSize: arch.inputSize,
      latentDim: arch.latentDim,
      latentShape: arch.latentShape,
      version: arch.version,
      likelihood: arch.likelihood,
      parameterCount: parameterCount(arch.encoder) + parameterCount(arch.decoder),
      dtype: dtypeOf(arch),
      encoder: describeLayers(arch.encoder),
      decoder: describeLayers(arch.decoder),
      simd: k.relaxed_simd() === 1 ? "relaxed" : "baseline",
      maxBatchRows: buf.rows,
      memoryBytes: arena.memoryBytes,
      modelBytes: loaded.bytes,
      metadata,
    };
    return new Vae(k, arena, loaded, buf, info);
  }

  /** q(z|x): posterior means and log-variances. x: batch x inputSize values. */
  encode(x: Floats): Posterior {
    const k = this.live("encode");
    const xs = this.items(x, "encode(x)");
    const batch = xs.length / this.inputSize, J = this.latentDim, b = this.buf;
    const mean = newResult(batch * J, "encode"), logvar = newResult(batch * J, "encode");
    for (let b0 = 0; b0 < batch; b0 += b.rows) {
      const nb = Math.min(b.rows, batch - b0);
      this.encodeChunk(k, xs, b0, nb);
      k.f32_split_halves(b.h, nb, J, b.z, b.eps);
      this.output(b.z, nb * J, mean, b0 * J, "encode().mean");
      this.output(b.eps, nb * J, logvar, b0 * J, "encode().logvar");
    }
    return { mean, logvar };
  }

  /** The likelihood's mean for each latent row: sigmoid(logits) (bernoulli) or the Gaussian mean. z: n x latentDim. */
  decode(z: Floats): Float32Array {
    return this.decodeRows(this.latents(z, "decode(z)"), true, "decode");
  }

  /** The decoder's raw output for each latent row (logits, means, or [mean | logvar]). */
  decodeParams(z: Floats): Float32Array {
    return this.decodeRows(this.latents(z, "decodeParams(z)"), false, "decodeParams");
  }

  /** Decodes a sample of q(z|x) (or its mean, with useMean) for each item. */
  reconstruct(x: Floats, options: ReconstructOptions = {}): Float32Array {
    const k = this.live("reconstruct");
    const xs = this.items(x, "reconstruct(x)");
    options = optionsOf(options, "reconstruct");
    const useMean = options.useMean ?? false;
    if (typeof useMean !== "boolean") invalid("E_ARGUMENT", `reconstruct: useMean must be true or false, got ${String(useMean)}`);
    const seed = useMean ? 0 : seedOf(options.seed, "reconstruct");
    const batch = xs.length / this.inputSize, J = this.latentDim, D = this.inputSize, b = this.buf;
    const out = newResult(batch * D, "reconstruct");
    for (let b0 = 0; b0 < batch; b0 += b.rows) {
      const nb = Math.min(b.rows, batch - b0);
      this.encodeChunk(k, xs, b0, nb);
      if (useMean) {
        k.f32_split_halves(b.h, nb, J, b.z, b.eps);
      } else {
        this.fillNoise(k, seed, (noiseItemOffset(options) + b0) * J, nb * J);
        k.f32_reparameterise(b.h, nb, 1, J, b.eps, b.z);
      }
      this.decodeMeanChunk(k, nb, out, b0);
    }
    return out;
  }

  /** n draws from the model: z ~ N(0, I), decoded to the likelihood's mean. */
  sample(n: number, options: NoiseOptions = {}): Float32Array {
    const k = this.live("sample");
    count(n, "sample(n)", 1, 2 ** 31);
    const seed = seedOf(optionsOf(options, "sample").seed, "sample");
    const J = this.latentDim, b = this.buf;
    const out = newResult(n * this.inputSize, "sample");
    for (let r0 = 0; r0 < n; r0 += b.rows) {
      const nr = Math.min(b.rows, n - r0);
      this.fillNoise(k, seed, r0 * J, nr * J, b.z);
      this.decodeMeanChunk(k, nr, out, r0);
    }
    return out;
  }

  /** `steps` decoded points evenly spaced on the line from latent zA to zB (both included). */
  interpolate(zA: Floats, zB: Floats, steps: number): Float32Array {
    const k = this.live("interpolate");
    const J = this.latentDim, b = this.buf;
    const a = this.latents(zA, "interpolate(zA)"), c = this.latents(zB, "interpolate(zB)");
    if (a.length !== J || c.length !== J) {
      invalid("E_INPUT_LENGTH", `interpolate: zA and zB must each be one latent of ${J} values, got ${a.length} and ${c.length}`);
    }
    count(steps, "interpolate(steps)", 1, 2 ** 31);
    this.arena.writeF32(b.pair, a);
    this.arena.writeF32(b.pair + J * 4, c);
    const out = newResult(steps * this.inputSize, "interpolate");
    for (let t0 = 0; t0 < steps; t0 += b.rows) {
      const nr = Math.min(b.rows, steps - t0);
      k.f32_lerp_rows(b.pair, b.pair + J * 4, J, t0, nr, steps, b.z);
      this.decodeMeanChunk(k, nr, out, t0);
    }
    return out;
  }

  /**
   * The evidence lower bound per item, with its parts:
   * elbo = (1/S) sum_s log p(x|z_s) - beta * KL(q(z|x) || p(z)), z_s = mean + exp(logvar/2) eps_s.
   */
  elbo(x: Floats, options: ElboOptions = {}): ElboResult {
    const k = this.live("elbo");
    const xs = this.items(x, "elbo(x)");
    const batch = xs.length / this.inputSize;
    options = optionsOf(options, "elbo");
    const S = options.samples ?? 1;
    count(S, "elbo: samples", 1, MAX_SAMPLES);
    const beta = options.beta ?? 1;
    // the kernel takes beta as f32: it must stay finite once rounded
    if (typeof beta !== "number" || !Number.isFinite(Math.fround(beta))) invalid("E_ARGUMENT", `elbo: beta must be a finite number (within float32 range), got ${String(beta)}`);
    const eps = this.noise(options.eps, batch * S, "elbo", "samples");
    const seed = eps === undefined ? seedOf(options.seed, "elbo") : 0;
    const b = this.buf;
    const result = { elbo: newResult(batch, "elbo"), recon: newResult(batch, "elbo"), kl: newResult(batch, "elbo") };
    this.forEachSampleBlock(k, xs, batch, S, eps, seed, noiseItemOffset(options), {
      start: (nb) => {
        k.f32_kl_std_normal(b.h, nb, this.latentDim, b.kl);
        k.f64_fill(b.accA, nb, 0);
      },
      block: (nb, ns) => k.f64_sum_samples(b.rowVals, nb, ns, b.accA),
      finish: (b0, nb) => {
        k.f32_elbo_finish(b.accA, nb, S, b.kl, beta, b.recon, b.elbo);
        this.output(b.elbo, nb, result.elbo, b0, "elbo().elbo");
        this.output(b.recon, nb, result.recon, b0, "elbo().recon");
        this.output(b.kl, nb, result.kl, b0, "elbo().kl");
      },
    });
    return result;
  }

  /**
   * Importance-weighted estimate of log p(x) per item (Burda et al. 2015), with q(z|x) as proposal:
   * logsumexp_k [log p(x|z_k) + log N(z_k; 0, I) - log q(z_k|x)] - log k.
   */
  logLikelihood(x: Floats, options: LogLikelihoodOptions = {}): Float32Array {
    const k = this.live("logLikelihood");
    const xs = this.items(x, "logLikelihood(x)");
    const batch = xs.length / this.inputSize;
    options = optionsOf(options, "logLikelihood");
    const K = options.k ?? 64;
    count(K, "logLikelihood: k", 1, MAX_SAMPLES);
    const eps = this.noise(options.eps, batch * K, "logLikelihood", "k");
    const seed = eps === undefined ? seedOf(options.seed, "logLikelihood") : 0;
    const b = this.buf, J = this.latentDim;
    const out = newResult(batch, "logLikelihood");
    this.forEachSampleBlock(k, xs, batch, K, eps, seed, noiseItemOffset(options), {
      start: (nb) => {
        k.f64_fill(b.accA, nb, -Infinity); // running max of the log weights
        k.f64_fill(b.accB, nb, 0);         // running sum of exp(weight - max)
      },
      block: (nb, ns) => {
        k.f32_add_log_prior_minus_log_q(b.h, nb, ns, J, b.z, b.eps, b.rowVals);
        k.f64_logsumexp_update(b.rowVals, nb, ns, b.accA, b.accB);
      },
      finish: (b0, nb) => {
        k.f64_logsumexp_finish(b.accA, b.accB, nb, K, b.elbo);
        this.output(b.elbo, nb, out, b0, "logLikelihood()");
      },
    });
    return out;
  }

  /** Frees the wasm instance's memory (by dropping it). Any later call throws DisposedError. */
  dispose(): void {
    this.k = undefined;
    this.arena.dispose(); // drop the memory too, even if the caller keeps this object
  }

  get disposed(): boolean {
    return this.k === undefined;
  }

  // ---- internals -------------------------------------------------------------------------

  private live(what: string): Kernels {
    if (this.k === undefined) throw new DisposedError(`${what}()`);
    return this.k;
  }

  /**
   * The shared loop of elbo and logLikelihood: items in chunks; per chunk, encode, then
   * samples in blocks of at most `rows` rows: noise, reparameterise, decode, log p(x|z)
   * into rowVals, then `steps.block(nb, ns)`; `steps.start(nb)` runs after a chunk's encoding,
   * `steps.finish(b0, nb)` after its last block.
   * A chunk holds all samples of its items, or (when S > rows) one item whose samples are
   * split into blocks, so a block's noise is always one contiguous slice of the item-major layout.
   */
  private forEachSampleBlock(k: Kernels, xs: Float32Array, batch: number, S: number,
                             eps: Float32Array | undefined, seed: number, firstItem: number,
                             steps: SampleSteps): void {
    const b = this.buf, J = this.latentDim;
    const itemsPerChunk = Math.max(1, Math.floor(b.rows / S));
    const samplesPerBlock = Math.min(S, b.rows);
    for (let b0 = 0; b0 < batch; b0 += itemsPerChunk) {
      const nb = Math.min(itemsPerChunk, batch - b0);
      this.encodeChunk(k, xs, b0, nb);
      steps.start(nb);
      for (let s0 = 0; s0 < S; s0 += samplesPerBlock) {
        const ns = Math.min(samplesPerBlock, S - s0);
        const first = (b0 * S + s0) * J, n = nb * ns * J;
        if (eps !== undefined) this.writeChecked(eps, first, n, b.eps, "eps");
        else this.fillNoise(k, seed, ((firstItem + b0) * S + s0) * J, n); // firstItem: see NOISE_ITEM_OFFSET
        k.f32_reparameterise(b.h, nb, ns, J, b.eps, b.z);
        runProgram(k, b.decoder, nb * ns);
        this.logProb(k, nb, ns);
        steps.block(nb, ns);
      }
      steps.finish(b0, nb);
    }
  }

  /** x rows b0 .. b0+nb-1 -> buf.x, encoder -> buf.h. */
  private encodeChunk(k: Kernels, xs: Float32Array, b0: number, nb: number): void {
    const D = this.inputSize, b = this.buf;
    this.writeChecked(xs, b0 * D, nb * D, b.x, "x");
    runProgram(k, b.encoder, nb);
  }

  /** Copies values into wasm memory and refuses NaN / Infinity (they would poison every result silently). */
  private writeChecked(src: Float32Array, first: number, n: number, ptr: number, name: string): void {
    this.arena.writeF32(ptr, src, first, n);
    const k = this.k!;
    if (k.f32_count_nonfinite(ptr, n) > 0) {
      let at = first;
      while (at < first + n && Number.isFinite(src[at]!)) at++;
      invalid("E_INPUT_VALUE", `${name}[${at}] is ${src[at]}; inputs must be finite numbers`);
    }
  }

  /**
   * Copies n results from wasm memory into out at `offset`, refusing NaN: inputs and weights
   * are finite, so NaN can only mean the model's f32 arithmetic overflowed (E_NONFINITE_RESULT).
   * The check runs in wasm, before the copy.
   */
  private output(ptr: number, n: number, out: Float32Array, offset: number, what: string): void {
    if (this.k!.f32_count_nan(ptr, n) > 0) {
      const values = this.arena.readF32(ptr, n);
      const at = values.findIndex((v) => v !== v);
      throw new RuntimeError("E_NONFINITE_RESULT", `${what}: the result has NaN at index ${offset + at} although every input and weight is finite: the model's float32 arithmetic overflowed (weights or inputs too large); results are refused rather than returned as NaN`);
    }
    this.arena.readF32(ptr, n, out, offset);
  }

  /** buf.z rows (nr) -> decoder -> the likelihood's mean, copied to out at row r0. */
  private decodeMeanChunk(k: Kernels, nr: number, out: Float32Array, r0: number): void {
    const b = this.buf, D = this.inputSize;
    runProgram(k, b.decoder, nr);
    this.meanOfParams(k, nr);
    this.output(this.meanPtr(), nr * D, out, r0 * D, "decoded means");
  }

  private decodeRows(zs: Float32Array, mean: boolean, what: string): Float32Array {
    const k = this.live(what);
    const J = this.latentDim, b = this.buf, P = this.arch.paramSize, D = this.inputSize;
    const n = zs.length / J;
    const width = mean ? D : P;
    const out = newResult(n * width, what);
    for (let r0 = 0; r0 < n; r0 += b.rows) {
      const nr = Math.min(b.rows, n - r0);
      this.writeChecked(zs, r0 * J, nr * J, b.z, "z");
      if (mean) {
        this.decodeMeanChunk(k, nr, out, r0);
      } else {
        runProgram(k, b.decoder, nr);
        this.output(b.params, nr * P, out, r0 * P, "decodeParams()");
      }
    }
    return out;
  }

  /** Turns buf.params (nr rows) into the likelihood's mean, at meanPtr(). */
  private meanOfParams(k: Kernels, nr: number): void {
    const b = this.buf, D = this.inputSize;
    switch (this.arch.likelihood.type) {
      case "bernoulli": k.f32_activation(ACT.sigmoid, b.params, nr * D, 0); break;
      case "gaussian_learned": k.f32_split_halves(b.params, nr, D, b.mean, b.spare); break;
      case "gaussian": break;
    }
  }

  private meanPtr(): number {
    return this.buf.mean;
  }

  /** log p(x_b | z_{b,s}) for nb items x ns samples -> buf.rowVals. */
  private logProb(k: Kernels, nb: number, ns: number): void {
    const b = this.buf, D = this.inputSize, lik = this.arch.likelihood;
    switch (lik.type) {
      case "bernoulli": k.f32_bernoulli_logprob(b.x, b.params, nb, ns, D, b.rowVals); break;
      case "gaussian": k.f32_gaussian_logprob(b.x, b.params, nb, ns, D, lik.sigma, b.rowVals); break;
      case "gaussian_learned": k.f32_gaussian_learned_logprob(b.x, b.params, nb, ns, D, b.rowVals); break;
    }
  }

  /** n standard normals of the seed, from global index `first`, into `dst` (default buf.eps). */
  private fillNoise(k: Kernels, seed: number, first: number, n: number, dst = this.buf.eps): void {
    k.rng_normal_fill(dst, n, seed % 2 ** 32, Math.floor(seed / 2 ** 32), first, this.buf.scratch);
  }

  private items(x: Floats, what: string): Float32Array {
    const xs = toFloat32(x, what);
    const D = this.inputSize;
    if (xs.length === 0 || xs.length % D !== 0) {
      invalid("E_INPUT_LENGTH", `${what}: got ${xs.length} values, which is not a whole, non-zero number of items of ${D} values (input_shape ${JSON.stringify(this.inputShape)})`);
    }
    return xs;
  }

  private latents(z: Floats, what: string): Float32Array {
    const zs = toFloat32(z, what);
    const J = this.latentDim;
    if (zs.length === 0 || zs.length % J !== 0) {
      invalid("E_INPUT_LENGTH", `${what}: got ${zs.length} values, which is not a whole, non-zero number of latents of ${J} values`);
    }
    return zs;
  }

  private noise(eps: Floats | undefined, rows: number, what: string, per: string): Float32Array | undefined {
    if (eps === undefined) return undefined;
    const e = toFloat32(eps, `${what}: eps`);
    const want = rows * this.latentDim;
    if (e.length !== want) {
      invalid("E_NOISE_LENGTH", `${what}: eps has ${e.length} values but needs batch x ${per} x latentDim = ${want} (item-major [batch][${per}][latentDim])`);
    }
    return e;
  }
}

// Every public compute method is guarded: an unexpected error (a wasm trap, a RangeError)
// leaves as an EdgeVaeError (E_INTERNAL, E_MEMORY); results holding NaN are refused where they
// leave wasm memory (output()). docs/SECURITY.md; test/fuzz.test.ts checks both.
for (const name of ["encode", "decode", "decodeParams", "reconstruct", "sample", "interpolate", "elbo", "logLikelihood"] as const) {
  const method = Vae.prototype[name] as (...args: unknown[]) => unknown;
  Object.defineProperty(Vae.prototype, name, {
    configurable: true, writable: true,
    value: function guarded(this: Vae, ...args: unknown[]): unknown {
      try {
        return method.apply(this, args);
      } catch (err) {
        throw typedError(err, `${name}()`);
      }
    },
  });
}

// ---- helpers ---------------------------------------------------------------------------------

/** Anything thrown on a public path becomes an EdgeVaeError: unexpected ones keep the original as `cause`. */
function typedError(err: unknown, what: string): EdgeVaeError {
  if (err instanceof EdgeVaeError) return err;
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  if (err instanceof RangeError && /allocation failed|out of memory|invalid (typed )?array( buffer)? length/i.test(err.message)) {
    return new RuntimeError("E_MEMORY", `${what}: the host ran out of memory (${message})`, { cause: err });
  }
  return new RuntimeError("E_INTERNAL", `${what}: internal error (${message}); this is a bug in edgevae, please report it with the model file`, { cause: err });
}

async function instantiate(module: WebAssembly.Module): Promise<Kernels> {
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, {});
  } catch (err) {
    throw new RuntimeError("E_WASM_LOAD", `could not instantiate the edgevae wasm: ${(err as Error).message}`, { cause: err });
  }
  const k = instance.exports as unknown as Kernels;
  if (typeof k.abi_version !== "function" || k.abi_version() !== ABI_VERSION) {
    throw new RuntimeError("E_ABI_MISMATCH", `the wasm module is not edgevae ABI version ${ABI_VERSION} (it reports ${typeof k.abi_version === "function" ? k.abi_version() : "none"}); use the edgevae.wasm shipped with this SDK version`);
  }
  return k;
}

/**
 * The most rows, at most `wanted`, whose workspace fits under the arena's limit after the
 * Model (halving from `wanted`), so a model under a tight maxMemoryBytes runs in smaller chunks
 * rather than failing. If not even one row fits, planWorkspace's allocation fails with E_MEMORY.
 */
function fittingRows(arena: Arena, model: Model, wanted: number): number {
  let rows = wanted;
  for (;;) {
    const dry = arena.measure();
    planWorkspace(dry, model, rows);
    if (rows === 1 || arena.fits(dry.end)) return rows;
    rows = Math.ceil(rows / 2);
  }
}

function dtypeOf(arch: Architecture): WeightDtype {
  const seen = new Set<string>();
  for (const layer of allLayers([...arch.encoder, ...arch.decoder])) {
    if (layer.type === "linear" || OPS.get(layer.type) === OPS.get("conv2d")) seen.add((layer as { weight: TensorInfo }).weight.dtype);
  }
  return seen.size === 1 ? ([...seen][0] as WeightDtype) : "mixed";
}

/** One line per layer, nested layers (a residual's body and shortcut) indented under theirs. */
function describeLayers(layers: Architecture["encoder"], indent = ""): string[] {
  return layers.flatMap((layer) => [
    indent + OPS.get(layer.type)!.describe(layer),
    ...(layer.children ?? []).flatMap((list) => describeLayers(list as Architecture["encoder"], indent + "  ")),
  ]);
}
