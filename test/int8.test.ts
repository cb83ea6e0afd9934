// Int8 and BF16 weights (FORMAT.md "Weights: int8 and BF16"): the int8 kernels against float64
// on tile edges, every version 2 layer type with I8 and BF16 tensors through the whole Vae API
// against the float64 reference on the dequantised weights, results that do not depend on the
// batch, the loader's refusals, and quantize().
import { describe, expect, it } from "vitest";
import { FormatError, Vae, parseModel } from "../sdk/index";
import { ACT } from "../sdk/kernels";
import { elboChange, quantize } from "../sdk/train/index";
import { expectClose } from "./helpers/close";
import { mulberry32, mutableHeader, writeSafetensors } from "./helpers/safetensors";
import { buildV2, V2_CHECKS, type V2Spec } from "./helpers/v2";
import { V2_SPECS } from "./helpers/v2-models";
import { kernelHarness } from "./helpers/wasm";
import { ReferenceVae, normals } from "./reference";
import * as ref from "./reference";
import { readFileSync } from "node:fs";

const h = kernelHarness();
const NR = 8; // the int8 GEMM's panel width (assembly/int8.ts)

function uniform(n: number, lo: number, hi: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}
function int8s(n: number, seed: number): Int8Array {
  const r = mulberry32(seed);
  return Int8Array.from({ length: n }, () => Math.floor(r() * 256) - 128);
}
/** Copies bytes into fresh arena memory. */
function putBytes(bytes: Uint8Array): number {
  const p = h.arena.alloc(Math.max(bytes.length, 16));
  h.arena.heapU8().set(bytes, p);
  return p;
}

describe("i8_pack_weights_nr8: q (N, K) -> panels (ceil(N/8), K, 8)", () => {
  // the pack moves blocks of 8 rows x 8 inputs with shuffles: sizes around both 8s
  it.each([[1, 1], [7, 9], [8, 8], [9, 16], [16, 17], [33, 7], [40, 31]])("N=%i K=%i", (n, k) => {
    h.reset();
    const q = int8s(n * k, n * 100 + k);
    const panels = Math.ceil(n / NR);
    const dst = h.arena.alloc(panels * k * NR);
    h.arena.heapU8().fill(0xaa, dst, dst + panels * k * NR);
    h.k.i8_pack_weights_nr8(putBytes(new Uint8Array(q.buffer)), dst, n, k);
    const got = new Int8Array(h.arena.memory.buffer, dst, panels * k * NR);
    for (let p = 0; p < panels; p++) {
      for (let kk = 0; kk < k; kk++) {
        for (let c = 0; c < NR; c++) {
          const row = p * NR + c;
          expect(got[(p * k + kk) * NR + c]).toBe(row < n ? q[row * k + kk] : 0);
        }
      }
    }
  });
});

describe("i8_gemm_bias_act: y = act((x q^T) * scale + bias)", () => {
  // rows: the register GEMV below 4, the widened-panel 4x8 kernel from 4, its 1-row tail;
  // columns: 4-panel blocks of 32 and single panels of 8 in the GEMV, partial panels;
  // inputs: the widening's 2-input steps and its 1-input tail
  const cases: [number, number, number][] = [];
  for (const m of [1, 2, 3, 4, 5, 7, 37]) for (const k of [1, 2, 3, 17]) for (const n of [1, 7, 8, 9, 31, 32, 33, 40]) cases.push([m, k, n]);
  cases.push([1, 784, 512], [37, 784, 512], [6, 300, 65]);

  it.each(cases)("m=%i k=%i n=%i, every fused activation, the same bits for a row in every batch", (m, k, n) => {
    h.reset();
    const x = uniform(m * k, -1, 1, m * 1000 + k), q = int8s(n * k, n * 7 + k);
    const scale = uniform(n, 0, 0.02, n + 1);
    if (n > 2) scale[2] = 0; // a zero scale is valid
    const bias = uniform(n, -0.5, 0.5, n);
    const panels = Math.ceil(n / NR);
    const packed = h.arena.alloc(panels * k * NR);
    h.k.i8_pack_weights_nr8(putBytes(new Uint8Array(q.buffer)), packed, n, k);
    const pad = (v: Float32Array) => { const o = new Float32Array(panels * NR); o.set(v); return h.put(o); };
    const sp = pad(scale), bp = pad(bias), xp = h.put(x), buf = h.zeros(k * NR);
    const w = Float64Array.from(q, (v, i) => v * scale[Math.floor(i / k)]!);
    const expected = ref.linear(x, m, k, w, bias, n);
    for (const [act, slope, f] of [
      [ACT.identity, 0, (v: number) => v],
      [ACT.relu, 0, ref.relu],
      [ACT.leaky_relu, 0.2, (v: number) => ref.leakyRelu(v, 0.2)],
    ] as const) {
      const y = h.zeros(m * n + 8);
      h.arena.heapF32()[(y >>> 2) + m * n] = 12345; // nothing is written past the last row
      h.k.i8_gemm_bias_act(xp, m, k, packed, sp, bp, n, y, act, slope, buf);
      const got = h.get(y, m * n + 1);
      expect(got[m * n]).toBe(12345);
      // |x| <= 1, |w| <= 2.56: f32 sums of k terms, error ~ k * 2.56 * 2^-24
      expectClose(got.subarray(0, m * n), expected.map(f), { rtol: 1e-5, atol: 4e-7 * k }, `act ${act}`);
      // each row alone (the GEMV path) gives the same bits as inside the batch
      for (const r of [0, m - 1]) {
        const one = h.zeros(n);
        h.k.i8_gemm_bias_act(xp + r * k * 4, 1, k, packed, sp, bp, n, one, act, slope, buf);
        expect(h.get(one, n)).toEqual(got.subarray(r * n, r * n + n));
      }
    }
  });
});

