// VaePool on Node (worker_threads), against the built package (dist/): every method gives the
// very bytes of a single-threaded Vae loaded with the same options, for 1, 2 and 3 workers and
// slices of 1 item, 37 items and the default size, batches smaller than the pool, the Vae's own
// chunking (maxBatchRows 8) and sample blocks split across kernel passes (k > maxBatchRows);
// arguments fail with the Vae's own errors; a worker that dies or cannot load the model is a
// typed error and the pool goes on (or says it is closed); dispose ends everything.
// Deno and Chromium run the same checks in test/parallel-runtimes.test.ts.
import { beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type * as Edgevae from "../sdk/index";
import { buildModel, mulberry32, type ModelSpec } from "./helpers/safetensors";
import { buildV2 } from "./helpers/v2";
import { V2_SPECS } from "./helpers/v2-models";

type E = typeof Edgevae;
type Pool = Edgevae.VaePool;
type Vae = Edgevae.Vae;
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CRASH = Symbol.for("edgevae.VaePool.crashWorker");
const crash = (pool: Pool, i: number, how: "throw" | "exit") => (pool as unknown as Record<symbol, (i: number, h: string) => void>)[CRASH]!(i, how);

let E: E;
beforeAll(async () => {
  // the pool's worker is dist/parallel-worker.js: test what ships (`npm test` builds first)
  if (!existsSync(join(ROOT, "dist/parallel-worker.js"))) execFileSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "inherit" });
  E = await import(new URL("../dist/index.js", import.meta.url).href) as E;
}, 120_000);

const MLP: ModelSpec = {
  inputShape: [13], latentDim: 3,
  encoder: [{ type: "linear", out: 9 }, { type: "relu" }, { type: "linear" }],
  decoder: [{ type: "linear", out: 11 }, { type: "tanh" }, { type: "linear" }],
  likelihood: { type: "bernoulli" }, seed: 41,
};
const MODELS: Record<string, Uint8Array> = {
  mlp_bernoulli: buildModel(MLP).bytes,
  mlp_gaussian_learned_f16: buildModel({ ...MLP, likelihood: { type: "gaussian_learned" }, dtype: "F16", seed: 42 }).bytes,
  ...Object.fromEntries(Object.entries(V2_SPECS).map(([name, spec]) => [`v2_${name}`, buildV2(spec).bytes])),
};

