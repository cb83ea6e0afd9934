// Making int8 model files: quantize() rewrites a model file's linear and conv weights as I8 with
// symmetric per-output-channel scales (FORMAT.md "Weights: int8 and BF16": w = q * scale[o]),
// keeping chosen layers in float; elboChange() measures what that does to held-out ELBOs.
// Part of "edgevae/train" (tools that make models), not of the inference bundle.

import { ArgumentError } from "../errors";
import { parseModel, type Architecture } from "../format";
import { allLayers } from "../network";
import type { Layer } from "../ops/index";
import { elementsOf, type TensorInfo } from "../safetensors";
import { Vae, type Floats, type LoadOptions } from "../vae";
import { writeRawSafetensors, type RawTensor } from "./safetensors";

export interface QuantizeOptions {
  /**
   * Layers kept in floating point: their place in the file ("decoder[5]", "encoder[1].body[0]")
   * or their weight tensor's name. Default: none (every linear and conv layer is quantised).
   */
  keep?: readonly string[];
  /**
   * How each channel's scale is chosen: "mse" (default) tries clipping the channel's largest
   * |w| at 80-100% and keeps the scale with the least squared error; "max" uses max|w| / 127.
   */
  scales?: "mse" | "max";
}

export interface QuantizedLayer {
  /** The layer's place in the file, e.g. "encoder[0]". */
  readonly at: string;
  readonly type: string;
  readonly weight: string;
  /** "int8", or "kept" (left in float by the keep option), or "int8 already" (the file's own). */
  readonly result: "int8" | "kept" | "int8 already";
  readonly weights: number;
  /** Root mean square of w - q * scale over the layer, relative to the RMS of w (0 when kept). */
  readonly relativeRmsError: number;
  /** max |w - q * scale| over the layer. */
  readonly maxAbsError: number;
}

export interface QuantizeResult {
  /** The int8 model file (format version 2). */
  readonly bytes: Uint8Array;
  readonly layers: readonly QuantizedLayer[];
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

/** Per-output-channel scales and int8 values of one weight (PyTorch layout, as f32). */
function quantizeWeight(w: Float32Array, channelOf: (i: number) => number, channels: number, mode: "mse" | "max"): { q: Int8Array; scale: Float32Array } {
  const members: number[][] = Array.from({ length: channels }, () => []);
  for (let i = 0; i < w.length; i++) members[channelOf(i)]!.push(i);
  const q = new Int8Array(w.length), scale = new Float32Array(channels);
  const ratios = mode === "max" ? [1] : Array.from({ length: 21 }, (_, j) => 1 - j * 0.01);
  for (let o = 0; o < channels; o++) {
    const idx = members[o]!;
    let max = 0;
    for (const i of idx) max = Math.max(max, Math.abs(w[i]!));
    if (max === 0) continue; // scale 0, q 0: the channel's weights are all zero
    let best = Infinity, bestScale = 0;
    for (const r of ratios) {
      const s = Math.fround((max * r) / 127);
      if (s === 0) continue;
      let err = 0;
      for (const i of idx) {
        const v = Math.max(-127, Math.min(127, Math.round(w[i]! / s)));
        err += (w[i]! - v * s) ** 2;
      }
      if (err < best) { best = err; bestScale = s; }
    }
    scale[o] = bestScale;
    for (const i of idx) q[i] = Math.max(-127, Math.min(127, Math.round(w[i]! / bestScale)));
  }
  return { q, scale };
}

/** The output channel of element i of a weight: [Cout, ...] row-major; transposed [Cin, Cout/g, ...]. */
function channelMap(layer: Layer): { channels: number; of: (i: number) => number } {
  const shape = (layer as { weight: TensorInfo }).weight.shape;
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  if (!layer.type.startsWith("conv_transpose")) return { channels: shape[0]!, of: (i) => Math.floor(i / per) };
  const spec = (layer as Extract<Layer, { spec: unknown }>).spec as { cin: number; groups: number };
  const coutG = shape[1]!, taps = per / coutG, cinG = spec.cin / spec.groups;
  return {
    channels: coutG * spec.groups,
    of: (i) => {
      const ci = Math.floor(i / per), j = Math.floor((i % per) / taps);
      return Math.floor(ci / cinG) * coutG + j;
    },
  };
}

/** The layer object at `at` ("decoder[1].body[0]") in the architecture JSON. */
function rawLayer(arch: Record<string, unknown>, at: string): Record<string, unknown> {
  let node: unknown = arch;
  for (const [, key, index] of at.matchAll(/(\w+)\[(\d+)\]/g)) node = ((node as Record<string, unknown[]>)[key!]!)[Number(index)];
  return node as Record<string, unknown>;
}

function readF32(bytes: Uint8Array, t: TensorInfo): Float32Array {
  const n = elementsOf(t), view = new DataView(bytes.buffer, bytes.byteOffset + t.begin, t.end - t.begin);
  const out = new Float32Array(n);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    if (t.dtype === "F32") out[i] = view.getFloat32(4 * i, true);
    else if (t.dtype === "BF16") u[i] = view.getUint16(2 * i, true) << 16;
    else out[i] = f16ToF32(view.getUint16(2 * i, true));
  }
  return out;
}

function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * Writes an int8 copy of a model file: every linear / conv / conv_transpose weight not in
 * `keep` becomes I8 with a per-output-channel F32 "weight_scale" tensor named
 * `<weight>_scale`; all other tensors are copied as they are. A version 1 file becomes version 2
 * (int8 is a version 2 feature), with a flatten first when its input_shape has several axes,
 * so it computes the same function. The result is checked by parsing it again.
 */
