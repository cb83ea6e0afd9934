// linear: y = x W^T + b (PyTorch nn.Linear), on a vector [in] -> [out]. Weights are packed at
// load into the GEMM's panels of 8 output columns (assembly/gemm.ts; an I8 weight stays int8 in
// the same panels, assembly/int8.ts); a following batch_norm is folded into W (int8: into the
// scales) and b, a following relu / leaky_relu into the GEMM's store.

import { stageFloats, type TensorInfo } from "../safetensors";
import { LIMITS } from "../limits";
import { weightScales } from "./util";
import { showShape } from "../shape";
import type { LayerBase, OpDef } from "./types";

export interface LinearLayer extends LayerBase {
  readonly type: "linear";
  readonly weight: TensorInfo;
  /** [out] per-output scales when the weight is I8 (w = q * scale), else null. */
  readonly scale: TensorInfo | null;
  readonly bias: TensorInfo | null;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

const NR = 8; // output columns per packed panel (assembly/gemm.ts)
const padded = (l: LinearLayer) => Math.ceil(l.outFeatures / NR) * NR;
/** int8: bytes of the packed q (ceil(N/8), K, 8), rounded up to keep the f32 arrays behind it 16-byte aligned. */
const int8Bytes = (l: LinearLayer) => Math.ceil((padded(l) * l.inFeatures) / 16) * 16;
// the opt-in int16-activation kernel's pairs layout (ceil(N/4), ceil(K/2), 4, 2) is at most as large
const pairsBytes = (l: LinearLayer) => Math.ceil((Math.ceil(l.outFeatures / 4) * 4 * Math.ceil(l.inFeatures / 2) * 2) / 16) * 16;

export const linear: OpDef<LinearLayer> = {
  types: ["linear"],
  version: 1,
  fuses: { batchNorm: true, activation: true },
  parse(r, input) {
    if (input.length !== 1) {
      r.fail("E_ARCHITECTURE", `${r.at}: linear needs a vector input [N], but its input is ${showShape(input)}; put a {"type": "flatten"} before it`);
    }
    const width = input[0]!;
    const shape = r.tensorShape("weight");
    if (shape !== null && shape.length !== 2) {
      r.fail("E_TENSOR_SHAPE", `tensor ${r.raw.weight as string} has shape ${JSON.stringify(shape)} but ${r.at} needs a 2-D weight [out, ${width}]`);
    }
    const out = shape?.[0] ?? 1;
    if (shape !== null && (out < 1 || out > LIMITS.maxWidth)) r.fail("E_LIMIT", `tensor ${r.raw.weight as string}: ${out} outputs; between 1 and ${LIMITS.maxWidth} are supported`);
    const { weight, scale } = r.weight([out, width], out, ` (its input is ${width} values wide)`);
    const bias = r.tensor("bias", [out], true);
    return { type: "linear", at: r.at, input, output: [out], weight, scale, bias, inFeatures: width, outFeatures: out };
  },
  parameters: (l) => l.outFeatures * (l.inFeatures + (l.bias === null ? 0 : 1)),
  tensors: (l) => [l.weight.name, ...(l.scale === null ? [] : [l.scale.name]), ...(l.bias === null ? [] : [l.bias.name])],
  describe: (l) => `linear ${l.inFeatures}->${l.outFeatures}${l.scale === null ? "" : " int8"}${l.bias === null ? " (no bias)" : ""}`,
  reserve: {
    // float: packed (ceil(N/8), K, 8) f32 and the bias padded to ceil(N/8)*8, in one block;
    // int8: packed (ceil(N/8), K, 8) i8, then scale and bias padded to ceil(N/8)*8 f32
    bytes: (l) => (l.scale === null ? padded(l) * (l.inFeatures + 1) * 4 : Math.max(int8Bytes(l), pairsBytes(l)) + padded(l) * 8),
    // float: (N, K) f32, then the raw F16 / BF16 halves behind them; int8: (N, K) i8 as in the file
    stageBytes: (l) => (l.scale === null ? stageFloats(l.weight) * 4 : l.outFeatures * l.inFeatures),
    fill(layer, c, at, stage, fused) {
      const { k, arena } = c;
      const N = layer.outFeatures, K = layer.inFeatures;
      if (layer.scale !== null) {
        const packed = at, scale = at + Math.max(int8Bytes(layer), pairsBytes(layer)), bias = scale + padded(layer) * 4;
        const s = new Float32Array(padded(layer)), b = new Float32Array(padded(layer));
        s.set(weightScales(c, layer.scale, layer.at, fused.affine?.scale ?? null));
        if (layer.bias !== null) b.set(c.tensorF32(layer.bias.name));
        if (fused.affine !== null) for (let o = 0; o < N; o++) b[o] = b[o]! * fused.affine.scale[o]! + fused.affine.shift[o]!;
        const raw = c.stageRaw(layer.weight.name, stage);
        if (c.options.int16Activations) k.i8_pack_weights_pairs4(raw, packed, N, K);
        else k.i8_pack_weights_nr8(raw, packed, N, K);
        arena.heapF32().set(s, scale >>> 2);
        arena.heapF32().set(b, bias >>> 2);
        return { packed, scale, bias };
      }
      const packed = at, bias = at + padded(layer) * K * 4;
      const b = new Float32Array(padded(layer));
      if (layer.bias !== null) b.set(c.tensorF32(layer.bias.name));
      const staged = c.stageF32(layer.weight.name, stage); // (N, K) row-major
      if (fused.affine !== null) {
        const { scale, shift } = fused.affine, w = arena.heapF32(), w0 = staged >>> 2;
        for (let o = 0; o < N; o++) {
          const s = scale[o]!;
          for (let i = w0 + o * K, end = i + K; i < end; i++) w[i] = w[i]! * s;
          b[o] = b[o]! * s + shift[o]!;
        }
      }
      k.f32_pack_weights_nr8(staged, packed, N, K);
      arena.heapF32().set(b, bias >>> 2);
      return { packed, bias };
    },
  },
  compile(layer, c, input, fused, reserved) {
    const { packed, scale, bias } = reserved as { packed: number; scale?: number; bias: number };
    const N = layer.outFeatures, K = layer.inFeatures;
    if (scale !== undefined && c.options.int16Activations) {
      return c.step({
        name: `${layer.at} linear int8 x int16`, inputs: [input], shape: layer.output,
        scratchBytes: Math.ceil(K / 2) * 4, // the row quantised to int16
        run(k, rows, [x], y, scratch) {
          k.i8_gemm_qx_bias_act(x!, rows, K, packed, scale, bias, N, y, fused.act, fused.slope, scratch);
        },
      });
    }
    if (scale !== undefined) {
      return c.step({
        name: `${layer.at} linear int8`, inputs: [input], shape: layer.output,
        scratchBytes: K * NR * 4, // one panel widened to f32 (batches of 4 rows and more)
        run(k, rows, [x], y, scratch) {
          k.i8_gemm_bias_act(x!, rows, K, packed, scale, bias, N, y, fused.act, fused.slope, scratch);
        },
      });
    }
    return c.step({
      name: `${layer.at} linear`, inputs: [input], shape: layer.output,
      run(k, rows, [x], y) {
        k.f32_gemm_bias_act(x!, rows, K, packed, bias, N, y, fused.act, fused.slope);
      },
    });
  },
  train: {
    forward(k, l, s, rows, x, y) {
      k.f32_gemm_bias_act(x, rows, l.inFeatures, s.packed, s.pbias, l.outFeatures, y, 0, 0);
    },
    backward(k, l, s, rows, x, dy, spare) {
      k.f32_linear_backward_params(dy, rows, l.outFeatures, x, l.inFeatures, s.gw, s.gb);
      if (spare !== 0) k.f32_linear_backward_input(dy, rows, l.outFeatures, s.w, l.inFeatures, spare);
      return spare;
    },
  },
};
