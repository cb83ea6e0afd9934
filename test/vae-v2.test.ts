// Version 2 models (shaped tensors, convolutions, norms, residuals) through the whole Vae API
// against the float64 reference (test/reference/ops.ts), on random weights, at batch 1, 3
// and 37, with and without chunking. Shapes are odd on purpose; channel counts straddle the
// kernels' 8-channel panels and 4-pixel tiles.
import { describe, expect, it } from "vitest";
import { Vae } from "../sdk/index";
import { expectClose } from "./helpers/close";
import { buildV2, V2_CHECKS, type V2Spec } from "./helpers/v2";
import { V2_SPECS } from "./helpers/v2-models";
import { ReferenceVae, normals } from "./reference";

const { VALUES, perItem, inputs } = V2_CHECKS;

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
