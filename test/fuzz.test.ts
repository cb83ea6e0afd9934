// Property-based fuzzing (fast-check) of everything an untrusted caller controls: the model
// file's bytes and the compute API's arguments. The properties (docs/SECURITY.md):
//   - Vae.load on any bytes either resolves or rejects with an EdgeVaeError whose code is not
//     E_INTERNAL: never a TypeError / RangeError / wasm trap, never a hang (a per-case timeout);
//   - a file that loads computes: every result is an array of the right length without NaN,
//     or the call throws a typed error;
//   - valid files always load, and rewrites that keep a file's meaning (key order, whitespace,
//     extra metadata, unknown architecture keys) give bit-identical results;
//   - any compute call on a loaded model returns well-formed results or throws an EdgeVaeError,
//     and never corrupts the instance (a reference call gives the same bits afterwards).
// `npm test` runs about 24,000 cases; `npm run fuzz` (EDGEVAE_FUZZ_RUNS=<multiplier>, and
// EDGEVAE_FUZZ_SEED to replay) runs many more.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EdgeVaeError, Vae, type ErrorCode } from "../sdk/index";
import { buildModel, mutableHeader, writeSafetensors, type ModelSpec } from "./helpers/safetensors";
import { buildV2, type LayerSpec2, type V2Spec } from "./helpers/v2";

const SCALE = Number(process.env.EDGEVAE_FUZZ_RUNS ?? 1);
const SEED = process.env.EDGEVAE_FUZZ_SEED === undefined ? undefined : Number(process.env.EDGEVAE_FUZZ_SEED);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
const params = (n: number) => ({ numRuns: runs(n), timeout: 5_000, ...(SEED === undefined ? {} : { seed: SEED }) });
const TIMEOUT = 60_000 + 60_000 * SCALE;

// Tiny seed models (loading is dominated by wasm instantiation, not by the file).
const SEEDS: ModelSpec[] = [
  { inputShape: [3], latentDim: 1, encoder: [{ type: "linear", out: 2 }, { type: "relu" }, { type: "linear" }],
    decoder: [{ type: "linear" }], likelihood: { type: "bernoulli" }, seed: 1 },
  { inputShape: [1, 2, 2], latentDim: 2, encoder: [{ type: "linear", out: 3 }, { type: "gelu" }, { type: "linear", bias: false }],
    decoder: [{ type: "linear", out: 3 }, { type: "leaky_relu", negative_slope: 0.2 }, { type: "linear" }, { type: "elu" }],
    likelihood: { type: "gaussian", sigma: 0.5 }, dtype: "F16", seed: 2 },
  { inputShape: [2], latentDim: 1, encoder: [{ type: "tanh" }, { type: "linear" }],
    decoder: [{ type: "linear", out: 2 }, { type: "softplus" }, { type: "linear" }, { type: "silu" }],
    likelihood: { type: "gaussian_learned" }, seed: 3 },
];
const seedFiles = SEEDS.map((spec) => buildModel(spec).bytes);
// a fourth seed: an unreferenced I64 tensor and extra metadata (both legal)
{
  const built = buildModel({ ...SEEDS[0]!, seed: 4 });
  const tensors = Object.fromEntries(Object.entries(built.tensors).map(([name, data]) => [name, { dtype: "F32", shape: built.shapes[name]!, data }]));
  seedFiles.push(writeSafetensors({ step: { dtype: "I64", shape: [1], data: new Uint8Array(8) }, ...tensors },
    { edgevae: JSON.stringify(built.arch), note: "trained for a test" }));
}

