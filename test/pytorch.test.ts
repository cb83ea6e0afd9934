// Golden outputs from real PyTorch (float64), for models that cover every layer type,
// likelihood and dtype of the format (F32, F16, BF16, I8 weights with F32 / F16 / BF16 scales).
// Regenerate with `npm run fixtures`. The int8 fixtures' expected outputs are computed on the
// dequantised weights q * scale; those made from a float fixture (quantized_from) must also be
// exactly what the SDK's quantize() makes of that fixture.
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Vae, parseModel } from "../sdk/index";
import { quantize } from "../sdk/train/index";
import { expectClose } from "./helpers/close";

interface Fixture {
  name: string; model: string; description: string;
  batch: number; input_size: number; latent_dim: number; param_size: number;
  x: number[];
  encode: { mean: number[]; logvar: number[] };
  decode: { z: number[]; params: number[]; mean: number[] };
  elbo: { samples: number; beta: number; eps: number[]; elbo: number[]; recon: number[]; kl: number[] };
  log_likelihood: { k: number; eps: number[]; value: number[] };
  weights_dtype: "F32" | "F16" | "BF16" | "I8";
  int8?: { keep: string[]; scales: "mse" | "max"; scale_dtype: "F32" | "F16" | "BF16"; float_dtype: string };
  quantized_from?: string;
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
    // the file holds the dtypes the fixture says: I8 weights exactly where a weight_scale names a
    // scale (in int8.scale_dtype), every other tensor in the float dtype
    const { metadata, tensors } = parseModel(readFileSync(new URL(fx.model, dir)));
    const scaled = new Map<string, string>(), scales = new Set<string>();
    interface RawLayer { weight?: string; weight_scale?: string; body?: RawLayer[]; shortcut?: RawLayer[] }
    const walk = (layers: readonly RawLayer[]): void => {
      for (const l of layers) {
        if (l.weight_scale !== undefined) { scaled.set(l.weight!, l.weight_scale); scales.add(l.weight_scale); }
        walk(l.body ?? []); walk(l.shortcut ?? []);
      }
    };
    const arch = JSON.parse(metadata["edgevae"]!) as { encoder: RawLayer[]; decoder: RawLayer[] };
    walk([...arch.encoder, ...arch.decoder]);
    const floatDtype = fx.int8?.float_dtype ?? fx.weights_dtype;
    for (const [name, t] of tensors) {
      const want = scaled.has(name) ? "I8" : scales.has(name) ? fx.int8!.scale_dtype : floatDtype;
      expect(t.dtype, name).toBe(want);
    }
    expect(scaled.size > 0).toBe(fx.weights_dtype === "I8");
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

// The PyTorch exporter's int8 rule is the SDK's quantize(), computed the same way (float64 on the
// float32 weights, errors summed in the same order, JavaScript rounding): the same file, up to
// the JSON's formatting.
const quantized = fixtures.filter((f) => f.quantized_from !== undefined);

describe.each(quantized)("quantize($quantized_from) = the PyTorch exporter's $name", (fx) => {
  it("the same architecture, tensors in the same order, the same q and scales bit for bit", () => {
    expect(quantized.length).toBeGreaterThanOrEqual(3);
    const source = readFileSync(new URL(`${fx.quantized_from}.safetensors`, dir));
    const sdk = quantize(source, { keep: fx.int8!.keep, scales: fx.int8!.scales });
    expect(sdk.layers.filter((l) => l.result === "kept").length).toBe(fx.int8!.keep.length);
    const torchBytes = readFileSync(new URL(fx.model, dir));
    const a = parseModel(sdk.bytes), b = parseModel(torchBytes);
    expect(JSON.parse(a.metadata["edgevae"]!)).toEqual(JSON.parse(b.metadata["edgevae"]!));
    expect({ ...a.metadata, edgevae: "" }).toEqual({ ...b.metadata, edgevae: "" });
    const inOrder = (m: typeof a) => [...m.tensors.values()].sort((p, q) => p.begin - q.begin);
    const ta = inOrder(a), tb = inOrder(b);
    expect(ta.map((t) => t.name)).toEqual(tb.map((t) => t.name));
    let qDiffs = 0, maxScaleRel = 0;
    const mismatched: string[] = [];
    for (let i = 0; i < ta.length; i++) {
      const x = ta[i]!, y = tb[i]!;
      expect([x.dtype, x.shape], x.name).toEqual([y.dtype, y.shape]);
      const bx = sdk.bytes.subarray(x.begin, x.end), by = torchBytes.subarray(y.begin, y.end);
      if (Buffer.compare(bx, by) === 0) continue;
      mismatched.push(x.name);
      if (x.dtype === "I8") {
        for (let k = 0; k < bx.length; k++) if (bx[k] !== by[k]) qDiffs++;
      } else if (x.dtype === "F32") {
        const fa = new Float32Array(new Uint8Array(bx).buffer), fb = new Float32Array(new Uint8Array(by).buffer); // copies: aligned
        for (let k = 0; k < fa.length; k++) maxScaleRel = Math.max(maxScaleRel, Math.abs(fa[k]! - fb[k]!) / Math.max(Math.abs(fb[k]!), 1e-30));
      }
    }
    expect(mismatched, `tensors that differ (${qDiffs} q values, scales up to ${maxScaleRel} relative)`).toEqual([]);
  });
});
