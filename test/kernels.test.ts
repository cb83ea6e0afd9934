// Every wasm kernel against the float64 reference, on tile-edge sizes: batch 1, 3, 4, 5, 37
// and widths that are not multiples of 4. Tolerances are stated per kernel (f32 vs f64).
import { describe, expect, it } from "vitest";
import { kernelHarness } from "./helpers/wasm";
import { expectClose, maxRelError } from "./helpers/close";
import { mulberry32, f16BitsToF32 } from "./helpers/safetensors";
import * as ref from "./reference";
import { ACT } from "../sdk/kernels";

const h = kernelHarness();
const BATCHES = [1, 3, 4, 5, 37];
const WIDTHS = [1, 3, 4, 5, 13];

function uniform(n: number, lo: number, hi: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

function normal(n: number, seed: number): Float32Array {
  return ref.normals(seed, 0, n);
}

/** Packs W (n, k) and a padded bias, as sdk/plan.ts does. */
function packedLinear(w: Float32Array, bias: Float32Array | null, n: number, k: number): { wp: number; bp: number } {
  const panels = Math.ceil(n / 8);
  const src = h.put(w);
  const wp = h.zeros(panels * 8 * k);
  h.k.f32_pack_weights_nr8(src, wp, n, k);
  const padded = new Float32Array(panels * 8);
  if (bias) padded.set(bias);
  return { wp, bp: h.put(padded) };
}

describe("f32_gemm_bias_act: y = act(x W^T + b)", () => {
  const cases: [number, number, number][] = [];
  for (const m of BATCHES) for (const k of [1, 3, 5, 13]) for (const n of [1, 3, 4, 5, 8, 13, 37]) cases.push([m, k, n]);
  cases.push([1, 784, 400], [37, 784, 400], [5, 400, 784], [4, 20, 400], [3, 13, 33], [1, 13, 41]);

  it.each(cases)("m=%i k=%i n=%i, every fused activation", (m, k, n) => {
    h.reset();
    const x = uniform(m * k, -1, 1, m * 1000 + k), w = uniform(n * k, -1, 1, n * 7 + k);
    const b = uniform(n, -0.5, 0.5, n);
    const { wp, bp } = packedLinear(w, b, n, k);
    const xp = h.put(x);
    const expected = ref.linear(x, m, k, w, b, n);
    for (const [act, slope, f] of [
      [ACT.identity, 0, (v: number) => v],
      [ACT.relu, 0, ref.relu],
      [ACT.leaky_relu, 0.2, (v: number) => ref.leakyRelu(v, 0.2)],
    ] as const) {
      const y = h.zeros(m * n + 8);
      // a sentinel after the output: the kernel must not write past n columns of the last row
      h.arena.heapF32()[(y >>> 2) + m * n] = 12345;
      h.k.f32_gemm_bias_act(xp, m, k, wp, bp, n, y, act, slope);
      const got = h.get(y, m * n + 1);
      expect(got[m * n]).toBe(12345);
      // f32 dot products of k terms with |terms| <= 1: error ~ k * 2^-24
      expectClose(got.subarray(0, m * n), expected.map(f), { rtol: 1e-5, atol: 2e-7 * k }, `act ${act}`);
    }
  });

  it("a null bias is a zero bias", () => {
    h.reset();
    const m = 5, k = 13, n = 11;
    const x = uniform(m * k, -1, 1, 1), w = uniform(n * k, -1, 1, 2);
    const { wp, bp } = packedLinear(w, null, n, k);
    const y = h.zeros(m * n);
    h.k.f32_gemm_bias_act(h.put(x), m, k, wp, bp, n, y, ACT.identity, 0);
    expectClose(h.get(y, m * n), ref.linear(x, m, k, w, null, n), { rtol: 1e-5, atol: 1e-6 });
  });
});

describe("f32_activation, in place, any length", () => {
  // values that stress each function: zero, tiny, moderate, and far tails
  const special = [0, -0, 1e-7, -1e-7, 1e-3, -1e-3, 0.3, -0.3, 0.62, -0.63, 1, -1, 2.5, -2.5, 5, -5,
    9, -9, 15, -15, 30, -30, 60, -60, 87, -87, 100, -100];
  const values = Float32Array.from([...special, ...uniform(2000, -12, 12, 99)]);
  const cases: [string, number, number, (v: number) => number, number, number][] = [
    // name, code, param, reference, rtol, atol
    ["relu", ACT.relu, 0, ref.relu, 0, 0],
    ["leaky_relu", ACT.leaky_relu, 0.01, (v) => ref.leakyRelu(v, 0.01), 1e-7, 0],
    ["elu", ACT.elu, 0.7, (v) => ref.elu(v, 0.7), 1e-6, 1e-30],
    // gelu: in the far negative tail (x < -4, values < 1e-4) the f32 square in exp(-x^2/2) costs
    // a few 1e-6 relative; the absolute error there stays below 1e-9
    ["gelu", ACT.gelu, 0, ref.gelu, 2e-6, 1e-9],
    ["silu", ACT.silu, 0, ref.silu, 1e-6, 1e-30],
    ["tanh", ACT.tanh, 0, ref.tanh, 1e-6, 0],
    ["sigmoid", ACT.sigmoid, 0, ref.sigmoid, 1e-6, 1e-37],
    ["softplus", ACT.softplus, 0, ref.softplus, 1e-6, 1e-37],
  ];
  it.each(cases)("%s matches float64", (_name, code, param, f, rtol, atol) => {
    h.reset();
    const p = h.put(values);
    h.k.f32_activation(code, p, values.length, param);
    const expected = Array.from(values, f);
    expectClose(h.get(p, values.length), expected, { rtol, atol });
  });
  it.each(WIDTHS)("tails: n=%i touches exactly n values", (n) => {
    h.reset();
    const p = h.put([...uniform(n, -3, 3, n), 777, 777, 777, 777]);
    h.k.f32_activation(ACT.softplus, p, n, 0);
    const got = h.get(p, n + 4);
    expect(Array.from(got.subarray(n))).toEqual([777, 777, 777, 777]);
    expectClose(got.subarray(0, n), Array.from(h.get(p, n), (v) => v), { rtol: 0, atol: 0 });
  });
  it("exp: about 1 ulp over the f32 range", () => {
    h.reset();
    const xs = Float32Array.from([...uniform(4001, -87, 88, 5), 0, 1, -1]);
    const p = h.put(xs);
    h.k.f32_exp(p, xs.length);
    expect(maxRelError(h.get(p, xs.length), Array.from(xs, Math.exp))).toBeLessThan(2.5e-7);
  });
});

describe("likelihoods: log p(x|z) per (item, sample) row", () => {
  const sizes: [number, number, number][] = [];
  for (const items of [1, 3, 37]) for (const S of [1, 3]) for (const D of [1, 3, 5, 13, 784]) sizes.push([items, S, D]);

  it.each(sizes)("items=%i samples=%i D=%i", (items, S, D) => {
    h.reset();
    const rows = items * S;
    const xUnit = uniform(items * D, 0, 1, D + items);
    const xReal = uniform(items * D, -2, 2, D + items + 1);
    const logits = uniform(rows * D, -8, 8, rows + D);
    const learned = uniform(rows * 2 * D, -3, 2, rows * 3 + D);
    const out = h.zeros(rows);
    const tol = { rtol: 2e-6, atol: 2e-6 * D };

    h.k.f32_bernoulli_logprob(h.put(xUnit), h.put(logits), items, S, D, out);
    expectClose(h.get(out, rows), ref.logLikelihood({ type: "bernoulli" }, xUnit, logits, rows, D, S), tol, "bernoulli");

    const means = logits.map((v) => v / 4);
    h.k.f32_gaussian_logprob(h.put(xReal), h.put(means), items, S, D, 0.3, out);
    expectClose(h.get(out, rows), ref.logLikelihood({ type: "gaussian", sigma: 0.3 }, xReal, means, rows, D, S), tol, "gaussian");

    h.k.f32_gaussian_learned_logprob(h.put(xReal), h.put(learned), items, S, D, out);
    expectClose(h.get(out, rows), ref.logLikelihood({ type: "gaussian_learned" }, xReal, learned, rows, D, S), { rtol: 2e-6, atol: 1e-5 * D }, "gaussian_learned");
  });
});

describe("gaussian kernels", () => {
  it.each(BATCHES.flatMap((b) => [1, 3, 5, 13, 32].map((j) => [b, j] as [number, number])))("items=%i J=%i: KL, reparameterise, log weights", (items, J) => {
    for (const S of [1, 3]) {
      h.reset();
      const hv = uniform(items * 2 * J, -2, 1.5, items * 31 + J);
      const mean = new Float32Array(items * J), logvar = new Float32Array(items * J);
      for (let b = 0; b < items; b++) {
        mean.set(hv.subarray(b * 2 * J, b * 2 * J + J), b * J);
        logvar.set(hv.subarray(b * 2 * J + J, (b + 1) * 2 * J), b * J);
      }
      const hp = h.put(hv);
      const kl = h.zeros(items);
      h.k.f32_kl_std_normal(hp, items, J, kl);
      expectClose(h.get(kl, items), ref.kl(mean, logvar, items, J), { rtol: 2e-6, atol: 1e-6 * J }, "kl");

      const rows = items * S;
      const eps = normal(rows * J, items + J);
      const ep = h.put(eps), zp = h.zeros(rows * J);
      h.k.f32_reparameterise(hp, items, S, J, ep, zp);
      const z = h.get(zp, rows * J);
      expectClose(z, ref.reparameterise(mean, logvar, eps, items, S, J), { rtol: 2e-6, atol: 1e-6 }, "z");

      const base = uniform(rows, -50, -10, 3);
      const w = h.put(base);
      h.k.f32_add_log_prior_minus_log_q(hp, items, S, J, zp, ep, w);
      const prior = ref.logStdNormal(z, rows, J), q = ref.logDiagNormal(z, mean, logvar, rows, J, S);
      expectClose(h.get(w, rows), Array.from(base, (v, r) => v + prior[r]! - q[r]!), { rtol: 2e-6, atol: 2e-5 * J }, "log weights");
    }
  });

  it("streaming log-sum-exp over blocks equals one pass, and handles -Infinity and huge spreads", () => {
    h.reset();
    const items = 5, K = 37;
    const w = uniform(items * K, -900, -100, 8);
    w[3] = -Infinity;
    const max = h.f64(items, -Infinity), sum = h.f64(items, 0), out = h.zeros(items);
    // blocks of 1 item x K samples, fed in three uneven pieces for item 0, then the rest whole
    for (let b = 0; b < items; b++) {
      const row = w.subarray(b * K, (b + 1) * K);
      for (const [from, to] of [[0, 4], [4, 5], [5, K]]) {
        h.k.f64_logsumexp_update(h.put(row.subarray(from, to)), 1, to - from, max + 8 * b, sum + 8 * b);
      }
    }
    h.k.f64_logsumexp_finish(max, sum, items, K, out);
    const expected = Array.from({ length: items }, (_, b) => ref.logSumExp(w.subarray(b * K, (b + 1) * K)) - Math.log(K));
    expectClose(h.get(out, items), expected, { rtol: 1e-6, atol: 0 });
    // an item whose weights are all -Infinity has log-mean-exp -Infinity
    const m1 = h.f64(1, -Infinity), s1 = h.f64(1, 0), o1 = h.zeros(1);
    h.k.f64_logsumexp_update(h.put([-Infinity, -Infinity]), 1, 2, m1, s1);
    h.k.f64_logsumexp_finish(m1, s1, 1, 2, o1);
    expect(h.get(o1, 1)[0]).toBe(-Infinity);
  });

  it("sums over samples and the ELBO's parts", () => {
    h.reset();
    const items = 37, S = 3;
    const ll = uniform(items * S, -100, -1, 4), klv = uniform(items, 0, 10, 5);
    const acc = h.f64(items, 0);
    h.k.f64_sum_samples(h.put(ll), items, S, acc);
    const recon = h.zeros(items), elbo = h.zeros(items);
    h.k.f32_elbo_finish(acc, items, S, h.put(klv), 0.5, recon, elbo);
    const r = Array.from({ length: items }, (_, b) => (ll[b * S]! + ll[b * S + 1]! + ll[b * S + 2]!) / S);
    expectClose(h.get(recon, items), r, { rtol: 1e-7, atol: 0 });
    expectClose(h.get(elbo, items), r.map((v, b) => v - 0.5 * klv[b]!), { rtol: 1e-7, atol: 1e-6 });
  });

  it("lerp rows and split halves", () => {
    h.reset();
    const J = 5;
    const a = uniform(J, -1, 1, 1), b = uniform(J, -1, 1, 2);
    const z = h.zeros(3 * J);
    h.k.f32_lerp_rows(h.put(a), h.put(b), J, 2, 3, 5, z); // points 2, 3, 4 of 5
    const expected: number[] = [];
    for (const t of [2, 3, 4]) for (let j = 0; j < J; j++) expected.push(a[j]! + (b[j]! - a[j]!) * (t / 4));
    expectClose(h.get(z, 3 * J), expected, { rtol: 1e-6, atol: 1e-7 });
    const src = h.put([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), first = h.zeros(6), second = h.zeros(6);
    h.k.f32_split_halves(src, 2, 3, first, second);
    expect(Array.from(h.get(first, 6))).toEqual([1, 2, 3, 7, 8, 9]);
    expect(Array.from(h.get(second, 6))).toEqual([4, 5, 6, 10, 11, 12]);
  });
});

describe("rng: Philox4x32-10 + Box-Muller", () => {
  it("passes the Random123 known-answer tests", () => {
    h.reset();
    const out = h.zeros(4);
    const kat: [number[], number[], number[]][] = [
      [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
      [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
      [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
    ];
    for (const [c, key, want] of kat) {
      h.k.philox4x32_10(c[0]!, c[1]!, c[2]!, c[3]!, key[0]!, key[1]!, out);
      expect(Array.from(new Uint32Array(h.k.memory.buffer, out, 4))).toEqual(want);
    }
  });

  it.each([
    [0, 0, 1], [0, 0, 1000], [1, 3, 37], [7, 5, 13], [2 ** 32 + 5, 2, 9], [2 ** 53 - 1, 2 ** 34 + 1, 11],
  ])("seed %d, from %d, %d numbers: bit-identical to the reference", (seed, start, count) => {
    h.reset();
    const dst = h.zeros(count), scratch = h.zeros(4);
    h.k.rng_normal_fill(dst, count, seed % 2 ** 32, Math.floor(seed / 2 ** 32), start, scratch);
    expect(Array.from(h.get(dst, count))).toEqual(Array.from(ref.normals(seed, start, count)));
  });
});

describe("weight conversion", () => {
  it("f16_to_f32 is exact for all 65536 half-precision values", () => {
    h.reset();
    const bits = new Uint16Array(65536).map((_, i) => i);
    const src = h.arena.alloc(bits.byteLength);
    new Uint16Array(h.k.memory.buffer, src, 65536).set(bits);
    const dst = h.zeros(65536);
    h.k.f16_to_f32(src, dst, 65536);
    const got = h.get(dst, 65536);
    for (let i = 0; i < 65536; i++) {
      const want = f16BitsToF32(i);
      if (Number.isNaN(want)) expect(Number.isNaN(got[i]!)).toBe(true);
      else if (got[i] !== want || Object.is(got[i], -0) !== Object.is(want, -0)) expect.fail(`f16 0x${i.toString(16)}: ${got[i]} != ${want}`);
    }
  });
  it("counts NaN and infinities", () => {
    h.reset();
    expect(h.k.f32_count_nonfinite(h.put([0, NaN, 1, Infinity, -Infinity, 3.4e38, -0]), 7)).toBe(3);
    expect(h.k.f32_count_nan(h.put([0, NaN, 1, Infinity, -Infinity, 3.4e38, -0, NaN, 2]), 9)).toBe(2);
    expect(h.k.f32_count_nan(h.put([NaN]), 1)).toBe(1); // the scalar tail alone
  });
});
