// Version 2 test models (random weights), shared by test/vae-v2.test.ts and the cross-runtime
// conformance pack: together they use every version 2 layer type and parameter, odd shapes,
// channel counts around the kernels' 8-channel panels, a spatial latent, F16.
import type { V2Spec } from "./v2";

export const V2_SPECS: Record<string, V2Spec> = {
  conv_image_bernoulli: {
    inputShape: [3, 13, 11], latentDim: 5,
    encoder: [
      { type: "conv2d", out: 9, kernel: [3, 3], stride: [2, 1], padding: [1, 0, 1, 2] }, { type: "relu" },
      { type: "conv2d", out: 6, kernel: [2, 5], dilation: [2, 1], groups: 3 }, { type: "batch_norm" }, { type: "leaky_relu", negative_slope: 0.2 },
      { type: "conv2d", out: 6, kernel: [3, 3], padding: [1, 1], groups: 6, bias: false }, { type: "gelu" },
      { type: "flatten" }, { type: "linear", out: 10 },
    ],
    decoder: [
      { type: "linear", out: 4 * 4 * 3 }, { type: "silu" }, { type: "reshape", shape: [4, 4, 3] },
      { type: "conv_transpose2d", out: 8, kernel: [3, 3], stride: [3, 2], padding: [1, 0], output_padding: [1, 1] }, { type: "relu" },
      { type: "upsample", scale_factor: [1, 2] },
      { type: "conv2d", out: 3, kernel: [1, 6], padding: [1, 0, 1, 0] },
    ],
    likelihood: { type: "bernoulli" }, seed: 21,
  },
  spatial_latent_gaussian_learned: {
    inputShape: [2, 9, 9], latentDim: 2 * 3 * 3, latentShape: [2, 3, 3],
    encoder: [
      { type: "conv2d", out: 5, kernel: [3, 3], stride: [3, 3] }, { type: "group_norm", num_groups: 5 }, { type: "tanh" },
      { type: "residual", body: [{ type: "conv2d", out: 5, kernel: [3, 3], padding: [1, 1] }, { type: "elu" }] },
      { type: "conv2d", out: 4, kernel: [1, 1] },
    ],
    decoder: [
      { type: "batch_norm", affine: false }, // not after a conv: runs as its own affine step
      { type: "conv_transpose2d", out: 6, kernel: [4, 4], stride: [2, 2], padding: [1, 1], dilation: [2, 2], groups: 2 }, { type: "softplus" },
      { type: "residual",
        body: [{ type: "conv2d", out: 4, kernel: [3, 3], padding: [1, 1] }, { type: "residual", body: [{ type: "sigmoid" }] }],
        shortcut: [{ type: "conv2d", out: 4, kernel: [1, 1], bias: false }] },
      { type: "group_norm", num_groups: 2, affine: false },
    ],
    likelihood: { type: "gaussian_learned" }, seed: 22, scale: 0.7,
  },
  sequence_gaussian_f16: {
    inputShape: [3, 17], latentDim: 3, dtype: "F16",
    encoder: [
      { type: "conv1d", out: 7, kernel: [4], stride: [2], padding: [2, 1] }, { type: "relu" },
      { type: "conv1d", out: 7, kernel: [3], dilation: [2], groups: 7 },
      { type: "flatten" }, { type: "layer_norm" }, { type: "linear", out: 6 },
    ],
    decoder: [
      { type: "linear", out: 10 }, { type: "batch_norm" }, { type: "layer_norm", affine: false }, { type: "reshape", shape: [2, 5] },
      { type: "upsample", scale_factor: [2] },
      { type: "conv_transpose1d", out: 3, kernel: [3], stride: [2], padding: [2], output_padding: [1] },
      { type: "conv1d", out: 3, kernel: [2], padding: [0, 0] }, { type: "flatten" },
    ],
    likelihood: { type: "gaussian", sigma: 0.6 }, seed: 23,
  },
};

