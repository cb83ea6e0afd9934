// Parallel batch scoring: `node bench/parallel.mjs [--quick] [--ll-items N] [--no-write]`; also the
// "Parallel batch scoring" section of `npm run bench`, which runs it in a child process:
// onnxruntime-web fixes its thread count once per loaded copy, and bench/run.mjs loads it with one.
//
// Side by side in one process, on the same weights and the same noise (eps), outputs checked first:
//   edgevae VaePool, 2 workers (dist/index.js + dist/parallel-worker.js: one wasm instance and one
//     model copy per worker thread), edgevae Vae on the calling thread,
//   onnxruntime-web with ort.env.wasm.numThreads = 2 (set before its first session; its pthreads are
//     Node worker threads) on the hand-written ONNX graphs of bench/onnx.mjs,
//   TF.js with tfjs-backend-wasm, one thread: its threaded build does not start in Node.
// Models: the MNIST-sized MLP VAE of bench/model.mjs (seeded weights) and the shipped Fashion-MNIST
// conv VAE (models/fashion-conv.safetensors; its weights converted once for the peers).
// Ops: ELBO (1 sample) at batch 256, 1024, 4096; log p(x) with k = 1000 on as many items as fit in
// the time budget (--ll-items; fewer for TF.js). Every timing window is bracketed by samples of
// /proc/stat: CPU time used by other processes is printed per row, and a row where another process
// held more than BUSY_CORES cores reports "busy" instead of ratios.
// Also: VaePool start-up, memory per worker, 1-4 workers, and the calling thread's share of a call.

import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import os from "node:os";
import { makeModel, inputs, normals } from "./model.mjs";
import { buildModel, convInputs } from "./conv-models.mjs";
import { tfjsPeer } from "./peers.mjs";
import { tfjsConvPeer } from "./peers-conv.mjs";
import * as O from "./onnx.mjs";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
export const PARALLEL_HEADING = "## Parallel batch scoring";
const BATCHES = [256, 1024, 4096];
const K = 1000;
const WORKERS = 2;
/** A timing window where other processes used more than this many cores is reported as busy. */
const BUSY_CORES = 0.25;
const TOL = 1e-4;

// ---- how busy the machine is -------------------------------------------------------------------
// /proc/stat: jiffies per CPU; /proc/self/stat: this process's (every thread's: workers, ORT's
// pthreads) user + system ticks, in the same USER_HZ units. Others = all busy - ours.
function cpuSnapshot() {
  try {
    const rows = readFileSync("/proc/stat", "utf8").split("\n").filter((l) => /^cpu\d+ /.test(l));
    let busy = 0;
    for (const r of rows) {
      const v = r.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
      busy += v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    }
    const s = readFileSync("/proc/self/stat", "utf8"), f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { busy, self: Number(f[11]) + Number(f[12]), t: performance.now(), cpus: rows.length };
  } catch {
    return null; // not Linux
  }
}
/** Cores used by other processes (and by this one) between two snapshots. */
function cpuWindow(a, b) {
  if (!a || !b) return { others: null, self: null, cpus: os.cpus().length, seconds: null };
  const ticks = ((b.t - a.t) / 1000) * 100; // USER_HZ = 100 on Linux
  return { others: Math.max(0, (b.busy - a.busy - (b.self - a.self)) / ticks), self: (b.self - a.self) / ticks, cpus: b.cpus, seconds: (b.t - a.t) / 1000 };
}
async function idleCheck(ms = 1000) {
  const a = cpuSnapshot();
  await new Promise((r) => setTimeout(r, ms));
  return cpuWindow(a, cpuSnapshot());
}
const isBusy = (w) => w.others !== null && w.others > BUSY_CORES;
const freeText = (w) => (w.others === null ? "unknown (no /proc/stat)" : `${Math.max(0, w.cpus - w.others).toFixed(2)} of ${w.cpus}`);

// ---- models --------------------------------------------------------------------------------------
function mlpModel() {
  const m = makeModel();
  return { ...m, name: "MNIST MLP (784-512-256-2x32 / 32-256-512-784)", short: "MLP", kind: "mlp", inputsOf: (n, seed) => inputs(n, m.D, seed) };
}

