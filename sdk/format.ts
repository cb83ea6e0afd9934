// Reading a model file: safetensors container + the edgevae architecture in its metadata.
// The contract is docs/FORMAT.md. Everything here validates: a model file is untrusted
// input, so every violation becomes a FormatError with a stable code, never a crash.

import { FormatError, type ErrorCode } from "./errors";
import { LIMITS } from "./limits";

export type Dtype = "F32" | "F16";

/** A tensor's place in the file: byte offsets are absolute (from the file's first byte). */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

export type ActivationType =
  | "relu" | "leaky_relu" | "elu" | "gelu" | "silu" | "tanh" | "sigmoid" | "softplus";

export type Layer =
  | { readonly type: "linear"; readonly weight: string; readonly bias: string | null;
      readonly inFeatures: number; readonly outFeatures: number }
  | { readonly type: "leaky_relu"; readonly negativeSlope: number }
  | { readonly type: "elu"; readonly alpha: number }
  | { readonly type: Exclude<ActivationType, "leaky_relu" | "elu"> };

export type Likelihood =
  | { readonly type: "bernoulli" }
  | { readonly type: "gaussian"; readonly sigma: number }
  | { readonly type: "gaussian_learned" };

export interface Architecture {
  readonly version: 1;
  readonly inputShape: readonly number[];
  /** Values in one item: the product of inputShape. */
  readonly inputSize: number;
  readonly latentDim: number;
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

/** Bytes per element of every safetensors dtype (to check sizes); edgevae reads F32 and F16. */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, I64: 8, U64: 8, F64: 8,
};
export const READABLE_DTYPES: readonly string[] = ["F32", "F16"];

