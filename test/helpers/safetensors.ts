// Test-only writer for edgevae model files (FORMAT.md v1: safetensors with the
// architecture in __metadata__["edgevae"]), plus tools to build random models
// and to corrupt files on purpose.

import type { Layer, VaeArch } from "../reference/model";
import type { Likelihood } from "../reference/likelihoods";

// ---------------------------------------------------------------------------
// float16 <-> float32 bit conversion
// ---------------------------------------------------------------------------

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/**
 * IEEE binary16 bits of x: x is first rounded to float32 (as the name says),
 * then to float16 with round-to-nearest-even. Handles subnormals, overflow to
 * infinity (anything >= 65520 in magnitude), signed zeros, inf and NaN (quiet).
 */
export function f32ToF16Bits(x: number): number {
  f32Scratch[0] = x;
  const bits = u32Scratch[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp32 = (bits >>> 23) & 0xff;
  const mant32 = bits & 0x7fffff;

  if (exp32 === 0xff) {
    // Keep NaN a NaN even when the payload's top 10 bits are all zero.
    return mant32 === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant32 >>> 13);
  }
  const exp16 = exp32 - 127 + 15;
  if (exp16 >= 0x1f) return sign | 0x7c00;

  if (exp16 >= 1) {
    // Normal: drop 13 mantissa bits, rounding to nearest even. A carry out of the
    // mantissa correctly bumps the exponent (and 65504 + half an ulp becomes inf).
    let half = (exp16 << 10) | (mant32 >>> 13);
    const rest = mant32 & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
    return sign | half;
  }

  // Subnormal or zero in float16: value = m * 2^(exp32 - 150) with the implicit
  // bit restored, and the f16 subnormal unit is 2^-24, so shift right by 14 - exp16.
  // Below 2^-25 (exp16 < -10) everything rounds to a signed zero.
  if (exp16 < -10) return sign;
  const m = mant32 | 0x800000;
  const shift = 14 - exp16; // 14 .. 24
  let half = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
  return sign | half;
}

/** The value of IEEE binary16 bits h (exact; every float16 is a float32). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

// ---------------------------------------------------------------------------
// safetensors writer
// ---------------------------------------------------------------------------

export interface TensorSpec {
  /** "F32" | "F16", or any other string to test rejection (then data must be raw bytes). */
  dtype: string;
  shape: number[];
  /**
   * Float32Array: values, encoded as dtype ("F32" or "F16") and checked against shape.
   * Uint8Array: the raw little-endian bytes, written as-is and never checked, so
   * tests can write inconsistent or unsupported tensors on purpose.
   */
  data: Float32Array | Uint8Array;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

function encodeTensor(name: string, t: TensorSpec): Uint8Array {
  if (t.data instanceof Uint8Array) return t.data;
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) {
    throw new Error(`writeSafetensors: ${name} has ${t.data.length} values but shape [${t.shape}] needs ${count}`);
  }
  if (t.dtype === "F32") {
    const out = new Uint8Array(4 * count);
    const view = new DataView(out.buffer);
    t.data.forEach((v, i) => view.setFloat32(4 * i, v, true));
    return out;
  }
  if (t.dtype === "F16") {
    const out = new Uint8Array(2 * count);
    const view = new DataView(out.buffer);
    t.data.forEach((v, i) => view.setUint16(2 * i, f32ToF16Bits(v), true));
    return out;
  }
  throw new Error(`writeSafetensors: ${name}: dtype ${t.dtype} needs raw bytes (a Uint8Array)`);
}

