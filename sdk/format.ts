// Reading a model file: the safetensors container (sdk/safetensors.ts) and the edgevae
// architecture in its metadata. The contract is docs/FORMAT.md (versions 1 and 2). Everything
// here validates: a model file is untrusted input, so every violation becomes a FormatError
// with a stable code, never a crash, and all of it happens before any wasm memory is touched.

import { LIMITS } from "./limits";
import { allLayers, parseNetwork } from "./network";
import { OPS, type Layer } from "./ops/index";
import { fail, isPlainObject, parseJson, parseSafetensors, READABLE_DTYPES, type TensorInfo } from "./safetensors";
import { sameShape, showShape, sizeOf, type Shape } from "./shape";

export type { TensorInfo } from "./safetensors";
export type { Layer } from "./ops/index";
export type Dtype = "F32" | "F16";

export type Likelihood =
  | { readonly type: "bernoulli" }
  | { readonly type: "gaussian"; readonly sigma: number }
  | { readonly type: "gaussian_learned" };

export interface Architecture {
  readonly version: 1 | 2;
  readonly inputShape: readonly number[];
  /** Values in one item: the product of inputShape. */
  readonly inputSize: number;
  readonly latentDim: number;
  /** The decoder's input shape: latent_shape, or [latentDim]. */
  readonly latentShape: Shape;
  /** What the encoder reads: inputShape (version 2), or [inputSize] (version 1: every value is a vector). */
  readonly encoderInput: Shape;
  readonly encoder: readonly Layer[];
  readonly decoder: readonly Layer[];
  readonly likelihood: Likelihood;
  /** Values the decoder outputs per item: inputSize, or 2 * inputSize for gaussian_learned. */
  readonly paramSize: number;
}

export interface ParsedModel {
  readonly architecture: Architecture;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Parses and checks a whole model file: container, architecture, and every tensor it names. */
export function parseModel(bytes: Uint8Array): ParsedModel {
  const { tensors, metadata } = parseSafetensors(bytes);
  const text = metadata["edgevae"];
  if (text === undefined) {
    fail("E_NO_ARCHITECTURE", `this safetensors file has no __metadata__["edgevae"] entry, so it does not say what network it holds; export it with an edgevae exporter (docs/FORMAT.md)`);
  }
  if (text.length > LIMITS.maxArchitectureChars) fail("E_LIMIT", `__metadata__["edgevae"] is ${text.length} characters; at most ${LIMITS.maxArchitectureChars} are read`);
  const architecture = parseArchitecture(parseJson(text, `__metadata__["edgevae"]`, "E_ARCHITECTURE"), tensors);
  return { architecture, tensors, metadata };
}

function positiveInt(v: unknown, what: string, max: number): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) fail("E_ARCHITECTURE", `${what} must be a positive integer, got ${JSON.stringify(v)}`);
  if (v > max) fail("E_LIMIT", `${what} is ${v}; at most ${max} is supported`);
  return v;
}

/** A shape from the file: 1 to `maxRank` positive integers, at most LIMITS.maxWidth values in all. */
function parseShape(raw: unknown, what: string, maxRank: number): number[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > maxRank) {
    fail("E_ARCHITECTURE", `${what} must be a list of 1 to ${maxRank} positive integers, got ${JSON.stringify(raw)}`);
  }
  const shape = raw.map((d, i) => positiveInt(d, `${what}[${i}]`, LIMITS.maxWidth));
  if (sizeOf(shape) > LIMITS.maxWidth) fail("E_LIMIT", `${what} ${JSON.stringify(shape)} has ${sizeOf(shape)} values; at most ${LIMITS.maxWidth} are supported`);
  return shape;
}