// version 2 seeds: a conv image model with a residual, norms and a spatial latent; a 1-D one (F16)
seedFiles.push(buildV2({
  inputShape: [2, 5, 4], latentDim: 4, latentShape: [1, 2, 2],
  encoder: [{ type: "conv2d", out: 3, kernel: [2, 2], stride: [2, 2], padding: [0, 0, 1, 0] }, { type: "relu" },
    { type: "residual", body: [{ type: "conv2d", out: 3, kernel: [1, 1] }, { type: "group_norm", num_groups: 3 }] },
    { type: "conv2d", out: 2, kernel: [2, 1], padding: [0, 0] }],
  decoder: [{ type: "conv_transpose2d", out: 3, kernel: [3, 2], stride: [2, 2], padding: [0, 0] }, { type: "batch_norm" }, { type: "elu" },
    { type: "flatten" }, { type: "linear", out: 40 }],
  likelihood: { type: "bernoulli" }, seed: 5,
}).bytes, buildV2({
  inputShape: [2, 6], latentDim: 2,
  encoder: [{ type: "conv1d", out: 3, kernel: [3], padding: [1] }, { type: "upsample", scale_factor: [2] }, { type: "flatten" }, { type: "layer_norm" }, { type: "linear", out: 4 }],
  decoder: [{ type: "linear", out: 6 }, { type: "reshape", shape: [2, 3] }, { type: "conv_transpose1d", out: 2, kernel: [2], stride: [2] }],
  likelihood: { type: "gaussian", sigma: 0.5 }, dtype: "F16", seed: 6,
}).bytes);

const KNOWN_CODES = new Set<ErrorCode>([
  "E_FILE_TRUNCATED", "E_HEADER_SIZE", "E_HEADER_JSON", "E_TENSOR_ENTRY", "E_TENSOR_OFFSETS", "E_DTYPE",
  "E_NO_ARCHITECTURE", "E_ARCHITECTURE", "E_VERSION", "E_LAYER_TYPE", "E_LIKELIHOOD", "E_TENSOR_MISSING",
  "E_TENSOR_SHAPE", "E_NONFINITE_WEIGHTS", "E_LIMIT", "E_DUPLICATE_KEY", "E_TENSOR_VALUE", "E_INPUT_TYPE", "E_INPUT_LENGTH",
  "E_ARGUMENT", "E_NOISE_LENGTH", "E_INPUT_VALUE", "E_MEMORY", "E_NONFINITE_RESULT", "E_DISPOSED",
]);

/** Fails the property unless `err` is a typed, expected error (E_INTERNAL means a bug was found). */
function expectTyped(err: unknown, context: string): void {
  if (!(err instanceof EdgeVaeError) || !KNOWN_CODES.has(err.code)) {
    const cause = err instanceof Error && err.cause !== undefined ? ` (cause: ${String(err.cause)})` : "";
    throw new Error(`${context}: not a typed error: ${String(err)}${cause}`, { cause: err });
  }
}

const noNaN = (a: Float32Array) => a.every((v) => v === v);

/** Loads `bytes`; if it loads, runs each compute method once on small inputs. */
async function loadAndUse(bytes: Uint8Array): Promise<"loaded" | ErrorCode> {
  let vae: Vae;
  try {
    vae = await Vae.load(bytes, { maxBatchRows: 4 });
  } catch (err) {
    expectTyped(err, "Vae.load");
    return (err as EdgeVaeError).code;
  }
  try {
    const D = vae.inputSize, J = vae.latentDim;
    const x = new Float32Array(2 * D).fill(0.25);
    const calls: [string, () => Float32Array[]][] = [
      ["encode", () => { const p = vae.encode(x); return [p.mean, p.logvar]; }],
      ["decode", () => [vae.decode(new Float32Array(J))]],
      ["sample", () => [vae.sample(2, { seed: 5 })]],
      ["elbo", () => { const r = vae.elbo(x, { seed: 5, samples: 3 }); return [r.elbo, r.recon, r.kl]; }],
      ["logLikelihood", () => [vae.logLikelihood(x, { seed: 5, k: 3 })]],
    ];
    for (const [name, call] of calls) {
      try {
        for (const r of call()) expect(noNaN(r), `${name} returned NaN`).toBe(true);
      } catch (err) {
        if (err instanceof EdgeVaeError) expectTyped(err, name); else throw err;
      }
    }
  } finally {
    vae.dispose();
  }
  return "loaded";
}