/** [u64 LE N][N bytes of JSON padded with spaces to a multiple of 8][data]. */
function assemble(headerText: string, data: Uint8Array): Uint8Array {
  let json = textEncoder.encode(headerText);
  // Padding N to a multiple of 8 keeps the data buffer 8-byte aligned, as the
  // safetensors reference writer does, so readers may view it as typed arrays.
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/**
 * A safetensors file holding `tensors` (contiguous, in insertion order) and, if
 * given, `__metadata__` (written first in the header).
 */
export function writeSafetensors(tensors: Record<string, TensorSpec>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = encodeTensor(name, t);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  return assemble(JSON.stringify(header), data);
}

export interface MutableHeader {
  /** The parsed header JSON; edit it (or a copy) and pass it to rebuild. */
  header: Record<string, any>;
  /** The header's JSON text exactly as stored (padding included). */
  headerText: string;
  /** The byte buffer after the header, shared by every rebuild. */
  data: Uint8Array;
  /** A file with this header (re-serialised and re-padded) and the original data. */
  rebuild(header: Record<string, any>): Uint8Array;
  /** A file with this exact header text (padded to 8 bytes), e.g. invalid JSON. */
  rebuildText(headerText: string): Uint8Array;
}

/** Splits a safetensors file into its header and data so tests can corrupt the header. */
export function mutableHeader(bytes: Uint8Array): MutableHeader {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
  const headerText = textDecoder.decode(bytes.subarray(8, 8 + n));
  const data = bytes.slice(8 + n);
  return {
    header: JSON.parse(headerText),
    headerText,
    data,
    rebuild: (header) => assemble(JSON.stringify(header), data),
    rebuildText: (text) => assemble(text, data),
  };
}

// ---------------------------------------------------------------------------
// Random models
// ---------------------------------------------------------------------------

/** A linear layer to build: `out` may be left out on a stack's last linear (then it is 2*J, or the likelihood's P). */
export interface LinearSpec {
  type: "linear";
  out?: number;
  /** default true */
  bias?: boolean;
}

/** An activation layer, copied verbatim into the architecture. */
export interface ActivationSpec {
  type: "relu" | "leaky_relu" | "elu" | "gelu" | "silu" | "tanh" | "sigmoid" | "softplus";
  negative_slope?: number;
  alpha?: number;
}

export type LayerSpec = LinearSpec | ActivationSpec;

export interface ModelSpec {
  inputShape: readonly number[];
  latentDim: number;
  encoder: readonly LayerSpec[];
  decoder: readonly LayerSpec[];
  likelihood: Likelihood;
  /** default "F32" */
  dtype?: "F32" | "F16";
  /** PRNG seed for the weights, default 1 */
  seed?: number;
  /** weights and biases ~ U(-scale/sqrt(in), scale/sqrt(in)); default 1 */
  scale?: number;
  /** write "prior": {"type": "standard_normal"} (it is optional in v1); default true */
  includePrior?: boolean;
}

export interface BuiltModel {
  /** the model file */
  bytes: Uint8Array;
  /** exactly the object written to __metadata__["edgevae"] */
  arch: VaeArch;
  /** every tensor's values as the file holds them (after f16 rounding for F16) */
  tensors: Record<string, Float32Array>;
  /** every tensor's shape */
  shapes: Record<string, number[]>;
}

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). Plenty for random weights. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Builds a random model file from layer sizes. Tensors are named like a PyTorch
 * nn.Sequential ("encoder.<layer index>.weight" / ".bias"), each linear's `in`
 * being the previous linear's `out` (or D for the encoder, J for the decoder).
 * Random draws go layer by layer, weight then bias, encoder then decoder. The
 * final widths are not checked, so wrong architectures can be built on purpose.
 */
export function buildModel(spec: ModelSpec): BuiltModel {
  const dtype = spec.dtype ?? "F32";
  const scale = spec.scale ?? 1;
  const random = mulberry32(spec.seed ?? 1);
  const D = spec.inputShape.reduce((a, b) => a * b, 1);
  const J = spec.latentDim;
  const P = spec.likelihood.type === "gaussian_learned" ? 2 * D : D;

  const tensorSpecs: Record<string, TensorSpec> = {};
  const tensors: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};

  const addTensor = (name: string, shape: number[], bound: number): void => {
    const count = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = (2 * random() - 1) * bound;
    if (dtype === "F16") {
      // The reference must see what the file holds, not what we meant to write.
      for (let i = 0; i < count; i++) values[i] = f16BitsToF32(f32ToF16Bits(values[i]));
    }
    tensorSpecs[name] = { dtype, shape, data: values };
    tensors[name] = values;
    shapes[name] = shape;
  };

  const buildStack = (prefix: string, layers: readonly LayerSpec[], inWidth: number, lastOut: number): Layer[] => {
    const lastLinear = layers.map((l) => l.type).lastIndexOf("linear");
    let width = inWidth;
    return layers.map((layer, i): Layer => {
      if (layer.type !== "linear") return { ...layer };
      const out = layer.out ?? (i === lastLinear ? lastOut : undefined);
      if (out === undefined) throw new Error(`buildModel: ${prefix}.${i} needs "out" (only the last linear may omit it)`);
      const bound = scale / Math.sqrt(width);
      const weight = `${prefix}.${i}.weight`;
      addTensor(weight, [out, width], bound);
      let bias: string | null = null;
      if (layer.bias ?? true) {
        bias = `${prefix}.${i}.bias`;
        addTensor(bias, [out], bound);
      }
      width = out;
      return { type: "linear", weight, bias };
    });
  };

  const encoder = buildStack("encoder", spec.encoder, D, 2 * J);
  const decoder = buildStack("decoder", spec.decoder, J, P);
  const arch: VaeArch = {
    version: 1,
    input_shape: [...spec.inputShape],
    latent_dim: J,
    encoder,
    decoder,
    likelihood: { ...spec.likelihood },
  };
  if (spec.includePrior ?? true) arch.prior = { type: "standard_normal" };

  const bytes = writeSafetensors(tensorSpecs, { edgevae: JSON.stringify(arch) });
  return { bytes, arch, tensors, shapes };
}
