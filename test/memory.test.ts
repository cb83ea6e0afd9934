// Memory (docs/SECURITY.md): a long-lived isolate (an edge function, a Worker with 128 MB) can
// load, run and dispose models forever. Wasm memory is planned once at load and never grows
// during compute; dispose() lets it go even if the Vae object is kept; maxMemoryBytes bounds
// the whole instance (static data, weights, buffers), shrinking maxBatchRows if needed; large
// batches run in chunks. Process RSS is measured and loosely bounded (it is noisy: V8 heaps
// and allocator caches move), and printed for the log.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { Vae } from "../sdk/index";
import { buildModel, type ModelSpec } from "./helpers/safetensors";
import { buildV2 } from "./helpers/v2";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const settle = async () => { for (let i = 0; i < 3; i++) { await new Promise((r) => setTimeout(r, 0)); gc(); } };
const MB = 2 ** 20;
const rss = () => process.memoryUsage().rss;

const TINY: ModelSpec = {
  inputShape: [4], latentDim: 2,
  encoder: [{ type: "linear", out: 5 }, { type: "relu" }, { type: "linear" }],
  decoder: [{ type: "linear", out: 5 }, { type: "tanh" }, { type: "linear" }],
  likelihood: { type: "bernoulli" }, seed: 21,
};
const tiny = buildModel(TINY).bytes;
type Internals = { k?: { memory: WebAssembly.Memory }; arena: { used: number; memoryBytes: number } };
const internals = (v: Vae) => v as unknown as Internals;