describe("i8_dequantize and the load-time conversions", () => {
  it("dequantises per column and per group", () => {
    h.reset();
    const groups = 3, rows = 5, width = 8;
    const q = int8s(groups * rows * width, 4);
    const cols = uniform(groups * width, 0, 1, 5), per = uniform(groups, 0, 1, 6);
    const src = putBytes(new Uint8Array(q.buffer)), dst = h.zeros(q.length);
    h.k.i8_dequantize(src, h.put(cols), dst, groups, rows, width, 0);
    expect(h.get(dst, q.length)).toEqual(Float32Array.from(q, (v, i) => v * cols[Math.floor(i / (rows * width)) * width + (i % width)]!));
    h.k.i8_dequantize(src, h.put(per), dst, groups, rows, width, 1);
    expect(h.get(dst, q.length)).toEqual(Float32Array.from(q, (v, i) => v * per[Math.floor(i / (rows * width))]!));
  });

  it("widens every int8 and every bfloat16 exactly", () => {
    h.reset();
    const all = Int8Array.from({ length: 256 }, (_, i) => i - 128);
    const dst = h.zeros(256);
    h.k.i8_to_f32(putBytes(new Uint8Array(all.buffer)), dst, 256);
    expect(Array.from(h.get(dst, 256))).toEqual(Array.from(all));
    const back = h.arena.alloc(256);
    h.k.f32_to_i8(dst, back, 256);
    expect(new Int8Array(h.arena.memory.buffer, back, 256)).toEqual(all);
    const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const out = h.zeros(65536);
    h.k.bf16_to_f32(putBytes(new Uint8Array(bits.buffer)), out, 65536);
    const got = new Uint32Array(h.arena.memory.buffer, out, 65536);
    for (let i = 0; i < 65536; i++) if (got[i] !== i << 16 >>> 0) throw new Error(`bf16 ${i}: got ${got[i]}`);
  });
});

// Every version 2 layer type, with the weights as I8 (+ scales) and as BF16; plus an MLP whose
// widths straddle the int8 GEMM's tiles and whose batch_norm folds into the int8 scales.
const SPECS: Record<string, V2Spec> = {
  ...V2_SPECS,
  mlp_tiles: {
    inputShape: [19], latentDim: 3,
    encoder: [{ type: "linear", out: 33 }, { type: "relu" }, { type: "linear", out: 40 }, { type: "batch_norm" }, { type: "leaky_relu", negative_slope: 0.1 }, { type: "linear", out: 6 }],
    decoder: [{ type: "linear", out: 9 }, { type: "tanh" }, { type: "linear", out: 65, bias: false }, { type: "relu" }, { type: "linear", out: 19 }],
    likelihood: { type: "bernoulli" }, seed: 31,
  },
};
const { VALUES, perItem, inputs } = V2_CHECKS;

