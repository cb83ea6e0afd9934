// Bad model files and bad arguments: each gets its own typed error with a stable code and a
// message that says what and where. Never a crash, a wasm trap, or a silent NaN.
import { describe, expect, it } from "vitest";
import { ArgumentError, DisposedError, EdgeVaeError, FormatError, RuntimeError, Vae, hasRelaxedSimd, type ErrorCode } from "../sdk/index";
import { buildModel, mutableHeader, writeSafetensors, type ModelSpec } from "./helpers/safetensors";

const SPEC: ModelSpec = {
  inputShape: [7], latentDim: 3,
  encoder: [{ type: "linear", out: 5 }, { type: "relu" }, { type: "linear" }],
  decoder: [{ type: "linear", out: 5 }, { type: "tanh" }, { type: "linear" }],
  likelihood: { type: "bernoulli" },
};
const good = buildModel(SPEC);
const file = mutableHeader(good.bytes);
const arch = () => JSON.parse(JSON.stringify(good.arch));
const withArch = (a: unknown) => file.rebuild({ ...file.header, __metadata__: { edgevae: JSON.stringify(a) } });
const withHeader = (edit: (h: Record<string, any>) => void) => {
  const h = JSON.parse(JSON.stringify(file.header));
  edit(h);
  return file.rebuild(h);
};