/** models/fashion-conv.safetensors, and its weights as bench/conv-models.mjs layer specs for the peers. */
function fashionModel() {
  const path = here("../models/fashion-conv.safetensors");
  const file = new Uint8Array(readFileSync(path));
  const n = Number(new DataView(file.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
  const arch = JSON.parse(header.__metadata__.edgevae);
  const tensor = (name) => { const [a, b] = header[name].data_offsets; return new Float32Array(file.slice(8 + n + a, 8 + n + b).buffer); };
  const spec = (l) => {
    const shape = l.weight ? header[l.weight].shape : null;
    switch (l.type) {
      case "conv2d": return { type: "conv2d", cin: shape[1], cout: shape[0], k: shape[2], stride: l.stride[0], pad: l.padding, w: tensor(l.weight), b: tensor(l.bias) };
      case "conv_transpose2d": return { type: "convT", cin: shape[0], cout: shape[1], k: shape[2], stride: l.stride[0], pad: l.padding[0], outPad: l.output_padding[0], w: tensor(l.weight), b: tensor(l.bias) };
      case "linear": return { type: "linear", inF: shape[1], outF: shape[0], w: tensor(l.weight), b: tensor(l.bias) };
      case "relu": case "flatten": return { type: l.type };
      case "reshape": return { type: "reshape", shape: l.shape };
      default: throw new Error(`fashion-conv: layer ${l.type} is not in the bench's conv specs`);
    }
  };
  const m = buildModel({ name: "fashion-conv", inShape: arch.input_shape, latentShape: [arch.latent_dim], encoder: arch.encoder.map(spec), decoder: arch.decoder.map(spec) });
  return { ...m, bytes: file, name: "Fashion-MNIST conv VAE (models/fashion-conv.safetensors)", short: "fashion-conv", kind: "conv", inputsOf: (k, seed) => convInputs(m, k, seed) };
}

// ---- peers: elbo(x, eps, B) -> { elbo, recon, kl }, ll(x, eps, B, K) -> Float32Array ----------------
async function edgevae() {
  return import(pathToFileURL(here("../dist/index.js")).href);
}

async function singlePeer(model) {
  const { Vae } = await edgevae();
  const vae = await Vae.load(model.bytes);
  return { name: "edgevae", vae, elbo: (x, eps) => vae.elbo(x, { eps }), ll: (x, eps, B, k) => vae.logLikelihood(x, { eps, k }) };
}

async function poolPeer(model, workers = WORKERS) {
  const { VaePool } = await edgevae();
  const pool = await VaePool.create(model.bytes, { workers });
  return { name: `pool${workers}`, pool, elbo: (x, eps) => pool.elbo(x, { eps }), ll: (x, eps, B, k) => pool.logLikelihood(x, { eps, k }) };
}

let ort = null;
async function ortPeer(model) {
  if (!ort) {
    ort = await import("onnxruntime-web");
    ort.env.wasm.numThreads = WORKERS; // before the first session: fixed for this copy of ORT from then on
    ort.env.wasm.simd = true;
  }
  const opts = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
  const conv = model.kind === "conv";
  const [elboS, llS] = await Promise.all([
    ort.InferenceSession.create(conv ? O.convElboGraph(model) : O.elboGraph(model), opts),
    ort.InferenceSession.create(conv ? O.convLogLikelihoodGraph(model, K) : O.logLikelihoodGraph(model, K), opts),
  ]);
  const { D, J } = model, T = (d, dims) => new ort.Tensor("float32", d, dims);
  // runs of at most `per` items: whole batches for the MLP; the conv graphs' intermediate tensors
  // at 4096 items (or 1000 rows per item for log p(x)) would be GBs
  const chunked = async (B, per, run, outs) => {
    const res = outs.map(() => new Float32Array(B));
    for (let b0 = 0; b0 < B; b0 += per) {
      const nb = Math.min(per, B - b0), r = await run(b0, nb);
      outs.forEach((o, i) => res[i].set(r[o].data, b0));
    }
    return res;
  };
  return {
    name: "ort2", threads: ort.env.wasm.numThreads,
    elbo: async (x, eps, B) => {
      const [elbo, recon, kl] = await chunked(B, conv ? 1024 : B, (b0, nb) => elboS.run({ x: T(x.subarray(b0 * D, (b0 + nb) * D), [nb, D]), eps: T(eps.subarray(b0 * J, (b0 + nb) * J), [nb, J]) }), ["elbo", "recon", "kl"]);
      return { elbo, recon, kl };
    },
    ll: async (x, eps, B, k) => (await chunked(B, conv ? 1 : 8, (b0, nb) => llS.run({ x: T(x.subarray(b0 * D, (b0 + nb) * D), [nb, D]), eps: T(eps.subarray(b0 * k * J, (b0 + nb) * k * J), [nb, k, J]) }), ["logpx"]))[0],
  };
}

async function tfjsBenchPeer(model) {
  const { D, J } = model;
  if (model.kind === "mlp") {
    const p = await tfjsPeer(model);
    return {
      name: "tfjs", elbo: (x, eps, B) => p.elbo(x, eps, B),
      ll: (x, eps, B, k) => { // 8 items per call: 8000 decoder rows
        const out = new Float32Array(B);
        for (let b0 = 0; b0 < B; b0 += 8) { const nb = Math.min(8, B - b0); out.set(p.logLikelihood(x.subarray(b0 * D, (b0 + nb) * D), eps.subarray(b0 * k * J, (b0 + nb) * k * J), nb, k), b0); }
        return out;
      },
    };
  }
  const p = await tfjsConvPeer(model);
  const softplus = (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
  return {
    name: "tfjs",
    elbo: (x, eps, B) => { // 256 items per call (TF.js's transposed conv tensors at 4096 would be GBs)
      const r = { elbo: new Float32Array(B), recon: new Float32Array(B), kl: new Float32Array(B) };
      for (let b0 = 0; b0 < B; b0 += 256) {
        const nb = Math.min(256, B - b0), o = p.elbo(x.subarray(b0 * D, (b0 + nb) * D), eps.subarray(b0 * J, (b0 + nb) * J), nb);
        r.elbo.set(o.elbo, b0); r.recon.set(o.recon, b0); r.kl.set(o.kl, b0);
      }
      return r;
    },
    // TF.js's conv peer has no log p(x): its encoder and decoder (the work, on TF.js's kernels) with
    // the reparameterisation, the Bernoulli log-likelihoods and the logsumexp in JS, per item
    ll: (x, eps, B, k) => {
      const out = new Float32Array(B);
      for (let b = 0; b < B; b++) {
        const xb = x.subarray(b * D, (b + 1) * D), { mean, logvar } = p.encode(xb, 1);
        const e = eps.subarray(b * k * J, (b + 1) * k * J), z = new Float32Array(k * J);
        for (let s = 0; s < k; s++) for (let j = 0; j < J; j++) z[s * J + j] = mean[j] + Math.exp(0.5 * logvar[j]) * e[s * J + j];
        const logits = p.logits(z, k);
        let lv = 0; for (let j = 0; j < J; j++) lv += logvar[j];
        const w = new Float64Array(k);
        for (let s = 0; s < k; s++) {
          let lp = 0, a = 0;
          for (let i = 0; i < D; i++) { const l = logits[s * D + i]; lp += xb[i] * l - softplus(l); }
          for (let j = 0; j < J; j++) a += e[s * J + j] ** 2 - z[s * J + j] ** 2;
          w[s] = lp + 0.5 * (a + lv);
        }
        let m = -Infinity; for (const v of w) m = Math.max(m, v);
        let sum = 0; for (const v of w) sum += Math.exp(v - m);
        out[b] = m + Math.log(sum) - Math.log(k);
      }
      return out;
    },
  };
}

// ---- checks ---------------------------------------------------------------------------------------
function worstRel(got, want, what) {
  if (got.length !== want.length) throw new Error(`PEER MISMATCH: ${what}: ${got.length} values, edgevae gives ${want.length}`);
  let worst = 0, at = 0;
  for (let i = 0; i < want.length; i++) { const e = Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])); if (!(e <= worst)) { worst = e; at = i; } }
  if (!(worst <= TOL)) throw new Error(`PEER MISMATCH: ${what}[${at}] = ${got[at]} but edgevae gives ${want[at]} (relative error ${worst.toExponential(2)} > ${TOL})`);
  return worst;
}
const sameBytes = (a, b) => a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