describe.each(Object.entries(SPECS).flatMap(([name, spec]) => (["I8", "BF16"] as const).map((dtype) => [`${name} ${dtype}`, { ...spec, dtype }] as const)))("%s", (_name, spec) => {
  const built = buildV2(spec);
  const ref = ReferenceVae.fromFile(built.bytes);
  const D = ref.D, J = ref.J;

  it.each([[1, 256], [3, 256], [37, 256], [37, 4]])("batch %i, maxBatchRows %i: encode, decode, ELBO, log p(x) match float64 on the dequantised weights", async (batch, rows) => {
    const vae = await Vae.load(built.bytes, { maxBatchRows: rows, simd: "baseline" });
    expect(vae.info.dtype).toBe(spec.dtype);
    const x = inputs(spec, batch, 100 + batch);
    const want = ref.encode(x, batch);
    const got = vae.encode(x);
    expectClose(got.mean, want.mean, VALUES, "mean");
    expectClose(got.logvar, want.logvar, VALUES, "logvar");
    const z = normals(7, 0, batch * J);
    expectClose(vae.decodeParams(z), ref.decodeParams(z, batch), VALUES, "decodeParams");
    const S = 2, eps = normals(8, 0, batch * S * J);
    const e = vae.elbo(x, { samples: S, eps });
    const r = ref.elbo(x, batch, eps, S);
    expectClose(e.elbo, r.elbo, perItem(D), "elbo");
    const K = 3, epsK = normals(9, 0, batch * K * J);
    expectClose(vae.logLikelihood(x, { k: K, eps: epsK }), ref.logLikelihood(x, batch, epsK, K), perItem(D), "logLikelihood");
    vae.dispose();
  });

  it("gives every item the same bits alone, in a batch of 37, and chunked by 4", async () => {
    const big = await Vae.load(built.bytes, { simd: "baseline" });
    const small = await Vae.load(built.bytes, { maxBatchRows: 4, simd: "baseline" });
    const x = inputs(spec, 37, 5);
    const all = big.elbo(x, { seed: 3, samples: 2 }).elbo;
    expect(small.elbo(x, { seed: 3, samples: 2 }).elbo).toEqual(all);
    const eps = normals(4, 0, 37 * 2 * J), withEps = big.elbo(x, { eps, samples: 2 }).elbo;
    for (const i of [0, 17, 36]) {
      expect(big.elbo(x.subarray(i * D, (i + 1) * D), { eps: eps.subarray(i * 2 * J, (i + 1) * 2 * J), samples: 2 }).elbo[0]).toBe(withEps[i]);
      expect(big.encode(x.subarray(i * D, (i + 1) * D)).mean).toEqual(big.encode(x).mean.subarray(i * J, (i + 1) * J));
    }
    big.dispose(); small.dispose();
  });
});

it("a BF16 file computes exactly what the F32 file with the same values computes", async () => {
  const bf = buildV2({ ...SPECS.conv_image_bernoulli!, dtype: "BF16" });
  const parsed = parseModel(bf.bytes);
  const f32 = writeSafetensors(Object.fromEntries([...parsed.tensors.values()].map((t) => [t.name, { dtype: "F32", shape: [...t.shape], data: bf.tensors[t.name]! }])),
    { edgevae: JSON.stringify(bf.arch) });
  const [a, b] = await Promise.all([Vae.load(bf.bytes, { simd: "baseline" }), Vae.load(f32, { simd: "baseline" })]);
  const x = inputs(SPECS.conv_image_bernoulli!, 5, 1);
  expect(a.elbo(x, { seed: 1 }).elbo).toEqual(b.elbo(x, { seed: 1 }).elbo);
  expect(a.info.modelBytes).toBe(b.info.modelBytes);
  a.dispose(); b.dispose();
});

it("keeps int8 weights at a quarter of the f32 model's memory", async () => {
  const spec: V2Spec = {
    ...SPECS.mlp_tiles!, inputShape: [784],
    encoder: [{ type: "linear", out: 512 }, { type: "relu" }, { type: "linear", out: 6 }],
    decoder: [{ type: "linear", out: 512 }, { type: "relu" }, { type: "linear", out: 784 }],
  };
  const [a, b] = await Promise.all([Vae.load(buildV2({ ...spec, dtype: "I8" }).bytes), Vae.load(buildV2(spec).bytes)]);
  // the 784x512 weight dominates: int8 bytes + f32 scales and biases
  expect(a.info.modelBytes).toBeLessThan(b.info.modelBytes * 0.3);
  a.dispose(); b.dispose();
});

