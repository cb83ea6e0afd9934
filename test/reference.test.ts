// Tests of the float64 reference implementation and of the test-only safetensors
// writer: the oracles must be right before anything is compared against them.

import { describe, expect, it } from "vitest";
import {
  ReferenceVae,
  applyActivation,
  elu,
  erf,
  erfc,
  gelu,
  kl,
  leakyRelu,
  linear,
  logDiagNormal,
  logLikelihood,
  logStdNormal,
  logSumExp,
  normals,
  philox4x32,
  relu,
  reparameterise,
  sigmoid,
  silu,
  softplus,
  tanh,
  type VaeArch,
} from "./reference";
import { buildModel, f16BitsToF32, f32ToF16Bits, mutableHeader, writeSafetensors } from "./helpers/safetensors";

/** |actual - expected| <= rel * |expected| (exact match required for expected = 0). */
function expectRel(actual: number, expected: number, rel: number): void {
  const err = Math.abs(actual - expected);
  if (!(err <= rel * Math.abs(expected))) {
    throw new Error(`expected ${actual} to be within relative ${rel} of ${expected} (error ${err})`);
  }
}

const LOG_2PI = Math.log(2 * Math.PI);

describe("erf / erfc (Cody)", () => {
  // Reference values from mpmath at 40 digits.
  const cases: [number, number, number][] = [
    // x, erf(x), erfc(x)
    [0.5, 0.5204998778130465, 0.4795001221869535],
    [1, 0.8427007929497149, 0.15729920705028513],
    [-0.3, -0.32862675945912743, 1.3286267594591274],
    [0.46875, 0.49261347321793799, 0.50738652678206201],
    [2, 0.99532226501895273, 0.0046777349810472658],
    [3, 0.99997790950300141, 2.209049699858544e-5],
    [4, 0.9999999845827421, 1.541725790028002e-8],
    [5, 0.99999999999846254, 1.5374597944280349e-12],
    [6, 0.99999999999999998, 2.1519736712498913e-17],
    [10, 1, 2.088487583762545e-45],
    [26, 1, 5.663192408856143e-296],
  ];
  it.each(cases)("x = %s", (x, erfX, erfcX) => {
    expectRel(erf(x), erfX, 2e-15);
    expectRel(erfc(x), erfcX, 1e-14);
    expectRel(erf(-x), -erfX, 2e-15);
    expectRel(erfc(-x), 2 - erfcX, 2e-15);
  });
  it("handles the edges", () => {
    expect(erf(0)).toBe(0);
    expect(erfc(0)).toBe(1);
    expect(erf(1e-300)).toBeCloseTo((2 / Math.sqrt(Math.PI)) * 1e-300, 310);
    expect(erf(Infinity)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erfc(Infinity)).toBe(0);
    expect(erfc(-Infinity)).toBe(2);
    expect(erfc(30)).toBe(0);
    expect(erf(NaN)).toBeNaN();
    expect(erfc(NaN)).toBeNaN();
  });
});