async function checkPeers(model, single, others) {
  const B = 5, { D, J } = model, x = model.inputsOf(B, 11), eps = normals(B * J, 12);
  const xl = model.inputsOf(2, 13), epsl = normals(2 * K * J, 14);
  const want = single.elbo(x, eps, B), wantLl = single.ll(xl, epsl, 2, K);
  const worst = {};
  for (const p of others) {
    const e = await p.elbo(x, eps, B), l = await p.ll(xl, epsl, 2, K);
    if (p.name.startsWith("pool")) {
      if (!sameBytes(e.elbo, want.elbo) || !sameBytes(e.kl, want.kl) || !sameBytes(l, wantLl)) throw new Error(`MISMATCH: the pool's bytes differ from the Vae's on ${model.short}`);
      worst[p.name] = 0;
    } else {
      worst[p.name] = Math.max(worstRel(e.elbo, want.elbo, `${p.name} elbo`), worstRel(e.recon, want.recon, `${p.name} recon`), worstRel(e.kl, want.kl, `${p.name} kl`), worstRel(l, wantLl, `${p.name} logLikelihood`));
    }
  }
  return worst;
}

// ---- timing (interleaved samples, as bench/run.mjs) ---------------------------------------------
const now = () => performance.now();
async function sampleOf(call, n) {
  const t0 = now();
  for (let i = 0; i < n; i++) await call();
  return (now() - t0) / n;
}
function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const q = (f) => s[Math.min(s.length - 1, Math.max(0, Math.round(f * (s.length - 1))))];
  return { median: q(0.5), p10: q(0.1), p90: q(0.9), n: s.length };
}
/**
 * entries: [{ name, items, call }]. Warms each up and picks calls per sample (about sampleMs),
 * then takes samples round-robin (the order rotating), with the CPU accounting around it all.
 */