describe("memory", () => {
  it("10,000 load/dispose cycles: every instance has the planned memory, and RSS stays flat", async () => {
    const first = await Vae.load(tiny);
    const planned = first.info.memoryBytes;
    first.dispose();
    for (let i = 0; i < 200; i++) (await Vae.load(tiny)).dispose(); // warm up
    await settle();
    const before = rss();
    let peak = before;
    for (let i = 0; i < 10_000; i++) {
      const vae = await Vae.load(tiny);
      if (vae.info.memoryBytes !== planned) expect(vae.info.memoryBytes).toBe(planned);
      vae.dispose();
      if (i % 1000 === 999) peak = Math.max(peak, rss());
    }
    await settle();
    const after = rss();
    console.log(`load/dispose x10,000: ${planned} bytes of wasm memory each; RSS ${(before / MB).toFixed(0)} -> ${(after / MB).toFixed(0)} MB (peak ${(peak / MB).toFixed(0)} MB)`);
    expect(after - before).toBeLessThan(64 * MB);
  }, 120_000);

  it("1,000,000 compute calls at batch 1: no wasm memory growth, no arena growth, flat RSS", async () => {
    const vae = await Vae.load(tiny);
    const bytes = vae.info.memoryBytes, used = internals(vae).arena.used;
    const x = new Float32Array(4).fill(0.5), z = new Float32Array(2);
    for (let i = 0; i < 20_000; i++) vae.encode(x); // warm up
    await settle();
    const before = rss();
    for (let i = 0; i < 1_000_000; i += 4) {
      vae.encode(x);
      vae.decode(z);
      vae.elbo(x, { seed: i });
      vae.logLikelihood(x, { seed: i, k: 2 });
    }
    await settle();
    const after = rss();
    console.log(`1,000,000 calls: wasm memory ${bytes} -> ${internals(vae).arena.memoryBytes} bytes; RSS ${(before / MB).toFixed(0)} -> ${(after / MB).toFixed(0)} MB`);
    expect(internals(vae).arena.memoryBytes).toBe(bytes);
    expect(internals(vae).arena.used).toBe(used);
    expect(after - before).toBeLessThan(64 * MB);
    vae.dispose();
  }, 120_000);

  it("dispose() releases the wasm memory even while the Vae object is still referenced", async () => {
    const vae = await Vae.load(tiny);
    const memory = new WeakRef(internals(vae).k!.memory);
    vae.dispose();
    await settle();
    expect(memory.deref()).toBeUndefined();
    expect(vae.disposed).toBe(true); // the object itself is still here
  });

  const WIDE: ModelSpec = {
    inputShape: [8], latentDim: 2,
    encoder: [{ type: "linear", out: 2000 }, { type: "relu" }, { type: "linear" }],
    decoder: [{ type: "linear", out: 2000 }, { type: "relu" }, { type: "linear" }],
    likelihood: { type: "gaussian", sigma: 1 }, seed: 22,
  };
  const wide = buildModel(WIDE).bytes;

  it("maxMemoryBytes bounds the whole instance: maxBatchRows shrinks to fit, with the same results", async () => {
    const free = await Vae.load(wide);
    expect(free.info.maxBatchRows).toBe(256);
    expect(free.info.memoryBytes).toBeGreaterThan(2 * MB);
    const capped = await Vae.load(wide, { maxMemoryBytes: 2 * MB });
    expect(capped.info.memoryBytes).toBeLessThanOrEqual(2 * MB);
    expect(capped.info.maxBatchRows).toBeLessThan(256);
    expect(capped.info.maxBatchRows).toBeGreaterThanOrEqual(1);
    const x = Float32Array.from({ length: 1000 * 8 }, (_, i) => Math.sin(i));
    expect(capped.elbo(x, { seed: 4, samples: 3 })).toEqual(free.elbo(x, { seed: 4, samples: 3 }));
    expect(capped.logLikelihood(x, { seed: 4, k: 300 })).toEqual(free.logLikelihood(x, { seed: 4, k: 300 }));
    expect(internals(capped).arena.memoryBytes).toBeLessThanOrEqual(2 * MB); // compute did not grow it
    // a page-unaligned cap is honoured to the byte (memory grows in 64 KiB pages)
    const odd = await Vae.load(wide, { maxMemoryBytes: 2 * MB - 1 });
    expect(odd.info.memoryBytes).toBeLessThanOrEqual(2 * MB - 1);
  });

  it("a model whose weights alone exceed maxMemoryBytes is refused with E_MEMORY, not loaded", async () => {
    const big = buildModel({ ...WIDE, encoder: [{ type: "linear", out: 40_000 }, { type: "relu" }, { type: "linear" }], seed: 23 }).bytes;
    const err = await Vae.load(big, { maxMemoryBytes: 1 * MB }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "E_MEMORY", name: "RuntimeError" });
    expect((err as Error).message).toMatch(/maxMemoryBytes/);
  });

  it("a worker-sized budget: an MNIST-sized model (784-400-20) fits in 16 MB at 256 rows", async () => {
    const mnist = buildModel({ inputShape: [1, 28, 28], latentDim: 20,
      encoder: [{ type: "linear", out: 400 }, { type: "relu" }, { type: "linear" }],
      decoder: [{ type: "linear", out: 400 }, { type: "relu" }, { type: "linear" }],
      likelihood: { type: "bernoulli" }, seed: 24 }).bytes;
    const vae = await Vae.load(mnist, { maxMemoryBytes: 16 * MB });
    expect(vae.info.maxBatchRows).toBe(256);
    expect(vae.info.memoryBytes).toBeLessThanOrEqual(16 * MB);
    console.log(`784-400-20 at 256 rows: ${vae.info.memoryBytes} bytes of wasm memory`);
    // too small for 256 rows: fewer rows per chunk (loading itself needs the Model plus the
    // staging of one weight matrix, about 3.8 MB here, so the cap stays above that)
    const cap = vae.info.memoryBytes - MB / 2;
    const small = await Vae.load(mnist, { maxMemoryBytes: cap });
    expect(small.info.maxBatchRows).toBeLessThan(256);
    expect(small.info.memoryBytes).toBeLessThanOrEqual(cap);
    const x = Float32Array.from({ length: 300 * 784 }, (_, i) => (i % 13) / 13);
    expect(small.elbo(x, { seed: 2 })).toEqual(vae.elbo(x, { seed: 2 }));
    vae.dispose(); small.dispose();
  });

  it("100,000 items in one call run in chunks, with the same numbers as small batches", async () => {
    const vae = await Vae.load(tiny);
    const bytes = vae.info.memoryBytes;
    const n = 100_000;
    const x = Float32Array.from({ length: n * 4 }, (_, i) => (i * 7919 % 101) / 100);
    const { mean } = vae.encode(x);
    const { elbo } = vae.elbo(x, { seed: 8 });
    const lp = vae.logLikelihood(x, { seed: 8, k: 4 });
    expect(mean.length).toBe(2 * n);
    expect(elbo.length).toBe(n);
    const tail = x.subarray((n - 3) * 4);
    expect(vae.encode(tail).mean).toEqual(mean.subarray((n - 3) * 2));
    // seeded noise is indexed by item, so only items 0..2 can be compared in a separate call
    expect(vae.elbo(x.subarray(0, 12), { seed: 8 }).elbo).toEqual(elbo.subarray(0, 3));
    expect(vae.logLikelihood(x.subarray(0, 12), { seed: 8, k: 4 })).toEqual(lp.subarray(0, 3));
    expect(vae.sample(n, { seed: 1 }).length).toBe(4 * n);
    expect(internals(vae).arena.memoryBytes).toBe(bytes);
  });
});