// ---- mutations of a file ---------------------------------------------------------------------

type Pair = [string, unknown];
const enc = new TextEncoder();
const pairsText = (pairs: Pair[]) => "{" + pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",") + "}";

/** JSON values a hostile writer would try: boundary integers, wrong types, nesting. */
const nasty: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -3, max: 64 }),
  fc.constantFrom(0, -1, 2 ** 31, 2 ** 32, 2 ** 32 + 4, 2 ** 53 - 1, 2 ** 53, 2 ** 64, 1e308, -0, 0.5, 1e-320, 3.5e38, 1e39),
  fc.constantFrom("F32", "F16", "BF16", "I64", "__proto__", "toString", "constructor", "", "linear", "relu", "bernoulli"),
  fc.constant(null), fc.boolean(), fc.string({ maxLength: 8 }),
  fc.array(fc.integer({ min: -2, max: 40 }), { maxLength: 4 }),
  fc.jsonValue({ maxDepth: 3 }),
);

const LAYER_TYPES = ["linear", "relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "softplus", "conv2d", "conv1d",
  "conv_transpose2d", "conv_transpose1d", "upsample", "flatten", "reshape", "batch_norm", "group_norm", "layer_norm", "residual", "maxpool2d", "__proto__"];
const TENSOR_NAMES = ["encoder.0.weight", "encoder.2.weight", "decoder.0.weight", "decoder.2.weight", "encoder.0.bias",
  "encoder.2.body.0.weight", "decoder.1.running_var", "decoder.1.running_mean", "encoder.2.body.1.weight"];
const tensorName = fc.option(fc.oneof(fc.constant(null), fc.constantFrom(...TENSOR_NAMES), fc.string({ maxLength: 4 })), { nil: undefined });
/** Per-axis lists a hostile writer would try: zeros, negatives, wrong lengths, huge values. */
const axes = fc.option(fc.oneof(fc.array(fc.integer({ min: -1, max: 4 }), { minLength: 0, maxLength: 5 }), fc.constantFrom([2 ** 31, 1], [1e9, 1e9], [0.5, 1]), nasty), { nil: undefined });
const layer: fc.Arbitrary<Record<string, unknown>> = fc.letrec((tie) => ({
  layer: fc.record({
    type: fc.constantFrom(...LAYER_TYPES),
    weight: tensorName, bias: tensorName, running_mean: tensorName, running_var: tensorName,
    negative_slope: fc.option(nasty, { nil: undefined }),
    alpha: fc.option(nasty, { nil: undefined }),
    stride: axes, padding: axes, dilation: axes, output_padding: axes, scale_factor: axes, shape: axes,
    groups: fc.option(nasty, { nil: undefined }), num_groups: fc.option(nasty, { nil: undefined }), eps: fc.option(nasty, { nil: undefined }),
    mode: fc.option(fc.constantFrom("nearest", "bilinear"), { nil: undefined }),
    body: fc.option(fc.array(tie("layer"), { maxLength: 2 }), { nil: undefined, depthSize: "small" }),
    shortcut: fc.option(fc.array(tie("layer"), { maxLength: 1 }), { nil: undefined, depthSize: "small" }),
  }, { requiredKeys: ["type"] }),
})).layer as fc.Arbitrary<Record<string, unknown>>;

type Edit = (pairs: Pair[], rng: () => number) => Pair[] | string;

