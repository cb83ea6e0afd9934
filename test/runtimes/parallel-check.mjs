// VaePool's checks, in plain JavaScript so that every runtime runs the very same code: Node and
// Deno (test/runtimes/parallel-run.mjs), Chromium (test/runtimes/parallel-page.html). Given the
// package's module ({ Vae, VaePool }) and the conformance pack ({ name: base64 model }):
//  - per model, every pool method's result for several worker counts and slice sizes must have
//    the very bytes of one Vae's (mismatches lists any that does not); hashes[name] is the
//    SHA-256 of the Vae's results, to compare across runtimes;
//  - errors: a bad argument, a worker that throws mid-call (the call rejects with E_WORKER_EXIT,
//    the pool goes on), dispose while a call runs (E_DISPOSED), a worker script that is missing.
// Used by test/runtimes/parallel-runtimes.test.ts.

const CRASH = Symbol.for("edgevae.VaePool.crashWorker");

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const uniform = (n, seed) => { const r = mulberry32(seed); return Float32Array.from({ length: n }, () => r()); };
const normal = (n, seed) => { const r = mulberry32(seed); return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())); };
const fromBase64 = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const arrays = (r) => (r instanceof Float32Array ? [r] : Object.values(r));

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].length !== b[i].length) return false;
    const x = new Uint32Array(a[i].buffer, a[i].byteOffset, a[i].length), y = new Uint32Array(b[i].buffer, b[i].byteOffset, b[i].length);
    for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) return false;
  }
  return true;
}

async function sha256(list) {
  const total = list.reduce((n, a) => n + a.byteLength, 0), all = new Uint8Array(total);
  let at = 0;
  for (const a of list) { all.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at); at += a.byteLength; }
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", all))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const errorOf = async (f) => { try { await f(); return null; } catch (e) { return { name: e?.name, code: e?.code, message: e?.message }; } };

/**
 * options: { names: model names in the pack, configs: [[workers, chunkItems | null], ...],
 *            missingWorkerUrl: a URL (string) where no worker script is }
 */
export async function parallelCheck({ Vae, VaePool }, pack, { names, configs, missingWorkerUrl }) {
  const report = { mismatches: [], hashes: {}, pools: [], errors: {} };
  const n = 41;
  for (const name of names) {
    const bytes = fromBase64(pack[name]);
    const vae = await Vae.load(bytes, { simd: "baseline" });
    const D = vae.inputSize, J = vae.latentDim;
    const x = uniform(n * D, 1), z = normal(n * J, 2), eps = normal(n * 3 * J, 3), epsK = normal(n * 9 * J, 4);
    const calls = {
      encode: async (m) => arrays(await m.encode(x)),
      decode: async (m) => arrays(await m.decode(z)),
      decodeParams: async (m) => arrays(await m.decodeParams(z)),
      reconstruct: async (m) => arrays(await m.reconstruct(x, { seed: 5 })),
      reconstructMean: async (m) => arrays(await m.reconstruct(x, { useMean: true })),
      elbo: async (m) => arrays(await m.elbo(x, { seed: 2 ** 33 + 3, samples: 3 })),
      elboEps: async (m) => arrays(await m.elbo(x, { eps, samples: 3 })),
      logLikelihood: async (m) => arrays(await m.logLikelihood(x, { seed: 7, k: 9 })),
      logLikelihoodEps: async (m) => arrays(await m.logLikelihood(x, { eps: epsK, k: 9 })),
    };
    const want = {};
    for (const [k, f] of Object.entries(calls)) want[k] = await f(vae);
    report.hashes[name] = await sha256(Object.values(want).flat());
    for (const [workers, chunkItems] of configs) {
      const pool = await VaePool.create(bytes, { simd: "baseline", workers: workers ?? undefined, chunkItems: chunkItems ?? undefined });
      report.pools.push({ name, workers: pool.workers, mode: pool.mode });
      for (const [k, f] of Object.entries(calls)) {
        if (!sameBytes(await f(pool), want[k])) report.mismatches.push(`${name}, ${workers ?? "default"} workers, slices of ${chunkItems ?? "default"}: ${k}`);
      }
      await pool.dispose();
    }
    vae.dispose();
  }

  const bytes = fromBase64(pack[names[0]]);
  const vae = await Vae.load(bytes, { simd: "baseline" });
  const D = vae.inputSize, x = uniform(n * D, 1), big = uniform(3000 * D, 9);
  const pool = await VaePool.create(bytes, { simd: "baseline", workers: 2, chunkItems: 1 });
  report.errors.argument = await errorOf(() => pool.elbo(new Float32Array(D + 1)));
  const running = pool.logLikelihood(big, { k: 64, seed: 1 });
  pool[CRASH](0, "throw");
  report.errors.crash = await errorOf(() => running);
  report.errors.workersAfterCrash = pool.workers;
  report.errors.sameAfterCrash = sameBytes(arrays(await pool.elbo(x, { seed: 4 })), arrays(vae.elbo(x, { seed: 4 })));
  const unfinished = pool.elbo(big, { seed: 1 });
  const disposing = pool.dispose();
  report.errors.disposedWhileRunning = await errorOf(() => unfinished);
  await disposing;
  report.errors.afterDispose = await errorOf(() => pool.encode(x));
  report.errors.missingWorker = await errorOf(() => VaePool.create(bytes, { workers: 1, workerUrl: missingWorkerUrl, startTimeoutMs: 20_000 }));
  vae.dispose();
  return report;
}
