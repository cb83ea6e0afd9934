// The network plan: a model's layers turned into kernel calls over packed weights placed in
// the arena. relu and leaky_relu after a linear layer are fused into its store.

import type { Architecture, Layer, TensorInfo } from "./format";
import { FormatError } from "./errors";
import { ACT, type Kernels } from "./kernels";
import type { Arena } from "./memory";

/** One step of a network; pointers are byte offsets into wasm memory. */
export type Op =
  | { readonly kind: "linear"; readonly weight: number; readonly bias: number;
      readonly inFeatures: number; readonly outFeatures: number; readonly act: number; readonly param: number }
  | { readonly kind: "activation"; readonly act: number; readonly param: number };

export interface NetworkPlan {
  readonly ops: readonly Op[];
  readonly inWidth: number;
  readonly outWidth: number;
  /** The widest intermediate row (for the ping-pong buffers). */
  readonly maxWidth: number;
  /** Index in ops of the last linear layer (it writes the network's output buffer); -1 if none. */
  readonly lastLinear: number;
}

const NR = 8; // output columns per packed panel (assembly/gemm.ts)

function activationOf(layer: Layer): { act: number; param: number } {
  switch (layer.type) {
    case "leaky_relu": return { act: ACT.leaky_relu, param: layer.negativeSlope };
    case "elu": return { act: ACT.elu, param: layer.alpha };
    case "linear": throw new Error("unreachable: linear is not an activation");
    default: return { act: ACT[layer.type], param: 0 };
  }
}

export interface ModelPlan {
  readonly encoder: NetworkPlan;
  readonly decoder: NetworkPlan;
}

type LinearLayer = Extract<Layer, { type: "linear" }>;

/**
 * Loads both networks' weights into the arena (converted to f32, checked finite, packed) and
 * returns their ops. `bytes` is the whole model file; tensor offsets are absolute.
 *
 * Cold start is dominated by first touches of fresh wasm pages (measured here at several ms
 * per MB), so loading touches as little memory as it can: the packed regions are placed
 * largest first, and each tensor is staged (copied in raw, converted, checked) in the
 * not-yet-filled regions after its own, which are touched later anyway. Only the tail that
 * sticks out past the last region is extra, and the compute buffers are planned over it.
 */
export function planModel(arch: Architecture, bytes: Uint8Array, tensors: ReadonlyMap<string, TensorInfo>,
                          k: Kernels, arena: Arena): ModelPlan {
  const linears = [...arch.encoder, ...arch.decoder].filter((l): l is LinearLayer => l.type === "linear")
    .sort((a, b) => b.outFeatures * b.inFeatures - a.outFeatures * a.inFeatures);
  const slots = new Map<LinearLayer, { weight: number; bias: number; end: number }>();
  for (const layer of linears) {
    const padded = Math.ceil(layer.outFeatures / NR) * NR;
    const weight = arena.allocF32(padded * layer.inFeatures), bias = arena.allocF32(padded);
    slots.set(layer, { weight, bias, end: bias + padded * 4 });
  }
  // staging for a tensor of n values: n f32, then (for F16) n raw halves
  const stagingBytes = (layer: LinearLayer) => layer.outFeatures * layer.inFeatures * 6;
  const mark = arena.mark();
  let extent = mark;
  for (const [layer, slot] of slots) extent = Math.max(extent, slot.end + stagingBytes(layer));
  if (extent > mark) arena.alloc(extent - mark);
  for (const [layer, slot] of slots) {
    const stage = slot.end;
    const load = (name: string): number => loadTensorF32(tensors.get(name)!, bytes, k, arena, stage);
    k.f32_pack_weights_nr8(load(layer.weight), slot.weight, layer.outFeatures, layer.inFeatures);
    const heap = arena.heapF32();
    heap.fill(0, slot.bias >>> 2, slot.end >>> 2);
    if (layer.bias !== null) {
      const raw = load(layer.bias) >>> 2;
      arena.heapF32().copyWithin(slot.bias >>> 2, raw, raw + layer.outFeatures);
    }
  }
  arena.release(mark);
  return {
    encoder: networkOps(arch.encoder, arch.inputSize, slots),
    decoder: networkOps(arch.decoder, arch.latentDim, slots),
  };
}

/** The ops of one network over its placed weights; relu / leaky_relu after a linear layer are fused. */
function networkOps(layers: readonly Layer[], inWidth: number,
                    slots: ReadonlyMap<LinearLayer, { weight: number; bias: number }>): NetworkPlan {
  const ops: Op[] = [];
  let width = inWidth, maxWidth = inWidth;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    if (layer.type !== "linear") {
      ops.push({ kind: "activation", ...activationOf(layer) });
      continue;
    }
    const { weight, bias } = slots.get(layer)!;
    const next = layers[i + 1];
    let act: number = ACT.identity, param = 0;
    if (next !== undefined && (next.type === "relu" || next.type === "leaky_relu")) {
      ({ act, param } = activationOf(next));
      i++;
    }
    ops.push({ kind: "linear", weight, bias, inFeatures: layer.inFeatures, outFeatures: layer.outFeatures, act, param });
    width = layer.outFeatures;
    maxWidth = Math.max(maxWidth, width);
  }
  const lastLinear = ops.map((op) => op.kind).lastIndexOf("linear");
  return { ops, inWidth, outWidth: width, maxWidth, lastLinear };
}

/** Copies a tensor to `stage` as f32 (F16 converted exactly, staged after it); returns `stage`. */
function loadTensorF32(t: TensorInfo, bytes: Uint8Array, k: Kernels, arena: Arena, stageF32: number): number {
  const count = (t.end - t.begin) / (t.dtype === "F16" ? 2 : 4);
  const stageF16 = stageF32 + count * 4;
  if (t.dtype === "F32") {
    arena.heapU8().set(bytes.subarray(t.begin, t.end), stageF32);
  } else {
    arena.heapU8().set(bytes.subarray(t.begin, t.end), stageF16);
    k.f16_to_f32(stageF16, stageF32, count);
  }
  const bad = k.f32_count_nonfinite(stageF32, count);
  if (bad > 0) {
    throw new FormatError("E_NONFINITE_WEIGHTS", `tensor ${t.name} holds ${bad} NaN or infinite value(s); a trained model's weights are finite (check the export)`);
  }
  return stageF32;
}
