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

/**
 * Loads one network's weights into the arena (converted to f32, checked finite, packed)
 * and returns its ops. `bytes` is the whole model file; tensor offsets are absolute.
 */
export function planNetwork(layers: readonly Layer[], inWidth: number, bytes: Uint8Array,
                            tensors: ReadonlyMap<string, TensorInfo>, k: Kernels, arena: Arena): NetworkPlan {
  const ops: Op[] = [];
  let width = inWidth, maxWidth = inWidth;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    if (layer.type !== "linear") {
      ops.push({ kind: "activation", ...activationOf(layer) });
      continue;
    }
    const n = layer.outFeatures, kIn = layer.inFeatures;
    const panels = Math.ceil(n / NR);
    const weight = arena.allocF32(panels * NR * kIn);
    const bias = arena.allocF32(panels * NR);
    const staging = arena.mark();
    const raw = loadTensorF32(tensors.get(layer.weight)!, bytes, k, arena);
    k.f32_pack_weights_nr8(raw, weight, n, kIn);
    arena.release(staging);
    arena.heapF32().fill(0, bias >>> 2, (bias >>> 2) + panels * NR);
    if (layer.bias !== null) {
      const rawBias = loadTensorF32(tensors.get(layer.bias)!, bytes, k, arena);
      arena.heapF32().copyWithin(bias >>> 2, rawBias >>> 2, (rawBias >>> 2) + n);
      arena.release(staging);
    }
    // fuse a following relu / leaky_relu into the GEMM's store
    const next = layers[i + 1];
    let act: number = ACT.identity, param = 0;
    if (next !== undefined && (next.type === "relu" || next.type === "leaky_relu")) {
      ({ act, param } = activationOf(next));
      i++;
    }
    ops.push({ kind: "linear", weight, bias, inFeatures: kIn, outFeatures: n, act, param });
    width = n;
    maxWidth = Math.max(maxWidth, n);
  }
  return { ops, inWidth, outWidth: width, maxWidth };
}

/** Copies a tensor into the arena as f32 (F16 converted exactly); returns its pointer. */
function loadTensorF32(t: TensorInfo, bytes: Uint8Array, k: Kernels, arena: Arena): number {
  const count = (t.end - t.begin) / (t.dtype === "F16" ? 2 : 4);
  const dst = arena.allocF32(count);
  if (t.dtype === "F32") {
    arena.heapU8().set(bytes.subarray(t.begin, t.end), dst);
  } else {
    const src = arena.alloc(t.end - t.begin);
    arena.heapU8().set(bytes.subarray(t.begin, t.end), src);
    k.f16_to_f32(src, dst, count);
  }
  const bad = k.f32_count_nonfinite(dst, count);
  if (bad > 0) {
    throw new FormatError("E_NONFINITE_WEIGHTS", `tensor ${t.name} holds ${bad} NaN or infinite value(s); a trained model's weights are finite (check the export)`);
  }
  return dst;
}

export type { Architecture };