function uniform(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => r());
}
function normal(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

/** Every pool method with fixed inputs: name -> (a Vae or a pool) -> its result arrays. */
function calls(D: number, J: number, n: number) {
  const x = uniform(n * D, 1 + n), z = normal(n * J, 2 + n);
  const eps3 = normal(n * 3 * J, 3 + n), eps20 = normal(n * 20 * J, 4 + n);
  const arrays = (r: Float32Array | Edgevae.Posterior | Edgevae.ElboResult): Float32Array[] => (r instanceof Float32Array ? [r] : Object.values(r));
  type M = Vae | Pool;
  const table: Record<string, (m: M) => Promise<Float32Array[]>> = {
    encode: async (m) => arrays(await m.encode(x)),
    decode: async (m) => arrays(await m.decode(z)),
    decodeParams: async (m) => arrays(await m.decodeParams(z)),
    "reconstruct seed": async (m) => arrays(await m.reconstruct(x, { seed: 5 })),
    "reconstruct useMean": async (m) => arrays(await m.reconstruct(x, { useMean: true })),
    "elbo seed, 3 samples": async (m) => arrays(await m.elbo(x, { seed: 2 ** 40 + 7, samples: 3, beta: 0.5 })),
    "elbo eps": async (m) => arrays(await m.elbo(x, { eps: eps3, samples: 3 })),
    "logLikelihood seed, k 20": async (m) => arrays(await m.logLikelihood(x, { seed: 11, k: 20 })),
    "logLikelihood eps": async (m) => arrays(await m.logLikelihood(x, { eps: eps20, k: 20 })),
  };
  return table;
}

function expectSameBytes(got: Float32Array[], want: Float32Array[], label: string): void {
  expect(got.length, label).toBe(want.length);
  got.forEach((g, i) => {
    const w = want[i]!;
    expect(g.length, label).toBe(w.length);
    const gb = new Uint32Array(g.buffer, g.byteOffset, g.length), wb = new Uint32Array(w.buffer, w.byteOffset, w.length);
    const at = gb.findIndex((v, j) => v !== wb[j]);
    expect(at, `${label}: array ${i} first differs at [${at}]: ${g[at]} vs ${w[at]}`).toBe(-1);
  });
}

/** The error a call throws (sync or async). */
async function errorOf(f: () => unknown): Promise<Error & { code?: string }> {
  try { await f(); } catch (err) { return err as Error & { code?: string }; }
  throw new Error("expected an error");
}

describe("VaePool on Node: the same bytes as one Vae", () => {
  for (const [name, bytes] of Object.entries(MODELS)) {
    it(`${name}: 1, 2, 3 workers x slices of 1, 37 and default items x batches of 1 and 53 x maxBatchRows 8 and 256`, async () => {
      for (const maxBatchRows of [8, 256]) {
        const vae = await E.Vae.load(bytes, { simd: "baseline", maxBatchRows });
        const tables = [1, 53].map((n) => ({ n, table: calls(vae.inputSize, vae.latentDim, n) }));
        const want = new Map<string, Float32Array[]>();
        for (const { n, table } of tables) for (const [k, f] of Object.entries(table)) want.set(`${n}/${k}`, await f(vae));
        // the comparison can fail: another seed gives other bytes
        const other = await vae.elbo(uniform(53 * vae.inputSize, 54), { seed: 2 ** 40 + 8, samples: 3, beta: 0.5 });
        expect(Buffer.from(other.elbo.buffer).equals(Buffer.from(want.get("53/elbo seed, 3 samples")![0]!.buffer))).toBe(false);
        for (const workers of [1, 2, 3]) for (const chunkItems of [undefined, 1, 37]) {
          const pool = await E.VaePool.create(bytes, { simd: "baseline", maxBatchRows, workers, chunkItems });
          expect(pool.mode).toBe("workers");
          expect(pool.workers).toBe(workers);
          expect(pool.info.memoryBytes).toBe(vae.info.memoryBytes);
          for (const { n, table } of tables) for (const [k, f] of Object.entries(table)) {
            expectSameBytes(await f(pool), want.get(`${n}/${k}`)!, `${name} rows ${maxBatchRows}, ${workers} workers, slices of ${chunkItems ?? "default"}, batch ${n}: ${k}`);
          }
          await pool.dispose();
        }
        vae.dispose();
      }
    });
  }

  it("large batches with the default slicing (several slices per worker, concurrent calls) match too", async () => {
    const bytes = MODELS.mlp_bernoulli!;
    const vae = await E.Vae.load(bytes, { simd: "baseline" });
    const pool = await E.VaePool.create(bytes, { simd: "baseline", workers: 2 });
    const D = vae.inputSize, x = uniform(5000 * D, 9);
    const want = [vae.elbo(x, { seed: 1 }).elbo, vae.logLikelihood(x.subarray(0, 700 * D), { seed: 2, k: 300 }), vae.reconstruct(x, { seed: 3 }), vae.encode(x).logvar];
    // all four at once: slices of different calls interleave on the workers
    const got = await Promise.all([
      pool.elbo(x, { seed: 1 }).then((r) => r.elbo), pool.logLikelihood(x.subarray(0, 700 * D), { seed: 2, k: 300 }),
      pool.reconstruct(x, { seed: 3 }), pool.encode(x).then((r) => r.logvar),
    ]);
    got.forEach((g, i) => expectSameBytes([g], [want[i]!], `call ${i}`));
    // number[] and Float64Array inputs are converted as the Vae converts them
    expectSameBytes([(await pool.elbo(Array.from(x.subarray(0, 40 * D)), { seed: 1 })).elbo], [want[0]!.subarray(0, 40)], "number[]");
    expectSameBytes([(await pool.elbo(Float64Array.from(x.subarray(0, 40 * D)), { seed: 1 })).elbo], [want[0]!.subarray(0, 40)], "Float64Array");
    await pool.dispose();
    vae.dispose();
  });

  it("onProgress reports items done, ending at the total; a callback that throws fails the call with its error", async () => {
    const bytes = MODELS.mlp_bernoulli!;
    const pool = await E.VaePool.create(bytes, { workers: 2, chunkItems: 10 });
    const seen: [number, number][] = [];
    await pool.elbo(uniform(95 * 13, 1), { seed: 1, onProgress: (d, t) => seen.push([d, t]) });
    expect(seen).toHaveLength(10);
    expect(seen.every(([, t]) => t === 95)).toBe(true);
    expect(seen.map(([d]) => d)).toEqual([...seen.map(([d]) => d)].sort((a, b) => a - b));
    expect(seen.at(-1)).toEqual([95, 95]);
    const boom = new Error("stop");
    await expect(pool.encode(uniform(95 * 13, 1), { onProgress: () => { throw boom; } })).rejects.toBe(boom);
    expect(await errorOf(() => pool.encode(uniform(13, 1), { onProgress: 5 as never }))).toMatchObject({ code: "E_ARGUMENT" });
    await pool.dispose();
  });
});

describe("VaePool on Node: errors", () => {
  const bytes = MODELS.mlp_bernoulli!;
  let vae: Vae, pool: Pool;
  beforeAll(async () => {
    vae = await E.Vae.load(bytes, { simd: "baseline" });
    pool = await E.VaePool.create(bytes, { simd: "baseline", workers: 2, chunkItems: 37 });
  });

  it("bad arguments reject with the Vae's own error: class, code and message (bad values named at their index in the whole batch)", async () => {
    const D = 13, J = 3, n = 100, x = uniform(n * D, 3);
    const nanX = x.slice(); nanX[77 * D + 4] = NaN;               // in the third slice
    const eps = normal(n * 2 * J, 4); eps[51 * 2 * J + 5] = Infinity; // in the second
    const cases: [string, (m: Vae | Pool) => unknown][] = [
      ["x length", (m) => m.elbo(x.subarray(0, 20))],
      ["empty x", (m) => m.encode(new Float32Array(0))],
      ["x type", (m) => m.encode("x" as never)],
      ["x element type", (m) => m.encode([1, "2"] as never)],
      ["z length", (m) => m.decode(new Float32Array(4))],
      ["NaN in x", (m) => m.elbo(nanX, { seed: 1 })],
      ["NaN in x, decode", (m) => m.decode(Float32Array.of(0, 0, 0, 1, NaN, 0))],
      ["Infinity in eps", (m) => m.elbo(x, { eps, samples: 2 })],
      ["eps length", (m) => m.logLikelihood(x, { eps, k: 3 })],
      ["samples 0", (m) => m.elbo(x, { samples: 0 })],
      ["k 1.5", (m) => m.logLikelihood(x, { k: 1.5 })],
      ["beta Infinity", (m) => m.elbo(x, { beta: Infinity })],
      ["seed -1", (m) => m.elbo(x, { seed: -1 })],
      ["seed 2^53", (m) => m.reconstruct(x, { seed: 2 ** 53 })],
      ["options null", (m) => m.elbo(x, null as never)],
      ["useMean 'yes'", (m) => m.reconstruct(x, { useMean: "yes" as never })],
    ];
    for (const [what, f] of cases) {
      const want = await errorOf(() => f(vae));
      const got = await errorOf(() => f(pool));
      expect(got.constructor.name, what).toBe(want.constructor.name);
      expect(got, what).toBeInstanceOf(E.EdgeVaeError);
      expect({ code: got.code, message: got.message }, what).toEqual({ code: want.code, message: want.message });
    }
    // the pool is still usable
    expectSameBytes([(await pool.elbo(x, { seed: 9 })).elbo], [vae.elbo(x, { seed: 9 }).elbo], "after errors");
  });

  it("float32 overflow on one item (x = 3e38): E_NONFINITE_RESULT naming that item's result, as the Vae does", async () => {
    const file = buildModel({ ...MLP, seed: 43 }).bytes;
    const v = await E.Vae.load(file, { simd: "baseline" });
    const p = await E.VaePool.create(file, { simd: "baseline", workers: 2, chunkItems: 7 });
    const x = uniform(40 * 13, 5);
    x.fill(3e38, 31 * 13, 32 * 13); // finite, so accepted; only item 31 overflows
    for (const [f, at] of [["elbo", 31], ["reconstruct", 31 * 13]] as const) {
      const want = await errorOf(() => v[f](x, { seed: 1 }));
      expect(want.code).toBe("E_NONFINITE_RESULT");
      expect(want.message).toMatch(new RegExp(`at index ${at}\\b`));
      const got = await errorOf(() => p[f](x, { seed: 1 }));
      expect({ name: got.constructor.name, code: got.code, message: got.message }).toEqual({ name: want.constructor.name, code: want.code, message: want.message });
    }
    await p.dispose();
    v.dispose();
  });

  it("a bad model file: the Vae.load error, before any worker starts", async () => {
    const bad = bytes.slice(0, 100);
    const want = await errorOf(() => E.Vae.load(bad));
    const got = await errorOf(() => E.VaePool.create(bad, { workers: 2 }));
    expect({ name: got.constructor.name, code: got.code, message: got.message }).toEqual({ name: want.constructor.name, code: want.code, message: want.message });
    expect(await errorOf(() => E.VaePool.create("model" as never))).toMatchObject({ code: "E_INPUT_TYPE" });
    for (const options of [{ workers: -1 }, { workers: 1.5 }, { chunkItems: 0 }, { noWorkers: "never" }, { startTimeoutMs: 0 }, { workerUrl: 3 }]) {
      expect(await errorOf(() => E.VaePool.create(bytes, options as never)), JSON.stringify(options)).toMatchObject({ code: "E_ARGUMENT" });
    }
  });

  it("a model that fails to load in the workers (maxMemoryBytes too small): Vae.load's error (E_MEMORY), every worker ended", async () => {
    const big = buildModel({ ...MLP, inputShape: [784], encoder: [{ type: "linear", out: 512 }, { type: "relu" }, { type: "linear" }], seed: 44 }).bytes;
    const want = await errorOf(() => E.Vae.load(big, { maxMemoryBytes: 1 << 20 }));
    expect(want.code).toBe("E_MEMORY");
    const got = await errorOf(() => E.VaePool.create(big, { maxMemoryBytes: 1 << 20, workers: 3 }));
    expect(got).toBeInstanceOf(E.RuntimeError);
    expect(got.code).toBe("E_MEMORY");
    expect(got.message).toMatch(/^VaePool\.create: worker \d could not load the model: /);
    expect(got.message).toContain(want.message);
    // a bad Vae option fails the same way, with the Vae's ArgumentError
    expect(await errorOf(() => E.VaePool.create(bytes, { maxBatchRows: 0, workers: 2 }))).toMatchObject({ name: "ArgumentError", code: "E_ARGUMENT" });
  });

  it("a worker script that is missing, or never answers: WorkerError E_WORKER_START, not a hang", async () => {
    const missing = await errorOf(() => E.VaePool.create(bytes, { workers: 2, workerUrl: new URL("../dist/no-such-worker.js", import.meta.url) }));
    expect(missing).toBeInstanceOf(E.WorkerError);
    expect(missing.code).toBe("E_WORKER_START");
    expect(missing.message).toMatch(/worker \d (threw|exited)/);
    const dir = mkdtempSync(join(tmpdir(), "edgevae-pool-"));
    try {
      const silent = join(dir, "silent.mjs");
      writeFileSync(silent, "setInterval(() => {}, 1000);\n");
      const t0 = Date.now();
      const err = await errorOf(() => E.VaePool.create(bytes, { workers: 2, workerUrl: new URL(`file://${silent}`), startTimeoutMs: 400 }));
      expect(err).toMatchObject({ name: "WorkerError", code: "E_WORKER_START" });
      expect(err.message).toMatch(/2 of 2 workers were not ready within 400 ms/);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const how of ["exit", "throw"] as const) {
    it(`a worker that dies (${how === "exit" ? "exits" : "throws"}) mid-call: that call rejects with E_WORKER_EXIT, the pool goes on with the others, then closes when none is left`, async () => {
      const p = await E.VaePool.create(bytes, { simd: "baseline", workers: 2, chunkItems: 1 });
      const x = uniform(3000 * 13, 6);
      const running = p.logLikelihood(x, { seed: 1, k: 64 });
      crash(p, 0, how);
      const err = await errorOf(() => running);
      expect(err).toBeInstanceOf(E.WorkerError);
      expect(err.code).toBe("E_WORKER_EXIT");
      expect(err.message).toMatch(how === "exit" ? /worker 0 exited \(exit code 70\) while running items \d+ to \d+; the pool goes on with 1 worker/ : /worker 0 threw Error: edgevae worker: crash requested/);
      expect(p.workers).toBe(1);
      expect(p.closed).toBe(false);
      expectSameBytes([(await p.elbo(x.subarray(0, 50 * 13), { seed: 2 })).elbo], [vae.elbo(x.subarray(0, 50 * 13), { seed: 2 }).elbo], "after a death");
      // the last one, while idle: the pool notices and closes itself
      crash(p, 1, how);
      for (let i = 0; i < 100 && p.workers > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(p.workers).toBe(0);
      expect(p.closed).toBe(true);
      const closed = await errorOf(() => p.encode(x));
      expect(closed).toMatchObject({ name: "WorkerError", code: "E_WORKER_EXIT" });
      expect(closed.message).toMatch(/every worker of this VaePool has died/);
      await p.dispose();
    });
  }

  it("dispose: running and queued calls reject with PoolDisposedError (E_DISPOSED), so do later ones; twice is fine", async () => {
    const p = await E.VaePool.create(bytes, { workers: 2 });
    const x = uniform(4000 * 13, 7);
    const a = p.logLikelihood(x, { k: 100 }), b = p.elbo(x);
    const disposed = p.dispose();
    for (const call of [a, b]) {
      const err = await errorOf(() => call);
      expect(err).toBeInstanceOf(E.DisposedError);
      expect(err).toMatchObject({ name: "PoolDisposedError", code: "E_DISPOSED" });
    }
    await disposed;
    await p.dispose();
    expect(p.closed).toBe(true);
    expect(p.workers).toBe(0);
    expect(await errorOf(() => p.decode(new Float32Array(3)))).toMatchObject({ code: "E_DISPOSED", message: "decode(): this VaePool was disposed; create a new one to use it" });
  });

  it("an idle pool does not keep Node alive; a busy one finishes its call first", () => {
    const script = `import { VaePool } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
      import { readFileSync } from "node:fs";
      const pool = await VaePool.create(readFileSync(${JSON.stringify(join(ROOT, "models/circle.safetensors"))}), { workers: 2 });
      const r = await pool.logLikelihood(new Float32Array(2000), { k: 64, seed: 1 });
      console.log("done", r.length, pool.workers); // no dispose(): the process must still exit`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 20_000 });
    expect(r.error, r.stderr).toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("done 1000 2");
  });
});

describe("VaePool without workers", () => {
  it("workers: 0 runs on the calling thread: the same bytes and errors, dispose", async () => {
    const bytes = MODELS.v2_conv_image_bernoulli!;
    const vae = await E.Vae.load(bytes, { simd: "baseline" });
    const pool = await E.VaePool.create(bytes, { simd: "baseline", workers: 0 });
    expect(pool.mode).toBe("inline");
    expect(pool.workers).toBe(0);
    const table = calls(vae.inputSize, vae.latentDim, 9);
    for (const [k, f] of Object.entries(table)) expectSameBytes(await f(pool), await f(vae), `inline ${k}`);
    const progress: number[] = [];
    await pool.encode(uniform(9 * vae.inputSize, 1), { onProgress: (d, t) => progress.push(d, t) });
    expect(progress).toEqual([9, 9]);
    const err = await errorOf(() => pool.elbo(new Float32Array(5)));
    expect(err).toMatchObject({ code: "E_INPUT_LENGTH", message: (await errorOf(() => vae.elbo(new Float32Array(5)))).message });
    await pool.dispose();
    expect(await errorOf(() => pool.encode(new Float32Array(vae.inputSize)))).toMatchObject({ code: "E_DISPOSED" });
    vae.dispose();
  });

  it("the workerd bundle (Cloudflare Workers: no Worker API) runs inline by default; noWorkers: \"error\" gives E_NO_WORKERS", async () => {
    const W = await import(new URL("../dist/workerd.js", import.meta.url).href) as E;
    const bytes = MODELS.mlp_bernoulli!;
    const wasm = await WebAssembly.compile(readFileSync(join(ROOT, "dist/edgevae.wasm")));
    const pool = await W.VaePool.create(bytes, { wasm, workers: 4 });
    expect(pool.mode).toBe("inline");
    const vae = await E.Vae.load(bytes, { simd: "baseline" });
    for (const [k, f] of Object.entries(calls(13, 3, 20))) expectSameBytes(await f(pool), await f(vae), `workerd ${k}`);
    await pool.dispose();
    const err = await errorOf(() => W.VaePool.create(bytes, { wasm, noWorkers: "error" }));
    expect(err).toMatchObject({ name: "WorkerError", code: "E_NO_WORKERS" });
    vae.dispose();
  });
});

describe("examples/node/score-file.mjs", () => {
  it("scores a CSV and a JSON file with a progress bar on stderr; the same scores on 2 workers and on the calling thread", () => {
    const dir = mkdtempSync(join(tmpdir(), "edgevae-score-"));
    try {
      const rows = Array.from({ length: 300 }, (_, i) => [2 * Math.cos(i), 2 * Math.sin(i) + (i % 7 === 0 ? 1 : 0)]);
      writeFileSync(join(dir, "points.csv"), `x,y\n${rows.map((r) => r.join(",")).join("\n")}\n`);
      writeFileSync(join(dir, "points.json"), JSON.stringify({ x: rows }));
      const score = (file: string, workers: number) => spawnSync(process.execPath,
        [join(ROOT, "examples/node/score-file.mjs"), join(ROOT, "models/circle.safetensors"), join(dir, file), "--k", "64", "--workers", String(workers)],
        { encoding: "utf8", timeout: 60_000, cwd: ROOT });
      const a = score("points.csv", 2), b = score("points.json", 0);
      for (const r of [a, b]) expect(r.status, r.stderr).toBe(0);
      expect(a.stdout).toBe(b.stdout);
      const lines = a.stdout.trim().split("\n");
      expect(lines[0]).toBe("item,elbo,logpx");
      expect(lines).toHaveLength(301);
      const logpx = lines.slice(1).map((l) => Number(l.split(",")[2]));
      expect(logpx.every(Number.isFinite)).toBe(true);
      expect(logpx[1]!).toBeGreaterThan(logpx[0]!); // item 0 is off the ring (i % 7 === 0), item 1 on it
      expect(a.stderr).toMatch(/on 2 workers/);
      expect(a.stderr).toMatch(/log p\(x\) \[#{30}\] 100% 300\/300 items/);
      expect(b.stderr).toMatch(/on the calling thread/);
      const bad = spawnSync(process.execPath, [join(ROOT, "examples/node/score-file.mjs"), join(ROOT, "models/mnist.safetensors"), join(dir, "points.csv")], { encoding: "utf8", timeout: 60_000, cwd: ROOT });
      expect(bad.status).toBe(1);
      expect(bad.stderr).toMatch(/rows have 2 values, but the model takes items of 784/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
