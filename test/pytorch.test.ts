// Golden outputs from real PyTorch (float64), for models that cover every layer type,
// likelihood and dtype of the format. Regenerate with `npm run fixtures`.
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Vae } from "../sdk/index";
import { expectClose } from "./helpers/close";

interface Fixture {
  name: string; model: string; description: string;
  batch: number; input_size: number; latent_dim: number; param_size: number;
  x: number[];
  encode: { mean: number[]; logvar: number[] };
  decode: { z: number[]; params: number[]; mean: number[] };
  elbo: { samples: number; beta: number; eps: number[]; elbo: number[]; recon: number[]; kl: number[] };
  log_likelihood: { k: number; eps: number[]; value: number[] };
}

const dir = new URL("./fixtures/", import.meta.url);
const fixtures: Fixture[] = readdirSync(dir).filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(new URL(f, dir), "utf8")) as Fixture);

// f32 kernels against float64 PyTorch: about 1e-5 relative. Per-item log-densities are sums
// over D values (each carrying f32 rounding), so their absolute floor scales with D.
const VALUES = { rtol: 1e-5, atol: 1e-6 };
const perItem = (D: number) => ({ rtol: 1e-5, atol: 2e-6 * D });

describe.each(fixtures)("PyTorch fixture $name", (fx) => {
  it("has the expected coverage", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(3);
    expect(fx.x.length).toBe(fx.batch * fx.input_size);
  });

  it.each([1, 2, 256])("matches encode/decode/ELBO/log p(x) with maxBatchRows=%i", async (rows) => {
    const vae = await Vae.load(readFileSync(new URL(fx.model, dir)), { maxBatchRows: rows });
    expect(vae.inputSize).toBe(fx.input_size);
    expect(vae.latentDim).toBe(fx.latent_dim);
    const x = Float32Array.from(fx.x);

    const { mean, logvar } = vae.encode(x);
    expectClose(mean, fx.encode.mean, VALUES, "encode.mean");
    expectClose(logvar, fx.encode.logvar, VALUES, "encode.logvar");

    const z = Float32Array.from(fx.decode.z);
    expectClose(vae.decodeParams(z), fx.decode.params, VALUES, "decodeParams");
    expectClose(vae.decode(z), fx.decode.mean, VALUES, "decode");

    const e = fx.elbo;
    const elbo = vae.elbo(x, { samples: e.samples, beta: e.beta, eps: Float32Array.from(e.eps) });
    const tol = perItem(fx.input_size);
    expectClose(elbo.kl, e.kl, tol, "kl");
    expectClose(elbo.recon, e.recon, tol, "recon");
    expectClose(elbo.elbo, e.elbo, tol, "elbo");

    const l = fx.log_likelihood;
    const ll = vae.logLikelihood(x, { k: l.k, eps: Float32Array.from(l.eps) });
    expectClose(ll, l.value, tol, "logLikelihood");
    vae.dispose();
  });
});
