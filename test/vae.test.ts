// The Vae API against the float64 reference, on random models that together use every layer
// type and likelihood, at awkward batch sizes, with and without chunking.
import { describe, expect, it } from "vitest";
import { Vae } from "../sdk/index";
import { buildModel, mulberry32, type ModelSpec } from "./helpers/safetensors";
import { expectClose } from "./helpers/close";
import { ReferenceVae, normals } from "./reference";

const VALUES = { rtol: 2e-5, atol: 2e-6 };
const perItem = (D: number) => ({ rtol: 2e-5, atol: 4e-6 * D });

const SPECS: Record<string, ModelSpec> = {
  bernoulli_relu_784: {
    inputShape: [1, 28, 28], latentDim: 20,
    encoder: [{ type: "linear", out: 37 }, { type: "relu" }, { type: "linear" }],
    decoder: [{ type: "linear", out: 37 }, { type: "relu" }, { type: "linear" }],
    likelihood: { type: "bernoulli" }, seed: 11,
  },
  bernoulli_every_activation: {
    inputShape: [13], latentDim: 3,
    encoder: [{ type: "linear", out: 9 }, { type: "gelu" }, { type: "linear", out: 5 }, { type: "silu" },
      { type: "linear", out: 7, bias: false }, { type: "elu", alpha: 0.5 }, { type: "linear" }],
    decoder: [{ type: "tanh" }, { type: "linear", out: 11 }, { type: "leaky_relu", negative_slope: 0.1 },
      { type: "linear", out: 6 }, { type: "softplus" }, { type: "linear" }, { type: "sigmoid" }],
    likelihood: { type: "bernoulli" }, seed: 12, scale: 2,
  },
  gaussian_fixed_f16: {
    inputShape: [5], latentDim: 1,
    encoder: [{ type: "linear", out: 3 }, { type: "sigmoid" }, { type: "linear" }],
    decoder: [{ type: "linear", out: 4 }, { type: "leaky_relu" }, { type: "linear" }, { type: "elu" }],
    likelihood: { type: "gaussian", sigma: 0.7 }, dtype: "F16", seed: 13,
  },
  gaussian_learned_wide: {
    inputShape: [3], latentDim: 4,
    encoder: [{ type: "linear", out: 41 }, { type: "tanh" }, { type: "linear" }],
    decoder: [{ type: "linear", out: 33 }, { type: "relu" }, { type: "linear", out: 17 }, { type: "relu" }, { type: "linear" }],
    likelihood: { type: "gaussian_learned" }, seed: 14,
  },
};

function inputs(spec: ModelSpec, batch: number, seed: number): Float32Array {
  const D = spec.inputShape.reduce((a, b) => a * b, 1);
  const r = mulberry32(seed);
  const bernoulli = spec.likelihood.type === "bernoulli";
  return Float32Array.from({ length: batch * D }, () => (bernoulli ? r() : 4 * r() - 2));
}