describe("activations", () => {
  it("gelu is exact and accurate in the negative tail", () => {
    expectRel(gelu(1), 0.8413447460685429, 1e-15);
    // x * Phi(x) at -3 (mpmath): -0.0040496940948902836.
    expectRel(gelu(-3), -0.0040496940948902836, 1e-14);
    expectRel(gelu(-10), -7.619853024160526e-23, 1e-13);
    expect(gelu(0)).toBe(0);
    expect(gelu(40)).toBe(40);
  });
  it("softplus and sigmoid are stable for large |x|", () => {
    expectRel(softplus(-30), 9.357622968839737e-14, 1e-14);
    expectRel(softplus(30), 30.000000000000094, 1e-15);
    expect(softplus(1000)).toBe(1000);
    expect(softplus(-1000)).toBe(0);
    expectRel(softplus(0), Math.LN2, 1e-16);
    expectRel(sigmoid(-40), 4.248354255291589e-18, 1e-14);
    expect(sigmoid(40)).toBe(1);
    expect(sigmoid(-1000)).toBe(0);
    expect(sigmoid(0)).toBe(0.5);
  });
  it("the rest match their definitions", () => {
    expect(relu(-2)).toBe(0);
    expect(relu(3)).toBe(3);
    expect(relu(NaN)).toBeNaN();
    expect(leakyRelu(-2)).toBeCloseTo(-0.02, 16);
    expect(leakyRelu(-2, 0.2)).toBeCloseTo(-0.4, 16);
    expect(leakyRelu(2)).toBe(2);
    expectRel(elu(-1), Math.expm1(-1), 1e-16);
    expectRel(elu(-1e-10, 2), -2e-10, 1e-9);
    expect(elu(2)).toBe(2);
    expectRel(silu(1), 0.7310585786300049, 1e-15);
    expectRel(silu(-50), -50 * 1.928749847963918e-22, 1e-14);
    expect(tanh(0.5)).toBe(Math.tanh(0.5));
  });
  it("applyActivation follows the layer object and its defaults", () => {
    const x = [-2, -0.5, 0, 1.5];
    expect(Array.from(applyActivation({ type: "leaky_relu" }, x))).toEqual(x.map((v) => leakyRelu(v, 0.01)));
    expect(Array.from(applyActivation({ type: "leaky_relu", negative_slope: 0.3 }, x))).toEqual(
      x.map((v) => leakyRelu(v, 0.3)),
    );
    expect(Array.from(applyActivation({ type: "elu" }, x))).toEqual(x.map((v) => elu(v, 1)));
    expect(Array.from(applyActivation({ type: "elu", alpha: 0.5 }, new Float32Array(x)))).toEqual(
      x.map((v) => elu(v, 0.5)),
    );
    for (const [type, f] of [
      ["relu", relu],
      ["gelu", gelu],
      ["silu", silu],
      ["tanh", tanh],
      ["sigmoid", sigmoid],
      ["softplus", softplus],
    ] as const) {
      const y = applyActivation({ type }, x);
      expect(y).toBeInstanceOf(Float64Array);
      expect(Array.from(y)).toEqual(x.map((v) => f(v)));
    }
    expect(() => applyActivation({ type: "swish" }, x)).toThrow(/unknown activation/);
  });
});

describe("linear", () => {
  it("computes x W^T + b with W in [out, in] layout", () => {
    // batch 2, in 3, out 2
    const x = [1, 2, 3, -1, 0, 1];
    const W = [1, 0, -1, 0.5, 0.5, 0.5];
    expect(Array.from(linear(x, 2, 3, W, [10, 20], 2))).toEqual([1 - 3 + 10, 3 + 20, -1 - 1 + 10, 0 + 20]);
    expect(Array.from(linear(x, 2, 3, W, null, 2))).toEqual([-2, 3, -2, 0]);
    expect(() => linear(x, 2, 3, W.slice(1), null, 2)).toThrow();
  });
});

describe("Philox4x32-10 (Random123 known answers)", () => {
  const hex = (v: number[]) => v.map((u) => u.toString(16).padStart(8, "0")).join(" ");
  it("matches the KAT vectors", () => {
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toBe("6627e8d5 e169c58d bc57ac4c 9b00dbd8");
    expect(hex(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]))).toBe(
      "408f276d 41c83b0e a20bc7c6 6d5451fd",
    );
    expect(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).toBe(
      "d16cfe09 94fdcceb 5001e420 24126ea1",
    );
  });
});

