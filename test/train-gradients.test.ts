// Gradients of the training kernels (assembly/train/*.ts) against central finite differences
// of the float64 reference (test/reference), on awkward sizes: batch 1, 3, 37; widths that
// are not multiples of 4. Then whole models (every activation, every likelihood) through the
// Trainer, against finite differences of ReferenceVae.elbo with the same noise.
import { describe, expect, it } from "vitest";
import { kernelHarness } from "./helpers/wasm";
import { expectClose } from "./helpers/close";
import { mulberry32 } from "./helpers/safetensors";
import * as ref from "./reference";
import type { TrainKernels } from "../sdk/kernels";
import { ACT } from "../sdk/kernels";
import { Trainer, mlpArchitecture, type TrainArchitecture, type TrainLayer } from "../sdk/train/trainer";
import { philox } from "../sdk/train/rng";

const h = kernelHarness();
const k = h.k as TrainKernels;

function randn(rand: () => number, n: number, scale = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - rand(), u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = scale * r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = scale * r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}
const f32 = (a: ArrayLike<number>) => Float32Array.from(a);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };

/** Central differences of f at x (float64), for every index in `which` (default all). */
function fd(f: (x: Float64Array) => number, x: Float64Array, step: number, which?: number[]): Float64Array {
  const g = new Float64Array(x.length);
  for (const i of which ?? [...x.keys()]) {
    const save = x[i]!;
    x[i] = save + step; const up = f(x);
    x[i] = save - step; const down = f(x);
    x[i] = save;
    g[i] = (up - down) / (2 * step);
  }
  return g;
}

describe("linear backward (dX = dY W, dW += dY^T X, db += sum dY)", () => {
  const shapes = [[1, 1, 1], [1, 7, 3], [3, 5, 13], [37, 13, 5], [4, 8, 8], [5, 3, 17], [37, 31, 9], [3, 64, 37]];
  for (const [B, K, N] of shapes) {
    it(`B=${B} K=${K} N=${N}`, () => {
      const rand = mulberry32(B * 1000 + K * 10 + N);
      const x = f32(randn(rand, B * K)), w = f32(randn(rand, N * K, 0.5)), b = f32(randn(rand, N)), G = f32(randn(rand, B * N));
      const loss = (xx: ArrayLike<number>, ww: ArrayLike<number>, bb: ArrayLike<number>) => dot(G, ref.linear(xx, B, K, ww, bb, N));
      const gx = fd((v) => loss(v, w, b), Float64Array.from(x), 1e-3);
      const gw = fd((v) => loss(x, v, b), Float64Array.from(w), 1e-3);
      const gb = fd((v) => loss(x, w, v), Float64Array.from(b), 1e-3);
      h.reset();
      const pG = h.put(G), pw = h.put(w), px = h.put(x), pdx = h.zeros(B * K);
      const prior = f32(randn(rand, N * K)), priorB = f32(randn(rand, N));
      const pdw = h.put(prior), pdb = h.put(priorB); // accumulates onto what is there
      k.f32_linear_backward_input(pG, B, N, pw, K, pdx);
      k.f32_linear_backward_params(pG, B, N, px, K, pdw, pdb);
      const tol = { rtol: 1e-4, atol: 1e-4 };
      expectClose(h.get(pdx, B * K), gx, tol, "dX");
      expectClose(h.get(pdw, N * K), gw.map((v, i) => v + prior[i]!), tol, "dW");
      expectClose(h.get(pdb, N), gb.map((v, i) => v + priorB[i]!), tol, "db");
    });
  }
});

describe("activation backward", () => {
  const layers: ref.ActivationLayer[] = [
    { type: "relu" }, { type: "leaky_relu", negative_slope: 0.2 }, { type: "elu", alpha: 1.3 }, { type: "gelu" },
    { type: "silu" }, { type: "tanh" }, { type: "sigmoid" }, { type: "softplus" },
  ];
  for (const layer of layers) {
    for (const n of [1, 3, 37]) {
      it(`${layer.type} n=${n}`, () => {
        const rand = mulberry32(n + layer.type.length * 97);
        // keep away from relu's kink: |u| >= 0.05
        const u = f32(randn(rand, n, 2.5).map((v) => (Math.abs(v) < 0.05 ? v + Math.sign(v || 1) * 0.1 : v)));
        const G = f32(randn(rand, n));
        const expected = fd((v) => dot(G, ref.applyActivation(layer, v)), Float64Array.from(u), 1e-5);
        h.reset();
        const pu = h.put(u), pg = h.put(G), pdx = h.zeros(n);
        const code = ACT[layer.type as keyof typeof ACT];
        const param = layer.negative_slope ?? layer.alpha ?? 0;
        k.f32_activation_backward(code, pu, pg, pdx, n, param);
        expectClose(h.get(pdx, n), expected, { rtol: 2e-5, atol: 1e-5 }, layer.type);
        // in place (dx = dy)
        k.f32_activation_backward(code, pu, pg, pg, n, param);
        expectClose(h.get(pg, n), h.get(pdx, n), { rtol: 0, atol: 0 }, `${layer.type} in place`);
      });
    }
  }
});

