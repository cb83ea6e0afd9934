// The float64 reference of every layer type, keyed by the SDK registry's type names
// (sdk/ops/index.ts): a `Record<LayerType, ...>`, so the compiler refuses a registry entry
// without a reference here. Each entry runs one layer, as parsed by the SDK (shapes and
// geometry), on a batch of items in PyTorch's channel-major order, with the plain loops of
// ./conv.ts, ./linear.ts and ./activations.ts.

import type { ActivationLayer, ConvLayer, Layer, LayerType } from "../../sdk/ops/index";
import { applyActivation } from "./activations";
import { add, batchNorm, conv2d, convTranspose2d, groupNorm, layerNorm, upsampleNearest2d } from "./conv";
import { linear } from "./linear";

type Numbers = ArrayLike<number>;

/** What a reference entry gets besides its input: the file's tensors in float64, and a way to run nested lists. */
export interface RefContext {
  tensor(name: string): Float64Array;
  run(layers: readonly Layer[], x: Float64Array, rows: number): Float64Array;
}

type LayerOf<T extends LayerType> = Extract<Layer, { type: T }> extends never ? Layer & { type: T } : Extract<Layer, { type: T }>;
type RefFn<T extends LayerType> = (layer: LayerOf<T>, x: Float64Array, rows: number, c: RefContext) => Float64Array;

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const opt = (c: RefContext, t: { name: string } | null): Float64Array | null => (t === null ? null : c.tensor(t.name));

function activationRef(layer: ActivationLayer, x: Float64Array): Float64Array {
  const param = layer.type === "leaky_relu" ? { negative_slope: layer.param } : layer.type === "elu" ? { alpha: layer.param } : {};
  return applyActivation({ type: layer.type, ...param }, x);
}

function convRef(l: ConvLayer, x: Numbers, rows: number, c: RefContext): Float64Array {
  const s = l.spec, w = c.tensor(l.weight.name), b = opt(c, l.bias);
  if (s.transposed) {
    return convTranspose2d(x, rows, s.cin, s.inH, s.inW, w, b, s.cout, s.kh, s.kw, {
      stride: [s.strideH, s.strideW], padding: [s.padTop, s.padLeft], outputPadding: [s.outPadH, s.outPadW],
      dilation: [s.dilationH, s.dilationW], groups: s.groups,
    }).data;
  }
  return conv2d(x, rows, s.cin, s.inH, s.inW, w, b, s.cout, s.kh, s.kw, {
    stride: [s.strideH, s.strideW], padding: [s.padTop, s.padLeft, s.padBottom, s.padRight],
    dilation: [s.dilationH, s.dilationW], groups: s.groups,
  }).data;
}

export const REFERENCE: { [T in LayerType]: RefFn<T> } = {
  linear: (l, x, rows, c) => linear(x, rows, l.inFeatures, c.tensor(l.weight.name), opt(c, l.bias), l.outFeatures),
  relu: activationRef, leaky_relu: activationRef, elu: activationRef, gelu: activationRef,
  silu: activationRef, tanh: activationRef, sigmoid: activationRef, softplus: activationRef,
  conv2d: convRef, conv1d: convRef, conv_transpose2d: convRef, conv_transpose1d: convRef,
  upsample: (l, x, rows) => {
    const [C, H, W] = l.input.length === 3 ? l.input : [l.input[0]!, 1, l.input[1]!];
    return upsampleNearest2d(x, rows, C!, H!, W!, l.fh, l.fw).data;
  },
  flatten: (_l, x) => x.slice(),
  reshape: (_l, x) => x.slice(),
  batch_norm: (l, x, rows, c) => batchNorm(x, rows, l.input[0]!, size(l.input) / l.input[0]!,
    c.tensor(l.mean.name), c.tensor(l.variance.name), opt(c, l.weight), opt(c, l.bias), l.eps),
  group_norm: (l, x, rows, c) => groupNorm(x, rows, l.input[0]!, size(l.input) / l.input[0]!, l.groups, opt(c, l.weight), opt(c, l.bias), l.eps),
  layer_norm: (l, x, rows, c) => layerNorm(x, rows, l.input[0]!, opt(c, l.weight), opt(c, l.bias), l.eps),
  residual: (l, x, rows, c) => add(c.run(l.body as Layer[], x, rows), l.shortcut.length === 0 ? x : c.run(l.shortcut as Layer[], x, rows)),
};

/** Runs a list of parsed layers over `rows` items x (channel-major), in float64. */
export function runLayers(layers: readonly Layer[], x: Float64Array, rows: number, tensor: (name: string) => Float64Array): Float64Array {
  const c: RefContext = { tensor, run: (list, input, r) => runLayers(list, input, r, tensor) };
  let h = x;
  for (const layer of layers) {
    const fn = REFERENCE[layer.type] as RefFn<LayerType>;
    h = fn(layer as never, h, rows, c);
    if (h.length !== rows * size(layer.output)) throw new Error(`reference ${layer.at}: ${h.length} values, expected ${rows} x ${size(layer.output)}`);
  }
  return h;
}