describe("int8 and BF16 files the loader refuses", () => {
  const base = () => buildV2({ ...SPECS.mlp_tiles!, dtype: "I8" });
  async function code(bytes: Uint8Array): Promise<string> {
    try { (await Vae.load(bytes)).dispose(); return "loaded"; } catch (err) { expect(err).toBeInstanceOf(FormatError); return (err as FormatError).code; }
  }
  const withArch = (edit: (arch: { encoder: Record<string, unknown>[]; version: number }) => void, bytes = base().bytes) => {
    const m = mutableHeader(bytes);
    const arch = JSON.parse(m.header.__metadata__.edgevae);
    edit(arch);
    m.header.__metadata__.edgevae = JSON.stringify(arch);
    return m.rebuild(m.header);
  };

  it("an I8 weight without its weight_scale", async () => {
    expect(await code(withArch((a) => { delete a.encoder[0]!.weight_scale; }))).toBe("E_ARCHITECTURE");
  });
  it("a weight_scale beside a float weight", async () => {
    const f = buildV2(SPECS.mlp_tiles!);
    const bytes = withArch((a) => { a.encoder[0]!.weight_scale = "encoder.0.bias"; }, f.bytes);
    expect(await code(bytes)).toBe("E_ARCHITECTURE");
  });
  it("a scale of the wrong shape", async () => {
    expect(await code(withArch((a) => { a.encoder[0]!.weight_scale = "encoder.2.weight_scale"; }))).toBe("E_TENSOR_SHAPE");
  });
  it("a negative, a NaN and an infinite scale", async () => {
    for (const [value, want] of [[-0.5, "E_TENSOR_VALUE"], [NaN, "E_NONFINITE_WEIGHTS"], [Infinity, "E_NONFINITE_WEIGHTS"]] as const) {
      const b = base();
      const t = parseModel(b.bytes).tensors.get("encoder.0.weight_scale")!;
      const bytes = b.bytes.slice();
      new DataView(bytes.buffer).setFloat32(t.begin + 4 * 3, value, true);
      expect(await code(bytes)).toBe(want);
    }
  });
  it("an I8 bias, and an I8 scale", async () => {
    for (const name of ["encoder.0.bias", "encoder.0.weight_scale"]) { // F32 [33] read as I8 [132]: the same bytes
      const m = mutableHeader(base().bytes);
      m.header[name] = { ...m.header[name], dtype: "I8", shape: [132] };
      expect(await code(m.rebuild(m.header))).toBe("E_DTYPE");
    }
  });
  it("I8 and BF16 in a version 1 file", async () => {
    expect(await code(withArch((a) => { a.version = 1; }))).toBe("E_DTYPE");
    const bf = buildV2({ ...SPECS.mlp_tiles!, dtype: "BF16" });
    expect(await code(withArch((a) => { a.version = 1; }, bf.bytes))).toBe("E_DTYPE");
  });
});

describe("quantize(): int8 files from float ones", () => {
  const mnist = new Uint8Array(readFileSync(new URL("../models/mnist.safetensors", import.meta.url)));

  it("quantises every linear layer of a version 1 file into a version 2 file that reads back, symmetric, per channel", async () => {
    const r = quantize(mnist);
    expect(r.bytesAfter).toBeLessThan(r.bytesBefore / 3.5);
    expect(r.layers.every((l) => l.result === "int8")).toBe(true);
    for (const l of r.layers) expect(l.relativeRmsError).toBeLessThan(0.02);
    const parsed = parseModel(r.bytes);
    expect(parsed.architecture.version).toBe(2);
    for (const t of parsed.tensors.values()) {
      if (t.dtype !== "I8") continue;
      const q = new Int8Array(r.bytes.buffer, r.bytes.byteOffset + t.begin, t.end - t.begin);
      expect(q.every((v) => v >= -127 && v <= 127)).toBe(true);
    }
    // the int8 model computes what the float64 reference computes on its dequantised weights
    const vae = await Vae.load(r.bytes, { simd: "baseline" });
    const refQ = ReferenceVae.fromFile(r.bytes);
    const x = uniform(3 * 784, 0, 1, 2);
    expectClose(vae.encode(x).mean, refQ.encode(x, 3).mean, VALUES, "mean");
    vae.dispose();
  });

  it("keeps chosen layers in float, and changes held-out ELBOs little", async () => {
    const r = quantize(mnist, { keep: ["decoder[4]"] });
    expect(r.layers.find((l) => l.at === "decoder[4]")!.result).toBe("kept");
    expect(parseModel(r.bytes).tensors.get(r.layers.find((l) => l.at === "decoder[4]")!.weight)!.dtype).toBe("F32");
    const test16 = JSON.parse(readFileSync(new URL("../models/fashion-test16.json", import.meta.url), "utf8")) as { x: number[][] };
    const x = Float32Array.from(test16.x.flat());
    const change = await elboChange(mnist, r.bytes, x, { seed: 1 });
    expect(change.items).toBe(16);
    expect(Number.isFinite(change.meanChange)).toBe(true);
    expect(change.maxAbsChange).toBeLessThan(0.05 * Math.abs(change.meanElboBefore));
  });

  it("refuses a keep that names nothing, and leaves an int8 file as it is", () => {
    expect(() => quantize(mnist, { keep: ["decoder[99]"] })).toThrow(/keep/);
    const once = quantize(mnist).bytes;
    const twice = quantize(once);
    expect(twice.layers.every((l) => l.result === "int8 already")).toBe(true);
  });
});