describe("normals()", () => {
  it("matches an independent implementation of the spec", () => {
    // Produced by a separate Python implementation of the same spec (also passing the KATs).
    const golden: [number, number, number, number[]][] = [
      [0, 0, 8, [0.9911375045776367, -0.9246627688407898, -0.6176090836524963, -0.48206835985183716,
        -0.1536381095647812, 0.180825874209404, 0.8317351341247559, 0.19743959605693817]],
      [42, 5, 6, [0.13913723826408386, -1.1066648960113525, 0.3266833424568176, -0.336961954832077,
        -0.5187485218048096, 0.1485668420791626]],
      // seed >= 2^32: the key's high word is used
      [2 ** 32 + 7, 0, 4, [1.4199012517929077, -0.28273552656173706, 0.257490873336792, -1.214201807975769]],
      // block index >= 2^32: the counter's high word is used
      [2 ** 53 - 1, 2 ** 34 + 2, 4, [-0.1500733196735382, 0.05538952723145485, 1.0552350282669067,
        -0.11134669929742813]],
    ];
    for (const [seed, start, count, values] of golden) {
      expect(Array.from(normals(seed, start, count))).toEqual(values);
    }
  });

  it("any window is a slice of the stream", () => {
    const all = normals(7, 0, 20);
    expect(Array.from(normals(7, 10, 5))).toEqual(Array.from(all.subarray(10, 15)));
    expect(Array.from(normals(7, 3, 1))).toEqual([all[3]]);
    expect(normals(7, 3, 0).length).toBe(0);
    expect(Array.from(normals(8, 0, 20))).not.toEqual(Array.from(all));
  });

  it("rejects seeds and indices outside [0, 2^53)", () => {
    expect(() => normals(-1, 0, 1)).toThrow();
    expect(() => normals(1.5, 0, 1)).toThrow();
    expect(() => normals(2 ** 53, 0, 1)).toThrow();
    expect(() => normals(0, -1, 1)).toThrow();
  });

  it("is standard normal: moments and a Kolmogorov-Smirnov check over 100k draws", () => {
    const n = 100_000;
    const z = normals(12345, 0, n);
    let sum = 0;
    let sumSq = 0;
    for (const v of z) {
      expect(Number.isFinite(v)).toBe(true);
      sum += v;
      sumSq += v * v;
    }
    const mean = sum / n;
    const variance = sumSq / n - mean * mean;
    // Standard errors: 1/sqrt(n) = 0.0032 for the mean, sqrt(2/n) = 0.0045 for the variance.
    expect(Math.abs(mean)).toBeLessThan(0.015);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);

    const sorted = Float64Array.from(z).sort();
    let ks = 0;
    for (let i = 0; i < n; i++) {
      const cdf = 0.5 * erfc(-sorted[i] / Math.SQRT2);
      ks = Math.max(ks, cdf - i / n, (i + 1) / n - cdf);
    }
    // sqrt(n) * D < 1.95 is the 0.1% critical value of the KS distribution.
    expect(Math.sqrt(n) * ks).toBeLessThan(1.95);
  });
});

describe("float16 conversion", () => {
  it("rounds known values to nearest even", () => {
    const cases: [number, number][] = [
      [1, 1],
      [0.1, 0.0999755859375],
      [65504, 65504],
      [65519, 65504], // below the halfway point to 2^16
      [65520, Infinity], // the halfway point rounds to even = overflow
      [6e-8, 2 ** -24], // smallest subnormal
      [2 ** -25, 0], // halfway between 0 and 2^-24: ties to even (0)
      [2 ** -25 * 1.0001, 2 ** -24],
      [3 * 2 ** -25, 2 * 2 ** -24], // halfway between 1 and 2 units: ties to 2
      [1023.5 * 2 ** -24, 2 ** -14], // rounds up out of the subnormals into the smallest normal
      [1 + 2 ** -11, 1], // halfway, ties to the even mantissa
      [1 + 3 * 2 ** -11, 1 + 2 ** -9],
      [-2.5, -2.5],
      [1e-10, 0],
      [Infinity, Infinity],
      [-Infinity, -Infinity],
    ];
    for (const [x, y] of cases) {
      expect(f16BitsToF32(f32ToF16Bits(x))).toBe(y);
    }
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
    expect(f32ToF16Bits(-1e-10)).toBe(0x8000);
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001);
    expect(f16BitsToF32(f32ToF16Bits(NaN))).toBeNaN();
    expect(f32ToF16Bits(NaN) & 0x7c00).toBe(0x7c00);
  });

  it("every float16 round-trips", () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = f16BitsToF32(h);
      if (Number.isNaN(v)) expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(v)))).toBe(true);
      else expect(f32ToF16Bits(v)).toBe(h);
    }
  });

  it("picks the nearest float16 (ties to even) for random float32 values", () => {
    let state = 99;
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    for (let i = 0; i < 20_000; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      // Random finite float32 of magnitude up to 2^17, including subnormal-range f16 values.
      u32[0] = (state & 0x80ffffff) | (((state >>> 24) % 34 + 95) << 23);
      const x = f32[0];
      const h = f32ToF16Bits(x);
      const v = f16BitsToF32(h);
      const mag = h & 0x7fff;
      if (mag === 0x7c00) {
        expect(Math.abs(x)).toBeGreaterThanOrEqual(65520);
        continue;
      }
      const err = Math.abs(x - v);
      const below = mag > 0 ? Math.abs(x - f16BitsToF32((h & 0x8000) | (mag - 1))) : Infinity;
      const above = mag < 0x7bff ? Math.abs(x - f16BitsToF32((h & 0x8000) | (mag + 1))) : Math.abs(x) - 65520 + 16;
      expect(err).toBeLessThanOrEqual(below);
      expect(err).toBeLessThanOrEqual(above);
      if (err === below || err === above) expect(h & 1).toBe(0);
    }
  });
});

