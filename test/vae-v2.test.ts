// Version 2 models (shaped tensors, convolutions, norms, residuals) through the whole Vae API
// against the float64 reference (test/reference/ops.ts), on random weights, at batch 1, 3
// and 37, with and without chunking. Shapes are odd on purpose; channel counts straddle the
// kernels' 8-channel panels and 4-pixel tiles.
import { describe, expect, it } from "vitest";
import { Vae } from "../sdk/index";
import { expectClose } from "./helpers/close";
import { mulberry32 } from "./helpers/safetensors";
import { buildV2, type V2Spec } from "./helpers/v2";
import { ReferenceVae, normals } from "./reference";

const VALUES = { rtol: 5e-5, atol: 5e-6 };
const perItem = (D: number) => ({ rtol: 5e-5, atol: 4e-6 * D });

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

function inputs(spec: V2Spec, batch: number, seed: number): Float32Array {
  const D = spec.inputShape.reduce((a, b) => a * b, 1);
  const r = mulberry32(seed);
  return Float32Array.from({ length: batch * D }, () => (spec.likelihood.type === "bernoulli" ? r() : 2 * r() - 1));
}

describe.each(Object.entries(V2_SPECS))("version 2 model %s", (_name, spec) => {
  const built = buildV2(spec);
  const ref = ReferenceVae.fromFile(built.bytes);
  const D = ref.D, J = ref.J;

  it.each([[1, 256], [3, 256], [37, 256], [37, 4], [5, 1]])("batch %i, maxBatchRows %i: encode, decode, ELBO, log p(x) match float64", async (batch, rows) => {
    const vae = await Vae.load(built.bytes, { maxBatchRows: rows, simd: "baseline" });
    expect(vae.info.version).toBe(2);
    const x = inputs(spec, batch, 100 + batch);
    const want = ref.encode(x, batch);
    const got = vae.encode(x);
    expectClose(got.mean, want.mean, VALUES, "mean");
    expectClose(got.logvar, want.logvar, VALUES, "logvar");

    const z = normals(7, 0, batch * J);
    expectClose(vae.decodeParams(z), ref.decodeParams(z, batch), VALUES, "decodeParams");
    expectClose(vae.decode(z), ref.decodeMean(z, batch), VALUES, "decode");

    const S = 2, eps = normals(8, 0, batch * S * J);
    const e = vae.elbo(x, { samples: S, eps });
    const r = ref.elbo(x, batch, eps, S);
    expectClose(e.kl, r.kl, perItem(D), "kl");
    expectClose(e.elbo, r.elbo, perItem(D), "elbo");
    const K = 3, epsK = normals(9, 0, batch * K * J);
    expectClose(vae.logLikelihood(x, { k: K, eps: epsK }), ref.logLikelihood(x, batch, epsK, K), perItem(D), "logLikelihood");
    vae.dispose();
  });

  it("describes its layers and counts its parameters", async () => {
    const vae = await Vae.load(built.bytes);
    const count = Object.values(built.tensors).reduce((n, t) => n + t.length, 0);
    expect(vae.info.parameterCount).toBe(count);
    expect(vae.info.encoder.length).toBeGreaterThanOrEqual(spec.encoder.length);
    expect(vae.info.latentShape).toEqual(spec.latentShape ?? [spec.latentDim]);
    vae.dispose();
  });
});