describe("likelihood backward", () => {
  const liks: ref.Likelihood[] = [{ type: "bernoulli" }, { type: "gaussian", sigma: 0.7 }, { type: "gaussian_learned" }];
  for (const lik of liks) {
    for (const [items, S, D] of [[1, 1, 1], [3, 2, 5], [37, 1, 13], [2, 3, 3]]) {
      it(`${lik.type} items=${items} samples=${S} D=${D}`, () => {
        const rand = mulberry32(items * 31 + S * 7 + D);
        const P = ref.likelihoodParamCount(lik, D);
        const x = f32(lik.type === "bernoulli" ? Array.from({ length: items * D }, () => rand()) : randn(rand, items * D));
        const params = f32(randn(rand, items * S * P, 0.8));
        const scale = -0.37;
        const expected = fd((v) => scale * ref.logLikelihood(lik, x, v, items * S, D, S).reduce((a, b) => a + b, 0),
                            Float64Array.from(params), 1e-4);
        h.reset();
        const px = h.put(x), pp = h.put(params), pd = h.zeros(items * S * P);
        if (lik.type === "bernoulli") k.f32_bernoulli_backward(px, pp, items, S, D, scale, pd);
        else if (lik.type === "gaussian") k.f32_gaussian_backward(px, pp, items, S, D, lik.sigma, scale, pd);
        else k.f32_gaussian_learned_backward(px, pp, items, S, D, scale, pd);
        expectClose(h.get(pd, items * S * P), expected, { rtol: 1e-4, atol: 2e-5 }, lik.type);
      });
    }
  }
});

describe("reparameterisation + KL backward", () => {
  for (const [items, S, J] of [[1, 1, 1], [3, 3, 5], [37, 1, 3], [2, 2, 13]]) {
    it(`items=${items} samples=${S} J=${J}`, () => {
      const rand = mulberry32(items + S * 13 + J * 101);
      const hh = f32(randn(rand, items * 2 * J, 0.7));
      const eps = f32(randn(rand, items * S * J)), G = f32(randn(rand, items * S * J));
      const c = 0.61;
      const loss = (v: Float64Array) => {
        const mean = new Float64Array(items * J), lv = new Float64Array(items * J);
        for (let b = 0; b < items; b++) for (let j = 0; j < J; j++) { mean[b * J + j] = v[b * 2 * J + j]!; lv[b * J + j] = v[b * 2 * J + J + j]!; }
        const z = ref.reparameterise(mean, lv, eps, items, S, J);
        return dot(G, z) + c * ref.kl(mean, lv, items, J).reduce((a, b) => a + b, 0);
      };
      const expected = fd(loss, Float64Array.from(hh), 1e-4);
      h.reset();
      const ph = h.put(hh), pe = h.put(eps), pg = h.put(G), pd = h.zeros(items * 2 * J);
      k.f32_reparameterise_kl_backward(ph, items, S, J, pe, pg, c, pd);
      expectClose(h.get(pd, items * 2 * J), expected, { rtol: 1e-4, atol: 2e-5 }, "dh");
    });
  }
});

describe("Adam", () => {
  it("matches a float64 Adam (PyTorch's formula) over 5 steps, n = 37", () => {
    const n = 37, rand = mulberry32(5);
    const p0 = randn(rand, n), grads = [0, 1, 2, 3, 4].map(() => randn(rand, n));
    const lr = 3e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const p = Float64Array.from(f32(p0)), m = new Float64Array(n), v = new Float64Array(n);
    h.reset();
    const pp = h.put(p0), pg = h.zeros(n), pm = h.zeros(n), pv = h.zeros(n);
    grads.forEach((g, t) => {
      const gf = f32(g);
      h.arena.heapF32().set(gf, pg >>> 2);
      const bc1 = 1 - b1 ** (t + 1), bc2 = 1 - b2 ** (t + 1);
      k.f32_adam_step(pp, pg, pm, pv, n, lr, b1, b2, eps, bc1, bc2);
      for (let i = 0; i < n; i++) {
        m[i] = b1 * m[i]! + (1 - b1) * gf[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * gf[i]! * gf[i]!;
        p[i] = p[i]! - (lr / bc1) * m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + eps);
      }
    });
    expectClose(h.get(pp, n), p, { rtol: 1e-6, atol: 1e-6 }, "params");
    expectClose(h.get(pm, n), m, { rtol: 1e-5, atol: 1e-7 }, "m");
  });
});