describe("opt-in int16 activations (LoadOptions.int16Activations)", () => {
  it.each([[1, 1, 1], [3, 7, 5], [37, 33, 9], [5, 17, 40], [2, 1100, 19], [4, 2049, 3]])("i8_gemm_qx_bias_act m=%i k=%i n=%i: within the input rounding of float64", (m, k, n) => {
    h.reset();
    const x = uniform(m * k, -1, 1, m + k), q = int8s(n * k, n + 3 * k);
    if (m > 1) x.fill(0, k, 2 * k); // an all-zero row: sx = 0
    const scale = uniform(n, 0, 0.02, n + 2), bias = uniform(n, -0.5, 0.5, n + 5);
    const padN = Math.ceil(n / 8) * 8, pairs = Math.ceil(k / 2);
    const packed = h.arena.alloc(Math.ceil(n / 4) * 4 * pairs * 2);
    h.k.i8_pack_weights_pairs4(putBytes(new Uint8Array(q.buffer)), packed, n, k);
    const pad = (v: Float32Array) => { const o = new Float32Array(padN); o.set(v); return h.put(o); };
    const y = h.zeros(m * n + 4);
    h.arena.heapF32()[(y >>> 2) + m * n] = 12345;
    h.k.i8_gemm_qx_bias_act(h.put(x), m, k, packed, pad(scale), pad(bias), n, y, ACT.identity, 0, h.zeros(pairs));
    const got = h.get(y, m * n + 1);
    expect(got[m * n]).toBe(12345);
    const w = Float64Array.from(q, (v, i) => v * scale[Math.floor(i / k)]!);
    const want = ref.linear(x, m, k, w, bias, n);
    // each input moves by at most max|x| / 32766: |error| <= sum_k |w| * max|x| / 32766
    for (let r = 0; r < m; r++) {
      let amax = 0;
      for (let i = 0; i < k; i++) amax = Math.max(amax, Math.abs(x[r * k + i]!));
      for (let o = 0; o < n; o++) {
        let l1 = 0;
        for (let i = 0; i < k; i++) l1 += Math.abs(w[o * k + i]!);
        expect(Math.abs(got[r * n + o]! - want[r * n + o]!)).toBeLessThanOrEqual(l1 * amax / 32766 + 1e-6 * (1 + Math.abs(want[r * n + o]!)));
      }
    }
  });

  it("changes an int8 MLP's ELBO by little, with the same bits for an item in any batch", async () => {
    const built = buildV2({ ...SPECS.mlp_tiles!, dtype: "I8" });
    const [exact, fast, fast4] = await Promise.all([
      Vae.load(built.bytes), Vae.load(built.bytes, { int16Activations: true }), Vae.load(built.bytes, { int16Activations: true, maxBatchRows: 4 })]);
    const x = inputs(SPECS.mlp_tiles!, 37, 9);
    const a = exact.elbo(x, { seed: 1 }).elbo, b = fast.elbo(x, { seed: 1 }).elbo;
    expectClose(b, a, { rtol: 1e-3, atol: 1e-3 }, "elbo");
    expect(fast4.elbo(x, { seed: 1 }).elbo).toEqual(b);
    expect(fast.encode(x.subarray(0, 19)).mean).toEqual(fast.encode(x).mean.subarray(0, 3));
    await expect(Vae.load(built.bytes, { int16Activations: "yes" as never })).rejects.toMatchObject({ code: "E_ARGUMENT" });
    exact.dispose(); fast.dispose(); fast4.dispose();
  });
});