/** Edits of the header's tensor table and metadata, as a list of key/value pairs (duplicates allowed). */
const headerEdit: fc.Arbitrary<Edit> = fc.oneof(
  fc.tuple(fc.nat(), fc.constantFrom("dtype", "shape", "data_offsets", "extra"), nasty).map(([i, field, value]): Edit => (pairs) => {
    const [name, entry] = pairs[i % pairs.length]!;
    return pairs.map((p) => p[0] === name ? [name, typeof entry === "object" && entry !== null ? { ...entry, [field]: value } : value] : p);
  }),
  fc.tuple(fc.nat(), fc.integer({ min: -8, max: 8 }), fc.integer({ min: -8, max: 8 })).map(([i, db, de]): Edit => (pairs) => pairs.map((p, j) => {
    const entry = p[1] as { data_offsets?: number[] };
    if (j !== i % pairs.length || !Array.isArray(entry?.data_offsets)) return p;
    return [p[0], { ...entry, data_offsets: [entry.data_offsets[0]! + db, entry.data_offsets[1]! + de] }];
  })),
  fc.nat().map((i): Edit => (pairs) => pairs.filter((_, j) => j !== i % pairs.length)),                    // drop an entry
  fc.tuple(fc.nat(), fc.boolean()).map(([i, same]): Edit => (pairs) => {                                   // duplicate a key
    const p = pairs[i % pairs.length]!;
    return [...pairs, [p[0], same ? p[1] : { dtype: "F32", shape: [0], data_offsets: [0, 0] }]];
  }),
  fc.tuple(fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", ""), nasty).map(([key, value]): Edit => (pairs) => [...pairs, [key, value]]),
  fc.tuple(fc.nat(), fc.string({ maxLength: 6 })).map(([i, name]): Edit => (pairs) => pairs.map((p, j) => j === i % pairs.length ? [name, p[1]] : p)),
  fc.tuple(fc.constantFrom("__proto__", "edgevae", "x", "constructor"), nasty).map(([key, value]): Edit => (pairs) =>
    pairs.map((p) => p[0] === "__metadata__" ? [p[0], { ...(p[1] as object), [key]: value }] : p)),
  fc.string({ maxLength: 40 }).map((junk): Edit => (pairs) => pairsText(pairs).slice(0, -1) + junk),      // text damage
);

/** Edits of the architecture JSON inside __metadata__["edgevae"]. */
const archEdit: fc.Arbitrary<(arch: Record<string, any>) => Record<string, any> | string> = fc.oneof(
  fc.tuple(fc.constantFrom("version", "input_shape", "latent_dim", "latent_shape", "encoder", "decoder", "likelihood", "prior", "__proto__"), nasty)
    .map(([key, value]) => (a: Record<string, any>) => ({ ...a, [key]: value })),
  fc.tuple(fc.constantFrom("encoder", "decoder"), fc.nat(), fc.constantFrom("drop", "dup", "insert", "swap"), layer)
    .map(([net, i, op, l]) => (a: Record<string, any>) => {
      const layers = Array.isArray(a[net]) ? [...(a[net] as unknown[])] : [];
      const at = i % (layers.length + 1);
      if (op === "drop") layers.splice(at, 1);
      else if (op === "dup") layers.splice(at, 0, layers[at % layers.length]);
      else if (op === "insert") layers.splice(at, 0, l);
      else layers.reverse();
      return { ...a, [net]: layers };
    }),
  fc.record({ type: fc.constantFrom("bernoulli", "gaussian", "gaussian_learned", "poisson"), sigma: fc.option(nasty, { nil: undefined }) })
    .map((lik) => (a: Record<string, any>) => ({ ...a, likelihood: lik })),
  fc.constantFrom("latent_dim", "encoder", "version", "likelihood").map((key) => (a: Record<string, any>) => {
    const text = JSON.stringify(a);                                                            // a duplicated key
    return text.slice(0, -1) + `,${JSON.stringify(key)}:${JSON.stringify(a[key])}}`;
  }),
  fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 3 }).map((shape) => (a: Record<string, any>) => ({ ...a, input_shape: shape })),
);