export function quantize(modelBytes: Uint8Array, options: QuantizeOptions = {}): QuantizeResult {
  const parsed = parseModel(modelBytes);
  const arch = JSON.parse(parsed.metadata["edgevae"]!) as Record<string, unknown>;
  const keep = new Set(options.keep ?? []);
  const mode = options.scales ?? "mse";
  if (mode !== "mse" && mode !== "max") throw new ArgumentError("E_ARGUMENT", `options.scales must be "mse" or "max", got ${JSON.stringify(mode)}`);
  const a: Architecture = parsed.architecture;
  const layers = allLayers([...a.encoder, ...a.decoder]).filter((l) => l.type === "linear" || l.type.startsWith("conv"));
  const known = new Set(layers.flatMap((l) => [l.at, (l as { weight: TensorInfo }).weight.name]));
  for (const k of keep) if (!known.has(k)) throw new ArgumentError("E_ARGUMENT", `keep: "${k}" is neither a linear / conv layer's place (${layers.map((l) => l.at).join(", ")}) nor its weight's name`);

  const replaced = new Map<string, RawTensor[]>(); // weight name -> the tensors written in its place
  const report: QuantizedLayer[] = [];
  const names = new Set(parsed.tensors.keys());
  for (const layer of layers) {
    const weight = (layer as { weight: TensorInfo }).weight;
    const base = { at: layer.at, type: layer.type, weight: weight.name, weights: elementsOf(weight) };
    if (weight.dtype === "I8") { report.push({ ...base, result: "int8 already", relativeRmsError: 0, maxAbsError: 0 }); continue; }
    if (keep.has(layer.at) || keep.has(weight.name)) { report.push({ ...base, result: "kept", relativeRmsError: 0, maxAbsError: 0 }); continue; }
    if (replaced.has(weight.name)) { // a tensor shared by two layers: quantised once, named by both
      rawLayer(arch, layer.at).weight_scale = replaced.get(weight.name)![1]!.name;
      report.push({ ...base, result: "int8", relativeRmsError: 0, maxAbsError: 0 });
      continue;
    }
    const w = readF32(modelBytes, weight);
    const map = channelMap(layer);
    const { q, scale } = quantizeWeight(w, map.of, map.channels, mode);
    let se = 0, ss = 0, maxAbs = 0;
    for (let i = 0; i < w.length; i++) {
      const d = w[i]! - q[i]! * scale[map.of(i)]!;
      se += d * d; ss += w[i]! * w[i]!; maxAbs = Math.max(maxAbs, Math.abs(d));
    }
    let scaleName = `${weight.name}_scale`;
    while (names.has(scaleName)) scaleName += "_";
    names.add(scaleName);
    replaced.set(weight.name, [
      { name: weight.name, dtype: "I8", shape: weight.shape, bytes: new Uint8Array(q.buffer) },
      { name: scaleName, dtype: "F32", shape: [map.channels], bytes: new Uint8Array(scale.buffer) },
    ]);
    rawLayer(arch, layer.at).weight_scale = scaleName;
    report.push({ ...base, result: "int8", relativeRmsError: ss === 0 ? 0 : Math.sqrt(se / ss), maxAbsError: maxAbs });
  }

  if (arch.version === 1) {
    arch.version = 2;
    const shape = arch.input_shape as number[];
    if (shape.length > 1) (arch.encoder as unknown[]).unshift({ type: "flatten" });
  }
  const tensors: RawTensor[] = [];
  for (const t of [...parsed.tensors.values()].sort((p, q) => p.begin - q.begin)) {
    tensors.push(...(replaced.get(t.name) ?? [{ name: t.name, dtype: t.dtype, shape: t.shape, bytes: modelBytes.subarray(t.begin, t.end) }]));
  }
  const bytes = writeRawSafetensors(tensors, { ...parsed.metadata, edgevae: JSON.stringify(arch) });
  parseModel(bytes); // the file must read back
  return { bytes, layers: report, bytesBefore: modelBytes.length, bytesAfter: bytes.length };
}

export interface ElboChange {
  readonly items: number;
  /** Mean over items of ELBO(after) - ELBO(before), nats per item (same noise for both). */
  readonly meanChange: number;
  /** Mean of |ELBO(after) - ELBO(before)|. */
  readonly meanAbsChange: number;
  /** Largest |ELBO(after) - ELBO(before)| over the items. */
  readonly maxAbsChange: number;
  readonly meanElboBefore: number;
  readonly meanElboAfter: number;
}

/**
 * What a model change (quantising, say) does to held-out ELBOs: both files score `data`
 * (items x inputSize) with the same noise (seed), item by item.
 */
export async function elboChange(before: Uint8Array, after: Uint8Array, data: Floats,
                                 options: { seed?: number; samples?: number; load?: LoadOptions } = {}): Promise<ElboChange> {
  const [a, b] = await Promise.all([Vae.load(before, options.load), Vae.load(after, options.load)]);
  try {
    const run = { seed: options.seed ?? 0, samples: options.samples ?? 1 };
    const ea = a.elbo(data, run).elbo, eb = b.elbo(data, run).elbo;
    let sum = 0, abs = 0, max = 0, sa = 0, sb = 0;
    for (let i = 0; i < ea.length; i++) {
      const d = eb[i]! - ea[i]!;
      sum += d; abs += Math.abs(d); max = Math.max(max, Math.abs(d)); sa += ea[i]!; sb += eb[i]!;
    }
    const n = ea.length;
    return { items: n, meanChange: sum / n, meanAbsChange: abs / n, maxAbsChange: max, meanElboBefore: sa / n, meanElboAfter: sb / n };
  } finally {
    a.dispose(); b.dispose();
  }
}
