// Builds version 2 model files for tests: layers written as FORMAT.md JSON without tensor
// names (an `out` for linear / conv layers, a `kernel` for convs); the builder names the
// tensors after PyTorch's state_dict (encoder.3.weight, encoder.2.body.0.weight), fills them
// with seeded uniform values, and tracks shapes with FORMAT.md's formulas (written out again
// here, independently of the SDK).
import { f16BitsToF32, f32ToF16Bits, mulberry32, writeSafetensors } from "./safetensors";

export type LayerSpec2 = Record<string, unknown> & { type: string };

export interface V2Spec {
  inputShape: number[];
  latentDim: number;
  latentShape?: number[];
  encoder: LayerSpec2[];
  decoder: LayerSpec2[];
  likelihood: { type: "bernoulli" } | { type: "gaussian"; sigma: number } | { type: "gaussian_learned" };
  /** "I8": linear / conv weights as I8 with per-output-channel F32 scales (the rest F32). */
  dtype?: "F32" | "F16" | "BF16" | "I8";
  seed?: number;
  /** weights ~ U(-scale/sqrt(fan_in), scale/sqrt(fan_in)); default 1 */
  scale?: number;
}

export interface BuiltV2 {
  bytes: Uint8Array;
  arch: Record<string, unknown>;
  tensors: Record<string, Float32Array>;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

export function buildV2(spec: V2Spec): BuiltV2 {
  const dtype = spec.dtype ?? "F32";
  const random = mulberry32(spec.seed ?? 1);
  const scale = spec.scale ?? 1;
  const tensors: Record<string, { dtype: string; shape: number[]; data: Float32Array | Uint8Array }> = {};
  const values: Record<string, Float32Array> = {};
  const add = (name: string, shape: number[], lo: number, hi: number): string => {
    const v = Float32Array.from({ length: prod(shape) }, () => lo + (hi - lo) * random());
    if (dtype === "F16") {
      for (let i = 0; i < v.length; i++) v[i] = f16BitsToF32(f32ToF16Bits(v[i]!));
      const bits = Uint16Array.from(v, (x) => f32ToF16Bits(x));
      tensors[name] = { dtype, shape, data: new Uint8Array(bits.buffer) };
    } else if (dtype === "BF16") { // truncate to the top 16 bits: exactly representable values
      const u = new Uint32Array(v.buffer);
      for (let i = 0; i < u.length; i++) u[i] = u[i]! & 0xffff0000;
      tensors[name] = { dtype, shape, data: new Uint8Array(Uint16Array.from(u, (x) => x >>> 16).buffer) };
    } else {
      tensors[name] = { dtype: "F32", shape, data: v };
    }
    values[name] = v;
    return name;
  };
  // I8: q uniform over every int8 value (-128 included), per-channel scales around bound / 127,
  // and channel 1 (when there is one) with scale 0; values[] holds w = q * scale.
  const quantised = (name: string, shape: number[], bound: number, channelOf: (i: number) => number, channels: number): [string, string] => {
    const q = Int8Array.from({ length: prod(shape) }, () => Math.floor(random() * 256) - 128);
    const sc = Float32Array.from({ length: channels }, (_, o) => (o === 1 ? 0 : (bound / 127) * (0.5 + random())));
    tensors[name] = { dtype: "I8", shape, data: new Uint8Array(q.buffer) };
    tensors[`${name}_scale`] = { dtype: "F32", shape: [channels], data: sc };
    values[name] = Float32Array.from(q, (v, i) => v * sc[channelOf(i)]!);
    values[`${name}_scale`] = sc;
    return [name, `${name}_scale`];
  };
  const weight = (name: string, shape: number[], fanIn: number) => {
    const b = scale / Math.sqrt(fanIn);
    return add(name, shape, -b, b);
  };
  /** A linear / conv weight: { weight } or, for I8 files, { weight, weight_scale }. */
  const layerWeight = (name: string, shape: number[], fanIn: number, transposedGroups = 0): Record<string, string> => {
    if (dtype !== "I8") return { weight: weight(name, shape, fanIn) };
    const per = prod(shape.slice(1));
    let channelOf = (i: number) => Math.floor(i / per), channels = shape[0]!;
    if (transposedGroups > 0) { // [Cin, Cout/g, k...]
      const coutG = shape[1]!, taps = per / coutG, cinG = shape[0]! / transposedGroups;
      channels = coutG * transposedGroups;
      channelOf = (i) => Math.floor(Math.floor(i / per) / cinG) * coutG + Math.floor((i % per) / taps);
    }
    const [w, s] = quantised(name, shape, scale / Math.sqrt(fanIn), channelOf, channels);
    return { weight: w, weight_scale: s };
  };

  const stack = (prefix: string, layers: LayerSpec2[], input: number[]): { json: unknown[]; shape: number[] } => {
    let shape = input;
    const json = layers.map((l, i) => {
      const name = `${prefix}.${i}`;
      const { out, kernel, bias, affine, ...rest } = l as Record<string, unknown> & { type: string };
      const hasBias = bias !== false;
      switch (l.type) {
        case "linear": {
          const n = out as number, k = shape[0]!;
          shape = [n];
          return { ...rest, ...layerWeight(`${name}.weight`, [n, k], k), bias: hasBias ? weight(`${name}.bias`, [n], k) : null };
        }
        case "conv2d": case "conv1d": case "conv_transpose2d": case "conv_transpose1d": {
          const transposed = l.type.startsWith("conv_transpose"), dims = l.type.endsWith("2d") ? 2 : 1;
          const ks = kernel as number[], g = (l.groups as number | undefined) ?? 1, cin = shape[0]!, cout = out as number;
          const stride = (l.stride as number[] | undefined) ?? Array(dims).fill(1);
          const dil = (l.dilation as number[] | undefined) ?? Array(dims).fill(1);
          const pad = (l.padding as number[] | undefined) ?? Array(dims).fill(0);
          const pads = pad.length === 2 * dims ? pad : [...pad, ...pad]; // [begin..., end...]
          const op = (l.output_padding as number[] | undefined) ?? Array(dims).fill(0);
          const spatialIn = shape.slice(1);
          const spatialOut = spatialIn.map((n, a) => transposed
            ? (n - 1) * stride[a]! - 2 * pad[a]! + dil[a]! * (ks[a]! - 1) + op[a]! + 1
            : Math.floor((n + pads[a]! + pads[a + dims]! - dil[a]! * (ks[a]! - 1) - 1) / stride[a]!) + 1);
          const wShape = transposed ? [cin, cout / g, ...ks] : [cout, cin / g, ...ks];
          const fanIn = (transposed ? cout / g : cin / g) * prod(ks);
          shape = [cout, ...spatialOut];
          return { ...rest, ...layerWeight(`${name}.weight`, wShape, fanIn, transposed ? g : 0), bias: hasBias ? weight(`${name}.bias`, [cout], fanIn) : null };
        }
        case "upsample": {
          const f = l.scale_factor as number[];
          shape = [shape[0]!, ...shape.slice(1).map((n, a) => n * f[a]!)];
          return { ...rest };
        }
        case "flatten": shape = [prod(shape)]; return { ...rest };
        case "reshape": shape = l.shape as number[]; return { ...rest };
        case "batch_norm": {
          const C = shape[0]!;
          return {
            ...rest, running_mean: add(`${name}.running_mean`, [C], -0.5, 0.5), running_var: add(`${name}.running_var`, [C], 0.5, 2),
            weight: affine === false ? null : add(`${name}.weight`, [C], 0.5, 1.5), bias: affine === false ? null : add(`${name}.bias`, [C], -0.5, 0.5),
          };
        }
        case "group_norm": case "layer_norm": {
          const C = shape[0]!;
          return { ...rest, weight: affine === false ? null : add(`${name}.weight`, [C], 0.5, 1.5), bias: affine === false ? null : add(`${name}.bias`, [C], -0.5, 0.5) };
        }
        case "residual": {
          const body = stack(`${name}.body`, l.body as LayerSpec2[], shape);
          const shortcut = l.shortcut === undefined ? undefined : stack(`${name}.shortcut`, l.shortcut as LayerSpec2[], shape);
          shape = body.shape;
          return { ...rest, body: body.json, ...(shortcut === undefined ? {} : { shortcut: shortcut.json }) };
        }
        default: return { ...rest }; // activations
      }
    });
    return { json, shape };
  };
  const enc = stack("encoder", spec.encoder, spec.inputShape);
  const dec = stack("decoder", spec.decoder, spec.latentShape ?? [spec.latentDim]);
  const arch = {
    version: 2, input_shape: spec.inputShape, latent_dim: spec.latentDim,
    ...(spec.latentShape === undefined ? {} : { latent_shape: spec.latentShape }),
    encoder: enc.json, decoder: dec.json, likelihood: spec.likelihood,
  };
  const bytes = writeSafetensors(tensors as never, { edgevae: JSON.stringify(arch) });
  return { bytes, arch, tensors: values };
}

/** What the version 2 model tests share: their tolerances and seeded inputs (Bernoulli: [0, 1), else [-1, 1)). */
export const V2_CHECKS = {
  VALUES: { rtol: 5e-5, atol: 5e-6 },
  perItem: (D: number) => ({ rtol: 5e-5, atol: 4e-6 * D }),
  inputs(spec: V2Spec, batch: number, seed: number): Float32Array {
    const D = spec.inputShape.reduce((a, b) => a * b, 1);
    const r = mulberry32(seed);
    return Float32Array.from({ length: batch * D }, () => (spec.likelihood.type === "bernoulli" ? r() : 2 * r() - 1));
  },
};