describe("memory: conv models under a Worker's 128 MB", () => {
  // The DCGAN-style 64x64 RGB VAE of the benchmark: 4 stride-2 4x4 convs (3-32-64-128-256), a
  // linear to [mean | logvar] of 128, and the mirror image with transposed convs.
  const conv = (out: number) => [{ type: "conv2d", out, kernel: [4, 4], stride: [2, 2], padding: [1, 1] }, { type: "relu" }];
  const deconv = (out: number) => [{ type: "conv_transpose2d", out, kernel: [4, 4], stride: [2, 2], padding: [1, 1] }, { type: "relu" }];
  const dcgan = buildV2({
    inputShape: [3, 64, 64], latentDim: 128,
    encoder: [...conv(32), ...conv(64), ...conv(128), ...conv(256), { type: "flatten" }, { type: "linear", out: 256 }],
    decoder: [{ type: "linear", out: 4096 }, { type: "relu" }, { type: "reshape", shape: [256, 4, 4] },
      ...deconv(128), ...deconv(64), ...deconv(32), { type: "conv_transpose2d", out: 3, kernel: [4, 4], stride: [2, 2], padding: [1, 1] }],
    likelihood: { type: "bernoulli" }, seed: 31,
  }).bytes;

  it("the 64x64 model runs within maxMemoryBytes = 128 MB, in chunks, with the same results as unbounded", async () => {
    const small = await Vae.load(dcgan, { maxMemoryBytes: 128 * MB, simd: "baseline" });
    const big = await Vae.load(dcgan, { maxBatchRows: 1024, simd: "baseline" });
    console.log(`64x64 conv VAE: ${small.info.parameterCount} parameters, model ${(small.info.modelBytes / MB).toFixed(1)} MB; under 128 MB: ${small.info.maxBatchRows} rows, ${(small.info.memoryBytes / MB).toFixed(1)} MB; unbounded: ${big.info.maxBatchRows} rows, ${(big.info.memoryBytes / MB).toFixed(1)} MB`);
    expect(small.info.memoryBytes).toBeLessThanOrEqual(128 * MB);
    expect(small.info.maxBatchRows).toBeLessThan(big.info.maxBatchRows);
    const n = 40, x = Float32Array.from({ length: n * small.inputSize }, (_, i) => (i * 7919 % 1000) / 1000);
    const a = small.elbo(x, { seed: 4, samples: 3 }), b = big.elbo(x, { seed: 4, samples: 3 });
    expect(a.elbo).toEqual(b.elbo);
    expect(small.info.memoryBytes).toBe(internals(small).k!.memory.buffer.byteLength); // no growth during compute
    small.dispose(); big.dispose();
  }, 120_000);

  it("a model that cannot fit at all is refused with E_MEMORY before computing", async () => {
    await expect(Vae.load(dcgan, { maxMemoryBytes: 8 * MB })).rejects.toMatchObject({ code: "E_MEMORY" });
  });
});