const byteEdit = fc.oneof(
  fc.tuple(fc.nat(), fc.nat({ max: 7 })).map(([i, bit]) => (b: Uint8Array) => { const c = b.slice(); c[i % c.length]! ^= 1 << bit; return c; }),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([i, v]) => (b: Uint8Array) => { const c = b.slice(); c[i % c.length] = v; return c; }),
  fc.nat().map((n) => (b: Uint8Array) => b.slice(0, n % (b.length + 1))),                                       // truncation
  fc.uint8Array({ maxLength: 16 }).map((tail) => (b: Uint8Array) => { const c = new Uint8Array(b.length + tail.length); c.set(b); c.set(tail, b.length); return c; }),
  fc.tuple(fc.nat(), fc.nat()).map(([lo, hi]) => (b: Uint8Array) => { const c = b.slice(); if (c.length < 8) return c; new DataView(c.buffer).setUint32(0, lo, true); new DataView(c.buffer).setUint32(4, hi % 4, true); return c; }),
  fc.tuple(fc.nat(), fc.integer({ min: -16, max: 16 })).map(([, d]) => (b: Uint8Array) => { const c = b.slice(); if (c.length < 8) return c; const v = new DataView(c.buffer); v.setUint32(0, Math.max(0, v.getUint32(0, true) + d), true); return c; }),
  fc.tuple(fc.nat(), fc.float({ noNaN: false })).map(([i, f]) => (b: Uint8Array) => {           // a weight set to any float (NaN, Inf, huge)
    const c = b.slice();
    if (c.length < 8) return c;
    const n = Number(new DataView(c.buffer).getBigUint64(0, true));
    const at = 8 + n + 4 * (i % Math.max(1, Math.floor((c.length - 8 - n) / 4)));
    if (at + 4 <= c.length) new DataView(c.buffer).setFloat32(at, f, true);
    return c;
  }),
);

/** Applies edits in turn to the header's pairs (an edit that returns text ends the chain). */
function applyHeaderEdits(bytes: Uint8Array, edits: Edit[]): Uint8Array {
  const m = mutableHeader(bytes);
  let pairs = Object.entries(m.header) as Pair[];
  for (const edit of edits) {
    const out = edit(pairs, Math.random);
    if (typeof out === "string") return m.rebuildText(out);
    pairs = out;
  }
  return m.rebuildText(pairsText(pairs));
}

/** Applies edits in turn to the architecture object (an edit that returns text ends the chain). */
function applyArchEdits(bytes: Uint8Array, edits: ((a: Record<string, any>) => Record<string, any> | string)[]): Uint8Array {
  const m = mutableHeader(bytes);
  let arch: Record<string, any> | string = JSON.parse(m.header.__metadata__.edgevae);
  for (const edit of edits) {
    arch = edit(arch as Record<string, any>);
    if (typeof arch === "string") break;
  }
  return m.rebuild({ ...m.header, __metadata__: { ...m.header.__metadata__, edgevae: typeof arch === "string" ? arch : JSON.stringify(arch) } });
}

const seedFile = fc.nat({ max: seedFiles.length - 1 }).map((i) => seedFiles[i]!);

describe("fuzz: model files", () => {
  const outcomes = new Map<string, number>();
  const tally = (o: string) => outcomes.set(o, (outcomes.get(o) ?? 0) + 1);

  it("byte-level mutations (bit flips, byte sets, truncation, trailing bytes, header length, weights)", async () => {
    await fc.assert(fc.asyncProperty(seedFile, fc.array(byteEdit, { minLength: 1, maxLength: 3 }), async (file, edits) => {
      tally(await loadAndUse(edits.reduce((b, e) => e(b), file)));
    }), params(6000));
  }, TIMEOUT);

  it("header JSON mutations (offsets, shapes, dtypes, duplicate keys, __proto__, metadata)", async () => {
    await fc.assert(fc.asyncProperty(seedFile, fc.array(headerEdit, { minLength: 1, maxLength: 3 }), async (file, edits) => {
      tally(await loadAndUse(applyHeaderEdits(file, edits)));
    }), params(6000));
  }, TIMEOUT);

  it("architecture mutations (layer lists, widths, likelihoods, versions, duplicate keys)", async () => {
    await fc.assert(fc.asyncProperty(seedFile, fc.array(archEdit, { minLength: 1, maxLength: 3 }), async (file, edits) => {
      tally(await loadAndUse(applyArchEdits(file, edits)));
    }), params(4000));
  }, TIMEOUT);

  it("random bytes, with and without a plausible header length", async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (junk, framed) => {
      let bytes = junk;
      if (framed && junk.length >= 8) { bytes = junk.slice(); new DataView(bytes.buffer).setBigUint64(0, BigInt(Math.min(junk.length - 8, 2 + (junk[0]! % 64))), true); }
      const outcome = await loadAndUse(bytes);
      expect(outcome).not.toBe("loaded");
      tally(outcome);
    }), params(2000));
    // what the fuzzer saw, for the log: every outcome is "loaded" or a FormatError code
    console.log("fuzz outcomes:", Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])));
  }, TIMEOUT);
});