describe.each(Object.entries(SPECS))("%s", (_name, spec) => {
  const built = buildModel(spec);
  const reference = new ReferenceVae(built.arch, built.tensors);
  const D = reference.D, J = reference.J;

  it.each([1, 3, 4, 5, 37])("batch %i: every op matches float64 (chunks of 4 rows and unchunked)", async (batch) => {
    for (const maxBatchRows of [4, 256]) {
      const vae = await Vae.load(built.bytes, { maxBatchRows });
      const x = inputs(spec, batch, batch);
      const posterior = reference.encode(x, batch);
      const got = vae.encode(x);
      expectClose(got.mean, posterior.mean, VALUES, "mean");
      expectClose(got.logvar, posterior.logvar, VALUES, "logvar");

      const z = normals(batch, 0, batch * J);
      expectClose(vae.decodeParams(z), reference.decodeParams(z, batch), VALUES, "decodeParams");
      expectClose(vae.decode(z), reference.decodeMean(z, batch), VALUES, "decode");

      const S = 3, K = 7;
      const eps = normals(batch + 100, 0, batch * S * J);
      const e = vae.elbo(x, { samples: S, beta: 0.75, eps });
      const re = reference.elbo(x, batch, eps, S, 0.75);
      expectClose(e.kl, re.kl, perItem(J), "kl");
      expectClose(e.recon, re.recon, perItem(D), "recon");
      expectClose(e.elbo, re.elbo, perItem(D), "elbo");

      const epsK = normals(batch + 200, 0, batch * K * J);
      expectClose(vae.logLikelihood(x, { k: K, eps: epsK }), reference.logLikelihood(x, batch, epsK, K), perItem(D), "logLikelihood");
      vae.dispose();
    }
  });

  it("seeded noise is the project RNG, item-major, and independent of chunking", async () => {
    const batch = 5, S = 6, seed = 2 ** 40 + 17;
    const x = inputs(spec, batch, 3);
    const small = await Vae.load(built.bytes, { maxBatchRows: 4 }); // S > rows: samples split in blocks
    const big = await Vae.load(built.bytes);
    const eps = normals(seed, 0, batch * S * J);
    const want = big.elbo(x, { samples: S, eps });
    for (const vae of [small, big]) {
      const got = vae.elbo(x, { samples: S, seed });
      expectClose(got.elbo, want.elbo, { rtol: 1e-6, atol: 1e-6 }, "elbo by seed");
      expect(vae.elbo(x, { samples: S, seed }).elbo).toEqual(got.elbo); // same seed, same bits
    }
    const ll = big.logLikelihood(x, { k: 9, seed });
    expectClose(small.logLikelihood(x, { k: 9, seed }), ll, { rtol: 1e-6, atol: 1e-6 }, "logLikelihood by seed");
    expectClose(ll, big.logLikelihood(x, { k: 9, eps: normals(seed, 0, batch * 9 * J) }), { rtol: 0, atol: 0 }, "seed = eps");
    // a different seed gives different noise
    expect(big.elbo(x, { samples: S, seed: seed + 1 }).elbo).not.toEqual(want.elbo);
  });

  it("sample, reconstruct and interpolate decode the right latents", async () => {
    const vae = await Vae.load(built.bytes, { maxBatchRows: 4 });
    const n = 9, seed = 5;
    expectClose(vae.sample(n, { seed }), reference.decodeMean(normals(seed, 0, n * J), n), VALUES, "sample");

    const x = inputs(spec, 6, 8);
    const { mean, logvar } = reference.encode(x, 6);
    expectClose(vae.reconstruct(x, { useMean: true }), reference.decodeMean(mean, 6), VALUES, "reconstruct(useMean)");
    const eps = normals(seed, 0, 6 * J);
    const z = mean.map((m, i) => m + Math.exp(logvar[i]! / 2) * eps[i]!);
    expectClose(vae.reconstruct(x, { seed }), reference.decodeMean(z, 6), VALUES, "reconstruct(seed)");

    const zA = normals(1, 0, J), zB = normals(2, 0, J), steps = 7;
    const line = new Float64Array(steps * J);
    for (let t = 0; t < steps; t++) for (let j = 0; j < J; j++) line[t * J + j] = zA[j]! + (zB[j]! - zA[j]!) * (t / (steps - 1));
    const path = vae.interpolate(zA, zB, steps);
    expectClose(path, reference.decodeMean(line, steps), VALUES, "interpolate");
    expectClose(path.subarray(0, D), vae.decode(zA), { rtol: 1e-6, atol: 1e-7 }, "interpolate starts at zA");
    expectClose(path.subarray((steps - 1) * D), vae.decode(zB), { rtol: 1e-6, atol: 1e-7 }, "interpolate ends at zB");
    expect(vae.interpolate(zA, zB, 1)).toEqual(vae.decode(zA));
  });
});

describe("model info and inputs", () => {
  const built = buildModel(SPECS.gaussian_fixed_f16!);

  it("reports shapes, likelihood, parameter count, dtype, build and metadata", async () => {
    const vae = await Vae.load(built.bytes.buffer.slice(0) as ArrayBuffer); // an ArrayBuffer works too
    expect(vae.inputShape).toEqual([5]);
    expect(vae.inputSize).toBe(5);
    expect(vae.latentDim).toBe(1);
    expect(vae.info.likelihood).toEqual({ type: "gaussian", sigma: 0.7 });
    expect(vae.info.dtype).toBe("F16");
    expect(vae.info.parameterCount).toBe(5 * 3 + 3 + 3 * 2 + 2 + 1 * 4 + 4 + 4 * 5 + 5);
    expect(vae.info.encoder).toEqual(["linear 5->3", "sigmoid", "linear 3->2"]);
    expect(vae.info.simd).toBe("baseline");
    expect(vae.info.memoryBytes).toBeGreaterThan(0);
    expect(vae.info.metadata).toEqual({});
  });

  it("accepts number[] and Float64Array inputs as well as Float32Array", async () => {
    const vae = await Vae.load(built.bytes);
    const x = inputs(SPECS.gaussian_fixed_f16!, 2, 1);
    const want = vae.encode(x).mean;
    expect(vae.encode(Array.from(x)).mean).toEqual(want);
    expect(vae.encode(Float64Array.from(x)).mean).toEqual(want);
  });

  it("a large batch is processed in chunks with the same results", async () => {
    const vae = await Vae.load(built.bytes, { maxBatchRows: 16 });
    const big = await Vae.load(built.bytes);
    const x = inputs(SPECS.gaussian_fixed_f16!, 1000, 4);
    expect(vae.elbo(x, { seed: 1, samples: 2 }).elbo).toEqual(big.elbo(x, { seed: 1, samples: 2 }).elbo);
    expect(vae.logLikelihood(x, { seed: 1, k: 40 })).toEqual(big.logLikelihood(x, { seed: 1, k: 40 }));
  });

  it("without a seed, noise differs between calls", async () => {
    const vae = await Vae.load(built.bytes);
    expect(vae.sample(4)).not.toEqual(vae.sample(4));
  });
});