describe("safetensors writer", () => {
  function parse(bytes: Uint8Array) {
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    return { n, header, data: bytes.subarray(8 + n) };
  }

  it("writes an aligned header, contiguous data in insertion order, F32 and F16", () => {
    const bytes = writeSafetensors(
      {
        b: { dtype: "F32", shape: [2], data: new Float32Array([1.5, -2]) },
        a: { dtype: "F16", shape: [1, 3], data: new Float32Array([1, 0.1, -0]) },
        raw: { dtype: "BF16", shape: [1], data: new Uint8Array([0x80, 0x3f]) },
      },
      { edgevae: "{}", other: "x" },
    );
    const { n, header, data } = parse(bytes);
    expect(n % 8).toBe(0);
    expect(Object.keys(header)).toEqual(["__metadata__", "b", "a", "raw"]);
    expect(header.__metadata__).toEqual({ edgevae: "{}", other: "x" });
    expect(header.b).toEqual({ dtype: "F32", shape: [2], data_offsets: [0, 8] });
    expect(header.a).toEqual({ dtype: "F16", shape: [1, 3], data_offsets: [8, 14] });
    expect(header.raw).toEqual({ dtype: "BF16", shape: [1], data_offsets: [14, 16] });
    expect(data.length).toBe(16);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    expect([view.getFloat32(0, true), view.getFloat32(4, true)]).toEqual([1.5, -2]);
    expect([view.getUint16(8, true), view.getUint16(10, true), view.getUint16(12, true)]).toEqual([
      0x3c00,
      f32ToF16Bits(0.1),
      0x8000,
    ]);
    expect(f16BitsToF32(view.getUint16(10, true))).toBe(0.0999755859375);
    expect(Array.from(data.subarray(14))).toEqual([0x80, 0x3f]);
  });

  it("refuses typed data that does not match its shape", () => {
    expect(() => writeSafetensors({ t: { dtype: "F32", shape: [3], data: new Float32Array(2) } })).toThrow();
  });

  it("mutableHeader edits the header and keeps the data", () => {
    const { bytes } = buildModel({
      inputShape: [4],
      latentDim: 2,
      encoder: [{ type: "linear" }],
      decoder: [{ type: "linear" }],
      likelihood: { type: "bernoulli" },
    });
    const m = mutableHeader(bytes);
    expect(m.rebuild(m.header)).toEqual(bytes);
    m.header["encoder.0.weight"].dtype = "F64";
    const edited = parse(m.rebuild(m.header));
    expect(edited.header["encoder.0.weight"].dtype).toBe("F64");
    expect(Array.from(edited.data)).toEqual(Array.from(parse(bytes).data));
    // Raw header text, e.g. invalid JSON, padded to 8 bytes like any header.
    const broken = m.rebuildText("{not json");
    expect(Number(new DataView(broken.buffer).getBigUint64(0, true))).toBe(16);
    expect(new TextDecoder().decode(broken.subarray(8, 24))).toBe("{not json       ");
    expect(Array.from(broken.subarray(24))).toEqual(Array.from(m.data));
  });
});

