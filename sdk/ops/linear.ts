// linear: y = x W^T + b (PyTorch nn.Linear), on a vector [in] -> [out]. Weights are packed at
// load into the GEMM's panels of 8 output columns (assembly/gemm.ts); a following batch_norm is
// folded into W and b, a following relu / leaky_relu into the GEMM's store.

import type { TensorInfo } from "../safetensors";
import { LIMITS } from "../limits";
import { showShape } from "../shape";
import type { LayerBase, OpDef } from "./types";

export interface LinearLayer extends LayerBase {
  readonly type: "linear";
  readonly weight: TensorInfo;
  readonly bias: TensorInfo | null;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

const NR = 8; // output columns per packed panel (assembly/gemm.ts)
const padded = (l: LinearLayer) => Math.ceil(l.outFeatures / NR) * NR;

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
    const weight = r.tensor("weight", [out, width], false, ` (its input is ${width} values wide)`)!;
    const bias = r.tensor("bias", [out], true);
    return { type: "linear", at: r.at, input, output: [out], weight, bias, inFeatures: width, outFeatures: out };
  },
  parameters: (l) => l.outFeatures * (l.inFeatures + (l.bias === null ? 0 : 1)),
  tensors: (l) => (l.bias === null ? [l.weight.name] : [l.weight.name, l.bias.name]),
  describe: (l) => `linear ${l.inFeatures}->${l.outFeatures}${l.bias === null ? " (no bias)" : ""}`,
  reserve: {
    // packed (ceil(N/8), K, 8) and the bias padded to ceil(N/8)*8, in one block
    bytes: (l) => padded(l) * (l.inFeatures + 1) * 4,
    // (N, K) f32, then the raw F16 halves behind them when the file is F16
    stageBytes: (l) => l.outFeatures * l.inFeatures * (l.weight.dtype === "F16" ? 6 : 4),
    fill(layer, c, at, stage, fused) {
      const { k, arena } = c;
      const N = layer.outFeatures, K = layer.inFeatures;
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
    const { packed, bias } = reserved as { packed: number; bias: number };
    const N = layer.outFeatures, K = layer.inFeatures;
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