async function timeConfig(entries, { samples, sampleMs, budgetMs }) {
  const c0 = cpuSnapshot();
  const plan = [];
  for (const e of entries) {
    const t0 = now();
    let calls = 0;
    while (calls < 1 || (now() - t0 < 300 && calls < 50)) { await e.call(); calls++; }
    const per = (now() - t0) / calls;
    plan.push({ ...e, per, n: Math.max(1, Math.round(sampleMs / per)), times: [] });
  }
  // as many rounds as fit in budgetMs (at least 2): a run stays within a couple of minutes
  const round = plan.reduce((t, p) => t + p.per * p.n, 0);
  const S = Math.max(2, Math.min(samples, Math.floor(budgetMs / round)));
  for (let s = 0; s < S; s++) for (let i = 0; i < plan.length; i++) {
    const e = plan[(i + s) % plan.length];
    e.times.push(await sampleOf(e.call, e.n));
  }
  const cpu = cpuWindow(c0, cpuSnapshot());
  return { cpu, results: Object.fromEntries(plan.map((e) => [e.name, { ...stats(e.times), items: e.items, perSec: (e.items / stats(e.times).median) * 1000 }])) };
}

// ---- formatting -------------------------------------------------------------------------------------
const fmtInt = (v) => (v === undefined || v === null ? "-" : Math.round(v).toLocaleString("en-US"));
const mb = (n) => `${(n / 1048576).toFixed(1)} MB`;
function table(header, rows) {
  return [`| ${header.join(" | ")} |`, `|${header.map((h, i) => (i === 0 ? "---" : "---:")).join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}
const pkgVersion = (name) => JSON.parse(readFileSync(here(`../node_modules/${name}/package.json`), "utf8")).version;
function cpuModel() {
  try { return /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? os.cpus()[0]?.model; } catch { return os.cpus()[0]?.model ?? "unknown"; }
}

// ---- the benchmark ------------------------------------------------------------------------------------

/** Runs every measurement in this process (which must not have loaded onnxruntime-web yet). */
export async function runParallelBench({ quick = false, llItems, log = (...a) => console.error(...a), command = "node bench/parallel.mjs" } = {}) {
  const started = new Date();
  const opts = { samples: quick ? 3 : 7, sampleMs: quick ? 60 : 120, budgetMs: quick ? 2000 : 5000 };
  const idle = await idleCheck(quick ? 500 : 1000);
  log(`parallel bench: ${os.cpus().length} logical cores; before timing, other processes used ${idle.others === null ? "?" : idle.others.toFixed(2)} cores`);
  const { Vae, VaePool } = await edgevae();
  const data = { idle, models: [], startup: {}, memory: {}, scaling: [], mainThread: {} };

  for (const model of [mlpModel(), fashionModel()]) {
    const ll = { mlp: { items: llItems ?? (quick ? 16 : 48), tfjs: quick ? 8 : 16 }, conv: { items: llItems ?? (quick ? 2 : 4), tfjs: 1 } }[model.kind];
    log(`${model.short}: loading peers...`);
    // memory per worker: this process's RSS around creating a 2-worker pool and one ELBO at batch 4096
    const x4096 = model.inputsOf(4096, 40), eps4096 = normals(4096 * model.J, 41);
    const rss0 = process.memoryUsage().rss;
    const pool = await poolPeer(model);
    await pool.elbo(x4096, eps4096, 4096);
    const rss1 = process.memoryUsage().rss;
    const single = await singlePeer(model);
    data.memory[model.short] = { rssPerWorker: (rss1 - rss0) / WORKERS, wasmPerWorker: pool.pool.info.memoryBytes, modelBytes: pool.pool.info.modelBytes };
    const peers = [pool, single, await ortPeer(model), await tfjsBenchPeer(model)];
    const worst = await checkPeers(model, single, [pool, ...peers.slice(2)]);
    log(`  outputs agree (pool: the same bytes as the Vae; worst relative error ${Object.entries(worst).filter(([k]) => !k.startsWith("pool")).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(", ")})`);

    const rows = {};
    for (const B of BATCHES) {
      const x = model.inputsOf(B, 100 + B), eps = normals(B * model.J, 200 + B);
      // TF.js's conv decoder (a scalar transposed-conv loop) takes ~13 s per call at 4096: measured at 256 and 1024
      const withTf = !(model.kind === "conv" && B === 4096);
      const entries = peers.filter((p) => p.name !== "tfjs" || withTf).map((p) => ({ name: p.name, items: B, call: () => p.elbo(x, eps, B) }));
      rows[`elbo/${B}`] = await timeConfig(entries, opts);
      log(`  ELBO b${B}: ${Object.entries(rows[`elbo/${B}`].results).map(([n, r]) => `${n} ${fmtInt(r.perSec)}/s`).join(", ")}; others used ${rows[`elbo/${B}`].cpu.others?.toFixed(2)} cores`);
    }
    {
      const n = ll.items, x = model.inputsOf(n, 300), eps = normals(n * K * model.J, 301);
      const nt = ll.tfjs, xt = x.subarray(0, nt * model.D), et = eps.subarray(0, nt * K * model.J);
      const entries = peers.map((p) => (p.name === "tfjs" ? { name: p.name, items: nt, call: () => p.ll(xt, et, nt, K) } : { name: p.name, items: n, call: () => p.ll(x, eps, n, K) }));
      rows.ll = await timeConfig(entries, { samples: 3, sampleMs: 0, budgetMs: opts.budgetMs });
      log(`  log p(x) k=${K}: ${Object.entries(rows.ll.results).map(([nm, r]) => `${nm} ${r.perSec.toFixed(1)}/s`).join(", ")}; others used ${rows.ll.cpu.others?.toFixed(2)} cores`);
    }

    // how much of a pool call the calling thread works (slicing inputs, posting, copying results back)
    {
      const elu0 = performance.eventLoopUtilization(), t0 = now(), reps = quick ? 3 : 6;
      for (let i = 0; i < reps; i++) await pool.elbo(x4096, eps4096, 4096);
      const wall = (now() - t0) / reps, active = performance.eventLoopUtilization(elu0).active / reps;
      data.mainThread[model.short] = { wall, active };
    }
    data.models.push({ model, rows, worst, ll });
    await pool.pool.dispose();
    single.vae.dispose();
  }

  // start-up: Vae.load vs VaePool.create (2 workers: start the threads, each compiles the wasm and packs the model)
  {
    const model = mlpModel(), t = { vae: [], pool: [] };
    for (let i = 0; i < (quick ? 2 : 5); i++) {
      let t0 = now(); const v = await Vae.load(model.bytes); t.vae.push(now() - t0); v.dispose();
      t0 = now(); const p = await VaePool.create(model.bytes, { workers: WORKERS }); t.pool.push(now() - t0); await p.dispose();
    }
    data.startup = { vae: stats(t.vae), pool: stats(t.pool) };
  }

  // 1 to 4 workers on this machine (MLP ELBO at 4096)
  {
    const model = mlpModel(), x = model.inputsOf(4096, 500), eps = normals(4096 * model.J, 501);
    const single = await singlePeer(model), entries = [{ name: "edgevae", items: 4096, call: () => single.elbo(x, eps) }];
    const pools = [];
    for (const w of [1, 2, 3, 4]) { const p = await poolPeer(model, w); pools.push(p); entries.push({ name: p.name, items: 4096, call: () => p.elbo(x, eps) }); }
    data.scaling = await timeConfig(entries, { samples: quick ? 2 : 5, sampleMs: 0, budgetMs: opts.budgetMs });
    for (const p of pools) await p.pool.dispose();
    single.vae.dispose();
    log(`scaling (MLP ELBO b4096): ${Object.entries(data.scaling.results).map(([n, r]) => `${n} ${fmtInt(r.perSec)}/s`).join(", ")}; others used ${data.scaling.cpu.others?.toFixed(2)} cores`);
  }
  return { markdown: report(data, { started, quick, command }), data: summary(data) };
}

function summary(data) {
  return data.models.map(({ model, rows }) => ({ model: model.short, rows: Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, { cpu: v.cpu, perSec: Object.fromEntries(Object.entries(v.results).map(([n, r]) => [n, r.perSec])) }])) }));
}

function report(data, { started, quick, command }) {
  const cores = os.cpus().length;
  const ratio = (a, b, cpu) => (isBusy(cpu) ? "busy" : a && b ? `${(a / b).toFixed(2)}x` : "-");
  let md = `${PARALLEL_HEADING}\n\nGenerated by \`${command}\`${quick ? " (--quick)" : ""} on ${started.toISOString().slice(0, 16).replace("T", " ")} UTC. Do not edit by hand; rerun the command.\n\n`;
  md += `- Machine: ${cpuModel()}, ${cores} logical cores, Node ${process.version}. Before timing, other processes used ${data.idle.others === null ? "an unknown share of the" : `${data.idle.others.toFixed(2)} of the ${cores}`} cores.\n`;
  md += `- **edgevae pool**: \`VaePool\` with ${WORKERS} workers (worker_threads, one wasm instance and one copy of the model each; no SharedArrayBuffer). **edgevae**: one \`Vae\` on the calling thread. Both the baseline SIMD build (Node 20's default).\n`;
  md += `- **ORT 2 threads**: onnxruntime-web ${pkgVersion("onnxruntime-web")}, wasm EP, \`ort.env.wasm.numThreads = 2\` before its first session (its pthreads run as Node worker threads), graphs of bench/onnx.mjs; the conv model runs ELBO in calls of at most 1024 items and log p(x) one item (1000 decoder rows) per call, the MLP log p(x) 8 items per call, to bound its intermediate tensors.\n`;
  md += `- **TF.js**: @tensorflow/tfjs-core ${pkgVersion("@tensorflow/tfjs-core")} + tfjs-backend-wasm (XNNPACK), **one thread**: its threaded build does not start in Node (its thread check is false there; forcing it fails to start its worker from a \`blob:\` URL), so this is its best in Node. Conv ELBO in calls of 256 items; not timed at 4096 (about 13 s per call: its transposed convolutions are a scalar loop).\n`;
  md += `- The same weights and the same noise (eps) for every peer. Outputs checked first (ELBO on 5 items, log p(x) on 2): the pool's are the Vae's bytes; worst relative errors of the others: ${data.models.map(({ model, worst }) => `${model.short} ${Object.entries(worst).filter(([k]) => !k.startsWith("pool")).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(", ")}`).join("; ")} (limit ${TOL}).\n`;
  md += `- Throughput is items / median time per call; samples of each peer interleaved round-robin; every call copies its inputs in and results out. "others" is the CPU (in cores) that other processes used during that row's timing, from /proc/stat minus this process; a row where it exceeds ${BUSY_CORES} reports **busy** instead of ratios.\n\n`;

  for (const { model, rows, ll } of data.models) {
    md += `### ${model.name}\n\n`;
    const trs = BATCHES.map((B) => {
      const { results: r, cpu } = rows[`elbo/${B}`];
      return [`ELBO b${B}`, fmtInt(r.pool2?.perSec), fmtInt(r.edgevae?.perSec), fmtInt(r.ort2?.perSec), r.tfjs ? fmtInt(r.tfjs.perSec) : "not timed",
        ratio(r.pool2?.perSec, r.edgevae?.perSec, cpu), ratio(r.pool2?.perSec, r.ort2?.perSec, cpu), r.tfjs ? ratio(r.pool2?.perSec, r.tfjs.perSec, cpu) : "-",
        `${cpu.others === null ? "?" : cpu.others.toFixed(2)} (${freeText(cpu)} free)`];
    });
    const { results: l, cpu: lc } = rows.ll;
    trs.push([`log p(x), k = ${K} (${ll.items} items; TF.js ${ll.tfjs})`, l.pool2.perSec.toFixed(1), l.edgevae.perSec.toFixed(1), l.ort2.perSec.toFixed(1), l.tfjs.perSec.toFixed(2),
      ratio(l.pool2.perSec, l.edgevae.perSec, lc), ratio(l.pool2.perSec, l.ort2.perSec, lc), ratio(l.pool2.perSec, l.tfjs.perSec, lc), `${lc.others === null ? "?" : lc.others.toFixed(2)} (${freeText(lc)} free)`]);
    md += `${table(["items/s", "edgevae pool (2 workers)", "edgevae (1 thread)", "ORT 2 threads", "TF.js (1 thread)", "pool / edgevae", "pool / ORT 2", "pool / TF.js", "others, cores"], trs)}\n\n`;
  }

  // targets: ELBO at 1024 and 4096, both models
  const tg = [];
  for (const { model, rows } of data.models) for (const B of [1024, 4096]) {
    const { results: r, cpu } = rows[`elbo/${B}`];
    const add = (label, peer, want, note = "") => {
      const p = r[peer]?.perSec ?? (peer === "tfjs" ? rows["elbo/1024"].results.tfjs?.perSec : undefined);
      const v = p ? r.pool2.perSec / p : null;
      tg.push([`${model.short} ELBO b${B}: pool >= ${want}x ${label}${note && !r[peer] ? note : ""}`, isBusy(cpu) ? `busy (others ${cpu.others.toFixed(2)} cores)` : v ? `${v.toFixed(2)}x` : "-",
        isBusy(cpu) ? "not measured: a core was busy" : v ? (v >= want ? "met" : "MISSED") : "-"]);
    };
    add("edgevae 1 thread", "edgevae", 1.8);
    add("ORT 2 threads", "ort2", 2);
    add("TF.js", "tfjs", 2.4, " (TF.js's b1024 throughput)");
  }
  md += `### Parallel targets\n\n${table(["target", "measured", ""], tg)}\n\n`;

  const s = data.startup;
  md += `### Start-up and memory\n\n`;
  md += `- \`VaePool.create\` with ${WORKERS} workers on the MLP (4.2 MB of weights): ${s.pool.median.toFixed(1)} ms median (p10-p90 ${s.pool.p10.toFixed(1)}-${s.pool.p90.toFixed(1)}), against ${s.vae.median.toFixed(1)} ms for \`Vae.load\`: the workers start in parallel, each imports the worker bundle, compiles the wasm and packs its own copy of the model.\n`;
  for (const [name, m] of Object.entries(data.memory)) {
    md += `- ${name}: each worker holds ${mb(m.wasmPerWorker)} of wasm memory (${mb(m.modelBytes)} of it the packed model, the rest the workspace for maxBatchRows = 256 rows); this process's RSS grew by ${mb(m.rssPerWorker)} per worker (creating a ${WORKERS}-worker pool and one ELBO at batch 4096, divided by ${WORKERS}; it includes each thread's JS heap and the results).\n`;
  }
  md += `\n### Workers on this ${cores}-core machine (MLP ELBO at batch 4096)\n\n`;
  const sc = data.scaling, base = sc.results.edgevae.perSec;
  md += `${table(["", "items/s", "vs edgevae 1 thread"], Object.entries(sc.results).map(([n, r]) => [n === "edgevae" ? "edgevae (1 thread)" : `pool, ${n.slice(4)} worker${n === "pool1" ? "" : "s"}`, fmtInt(r.perSec), isBusy(sc.cpu) ? "busy" : `${(r.perSec / base).toFixed(2)}x`]))}\n\n`;
  md += `Other processes used ${sc.cpu.others === null ? "?" : sc.cpu.others.toFixed(2)} cores meanwhile. More workers than cores only share the cores (each slice still runs whole on one thread).\n\n`;
  md += `**Past ${cores} cores** (argued, not measured here). The workers share nothing: each has its own wasm instance and copy of the weights, so they scale like independent processes until the calling thread or memory bandwidth saturate. The calling thread slices the inputs, posts them and copies results back: `;
  md += Object.entries(data.mainThread).map(([n, m]) => `on ${n}, ${m.active.toFixed(1)} ms of each ${m.wall.toFixed(1)} ms ELBO call at batch 4096 (${((1000 * m.active) / 4096).toFixed(2)} us per item), so it would saturate near ${Math.floor(m.wall * WORKERS / Math.max(m.active, 1e-3))} workers`).join("; ");
  md += `. At batch 256 and above the GEMMs are compute-bound (bench/RESULTS.md, scaling); each worker streams its own ${mb(data.memory.MLP?.modelBytes ?? 0)} MLP weights per pass of 256 rows, which stays far below memory bandwidth, but the copies compete for the shared L3 cache as workers are added; a shared-memory (wasm threads) build would keep one copy, and needs cross-origin isolation in browsers.\n`;
  return md;
}

/** Puts the parallel section into RESULTS.md's text: in place of the old one, else before the conv section, else at the end. */
export function insertParallelSection(text, markdown) {
  const start = text.indexOf(`\n${PARALLEL_HEADING}\n`);
  if (start >= 0) {
    const next = text.indexOf("\n## ", start + PARALLEL_HEADING.length + 2);
    return `${text.slice(0, start).trimEnd()}\n\n${markdown.trimEnd()}\n${next >= 0 ? `\n${text.slice(next + 1)}` : ""}`;
  }
  const conv = text.indexOf("\n## Conv VAEs\n");
  if (conv >= 0) return `${text.slice(0, conv).trimEnd()}\n\n${markdown.trimEnd()}\n\n${text.slice(conv + 1)}`;
  return `${text.trimEnd()}${text ? "\n\n" : ""}${markdown.trimEnd()}\n`;
}

/** For bench/run.mjs: the same run in a fresh child process (ORT's thread count is fixed once per process). */
export function runParallelBenchChild({ quick = false, command = "npm run bench" } = {}) {
  const r = spawnSync(process.execPath, [here("./parallel.mjs"), "--child", "--command", command, ...(quick ? ["--quick"] : [])],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`bench/parallel.mjs --child failed (exit ${r.status})`);
  return JSON.parse(r.stdout);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const argv = process.argv.slice(2), opt = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const quick = argv.includes("--quick"), llItems = opt("--ll-items") ? Number(opt("--ll-items")) : undefined;
  const out = await runParallelBench({ quick, llItems, command: opt("--command") ?? `node bench/parallel.mjs${argv.includes("--quick") ? " --quick" : ""}` });
  if (argv.includes("--child")) {
    process.stdout.write(JSON.stringify(out));
  } else {
    if (!argv.includes("--no-write")) {
      const path = here("./RESULTS.md");
      writeFileSync(path, insertParallelSection(existsSync(path) ? readFileSync(path, "utf8") : "", out.markdown));
    }
    console.log(out.markdown);
  }
  process.exit(0); // ORT's worker threads would keep the process alive
}