export function parseArchitecture(raw: unknown, tensors: ReadonlyMap<string, TensorInfo>): Architecture {
  if (!isPlainObject(raw)) fail("E_ARCHITECTURE", `__metadata__["edgevae"] must be a JSON object`);
  if (raw.version === undefined) fail("E_ARCHITECTURE", `the architecture has no "version" (version 1 files say "version": 1)`);
  if (raw.version !== 1 && raw.version !== 2) {
    fail("E_VERSION", `the model file is format version ${JSON.stringify(raw.version)}; this edgevae reads versions 1 and 2 (upgrade edgevae for newer files)`);
  }
  const version: 1 | 2 = raw.version;
  // version 1 reads any input_shape as a flat vector; version 2 gives it meaning: [N], [C, L] or [C, H, W]
  const inputShape = parseShape(raw.input_shape, "input_shape", version === 1 ? LIMITS.maxRank : 3);
  const inputSize = sizeOf(inputShape);
  const latentDim = positiveInt(raw.latent_dim, "latent_dim", LIMITS.maxWidth);
  const latentShape = version === 2 && raw.latent_shape !== undefined ? parseShape(raw.latent_shape, "latent_shape", 3) : [latentDim];
  if (sizeOf(latentShape) !== latentDim) {
    fail("E_ARCHITECTURE", `latent_shape ${JSON.stringify(latentShape)} has ${sizeOf(latentShape)} values, but latent_dim is ${latentDim}; they must agree`);
  }
  const likelihood = parseLikelihood(raw.likelihood);
  if (raw.prior !== undefined && !(isPlainObject(raw.prior) && raw.prior.type === "standard_normal")) {
    fail("E_ARCHITECTURE", `prior ${JSON.stringify(raw.prior)} is not supported; versions 1 and 2 have only {"type": "standard_normal"}`);
  }
  const learned = likelihood.type === "gaussian_learned";
  const paramSize = learned ? 2 * inputSize : inputSize;
  let parameters = 0;
  const st = {
    version, tensors, readableDtypes: READABLE_DTYPES[version],
    count(n: number) {
      parameters += n;
      if (parameters > LIMITS.maxParameters) fail("E_LIMIT", `the model has more than ${LIMITS.maxParameters} parameters`);
    },
  };
  const encoderInput = version === 1 ? [inputSize] : inputShape;
  const encoder = parseNetwork(raw.encoder, "encoder", encoderInput, st);

  // the encoder ends in [mean | logvar]: latent_shape with its first axis doubled
  const posterior = [2 * latentShape[0]!, ...latentShape.slice(1)];
  if (!sameShape(encoder.output, posterior)) {
    const got = version === 1 ? `${sizeOf(encoder.output)} values per item` : showShape(encoder.output);
    const want = latentShape.length === 1 ? `2 * latent_dim = ${2 * latentDim} values [mean | logvar]` : `${showShape(posterior)} (latent_shape ${showShape(latentShape)} with its first axis doubled: [mean | logvar])`;
    fail("E_ARCHITECTURE", `encoder outputs ${got} but must output ${want}`);
  }
  const decoder = parseNetwork(raw.decoder, "decoder", latentShape, st);
  // the decoder ends in input_shape (first axis doubled for gaussian_learned), or in a vector of as many values
  const params = learned ? [2 * inputShape[0]!, ...inputShape.slice(1)] : inputShape;
  const out = decoder.output;
  if (!(sameShape(out, params) || (out.length === 1 && out[0] === paramSize))) {
    const got = version === 1 ? `${sizeOf(out)} values per item` : showShape(out);
    const want = learned
      ? `2 * ${inputSize} values [mean | logvar] for the gaussian_learned likelihood${version === 2 ? ` (${showShape(params)} or [${paramSize}])` : ""}`
      : `${inputSize} values (one per input value) for the ${likelihood.type} likelihood${version === 2 && inputShape.length > 1 ? ` (${showShape(params)} or [${paramSize}])` : ""}`;
    fail("E_ARCHITECTURE", `decoder outputs ${got} but must output ${want}`);
  }
  return { version, inputShape, inputSize, latentDim, latentShape, encoderInput, encoder: encoder.layers, decoder: decoder.layers, likelihood, paramSize };
}

/** Weights and biases of a network (nested layers included). */
export function parameterCount(layers: readonly Layer[]): number {
  return allLayers(layers).reduce((n, l) => n + OPS.get(l.type)!.parameters(l), 0);
}

/** The file tensors a network reads (nested layers included). */
export function tensorNames(layers: readonly Layer[]): string[] {
  return allLayers(layers).flatMap((l) => OPS.get(l.type)!.tensors(l));
}

function parseLikelihood(raw: unknown): Likelihood {
  if (!isPlainObject(raw) || typeof raw.type !== "string") {
    fail("E_LIKELIHOOD", `likelihood must be an object with a "type" (bernoulli, gaussian, gaussian_learned), got ${JSON.stringify(raw)}`);
  }
  switch (raw.type) {
    case "bernoulli": return { type: "bernoulli" };
    case "gaussian_learned": return { type: "gaussian_learned" };
    case "gaussian": {
      const sigma = raw.sigma;
      // the kernels take sigma as f32: it must stay finite and non-zero once rounded
      if (typeof sigma !== "number" || !Number.isFinite(Math.fround(sigma)) || !(Math.fround(sigma) > 0)) {
        fail("E_LIKELIHOOD", `the gaussian likelihood needs "sigma", a number > 0 within float32 range (1.5e-45 .. 3.4e38), got ${JSON.stringify(sigma)}`);
      }
      return { type: "gaussian", sigma };
    }
    default:
      return fail("E_LIKELIHOOD", `unknown likelihood type "${raw.type}" (version 1 knows bernoulli, gaussian, gaussian_learned)`);
  }
}

