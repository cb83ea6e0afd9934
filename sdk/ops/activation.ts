// The elementwise activations (FORMAT.md version 1; any shape in version 2). One entry for all
// eight: they differ only in their kernel code (assembly/activations.ts) and parameter.

import { ACT } from "../kernels";
import type { LayerBase, OpDef } from "./types";
import { copyF32 } from "./util";

export type ActivationType = "relu" | "leaky_relu" | "elu" | "gelu" | "silu" | "tanh" | "sigmoid" | "softplus";

export const ACTIVATION_TYPES: readonly ActivationType[] = ["relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "softplus"];

export interface ActivationLayer extends LayerBase {
  readonly type: ActivationType;
  /** leaky_relu's negative_slope, elu's alpha; 0 for the others. */
  readonly param: number;
}

/** The key and default of the types that take a parameter (PyTorch's defaults). */
const PARAMS: Partial<Record<ActivationType, { key: string; fallback: number }>> = {
  leaky_relu: { key: "negative_slope", fallback: 0.01 },
  elu: { key: "alpha", fallback: 1.0 },
};

export const activation: OpDef<ActivationLayer> = {
  types: ACTIVATION_TYPES,
  version: 1,
  parse(r, input) {
    const type = r.type as ActivationType;
    const p = PARAMS[type];
    return { type, at: r.at, input, output: input, param: p === undefined ? 0 : r.number(p.key, p.fallback) };
  },
  parameters: () => 0,
  tensors: () => [],
  describe: (l) => (PARAMS[l.type] === undefined ? l.type : `${l.type}(${l.param})`),
  compile(layer, c, input) {
    const code = ACT[layer.type], n = layer.input.reduce((a, b) => a * b, 1);
    return c.step({
      name: `${layer.at} ${layer.type}`, inputs: [input], shape: layer.output, inPlace: true,
      run(k, rows, [x], y) {
        if (y !== x) copyF32(k, x!, y, rows * n);
        k.f32_activation(code, y, rows * n, layer.param);
      },
    });
  },
  train: {
    forward(k, l, _s, rows, x, y) {
      const n = rows * l.input.reduce((a, b) => a * b, 1);
      k.f32_copy(x, y, n);
      k.f32_activation(ACT[l.type], y, n, l.param);
    },
    backward(k, l, _s, rows, x, dy) {
      const n = rows * l.input.reduce((a, b) => a * b, 1);
      k.f32_activation_backward(ACT[l.type], x, dy, dy, n, l.param);
      return dy;
    },
  },
};