describe("fuzz: valid files always load", () => {
  const X = (vae: Vae) => Float32Array.from({ length: 3 * vae.inputSize }, (_, i) => (i % 5) / 5);
  const fingerprint = (vae: Vae) => [vae.encode(X(vae)).mean, vae.elbo(X(vae), { seed: 9, samples: 2 }).elbo, vae.sample(2, { seed: 9 })];
  const baselines = new Map<Uint8Array, Float32Array[]>();
  const baseline = async (file: Uint8Array) => {
    if (!baselines.has(file)) { const v = await Vae.load(file); baselines.set(file, fingerprint(v)); v.dispose(); }
    return baselines.get(file)!;
  };

  it("meaning-preserving rewrites: key order, whitespace, padding, extra metadata, unknown architecture keys", async () => {
    await fc.assert(fc.asyncProperty(seedFile, fc.nat(), fc.constantFrom("", " ", "\n", "\t "), fc.dictionary(fc.string({ maxLength: 6 }).filter((k) => k !== "edgevae"), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
      fc.dictionary(fc.string({ maxLength: 6 }).filter((k) => !["version", "input_shape", "latent_dim", "encoder", "decoder", "likelihood", "prior"].includes(k)), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
      async (file, order, space, extraMeta, extraArch) => {
        const m = mutableHeader(file);
        const arch = { ...extraArch, ...JSON.parse(m.header.__metadata__.edgevae) };
        const meta = { ...extraMeta, ...m.header.__metadata__, edgevae: JSON.stringify(arch, null, space) };
        const pairs = Object.entries({ ...m.header, __metadata__: meta });
        const rotated = [...pairs.slice(order % pairs.length), ...pairs.slice(0, order % pairs.length)];
        const text = space + "{" + rotated.map(([k, v]) => `${JSON.stringify(k)}${space}:${space}${JSON.stringify(v, null, space)}`).join("," + space) + "}" + space;
        const vae = await Vae.load(m.rebuildText(text));
        try {
          expect(fingerprint(vae)).toEqual(await baseline(file));
        } finally {
          vae.dispose();
        }
      }), params(500));
  }, TIMEOUT);

  const ACTS = ["relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "softplus"] as const;
  const stack = fc.array(fc.oneof(
    fc.record({ type: fc.constant("linear" as const), out: fc.integer({ min: 1, max: 9 }), bias: fc.boolean() }),
    fc.constantFrom(...ACTS).map((type) => ({ type }))), { maxLength: 4 })
    .chain((layers) => fc.boolean().map((bias) => [...layers, { type: "linear" as const, bias }]));
  const spec: fc.Arbitrary<ModelSpec> = fc.record({
    inputShape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
    latentDim: fc.integer({ min: 1, max: 5 }),
    encoder: stack, decoder: stack,
    likelihood: fc.oneof(fc.constant({ type: "bernoulli" as const }), fc.constant({ type: "gaussian_learned" as const }),
      fc.double({ min: 0.01, max: 10, noNaN: true }).map((sigma) => ({ type: "gaussian" as const, sigma }))),
    dtype: fc.constantFrom("F32" as const, "F16" as const),
    seed: fc.nat(),
    includePrior: fc.boolean(),
  });

  // random version 2 conv architectures that are valid by construction: "same" convolutions
  // (odd kernels, stride 1), norms, residuals, then flatten + linear; the decoder mirrors it
  const sameConv = (c: number) => fc.record({
    type: fc.constantFrom("conv2d", "conv_transpose2d"), k: fc.constantFrom(1, 3), groups: fc.constantFrom(...[1, c].filter((g, i, a) => a.indexOf(g) === i)),
    bias: fc.boolean(),
  }).map(({ type, k, groups, bias }): LayerSpec2 => ({ type, out: c, kernel: [k, k], padding: [(k - 1) / 2, (k - 1) / 2], groups, bias }));
  const block = (c: number): fc.Arbitrary<LayerSpec2[]> => fc.oneof(
    sameConv(c).map((l) => [l]),
    fc.constantFrom(...ACTS).map((type) => [{ type }]),
    fc.constant<LayerSpec2[]>([{ type: "batch_norm" }]),
    fc.constantFrom(1, c).map((g) => [{ type: "group_norm", num_groups: g }]),
    fc.array(sameConv(c), { minLength: 1, maxLength: 2 }).map((body) => [{ type: "residual", body }]),
  );
  const convNet = (c: number) => fc.array(block(c), { maxLength: 3 }).map((bs) => bs.flat());
  const v2spec: fc.Arbitrary<V2Spec> = fc.record({
    c: fc.integer({ min: 1, max: 9 }), h: fc.integer({ min: 1, max: 6 }), w: fc.integer({ min: 1, max: 7 }), hidden: fc.integer({ min: 1, max: 5 }),
    J: fc.integer({ min: 1, max: 4 }), seed: fc.nat(), learned: fc.boolean(), dtype: fc.constantFrom("F32" as const, "F16" as const),
  }).chain(({ c, h, w, hidden, J, seed, learned, dtype }) => fc.tuple(convNet(hidden), convNet(hidden)).map(([e, d]): V2Spec => ({
    inputShape: [c, h, w], latentDim: J, seed, dtype, scale: 0.8,
    encoder: [{ type: "conv2d", out: hidden, kernel: [1, 1] }, ...e, { type: "flatten" }, { type: "linear", out: 2 * J }],
    decoder: [{ type: "linear", out: hidden * h * w }, { type: "reshape", shape: [hidden, h, w] }, ...d, { type: "conv2d", out: learned ? 2 * c : c, kernel: [1, 1] }],
    likelihood: learned ? { type: "gaussian_learned" } : { type: "bernoulli" },
  })));

  it("random valid version 2 architectures load and compute finite results", async () => {
    await fc.assert(fc.asyncProperty(v2spec, fc.integer({ min: 1, max: 5 }), async (s, rows) => {
      const vae = await Vae.load(buildV2(s).bytes, { maxBatchRows: rows });
      try {
        const x = X(vae);
        expect(noNaN(vae.elbo(x, { seed: 1, samples: 2 }).elbo) && noNaN(vae.logLikelihood(x, { seed: 1, k: 3 }))).toBe(true);
        expect(vae.decode(new Float32Array(vae.latentDim * 7)).length).toBe(7 * vae.inputSize);
      } finally {
        vae.dispose();
      }
    }), params(300));
  }, TIMEOUT);

  it("random valid architectures load and compute finite results", async () => {
    await fc.assert(fc.asyncProperty(spec, fc.integer({ min: 1, max: 5 }), async (s, rows) => {
      const vae = await Vae.load(buildModel(s).bytes, { maxBatchRows: rows });
      try {
        const x = X(vae);
        const r = vae.elbo(x, { seed: 1, samples: 2 });
        expect(noNaN(r.elbo) && noNaN(vae.logLikelihood(x, { seed: 1, k: 3 }))).toBe(true);
        expect(vae.decode(new Float32Array(vae.latentDim * 7)).length).toBe(7 * vae.inputSize);
      } finally {
        vae.dispose();
      }
    }), params(500));
  }, TIMEOUT);
});

// ---- the compute API -------------------------------------------------------------------------

describe("fuzz: compute calls", () => {
  const interesting = fc.oneof(
    { weight: 8, arbitrary: fc.float({ min: -4, max: 4, noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, 3e38, -3e38, 1e30, 1e-45, -0) },
  );
  const floats = (n: number) => fc.array(interesting, { minLength: n, maxLength: n });
  const array = (maxItems: number, width: () => number) => fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: maxItems }).chain((n) => floats(n * width()).map((v) => Float32Array.from(v))) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: maxItems }).chain((n) => floats(n * width())) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 * maxItems }).chain((n) => floats(n).map((v) => Float64Array.from(v))) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(null, undefined, "x", 7, {}, new Int32Array(3), [1, "2", 3], [1, , 3], [{ valueOf: () => 1 }]) },
  );
  const count = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.constantFrom<unknown>(0, -1, 1.5, NaN, Infinity, 2 ** 31, 2 ** 40, "3", null));
  const options = fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, 5, "seed", []) },
    { weight: 6, arbitrary: fc.record({
      seed: fc.oneof(fc.nat(), fc.constantFrom<unknown>(-1, 0.5, 2 ** 53, NaN, "1", 2 ** 53 - 1)),
      samples: count, k: count,
      beta: fc.oneof(fc.double({ min: -5, max: 5, noNaN: true }), fc.constantFrom<unknown>(NaN, Infinity, 1e39, 3e38, "1", 0)),
      useMean: fc.constantFrom<unknown>(true, false, 1, "yes"),
      eps: fc.option(fc.integer({ min: 0, max: 40 }).chain((n) => floats(n).map((v) => Float32Array.from(v))), { nil: undefined }),
    }, { requiredKeys: [] }) },
  );

  it("any arguments give well-formed results or a typed error, and never corrupt the instance", async () => {
    const vaes = await Promise.all(seedFiles.slice(0, 3).map((f, i) => Vae.load(f, { maxBatchRows: [2, 3, 256][i]! })));
    const reference = (v: Vae) => v.elbo(new Float32Array(2 * v.inputSize).fill(0.5), { seed: 3, samples: 5 }).elbo;
    const before = vaes.map(reference);
    let returned = 0, thrown = 0;
    const call = fc.nat({ max: vaes.length - 1 }).chain((i) => {
      const v = vaes[i]!;
      const D = () => v.inputSize, J = () => v.latentDim;
      return fc.oneof(
        fc.tuple(fc.constantFrom("encode", "reconstruct", "elbo", "logLikelihood"), array(9, D), options)
          .map(([name, x, o]) => ({ i, name, args: [x, o] })),
        fc.tuple(fc.constantFrom("decode", "decodeParams"), array(9, J)).map(([name, z]) => ({ i, name, args: [z] })),
        fc.tuple(count, options).map(([n, o]) => ({ i, name: "sample", args: [n, o] })),
        fc.tuple(array(1, J), array(1, J), count).map(([a, b, n]) => ({ i, name: "interpolate", args: [a, b, n] })),
      );
    });
    fc.assert(fc.property(call, ({ i, name, args }) => {
      const v = vaes[i]!;
      let out: unknown;
      try {
        out = (v as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...args);
      } catch (err) {
        expectTyped(err, name);
        thrown++;
        return;
      }
      returned++;
      const arrays = out instanceof Float32Array ? [out] : Object.values(out as object) as Float32Array[];
      for (const a of arrays) {
        expect(a).toBeInstanceOf(Float32Array);
        expect(noNaN(a)).toBe(true);
      }
      expect(reference(v)).toEqual(before[i]);
    }), params(6000));
    vaes.forEach((v, i) => expect(reference(v)).toEqual(before[i]));
    console.log(`compute fuzz: ${returned} calls returned, ${thrown} threw typed errors`);
    expect(returned).toBeGreaterThan(runs(6000) / 10); // the generators do reach the happy path
    vaes.forEach((v) => v.dispose());
  }, TIMEOUT);
});