async function loadError(bytes: Uint8Array): Promise<EdgeVaeError> {
  try {
    await Vae.load(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(EdgeVaeError);
    return err as EdgeVaeError;
  }
  throw new Error("expected Vae.load to fail");
}

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
const text = (s: string) => new TextEncoder().encode(s);

describe("malformed model files", () => {
  const cases: [string, () => Uint8Array, ErrorCode, RegExp?][] = [
    ["empty file", () => new Uint8Array(0), "E_FILE_TRUNCATED"],
    ["7 bytes", () => new Uint8Array(7), "E_FILE_TRUNCATED"],
    ["header length 0", () => u64(0), "E_HEADER_SIZE"],
    ["header length 2^40", () => concat(u64(2 ** 40), text("{}")), "E_HEADER_SIZE"],
    ["header longer than the file", () => concat(u64(100), text("{}")), "E_FILE_TRUNCATED", /truncated/],
    ["truncated download", () => good.bytes.subarray(0, good.bytes.length - 10), "E_TENSOR_OFFSETS"],
    ["invalid UTF-8", () => concat(u64(4), new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), "E_HEADER_JSON", /UTF-8/],
    ["invalid JSON", () => file.rebuildText('{"a": '), "E_HEADER_JSON", /not valid JSON/],
    ["header is an array", () => file.rebuildText("[1, 2]"), "E_HEADER_JSON"],
    ["deep nesting", () => file.rebuildText("[".repeat(100_000) + "]".repeat(100_000)), "E_HEADER_JSON", /deeper/],
    ["metadata value not a string", () => withHeader((h) => { h.__metadata__.x = 5; }), "E_HEADER_JSON"],
    ["tensor entry not an object", () => withHeader((h) => { h["encoder.0.bias"] = 3; }), "E_TENSOR_ENTRY"],
    ["tensor without dtype", () => withHeader((h) => { delete h["encoder.0.bias"].dtype; }), "E_TENSOR_ENTRY"],
    ["negative shape", () => withHeader((h) => { h["encoder.0.bias"].shape = [-5]; }), "E_TENSOR_ENTRY"],
    ["fractional offsets", () => withHeader((h) => { h["encoder.0.bias"].data_offsets = [0.5, 20]; }), "E_TENSOR_ENTRY"],
    ["unknown dtype", () => withHeader((h) => { h["encoder.0.bias"].dtype = "Q4_K"; }), "E_DTYPE", /Q4_K/],
    ["offsets past the buffer", () => withHeader((h) => { const t = h["decoder.2.bias"]; t.data_offsets = [t.data_offsets[0] + 4, t.data_offsets[1] + 4]; }), "E_TENSOR_OFFSETS"],
    ["offsets that disagree with the shape", () => withHeader((h) => { h["encoder.0.bias"].shape = [4]; }), "E_TENSOR_OFFSETS", /needs 16/],
    ["overlapping tensors", () => withHeader((h) => { h["encoder.0.bias"].data_offsets = h["encoder.0.weight"].data_offsets.map((v: number) => v); h["encoder.0.bias"].shape = [7, 5]; }), "E_TENSOR_OFFSETS", /overlaps/],
    ["trailing bytes", () => concat(good.bytes, new Uint8Array(4)), "E_TENSOR_OFFSETS", /longer/],
    ["no metadata", () => withHeader((h) => { delete h.__metadata__; }), "E_NO_ARCHITECTURE"],
    ["architecture not JSON", () => withHeader((h) => { h.__metadata__.edgevae = "{nope"; }), "E_ARCHITECTURE"],
    ["architecture not an object", () => withArch([1]), "E_ARCHITECTURE"],
    ["no version", () => withArch({ ...arch(), version: undefined }), "E_ARCHITECTURE", /version/],
    ["version 3", () => withArch({ ...arch(), version: 3 }), "E_VERSION", /version 3/],
    ["input_shape missing", () => withArch({ ...arch(), input_shape: undefined }), "E_ARCHITECTURE"],
    ["latent_dim 0", () => withArch({ ...arch(), latent_dim: 0 }), "E_ARCHITECTURE", /latent_dim/],
    ["latent_dim 2.5", () => withArch({ ...arch(), latent_dim: 2.5 }), "E_ARCHITECTURE"],
    ["empty encoder", () => withArch({ ...arch(), encoder: [] }), "E_ARCHITECTURE"],
    ["unknown layer", () => withArch({ ...arch(), encoder: [{ type: "maxpool2d" }, ...arch().encoder] }), "E_LAYER_TYPE", /maxpool2d/],
    ["a version 2 layer in a version 1 file", () => withArch({ ...arch(), encoder: [{ type: "flatten" }, ...arch().encoder] }), "E_LAYER_TYPE", /flatten.*version 2/],
    ["layer without type", () => withArch({ ...arch(), decoder: [{}, ...arch().decoder] }), "E_ARCHITECTURE"],
    ["leaky_relu slope not a number", () => withArch({ ...arch(), encoder: [...arch().encoder, { type: "leaky_relu", negative_slope: "x" }] }), "E_ARCHITECTURE"],
    ["unknown likelihood", () => withArch({ ...arch(), likelihood: { type: "poisson" } }), "E_LIKELIHOOD", /poisson/],
    ["gaussian without sigma", () => withArch({ ...arch(), likelihood: { type: "gaussian" } }), "E_LIKELIHOOD", /sigma/],
    ["gaussian sigma 0", () => withArch({ ...arch(), likelihood: { type: "gaussian", sigma: 0 } }), "E_LIKELIHOOD"],
    ["gaussian_learned with a D-wide decoder", () => withArch({ ...arch(), likelihood: { type: "gaussian_learned" } }), "E_ARCHITECTURE", /2 \* 7/],
    ["unknown prior", () => withArch({ ...arch(), prior: { type: "laplace" } }), "E_ARCHITECTURE", /prior/],
    ["missing tensor", () => withArch({ ...arch(), encoder: [{ type: "linear", weight: "enc.0.weight", bias: null }, ...arch().encoder.slice(1)] }), "E_TENSOR_MISSING", /enc\.0\.weight/],
    ["weight of the wrong shape", () => withArch({ ...arch(), encoder: [arch().encoder[2], ...arch().encoder] }), "E_TENSOR_SHAPE", /encoder\.2\.weight has shape \[6, 5\] but encoder\[0\] needs \[6, 7\]/],
    ["bias of the wrong shape", () => withArch({ ...arch(), encoder: [{ ...arch().encoder[0], bias: "encoder.2.bias" }, ...arch().encoder.slice(1)] }), "E_TENSOR_SHAPE", /needs \[5\]/],
    ["encoder output not 2J", () => withArch({ ...arch(), latent_dim: 4 }), "E_ARCHITECTURE", /2 \* latent_dim = 8/],
    ["decoder output not D", () => withArch({ ...arch(), input_shape: [6] }), "E_TENSOR_SHAPE"],
    ["a width beyond the limits", () => withArch({ ...arch(), input_shape: [1 << 21] }), "E_LIMIT"],
    ["too many layers", () => withArch({ ...arch(), encoder: [...Array(300).fill({ type: "relu" }), ...arch().encoder] }), "E_LIMIT"],
  ];
  it.each(cases.map(([what, make, code, message]) => ({ what, make, code, message })))("$what -> $code", async ({ make, code, message }) => {
    const err = await loadError(make());
    expect(err).toBeInstanceOf(FormatError);
    expect(err.code).toBe(code);
    if (message) expect(err.message).toMatch(message);
  });

  it("refuses weights of a dtype it does not read, naming the tensor", async () => {
    const bytes = writeSafetensors({ w: { dtype: "BF16", shape: [6, 7], data: new Uint8Array(84) } },
      { edgevae: JSON.stringify({ ...arch(), encoder: [{ type: "linear", weight: "w", bias: null }] }) });
    const err = await loadError(bytes);
    expect(err.code).toBe("E_DTYPE");
    expect(err.message).toMatch(/tensor w is BF16/);
  });

  it("refuses NaN or infinite weights", async () => {
    const tensors = Object.fromEntries(Object.entries(good.tensors).map(([name, data]) => [name, { dtype: "F32", shape: good.shapes[name]!, data: data.slice() }]));
    tensors["decoder.2.weight"]!.data[3] = NaN;
    const err = await loadError(writeSafetensors(tensors, { edgevae: JSON.stringify(good.arch) }));
    expect(err.code).toBe("E_NONFINITE_WEIGHTS");
    expect(err.message).toMatch(/decoder\.2\.weight/);
  });

  it("tolerates unreferenced tensors of any dtype and unknown extra keys (forward compatible)", async () => {
    const h = JSON.parse(JSON.stringify(file.header));
    const a = arch();
    a.comment = "extra keys are ignored";
    h.__metadata__.edgevae = JSON.stringify(a);
    h.__metadata__.edgevae_training = "{}";
    const vae = await Vae.load(file.rebuild(h));
    expect(vae.info.metadata).toEqual({ edgevae_training: "{}" });
  });

  it("never throws anything but an EdgeVaeError on random bytes or random truncations", async () => {
    let seed = 1;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 300; i++) {
      const bytes = i % 2 === 0
        ? Uint8Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256))
        : good.bytes.subarray(0, Math.floor(rand() * good.bytes.length));
      await loadError(bytes);
    }
  });
});