describe("buildModel", () => {
  const spec = {
    inputShape: [13],
    latentDim: 3,
    encoder: [{ type: "linear", out: 7 }, { type: "relu" }, { type: "linear", out: 6, bias: false }],
    decoder: [{ type: "linear", out: 5 }, { type: "leaky_relu", negative_slope: 0.2 }, { type: "linear" }],
    likelihood: { type: "bernoulli" },
    seed: 1,
    scale: 1,
  } as const;

  it("names, shapes and bounds the tensors and writes the arch verbatim", () => {
    const { bytes, arch, tensors, shapes } = buildModel(spec);
    expect(arch).toEqual({
      version: 1,
      input_shape: [13],
      latent_dim: 3,
      encoder: [
        { type: "linear", weight: "encoder.0.weight", bias: "encoder.0.bias" },
        { type: "relu" },
        { type: "linear", weight: "encoder.2.weight", bias: null },
      ],
      decoder: [
        { type: "linear", weight: "decoder.0.weight", bias: "decoder.0.bias" },
        { type: "leaky_relu", negative_slope: 0.2 },
        { type: "linear", weight: "decoder.2.weight", bias: "decoder.2.bias" },
      ],
      likelihood: { type: "bernoulli" },
      prior: { type: "standard_normal" },
    });
    expect(shapes).toEqual({
      "encoder.0.weight": [7, 13],
      "encoder.0.bias": [7],
      "encoder.2.weight": [6, 7],
      "decoder.0.weight": [5, 3],
      "decoder.0.bias": [5],
      "decoder.2.weight": [13, 5],
      "decoder.2.bias": [13],
    });
    for (const t of Object.values(tensors)) expect(t).toBeInstanceOf(Float32Array);
    expect(Math.max(...tensors["encoder.0.weight"].map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(13));
    expect(Math.max(...tensors["decoder.0.weight"].map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(3));

    const { header, data } = mutableHeader(bytes);
    expect(JSON.parse(header.__metadata__.edgevae)).toEqual(arch);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (const [name, t] of Object.entries(tensors)) {
      const [begin, end] = header[name].data_offsets;
      expect(end - begin).toBe(4 * t.length);
      for (let i = 0; i < t.length; i++) expect(view.getFloat32(begin + 4 * i, true)).toBe(t[i]);
    }
  });

  it("is deterministic in the seed, and F16 tensors hold the rounded values", () => {
    const a = buildModel(spec);
    const b = buildModel(spec);
    const c = buildModel({ ...spec, seed: 2 });
    expect(b.bytes).toEqual(a.bytes);
    expect(c.tensors["encoder.0.weight"]).not.toEqual(a.tensors["encoder.0.weight"]);

    const h = buildModel({ ...spec, dtype: "F16" });
    const { header, data } = mutableHeader(h.bytes);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (const [name, t] of Object.entries(h.tensors)) {
      expect(header[name].dtype).toBe("F16");
      const [begin] = header[name].data_offsets;
      for (let i = 0; i < t.length; i++) {
        expect(f16BitsToF32(view.getUint16(begin + 2 * i, true))).toBe(t[i]);
        expect(Math.abs(t[i] - a.tensors[name][i])).toBeLessThanOrEqual(Math.abs(a.tensors[name][i]) * 2 ** -11);
      }
    }
  });

  it("can leave the optional prior out", () => {
    const m = buildModel({ ...spec, includePrior: false });
    expect("prior" in m.arch).toBe(false);
  });
});

describe("gaussian helpers", () => {
  it("logStdNormal, logDiagNormal and kl agree with hand formulas", () => {
    expectRel(logStdNormal([0, 0], 1, 2)[0], -LOG_2PI, 1e-15);
    const z = [0.3, -1.2];
    const mean = [0.1, 0.4];
    const logvar = [-0.5, 0.7];
    const expected =
      -0.5 * (LOG_2PI + -0.5 + (0.2 * 0.2) / Math.exp(-0.5)) - 0.5 * (LOG_2PI + 0.7 + (1.6 * 1.6) / Math.exp(0.7));
    expectRel(logDiagNormal(z, mean, logvar, 1, 2)[0], expected, 1e-14);
    // repeat = 2: both rows use the single posterior row
    const twice = logDiagNormal([...z, ...z], mean, logvar, 2, 2, 2);
    expect(twice[0]).toBe(twice[1]);
    expectRel(kl([1, 0], [0, Math.log(2)], 1, 2)[0], 0.5 * (1 + 2 - 1 - Math.log(2)), 1e-15);
    expect(kl([0, 0], [0, 0], 1, 2)[0]).toBe(0);
  });

  it("reparameterise uses item-major noise", () => {
    // batch 2, samples 2, J 1
    const z = reparameterise([1, -1], [0, Math.log(4)], [0.5, -0.5, 1, 2], 2, 2, 1);
    expect(Array.from(z)).toEqual([1.5, 0.5, 1, 3]);
  });

  it("logSumExp is stable", () => {
    expectRel(logSumExp([1000, 1000]), 1000 + Math.LN2, 1e-15);
    expectRel(logSumExp([-1000, -1000, -1000]), -1000 + Math.log(3), 1e-15);
    expect(logSumExp([-Infinity, -Infinity])).toBe(-Infinity);
    expect(logSumExp([])).toBe(-Infinity);
    expect(logSumExp([0, Infinity])).toBe(Infinity);
    expect(logSumExp([0, NaN])).toBeNaN();
  });
});

describe("likelihoods", () => {
  it("bernoulli, gaussian and gaussian_learned match hand values", () => {
    // bernoulli: x*l - softplus(l)
    const lb = logLikelihood({ type: "bernoulli" }, [1, 0, 0.25], [2, -1, 0.5], 1, 3)[0];
    expectRel(lb, 2 - softplus(2) - softplus(-1) + 0.125 - softplus(0.5), 1e-15);
    // gaussian, sigma 0.5
    const lg = logLikelihood({ type: "gaussian", sigma: 0.5 }, [1, 2], [0.5, 2], 1, 2)[0];
    expectRel(lg, 2 * (-0.5 * LOG_2PI - Math.log(0.5)) - 0.5 * 1, 1e-15);
    // gaussian_learned: params = [mean | logvar]
    const ll = logLikelihood({ type: "gaussian_learned" }, [1, 2], [0, 2, Math.log(4), 0], 1, 2)[0];
    expectRel(ll, -0.5 * (LOG_2PI + Math.log(4) + 1 / 4) - 0.5 * LOG_2PI, 1e-15);
  });
});

describe("ReferenceVae", () => {
  const built = buildModel({
    inputShape: [1, 2, 3],
    latentDim: 3,
    encoder: [{ type: "linear", out: 8 }, { type: "gelu" }, { type: "linear" }],
    decoder: [{ type: "linear", out: 8 }, { type: "tanh" }, { type: "linear" }],
    likelihood: { type: "bernoulli" },
    seed: 3,
    scale: 2,
  });
  const vae = new ReferenceVae(built.arch, built.tensors);
  const batch = 4;
  const x = Float64Array.from({ length: batch * 6 }, (_, i) => ((i * 7) % 11) / 10);

  it("encodes and decodes with the right shapes", () => {
    const { mean, logvar } = vae.encode(x, batch);
    expect(mean.length).toBe(batch * 3);
    expect(logvar.length).toBe(batch * 3);
    const m = vae.decodeMean(mean, batch);
    expect(m.length).toBe(batch * 6);
    for (const v of m) expect(v > 0 && v < 1).toBe(true);
    expect(Array.from(m)).toEqual(Array.from(vae.decodeParams(mean, batch).map(sigmoid)));
  });

  it("with k = 1, log p(x) is log p(x|z) + log N(z) - log q(z|x) for the same noise", () => {
    const eps = normals(5, 0, batch * 3);
    const { mean, logvar } = vae.encode(x, batch);
    const z = reparameterise(mean, logvar, eps, batch, 1, 3);
    const recon = vae.elbo(x, batch, eps, 1).recon;
    const expected = logStdNormal(z, batch, 3).map((lp, b) => recon[b] + lp - logDiagNormal(z, mean, logvar, batch, 3)[b]);
    const got = vae.logLikelihood(x, batch, eps, 1);
    for (let b = 0; b < batch; b++) expectRel(got[b], expected[b], 1e-13);
  });

  it("elbo = recon - beta * kl, recon averaging the samples", () => {
    const S = 3;
    const eps = normals(6, 0, batch * S * 3);
    const r = vae.elbo(x, batch, eps, S, 0.25);
    const { mean, logvar } = vae.encode(x, batch);
    const z = reparameterise(mean, logvar, eps, batch, S, 3);
    const params = vae.decodeParams(z, batch * S);
    for (let b = 0; b < batch; b++) {
      let acc = 0;
      for (let s = 0; s < S; s++) {
        const row = b * S + s;
        acc += logLikelihood({ type: "bernoulli" }, x.subarray(b * 6, b * 6 + 6), params.subarray(row * 6, row * 6 + 6), 1, 6)[0];
      }
      expectRel(r.recon[b], acc / S, 1e-13);
      expectRel(r.elbo[b], r.recon[b] - 0.25 * r.kl[b], 1e-13);
    }
    expect(Array.from(r.kl)).toEqual(Array.from(kl(mean, logvar, batch, 3)));
  });

  it("closed-form KL matches a Monte-Carlo estimate of E_q[log q - log p]", () => {
    const n = 20_000;
    const { mean, logvar } = vae.encode(x.subarray(0, 6), 1);
    const eps = normals(9, 0, n * 3);
    const z = reparameterise(mean, logvar, eps, 1, n, 3);
    const lq = logDiagNormal(z, mean, logvar, n, 3, n);
    const lp = logStdNormal(z, n, 3);
    let acc = 0;
    for (let i = 0; i < n; i++) acc += lq[i] - lp[i];
    const closed = kl(mean, logvar, 1, 3)[0];
    // Standard error of the mean here is about 0.02.
    expect(Math.abs(acc / n - closed)).toBeLessThan(0.1);
  });

  it("on average, the importance-weighted bound is above the ELBO", () => {
    const reps = 200;
    const k = 32;
    const xs = new Float64Array(reps * 6);
    for (let r = 0; r < reps; r++) xs.set(x.subarray(0, 6), r * 6);
    const iwae = vae.logLikelihood(xs, reps, normals(10, 0, reps * k * 3), k);
    const elbo = vae.elbo(xs, reps, normals(11, 0, reps * 3), 1).elbo;
    const avg = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(avg(iwae)).toBeGreaterThan(avg(elbo));
  });

  it("recovers log p(x) exactly for a linear-Gaussian model with the true posterior as encoder", () => {
    // Decoder x = w z + c + sigma*noise, z ~ N(0, 1) (J = 1), so p(x) = N(c, sigma^2 I + w w^T).
    // The exact posterior is Gaussian with precision 1 + |w|^2/sigma^2 and mean w.(x-c)/(sigma^2 prec),
    // which a single linear encoder layer represents; then every importance weight equals p(x).
    const D = 3;
    const sigma = 0.7;
    const w = [0.5, -1.2, 2.0];
    const c = [0.1, 0.2, -0.3];
    const s2 = sigma * sigma;
    const ww = w.reduce((a, v) => a + v * v, 0);
    const prec = 1 + ww / s2;
    const a = w.map((v) => v / (s2 * prec));
    const arch: VaeArch = {
      version: 1,
      input_shape: [D],
      latent_dim: 1,
      encoder: [{ type: "linear", weight: "enc.w", bias: "enc.b" }],
      decoder: [{ type: "linear", weight: "dec.w", bias: "dec.b" }],
      likelihood: { type: "gaussian", sigma },
    };
    const model = new ReferenceVae(arch, {
      "enc.w": Float64Array.from([...a, 0, 0, 0]),
      "enc.b": Float64Array.from([-a.reduce((acc, v, i) => acc + v * c[i], 0), -Math.log(prec)]),
      "dec.w": Float64Array.from(w),
      "dec.b": Float64Array.from(c),
    });
    const xs = [1, 0, -1, -2, 0.5, 3];
    const exact = [0, 1].map((b) => {
      const r = c.map((cv, i) => xs[b * D + i] - cv);
      const wr = w.reduce((acc, v, i) => acc + v * r[i], 0);
      const rr = r.reduce((acc, v) => acc + v * v, 0);
      const quad = rr / s2 - (wr * wr) / (s2 * (s2 + ww));
      const logDet = D * Math.log(s2) + Math.log(1 + ww / s2);
      return -0.5 * (D * LOG_2PI + logDet + quad);
    });
    for (const k of [1, 7]) {
      const got = model.logLikelihood(xs, 2, normals(13, 0, 2 * k), k);
      for (let b = 0; b < 2; b++) expectRel(got[b], exact[b], 1e-12);
    }
    // The ELBO estimate is log p(x) only in expectation (KL(q || posterior) = 0).
    const S = 20_000;
    const e = model.elbo(xs, 2, normals(14, 0, 2 * S), S).elbo;
    for (let b = 0; b < 2; b++) expect(Math.abs(e[b] - exact[b])).toBeLessThan(0.05);
  });

  it("refuses tensors that do not fit the architecture", () => {
    expect(() => new ReferenceVae(built.arch, { ...built.tensors, "encoder.0.weight": new Float32Array(5) })).toThrow();
    const { ["decoder.2.bias"]: _dropped, ...missing } = built.tensors;
    expect(() => new ReferenceVae(built.arch, missing)).toThrow(/missing tensor/);
  });
});