const ACTIVATIONS = new Set<string>(["relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "softplus"]);

function fail(code: ErrorCode, message: string, cause?: unknown): never {
  throw new FormatError(code, message, cause === undefined ? undefined : { cause });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** Depth of nested arrays/objects; the parse below walks values of bounded depth only. */
function jsonDepth(text: string): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;               // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) { if (++depth > max) max = depth; }
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * The first key that some object in `text` (valid JSON) holds twice, else undefined.
 * JSON.parse silently keeps the last one, while other readers keep the first or refuse:
 * a file that means different things to different readers is refused. Keys are compared
 * after unescaping ("a" and "\u0061" are the same key).
 */
export function findDuplicateKey(text: string): string | undefined {
  const stack: (Set<string> | null)[] = []; // a Set per open object, null per open array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      let escaped = false;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) { escaped = true; i++; } else if (d === 0x22) break;
      }
      const keys = stack[stack.length - 1];
      if (expectKey && keys) {
        const key = escaped ? JSON.parse(text.slice(start, i + 1)) as string : text.slice(start + 1, i);
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
    } else if (c === 0x7b) { stack.push(new Set()); expectKey = true; }
    else if (c === 0x5b) { stack.push(null); expectKey = false; }
    else if (c === 0x7d || c === 0x5d) { stack.pop(); expectKey = false; }
    else if (c === 0x2c) expectKey = stack[stack.length - 1] != null;
  }
  return undefined;
}

function parseJson(text: string, what: string, code: ErrorCode): unknown {
  if (jsonDepth(text) > LIMITS.maxJsonDepth) {
    fail(code, `${what} nests deeper than ${LIMITS.maxJsonDepth} levels`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return fail(code, `${what} is not valid JSON: ${(err as Error).message}`, err);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    fail("E_DUPLICATE_KEY", `${what} has the key ${JSON.stringify(duplicate.slice(0, 200))} twice in one object; JSON readers disagree on which one counts, so the file is refused (write each key once)`);
  }
  return value;
}

/** Reads the safetensors container: header, tensor table, metadata. Checks every offset. */
export function parseSafetensors(bytes: Uint8Array): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> } {
  if (bytes.length < 8) {
    fail("E_FILE_TRUNCATED", `a model file starts with an 8-byte header length, but this one has only ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true), hi = view.getUint32(4, true);
  const headerLength = hi * 2 ** 32 + lo;
  if (headerLength < 2 || headerLength > LIMITS.maxHeaderBytes) {
    fail("E_HEADER_SIZE", `the header length field says ${headerLength} bytes; it must be between 2 and ${LIMITS.maxHeaderBytes} (is this a safetensors file?)`);
  }
  if (8 + headerLength > bytes.length) {
    fail("E_FILE_TRUNCATED", `the header says it is ${headerLength} bytes, but the file has only ${bytes.length - 8} bytes after the length field (truncated download?)`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch (err) {
    return fail("E_HEADER_JSON", "the header is not valid UTF-8", err);
  }
  const header = parseJson(text, "the safetensors header", "E_HEADER_JSON");
  if (!isPlainObject(header)) fail("E_HEADER_JSON", "the safetensors header must be a JSON object");

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const names = Object.keys(header);
  if (names.length > LIMITS.maxTensors + 1) fail("E_LIMIT", `the header lists ${names.length} entries; at most ${LIMITS.maxTensors} tensors are read`);

  for (const name of names) {
    const entry = header[name];
    if (name === "__metadata__") {
      if (!isPlainObject(entry)) fail("E_HEADER_JSON", "__metadata__ must be an object of strings");
      const entries = Object.keys(entry).length;
      if (entries > LIMITS.maxMetadataEntries) fail("E_LIMIT", `__metadata__ has ${entries} entries; at most ${LIMITS.maxMetadataEntries} are read`);
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== "string") fail("E_HEADER_JSON", `__metadata__["${key}"] must be a string, got ${typeof value}`);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    tensors.set(name, parseTensorEntry(name, entry, dataStart, dataLength));
  }
  checkContiguous(tensors, dataStart, dataLength);
  return { tensors, metadata };
}

function parseTensorEntry(name: string, entry: unknown, dataStart: number, dataLength: number): TensorInfo {
  const where = `tensor "${name}"`;
  if (!isPlainObject(entry)) fail("E_TENSOR_ENTRY", `${where}: the entry must be an object with dtype, shape and data_offsets`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== "string") fail("E_TENSOR_ENTRY", `${where}: dtype must be a string`);
  // own properties only: a dtype named "toString" or "__proto__" must not find Object.prototype's
  const elementBytes = Object.hasOwn(DTYPE_BYTES, dtype) ? DTYPE_BYTES[dtype] : undefined;
  if (elementBytes === undefined) fail("E_DTYPE", `${where}: unknown dtype "${dtype}" (safetensors dtypes are ${Object.keys(DTYPE_BYTES).join(", ")})`);
  if (!Array.isArray(shape) || shape.length > LIMITS.maxRank || !shape.every(isCount)) {
    fail("E_TENSOR_ENTRY", `${where}: shape must be an array of at most ${LIMITS.maxRank} non-negative integers, got ${JSON.stringify(shape)}`);
  }
  // the product is checked after every factor, so it never leaves the safe integers
  let elements = (shape as number[]).includes(0) ? 0 : 1;
  for (const d of shape as number[]) {
    if (elements === 0) break;
    elements *= d;
    if (elements > LIMITS.maxParameters) fail("E_LIMIT", `${where}: shape ${JSON.stringify(shape)} has more than ${LIMITS.maxParameters} elements`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    fail("E_TENSOR_ENTRY", `${where}: data_offsets must be [begin, end] with non-negative integers, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) {
    fail("E_TENSOR_OFFSETS", `${where}: data_offsets [${begin}, ${end}] are outside the ${dataLength}-byte data buffer`);
  }
  if (end - begin !== elements * elementBytes) {
    fail("E_TENSOR_OFFSETS", `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, but ${dtype} shape ${JSON.stringify(shape)} needs ${elements * elementBytes}`);
  }
  return { name, dtype, shape: shape as number[], begin: dataStart + begin, end: dataStart + end };
}

/** safetensors requires the tensors to tile the data buffer: no overlap, no holes. */
function checkContiguous(tensors: Map<string, TensorInfo>, dataStart: number, dataLength: number): void {
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = dataStart;
  for (const t of sorted) {
    if (t.begin < at) fail("E_TENSOR_OFFSETS", `tensor "${t.name}" overlaps the tensor before it (bytes ${t.begin - dataStart}..${t.end - dataStart})`);
    if (t.begin > at) fail("E_TENSOR_OFFSETS", `the data buffer has a hole of ${t.begin - at} bytes before tensor "${t.name}"`);
    at = t.end;
  }
  if (at !== dataStart + dataLength) {
    fail("E_TENSOR_OFFSETS", `the data buffer has ${dataStart + dataLength - at} bytes after the last tensor (the file is longer than its header describes)`);
  }
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

/** A parameter the kernels get as f32: it must stay finite once rounded to float32. */
function finiteNumber(v: unknown, what: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(Math.fround(v))) fail("E_ARCHITECTURE", `${what} must be a finite number (within float32 range), got ${JSON.stringify(v)}`);
  return v;
}

export function parseArchitecture(raw: unknown, tensors: ReadonlyMap<string, TensorInfo>): Architecture {
  if (!isPlainObject(raw)) fail("E_ARCHITECTURE", `__metadata__["edgevae"] must be a JSON object`);
  if (raw.version === undefined) fail("E_ARCHITECTURE", `the architecture has no "version" (version 1 files say "version": 1)`);
  if (raw.version !== 1) {
    fail("E_VERSION", `the model file is format version ${JSON.stringify(raw.version)}; this edgevae reads version 1 (upgrade edgevae for newer files)`);
  }
  if (!Array.isArray(raw.input_shape) || raw.input_shape.length === 0 || raw.input_shape.length > LIMITS.maxRank) {
    fail("E_ARCHITECTURE", `input_shape must be a non-empty array of positive integers, got ${JSON.stringify(raw.input_shape)}`);
  }
  const inputShape = raw.input_shape.map((d, i) => positiveInt(d, `input_shape[${i}]`, LIMITS.maxWidth));
  const inputSize = inputShape.reduce((a, b) => a * b, 1);
  if (inputSize > LIMITS.maxWidth) fail("E_LIMIT", `input_shape ${JSON.stringify(inputShape)} has ${inputSize} values; at most ${LIMITS.maxWidth} are supported`);
  const latentDim = positiveInt(raw.latent_dim, "latent_dim", LIMITS.maxWidth);
  const likelihood = parseLikelihood(raw.likelihood);
  if (raw.prior !== undefined && !(isPlainObject(raw.prior) && raw.prior.type === "standard_normal")) {
    fail("E_ARCHITECTURE", `prior ${JSON.stringify(raw.prior)} is not supported; version 1 has only {"type": "standard_normal"}`);
  }
  const paramSize = likelihood.type === "gaussian_learned" ? 2 * inputSize : inputSize;
  let parameters = 0;
  const count = (n: number) => {
    parameters += n;
    if (parameters > LIMITS.maxParameters) fail("E_LIMIT", `the model has more than ${LIMITS.maxParameters} parameters`);
  };
  const encoder = parseStack(raw.encoder, "encoder", inputSize, 2 * latentDim,
    `2 * latent_dim = ${2 * latentDim} values [mean | logvar]`, tensors, count);
  const decoder = parseStack(raw.decoder, "decoder", latentDim, paramSize,
    likelihood.type === "gaussian_learned"
      ? `2 * ${inputSize} values [mean | logvar] for the gaussian_learned likelihood`
      : `${inputSize} values (one per input value) for the ${likelihood.type} likelihood`, tensors, count);
  return { version: 1, inputShape, inputSize, latentDim, encoder, decoder, likelihood, paramSize };
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

/** One network: checks each layer and that widths chain from `inWidth` to `outWidth`. */
function parseStack(raw: unknown, where: string, inWidth: number, outWidth: number, outWhat: string,
                    tensors: ReadonlyMap<string, TensorInfo>, count: (n: number) => void): Layer[] {
  if (!Array.isArray(raw) || raw.length === 0) fail("E_ARCHITECTURE", `${where} must be a non-empty array of layers`);
  if (raw.length > LIMITS.maxLayers) fail("E_LIMIT", `${where} has ${raw.length} layers; at most ${LIMITS.maxLayers} are supported`);
  let width = inWidth;
  const layers: Layer[] = [];
  raw.forEach((layer: unknown, i: number) => {
    const at = `${where}[${i}]`;
    if (!isPlainObject(layer) || typeof layer.type !== "string") fail("E_ARCHITECTURE", `${at} must be an object with a string "type"`);
    const type = layer.type;
    if (type === "linear") {
      const parsed = parseLinear(layer, at, width, tensors);
      count(parsed.outFeatures * (parsed.inFeatures + (parsed.bias === null ? 0 : 1)));
      width = parsed.outFeatures;
      layers.push(parsed);
    } else if (type === "leaky_relu") {
      layers.push({ type, negativeSlope: finiteNumber(layer.negative_slope, `${at}.negative_slope`, 0.01) });
    } else if (type === "elu") {
      layers.push({ type, alpha: finiteNumber(layer.alpha, `${at}.alpha`, 1.0) });
    } else if (ACTIVATIONS.has(type)) {
      layers.push({ type: type as Exclude<ActivationType, "leaky_relu" | "elu"> });
    } else {
      fail("E_LAYER_TYPE", `${at} has unknown layer type "${type}" (version 1 knows linear, ${[...ACTIVATIONS].join(", ")})`);
    }
  });
  if (width !== outWidth) {
    fail("E_ARCHITECTURE", `${where} outputs ${width} values per item but must output ${outWhat}`);
  }
  return layers;
}

type LinearLayer = Extract<Layer, { type: "linear" }>;

function parseLinear(layer: Record<string, unknown>, at: string, width: number,
                     tensors: ReadonlyMap<string, TensorInfo>): LinearLayer {
  const weightName = layer.weight;
  if (typeof weightName !== "string") fail("E_ARCHITECTURE", `${at}: a linear layer needs "weight", a tensor name`);
  const biasName = layer.bias ?? null;
  if (biasName !== null && typeof biasName !== "string") fail("E_ARCHITECTURE", `${at}: "bias" must be a tensor name or null`);
  const weight = readableTensor(weightName, at, tensors);
  if (weight.shape.length !== 2) {
    fail("E_TENSOR_SHAPE", `tensor ${weightName} has shape ${JSON.stringify(weight.shape)} but ${at} needs a 2-D weight [out, ${width}]`);
  }
  const [out, inFeatures] = weight.shape as [number, number];
  if (inFeatures !== width) {
    fail("E_TENSOR_SHAPE", `tensor ${weightName} has shape [${out}, ${inFeatures}] but ${at} needs [${out}, ${width}] (its input is ${width} values wide)`);
  }
  if (out < 1 || out > LIMITS.maxWidth) fail("E_LIMIT", `tensor ${weightName}: ${out} outputs; between 1 and ${LIMITS.maxWidth} are supported`);
  if (biasName !== null) {
    const bias = readableTensor(biasName, at, tensors);
    if (bias.shape.length !== 1 || bias.shape[0] !== out) {
      fail("E_TENSOR_SHAPE", `tensor ${biasName} has shape ${JSON.stringify(bias.shape)} but ${at} needs [${out}]`);
    }
  }
  return { type: "linear", weight: weightName, bias: biasName, inFeatures, outFeatures: out };
}

function readableTensor(name: string, at: string, tensors: ReadonlyMap<string, TensorInfo>): TensorInfo {
  const t = tensors.get(name);
  if (t === undefined) fail("E_TENSOR_MISSING", `${at} names tensor "${name}", which is not in the file`);
  if (!READABLE_DTYPES.includes(t.dtype)) {
    fail("E_DTYPE", `tensor ${name} is ${t.dtype}; edgevae reads ${READABLE_DTYPES.join(" and ")} weights (convert it when exporting)`);
  }
  return t;
}