describe("Philox in JS (sdk/train/rng.ts) equals the reference", () => {
  it("agrees on a few blocks and keys", () => {
    for (const [c, key] of [[0, [0, 0]], [5, [123, 1]], [2 ** 32 - 1, [0xdeadbeef, 6]], [77777, [2 ** 31, 2 ** 32 - 1]]] as const) {
      expect([...philox(c, 0, 0, 0, key[0], key[1])]).toEqual(ref.philox4x32([c, 0, 0, 0], [key[0], key[1]]));
    }
  });
});

// ---- whole models ----------------------------------------------------------------------------

/** Checks Trainer.computeGradients against finite differences of the float64 ReferenceVae's loss. */
async function checkModel(arch: TrainArchitecture, batch: number, samples: number, seed: number, picks = 24): Promise<void> {
  const trainer = await Trainer.create(arch, { seed, maxBatch: Math.max(batch, 4), samples });
  const D = trainer.inputSize, J = trainer.latentDim;
  const rand = mulberry32(seed);
  const x = f32(arch.likelihood.type === "bernoulli" ? Array.from({ length: batch * D }, () => rand()) : randn(rand, batch * D));
  const eps = f32(randn(rand, batch * samples * J));
  // perturb the init so biases are not all 0 (their gradients get tested too)
  const params = trainer.getParameters();
  for (const [name, v] of params) if (name.endsWith("bias")) params.set(name, f32(randn(rand, v.length, 0.3)));
  trainer.setParameters(params);
  const beta = 0.8;
  const result = trainer.computeGradients(x, 0, batch, { beta, eps });
  const grads = trainer.getGradients();
  const archJson = trainer.architectureJson() as unknown as ref.VaeArch;
  const tensors: Record<string, Float64Array> = {};
  for (const [name, v] of params) tensors[name] = Float64Array.from(v);
  const lossOf = () => {
    const vae = new ref.ReferenceVae(archJson, tensors);
    const parts = vae.elbo(x, batch, eps, samples, beta);
    return -parts.elbo.reduce((a, b) => a + b, 0) / batch;
  };
  expect(result.loss).toBeCloseTo(lossOf(), 3);
  for (const [name, g] of grads) {
    const t = tensors[name]!;
    const which = Array.from({ length: Math.min(picks, t.length) }, () => Math.floor(rand() * t.length));
    const expected = fd(() => lossOf(), t, 1e-4, which);
    const got = which.map((i) => g[i]!), want = which.map((i) => expected[i]!);
    const scale = Math.max(1e-3, ...want.map(Math.abs));
    expectClose(got, want, { rtol: 2e-3, atol: 2e-4 * scale }, `${name}`);
  }
}

describe("whole-model gradients vs float64 finite differences", () => {
  const acts: TrainLayer[] = [
    { type: "relu" }, { type: "leaky_relu", negative_slope: 0.1 }, { type: "elu", alpha: 0.9 }, { type: "gelu" },
    { type: "silu" }, { type: "tanh" }, { type: "sigmoid" }, { type: "softplus" },
  ];
  it("every activation (in one encoder/decoder), gaussian_learned, batch 3, 2 samples", async () => {
    const arch: TrainArchitecture = {
      inputShape: [3], latentDim: 2, likelihood: { type: "gaussian_learned" },
      encoder: [{ type: "linear", out: 5 }, acts[0]!, { type: "linear", out: 7 }, acts[1]!, { type: "linear", out: 6 }, acts[2]!,
                { type: "linear", out: 5 }, acts[3]!, { type: "linear", out: 4 }],
      decoder: [{ type: "linear", out: 5 }, acts[4]!, { type: "linear", out: 9 }, acts[5]!, { type: "linear", out: 3, bias: false },
                acts[6]!, { type: "linear", out: 5 }, acts[7]!, { type: "linear", out: 6 }],
    };
    await checkModel(arch, 3, 2, 11);
  });
  it("bernoulli, batch 37, widths 13-9-3", async () => {
    await checkModel(mlpArchitecture({ inputSize: 13, hidden: [9], latentDim: 3, activation: "tanh", likelihood: { type: "bernoulli" } }), 37, 1, 12);
  });
  it("gaussian fixed sigma, batch 1, width 5, latent 1", async () => {
    await checkModel(mlpArchitecture({ inputSize: 5, hidden: [6, 5], latentDim: 1, activation: "softplus", likelihood: { type: "gaussian", sigma: 0.5 } }), 1, 1, 13);
  });
  it("gaussian_learned, batch 37, relu 2-13-2", async () => {
    await checkModel(mlpArchitecture({ inputSize: 2, hidden: [13], latentDim: 2, activation: "relu", likelihood: { type: "gaussian_learned" } }), 37, 1, 14);
  });
});
