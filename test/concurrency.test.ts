// Concurrency and isolation (docs/SECURITY.md): many Vae instances in one process, with calls
// interleaved, give exactly the numbers each gives alone; two models loaded from the same bytes
// share nothing mutable; the caller's arrays are never kept or written.
import { describe, expect, it } from "vitest";
import { Vae } from "../sdk/index";
import { buildModel, mulberry32, type ModelSpec } from "./helpers/safetensors";

const SPECS: ModelSpec[] = [
  { inputShape: [5], latentDim: 2, encoder: [{ type: "linear", out: 6 }, { type: "relu" }, { type: "linear" }],
    decoder: [{ type: "linear", out: 6 }, { type: "gelu" }, { type: "linear" }], likelihood: { type: "bernoulli" }, seed: 31 },
  { inputShape: [3], latentDim: 3, encoder: [{ type: "linear", out: 9 }, { type: "tanh" }, { type: "linear" }],
    decoder: [{ type: "linear", out: 4 }, { type: "silu" }, { type: "linear" }], likelihood: { type: "gaussian_learned" }, seed: 32 },
  { inputShape: [2, 2], latentDim: 1, encoder: [{ type: "linear" }],
    decoder: [{ type: "linear", out: 3 }, { type: "elu" }, { type: "linear" }], likelihood: { type: "gaussian", sigma: 0.3 }, dtype: "F16", seed: 33 },
];
const files = SPECS.map((s) => buildModel(s).bytes);

type Call = (v: Vae) => Float32Array[];
const calls = (seed: number): Call[] => {
  const r = mulberry32(seed);
  const xs = (v: Vae, n: number) => Float32Array.from({ length: n * v.inputSize }, () => r());
  return [
    (v) => { const p = v.encode(xs(v, 3)); return [p.mean, p.logvar]; },
    (v) => [v.decode(Float32Array.from({ length: 2 * v.latentDim }, () => r() - 0.5))],
    (v) => [v.sample(4, { seed })],
    (v) => { const e = v.elbo(xs(v, 2), { seed, samples: 3 }); return [e.elbo, e.recon, e.kl]; },
    (v) => [v.logLikelihood(xs(v, 2), { seed, k: 5 })],
    (v) => [v.reconstruct(xs(v, 2), { seed })],
  ];
};

describe("concurrency and isolation", () => {
  it("30 instances (3 models x 10 copies), calls interleaved at random, match one-at-a-time results", async () => {
    // alone: each model on its own, every call in order
    const expected: Float32Array[][][] = [];
    for (let m = 0; m < files.length; m++) {
      const v = await Vae.load(files[m]!);
      expected.push(calls(m).map((c) => c(v)));
      v.dispose();
    }
    // together: 10 copies of each, loaded concurrently, calls in a random interleaving
    const vaes = await Promise.all(Array.from({ length: 30 }, (_, i) => Vae.load(files[i % 3]!, { maxBatchRows: 1 + (i % 4) })));
    const next = new Array(30).fill(0) as number[];
    const perInstance = vaes.map((_, i) => calls(i % 3));
    const r = mulberry32(99);
    let remaining = 30 * 6;
    while (remaining > 0) {
      const i = Math.floor(r() * 30);
      if (next[i]! >= 6) continue;
      const got = perInstance[i]![next[i]!]!(vaes[i]!);
      expect(got).toEqual(expected[i % 3]![next[i]!]);
      next[i]!++;
      remaining--;
    }
    vaes.forEach((v) => v.dispose());
  });

  it("concurrent loads of the same bytes give independent instances that share nothing mutable", async () => {
    const bytes = files[0]!.slice();
    const [a, b] = await Promise.all([Vae.load(bytes), Vae.load(bytes)]);
    const ka = (a as unknown as { k: { memory: WebAssembly.Memory } }).k, kb = (b as unknown as { k: { memory: WebAssembly.Memory } }).k;
    expect(ka).not.toBe(kb);
    expect(ka.memory).not.toBe(kb.memory);
    const x = new Float32Array(10).fill(0.3);
    const before = a.elbo(x, { seed: 1 }).elbo;
    // scribbling over b's whole wasm memory changes nothing for a
    new Uint8Array(kb.memory.buffer).fill(0x7f);
    expect(a.elbo(x, { seed: 1 }).elbo).toEqual(before);
    // disposing b leaves a working
    b.dispose();
    expect(a.elbo(x, { seed: 1 }).elbo).toEqual(before);
    a.dispose();
  });

  it("mutating the file's bytes after load changes nothing (the weights were copied)", async () => {
    const bytes = files[1]!.slice();
    const vae = await Vae.load(bytes);
    const x = new Float32Array(6).fill(0.25);
    const before = vae.logLikelihood(x, { seed: 2, k: 4 });
    bytes.fill(0);
    expect(vae.logLikelihood(x, { seed: 2, k: 4 })).toEqual(before);
    vae.dispose();
  });

  it("results are fresh arrays; inputs are never written or kept", async () => {
    const vae = await Vae.load(files[0]!);
    const x = Float32Array.from({ length: 10 }, (_, i) => i / 10);
    const copy = x.slice();
    const r1 = vae.decode(new Float32Array(2)), r2 = vae.decode(new Float32Array(2));
    expect(r1).not.toBe(r2);
    expect(r1.buffer).not.toBe(r2.buffer);
    expect(r1.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    const wasm = (vae as unknown as { k: { memory: WebAssembly.Memory } }).k.memory.buffer;
    expect(r1.buffer).not.toBe(wasm);
    r1.fill(NaN); // writing into a result does not affect later calls
    expect(vae.decode(new Float32Array(2))).toEqual(r2);
    const e1 = vae.elbo(x, { seed: 3 });
    x.fill(0); // nor does changing an input after the call
    expect(e1.elbo).toEqual(vae.elbo(copy, { seed: 3 }).elbo);
    expect(vae.elbo(copy, { seed: 3 }).elbo).toEqual(e1.elbo);
    const input = copy.slice();
    vae.elbo(input, { seed: 3 }); vae.encode(input); vae.reconstruct(input, { seed: 1 });
    expect(input).toEqual(copy);
    vae.dispose();
  });

  it("loads racing with compute on other instances (async interleaving) stay independent", async () => {
    const anchor = await Vae.load(files[2]!);
    const x = new Float32Array(8).fill(0.1);
    const expected = anchor.elbo(x, { seed: 5 }).elbo;
    const loads = Array.from({ length: 20 }, (_, i) => Vae.load(files[i % 3]!).then((v) => {
      expect(anchor.elbo(x, { seed: 5 }).elbo).toEqual(expected);
      v.dispose();
    }));
    for (let i = 0; i < 20; i++) {
      expect(anchor.elbo(x, { seed: 5 }).elbo).toEqual(expected);
      await Promise.resolve();
    }
    await Promise.all(loads);
    anchor.dispose();
  });
});