describe("bad arguments", () => {
  const expectArg = (f: () => unknown, code: ErrorCode, message?: RegExp) => {
    let err: unknown;
    try { f(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ArgumentError);
    expect((err as EdgeVaeError).code).toBe(code);
    if (message) expect((err as Error).message).toMatch(message);
  };

  it("load options and model argument", async () => {
    await expect(Vae.load("model.safetensors" as never)).rejects.toMatchObject({ code: "E_INPUT_TYPE" });
    await expect(Vae.load(good.bytes, { maxBatchRows: 0 })).rejects.toMatchObject({ code: "E_ARGUMENT" });
    await expect(Vae.load(good.bytes, { maxMemoryBytes: 10 })).rejects.toMatchObject({ code: "E_ARGUMENT" });
    await expect(Vae.load(good.bytes, { simd: "fast" as never })).rejects.toMatchObject({ code: "E_ARGUMENT" });
  });

  it("inputs of the wrong type, length or value", async () => {
    const vae = await Vae.load(good.bytes);
    expectArg(() => vae.encode(new Float32Array(8)), "E_INPUT_LENGTH", /8 values.*items of 7 values/);
    expectArg(() => vae.encode(new Float32Array(0)), "E_INPUT_LENGTH");
    expectArg(() => vae.encode("abc" as never), "E_INPUT_TYPE");
    expectArg(() => vae.encode(new Int32Array(7) as never), "E_INPUT_TYPE");
    expectArg(() => vae.decode(new Float32Array(4)), "E_INPUT_LENGTH", /latents of 3/);
    const x = new Float32Array(14).fill(0.5);
    x[9] = NaN;
    expectArg(() => vae.elbo(x), "E_INPUT_VALUE", /x\[9\] is NaN/);
    expectArg(() => vae.decode([0, Infinity, 0]), "E_INPUT_VALUE");
  });

  it("options out of range", async () => {
    const vae = await Vae.load(good.bytes);
    const x = new Float32Array(14).fill(0.5);
    expectArg(() => vae.elbo(x, { samples: 0 }), "E_ARGUMENT", /samples/);
    expectArg(() => vae.elbo(x, { samples: 1.5 }), "E_ARGUMENT");
    expectArg(() => vae.elbo(x, { beta: NaN }), "E_ARGUMENT", /beta/);
    expectArg(() => vae.elbo(x, { beta: Infinity }), "E_ARGUMENT");
    expectArg(() => vae.elbo(x, { samples: 2, eps: new Float32Array(6) }), "E_NOISE_LENGTH", /needs batch x samples x latentDim = 12/);
    expectArg(() => vae.logLikelihood(x, { k: 0 }), "E_ARGUMENT", /k/);
    expectArg(() => vae.logLikelihood(x, { k: 3, eps: new Float32Array(5) }), "E_NOISE_LENGTH");
    expectArg(() => vae.elbo(x, { seed: -1 }), "E_ARGUMENT", /seed/);
    expectArg(() => vae.elbo(x, { seed: 0.5 }), "E_ARGUMENT");
    expectArg(() => vae.elbo(x, { seed: 2 ** 53 }), "E_ARGUMENT");
    expectArg(() => vae.sample(0), "E_ARGUMENT");
    expectArg(() => vae.interpolate([0, 0], [0, 0, 0], 3), "E_INPUT_LENGTH");
    expectArg(() => vae.interpolate([0, 0, 0], [0, 0, 0], 0), "E_ARGUMENT");
  });

  it("use after dispose", async () => {
    const vae = await Vae.load(good.bytes);
    vae.dispose();
    expect(vae.disposed).toBe(true);
    expect(() => vae.encode(new Float32Array(7))).toThrow(DisposedError);
    expect(() => vae.sample(1)).toThrow(/disposed/);
    vae.dispose(); // twice is harmless
  });
});

describe("wasm sources", () => {
  it("names the path it could not read", async () => {
    const wasm = new URL("./no-such-dir/edgevae.wasm", import.meta.url);
    const err = await Vae.load(good.bytes, { wasm }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err).toMatchObject({ code: "E_WASM_LOAD" });
    expect((err as Error).message).toContain("no-such-dir/edgevae.wasm");
  });
  it("recognises an HTML page served instead of the wasm", async () => {
    const err = await Vae.load(good.bytes, { wasm: text("<!DOCTYPE html><html>404</html>") }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "E_WASM_LOAD" });
    expect((err as Error).message).toMatch(/not a wasm file.*<!DOCTYPE/);
  });
  it.skipIf(hasRelaxedSimd())("asking for the relaxed build where the host has no relaxed SIMD says so", async () => {
    const err = await Vae.load(good.bytes, { simd: "relaxed" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err).toMatchObject({ code: "E_WASM_UNSUPPORTED" });
    expect((err as Error).message).toMatch(/relaxed SIMD.*"auto" or "baseline"/);
  });
  it("refuses a wasm module that is not edgevae's", async () => {
    const empty = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
    await expect(Vae.load(good.bytes, { wasm: empty })).rejects.toMatchObject({ code: "E_ABI_MISMATCH" });
  });
  it("accepts a precompiled WebAssembly.Module (the Cloudflare Workers way) and bytes", async () => {
    const { readFileSync } = await import("node:fs");
    const bytes = readFileSync(new URL("../build/edgevae.wasm", import.meta.url));
    const module = new WebAssembly.Module(bytes);
    const a = await Vae.load(good.bytes, { wasm: module });
    const b = await Vae.load(good.bytes, { wasm: bytes });
    expect(a.sample(3, { seed: 1 })).toEqual(b.sample(3, { seed: 1 }));
  });
});

// Issue 6 (docs/SECURITY.md): gaps the audit and the fuzzer (test/fuzz.test.ts) found.
describe("hostile files", () => {
  const entry = (name: string) => JSON.stringify(file.header[name]);
  const headerWith = (extra: string) => file.rebuildText(JSON.stringify(file.header).slice(0, -1) + "," + extra + "}");
  const cases: [string, () => Uint8Array, ErrorCode, RegExp?][] = [
    ["a tensor listed twice", () => headerWith(`"encoder.0.bias":${entry("encoder.0.bias")}`), "E_DUPLICATE_KEY", /"encoder\.0\.bias" twice/],
    ["a tensor listed twice, once escaped", () => headerWith(`"encoder.0.\\u0062ias":${entry("encoder.0.bias")}`), "E_DUPLICATE_KEY"],
    ["__metadata__ twice", () => headerWith(`"__metadata__":{"edgevae":"{}"}`), "E_DUPLICATE_KEY", /__metadata__/],
    ["a field twice in a tensor entry", () => file.rebuildText(JSON.stringify(file.header).replace('"dtype":"F32"', '"dtype":"F32","dtype":"F16"')), "E_DUPLICATE_KEY", /dtype/],
    ["a key twice in the architecture", () => withHeader((h) => { h.__metadata__.edgevae = h.__metadata__.edgevae.slice(0, -1) + ',"latent_dim":4}'; }), "E_DUPLICATE_KEY", /edgevae.*latent_dim/],
    ["dtype toString (an Object.prototype name)", () => withHeader((h) => { h["encoder.0.bias"].dtype = "toString"; }), "E_DTYPE"],
    ["dtype __proto__", () => withHeader((h) => { h["encoder.0.bias"].dtype = "__proto__"; }), "E_DTYPE"],
    ["too many metadata entries", () => withHeader((h) => { for (let i = 0; i < 10_001; i++) h.__metadata__[`k${i}`] = ""; }), "E_LIMIT", /__metadata__/],
    ["sigma beyond float32", () => withArch({ ...arch(), likelihood: { type: "gaussian", sigma: 1e39 } }), "E_LIKELIHOOD", /float32/],
    ["sigma that rounds to 0 in float32", () => withArch({ ...arch(), likelihood: { type: "gaussian", sigma: 1e-50 } }), "E_LIKELIHOOD"],
    ["a leaky_relu slope beyond float32", () => withArch({ ...arch(), encoder: [...arch().encoder, { type: "leaky_relu", negative_slope: -1e39 }] }), "E_ARCHITECTURE", /float32/],
    ["an elu alpha beyond float32", () => withArch({ ...arch(), encoder: [...arch().encoder, { type: "elu", alpha: 4e38 }] }), "E_ARCHITECTURE"],
  ];
  it.each(cases.map(([what, make, code, message]) => ({ what, make, code, message })))("$what -> $code", async ({ make, code, message }) => {
    const err = await loadError(make());
    expect(err).toBeInstanceOf(FormatError);
    expect(err.code).toBe(code);
    if (message) expect(err.message).toMatch(message);
  });

  it("__proto__ / constructor as tensor names and metadata keys: loaded as plain data, no prototype changes", async () => {
    const tensors = Object.fromEntries(Object.entries(good.tensors).map(([name, data]) => [name, { dtype: "F32", shape: good.shapes[name]!, data }]));
    const m = mutableHeader(writeSafetensors({ ...tensors, constructor: { dtype: "U8", shape: [0], data: new Uint8Array(0) } }, { edgevae: JSON.stringify(good.arch), constructor: "x" }));
    const hostile = m.headerText.trimEnd().slice(0, -1) + ',"__proto__":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}';
    const bytes = m.rebuildText(hostile.replace('"__metadata__":{', '"__metadata__":{"__proto__":"polluted",'));
    const vae = await Vae.load(bytes);
    expect(Object.keys(vae.info.metadata).sort()).toEqual(["__proto__", "constructor"]);
    expect(Object.getPrototypeOf(vae.info.metadata)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    vae.dispose();
  });

  it("an unreferenced tensor with a zero dimension next to a huge one is fine", async () => {
    const bytes = withHeader((h) => { h.empty = { dtype: "F32", shape: [2 ** 52, 0], data_offsets: [0, 0] }; });
    await expect(Vae.load(bytes)).resolves.toBeInstanceOf(Vae);
  });

  it("changing or detaching the file's bytes while load() awaits cannot bypass the checks", async () => {
    const bytes = good.bytes.slice();
    const loading = Vae.load(bytes);
    bytes.fill(0xff, bytes.length - 40);           // NaN weights, after the first check
    await expect(loading).rejects.toMatchObject({ code: "E_NONFINITE_WEIGHTS" });
    const buffer = good.bytes.slice().buffer;
    const detaching = Vae.load(buffer);
    structuredClone(buffer, { transfer: [buffer] }); // the caller transfers the buffer away
    await expect(detaching).rejects.toMatchObject({ code: "E_FILE_TRUNCATED" });
  });

  it("models whose float32 arithmetic overflows: NaN results are refused with E_NONFINITE_RESULT", async () => {
    const huge = buildModel({ ...SPEC, scale: 1 });
    const tensors = Object.fromEntries(Object.entries(huge.tensors).map(([name, data]) => [name, { dtype: "F32", shape: huge.shapes[name]!, data: data.map((v) => Math.sign(v) * 3e38) }]));
    const vae = await Vae.load(writeSafetensors(tensors, { edgevae: JSON.stringify(huge.arch) }));
    const x = new Float32Array(7).fill(0.5);
    const err = (() => { try { vae.elbo(x, { seed: 1 }); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err).toMatchObject({ code: "E_NONFINITE_RESULT" });
    expect((err as Error).message).toMatch(/elbo\(\).*NaN.*overflow/);
  });
});

describe("hostile arguments", () => {
  const expectCode = (f: () => unknown, code: ErrorCode, message?: RegExp) => {
    let err: unknown;
    try { f(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(EdgeVaeError);
    expect((err as EdgeVaeError).code).toBe(code);
    if (message) expect((err as Error).message).toMatch(message);
  };

  it("options that are not objects, and option values of the wrong type", async () => {
    const vae = await Vae.load(good.bytes);
    const x = new Float32Array(7).fill(0.5);
    await expect(Vae.load(good.bytes, null as never)).rejects.toMatchObject({ code: "E_ARGUMENT" });
    expectCode(() => vae.elbo(x, null as never), "E_ARGUMENT", /options must be an object/);
    expectCode(() => vae.logLikelihood(x, 5 as never), "E_ARGUMENT");
    expectCode(() => vae.sample(2, "seed" as never), "E_ARGUMENT");
    expectCode(() => vae.reconstruct(x, { useMean: "yes" as never }), "E_ARGUMENT", /useMean/);
    expectCode(() => vae.elbo(x, { beta: 1e39 }), "E_ARGUMENT", /float32/);
    expectCode(() => vae.encode([0, 1, "2", 3, 4, 5, 6] as never), "E_INPUT_TYPE", /\[2\] is string/);
    expectCode(() => vae.encode([0, 1, , 3, 4, 5, 6] as never), "E_INPUT_TYPE", /\[2\] is undefined/);
    expectCode(() => vae.encode([{ valueOf: () => 1 }, 1, 2, 3, 4, 5, 6] as never), "E_INPUT_TYPE");
  });

  it("results too large to allocate are refused before any work", async () => {
    const vae = await Vae.load(good.bytes);
    expectCode(() => vae.sample(2 ** 31), "E_ARGUMENT", /at most 268435456/);
    expectCode(() => vae.interpolate([0, 0, 0], [1, 1, 1], 2 ** 31), "E_ARGUMENT");
  });

  it("an unexpected internal failure (here a simulated wasm trap) becomes E_INTERNAL with the cause", async () => {
    const vae = await Vae.load(good.bytes);
    const internals = vae as unknown as { k: Record<string, unknown> };
    const trap = new WebAssembly.RuntimeError("unreachable");
    internals.k = { ...internals.k, f32_gemm_bias_act: () => { throw trap; } };
    let err: unknown;
    try { vae.encode(new Float32Array(7)); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err).toMatchObject({ code: "E_INTERNAL", cause: trap });
  });
});
