// The int8 benchmark: `node bench/int8.mjs [--quick]` (also run by `npm run bench`).
//
// The trained MNIST MLP VAE (models/mnist.safetensors, 784-512-256-2x32 / 32-256-512-784, ReLU,
// Bernoulli) and its int8 file (models/mnist-int8.safetensors, made by quantize(): per-channel
// symmetric int8 weights, f32 biases), on real held-out MNIST images, ELBO with one sample and
// the noise supplied, at batch 1, 16 and 256. Peers, one thread each, interleaved:
//   edgevae f32, edgevae int8 (default: weights widened to f32 in registers / per panel),
//   edgevae int8 with the opt-in int16 activations, onnxruntime-web on the f32 weights (its
//   fastest configuration: one Gemm per layer), and onnxruntime-web's own int8 model
//   (onnxruntime.quantization.quantize_dynamic, per channel, QInt8 weights, from the .venv's
//   onnxruntime wheel; MatMulInteger with activations quantised to uint8 per call).
// Every peer's ELBOs are compared with edgevae f32's first (mean and max |difference|).
// Then file sizes, model memory, and cold start (fresh process: import, load, first ELBO).
// Run directly, it rewrites the int8 section of bench/RESULTS.md; `npm run bench` appends it.

import { readFileSync, writeFileSync, existsSync, mkdtempSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { elboGraph } from "./onnx.mjs";
import { ortSessions } from "./peers.mjs";
import { normals } from "./model.mjs";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
export const INT8_HEADING = "## Int8 weights";
const BATCHES = [1, 16, 256];
const now = () => performance.now();

async function sample(peer, x, eps, B, n) {
  const t0 = now();
  for (let i = 0; i < n; i++) await peer.elbo(x, eps, B);
  return (now() - t0) / n;
}
function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const q = (f) => s[Math.min(s.length - 1, Math.round(f * (s.length - 1)))];
  return { median: q(0.5), p10: q(0.1), p90: q(0.9) };
}
/** Every peer on one batch, samples interleaved round-robin (the order rotates each round). */
async function timeInterleaved(peers, x, eps, B, { samples, sampleMs }) {
  const plan = [];
  for (const p of peers) {
    const t0 = now();
    let calls = 0;
    while (calls < 3 || (now() - t0 < 150 && calls < 300)) { await p.elbo(x, eps, B); calls++; }
    plan.push({ p, n: Math.max(1, Math.round(sampleMs / ((now() - t0) / calls))), times: [] });
  }
  for (let s = 0; s < samples; s++) for (let i = 0; i < plan.length; i++) {
    const e = plan[(i + s) % plan.length];
    e.times.push(await sample(e.p, x, eps, B, e.n));
  }
  return plan.map((e) => stats(e.times));
}

/** The float weights of the MNIST file as bench/onnx.mjs's model object (linear layers, relu after all but the last). */
function mlpModel(bytes, parseModel) {
  const parsed = parseModel(bytes);
  const a = parsed.architecture;
  const read = (t) => new Float32Array(bytes.buffer.slice(bytes.byteOffset + t.begin, bytes.byteOffset + t.end));
  const net = (layers) => layers.filter((l) => l.type === "linear").map((l, i, all) => ({
    inF: l.inFeatures, outF: l.outFeatures, w: read(l.weight), b: read(l.bias), relu: i + 1 < all.length,
  }));
  return { D: a.inputSize, J: a.latentDim, layers: { encoder: net(a.encoder), decoder: net(a.decoder) } };
}

/** onnxruntime's own int8 model of an ONNX graph (quantize_dynamic, per channel), via the .venv's Python; null with the reason when it cannot run. */
function ortQuantize(onnx) {
  const python = here("../.venv/bin/python");
  if (!existsSync(python)) return { error: "no .venv (bash models/venv.sh makes it)" };
  const dir = mkdtempSync(join(tmpdir(), "edgevae-int8-"));
  writeFileSync(join(dir, "f32.onnx"), onnx);
  const script = "import sys\nfrom onnxruntime.quantization import quantize_dynamic, QuantType\n" +
    "quantize_dynamic(sys.argv[1], sys.argv[2], per_channel=True, weight_type=QuantType.QInt8)\n";
  const r = spawnSync(python, ["-c", script, join(dir, "f32.onnx"), join(dir, "int8.onnx")], { encoding: "utf8" });
  if (r.status !== 0) return { error: `quantize_dynamic failed: ${(r.stderr || r.stdout).trim().split("\n").at(-1)}` };
  return { bytes: new Uint8Array(readFileSync(join(dir, "int8.onnx"))) };
}

/** Cold start of one peer in a fresh process: import, load, first ELBO at batch 1 (ms); median of `runs`. */
function coldStart(kind, runs) {
  const dist = pathToFileURL(here("../dist/index.js")).href;
  const file = { "edgevae f32": "mnist", "edgevae int8": "mnist-int8" }[kind];
  const code = `
    const t0 = performance.now();
    const { Vae } = await import(${JSON.stringify(dist)});
    const bytes = (await import("node:fs")).readFileSync(${JSON.stringify(here(`../models/${file}.safetensors`))});
    const vae = await Vae.load(bytes);
    const x = new Float32Array(784).fill(0.5);
    vae.elbo(x, { seed: 1 });
    console.log(performance.now() - t0);`;
  const times = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`cold start ${kind}: ${r.stderr}`);
    times.push(Number(r.stdout.trim()));
  }
  return stats(times).median;
}

const us = (ms) => (ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} us`);
const table = (head, rows) => [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i ? "---:" : "---")).join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");

export async function runInt8Bench({ quick = false, log = console.error, command = "node bench/int8.mjs" } = {}) {
  const { Vae, parseModel } = await import("../dist/index.js");
  const { mnistSplit } = await import("../models/datasets.mjs");
  const f32Bytes = new Uint8Array(readFileSync(here("../models/mnist.safetensors")));
  const i8Bytes = new Uint8Array(readFileSync(here("../models/mnist-int8.safetensors")));
  const model = mlpModel(f32Bytes, parseModel);
  const { D, J } = model;
  const images = mnistSplit().heldOut.values;

  log("int8: loading peers...");
  const load = async (bytes, options, name) => {
    const vae = await Vae.load(bytes, { simd: "baseline", ...options });
    return { name, vae, elbo: (x, eps) => vae.elbo(x, { eps }).elbo };
  };
  const peers = [
    await load(f32Bytes, {}, "edgevae f32"),
    await load(i8Bytes, {}, "edgevae int8"),
    await load(i8Bytes, { int16Activations: true }, "edgevae int8, int16 activations (opt-in)"),
  ];
  const f32Onnx = elboGraph(model), mmOnnx = elboGraph(model, { matmul: true });
  const quantized = ortQuantize(mmOnnx);
  const graphs = [f32Onnx, ...(quantized.bytes ? [quantized.bytes] : [])];
  const { ort, sessions } = await ortSessions(graphs);
  const T = (data, dims) => new ort.Tensor("float32", data, dims);
  const ortPeer = (s, name) => ({ name, elbo: async (x, eps, B) => (await s.run({ x: T(x, [B, D]), eps: T(eps, [B, J]) })).elbo.data });
  peers.push(ortPeer(sessions[0], "onnxruntime-web f32"));
  if (quantized.bytes) peers.push(ortPeer(sessions[1], "onnxruntime-web int8 (quantize_dynamic)"));

  // outputs first: every peer against edgevae f32 on 256 held-out images
  const xs = images.subarray(0, 256 * D), es = normals(256 * J, 3);
  const want = await peers[0].elbo(xs, es, 256);
  const accuracy = [];
  for (const p of peers) {
    const got = await p.elbo(xs, es, 256);
    let sum = 0, max = 0, mean = 0;
    for (let i = 0; i < 256; i++) { const d = got[i] - want[i]; sum += d; max = Math.max(max, Math.abs(d)); mean += Math.abs(d); }
    accuracy.push({ mean: sum / 256, meanAbs: mean / 256, max });
    if (!(max < 25)) throw new Error(`int8 bench: ${p.name} disagrees with edgevae f32 (max |ELBO difference| ${max})`);
  }

  const times = {};
  for (const B of BATCHES) {
    log(`int8: ELBO batch ${B}...`);
    const x = images.subarray(0, B * D), eps = normals(B * J, 10 + B);
    times[B] = await timeInterleaved(peers, x, eps, B, { samples: quick ? 5 : 11, sampleMs: quick ? 8 : 25 });
  }
  log("int8: cold starts...");
  const runs = quick ? 3 : 7;
  const cold = { "edgevae f32": coldStart("edgevae f32", runs), "edgevae int8": coldStart("edgevae int8", runs) };
  const mem = peers.slice(0, 3).map((p) => ({ name: p.name, modelBytes: p.vae.info.modelBytes }));

  const ortF32 = peers.findIndex((p) => p.name === "onnxruntime-web f32");
  const ortI8 = peers.findIndex((p) => p.name.startsWith("onnxruntime-web int8"));
  const rows = BATCHES.map((B) => [
    `ELBO b${B}`, ...times[B].map((t) => `${us(t.median)} (${us(t.p10)}-${us(t.p90)})`),
    ...[1, 2].map((i) => `${(times[B][i].median / times[B][0].median).toFixed(2)}x`),
    ...[1, 2].map((i) => `${(times[B][i].median / times[B][ortF32].median).toFixed(2)}x`),
    ...(ortI8 > 0 ? [1, 2].map((i) => `${(times[B][i].median / times[B][ortI8].median).toFixed(2)}x`) : []),
  ]);
  const head = ["op, batch", ...peers.map((p) => p.name), "int8 / f32", "int8+i16 / f32", "int8 / ORT f32", "int8+i16 / ORT f32",
    ...(ortI8 > 0 ? ["int8 / ORT int8", "int8+i16 / ORT int8"] : [])];
  const items = (B, i) => B / (times[B][i].median / 1000);
  const b1 = (i) => times[1][i].median;
  const goal = (name, ok, value) => [name, value, ok ? "MET" : "MISSED"];
  const goals = [
    goal("MNIST int8 file <= 1.2 MB", i8Bytes.length <= 1.2e6, `${(i8Bytes.length / 1e6).toFixed(2)} MB`),
    goal("ELBO b1 <= 0.4x onnxruntime-web f32 (default int8)", b1(1) <= 0.4 * b1(ortF32), `${(b1(1) / b1(ortF32)).toFixed(2)}x`),
    goal("ELBO b1 <= 0.4x onnxruntime-web f32 (opt-in int16 activations)", b1(2) <= 0.4 * b1(ortF32), `${(b1(2) / b1(ortF32)).toFixed(2)}x`),
    ...(ortI8 > 0 ? [goal("ELBO b1 faster than onnxruntime-web int8 (default int8)", b1(1) < b1(ortI8), `${(b1(1) / b1(ortI8)).toFixed(2)}x its time`)] : []),
    goal("ELBO b256 >= 0.95x edgevae f32 throughput (default int8)", items(256, 1) >= 0.95 * items(256, 0), `${(items(256, 1) / items(256, 0)).toFixed(2)}x`),
    ...(ortI8 > 0 ? [goal("ELBO b256 ahead of onnxruntime-web int8 (default int8)", items(256, 1) > items(256, ortI8), `${(items(256, 1) / items(256, ortI8)).toFixed(2)}x its items/s`)] : []),
    goal("cold start (fresh process: import, load, first ELBO) <= 10 ms, int8", cold["edgevae int8"] <= 10, `${cold["edgevae int8"].toFixed(1)} ms`),
  ];
  const quantReport = JSON.parse(readFileSync(here("../models/mnist-int8.quantize.json"), "utf8"));
  const md = `${INT8_HEADING}

Generated by \`${command}\` on ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC; one thread per peer, samples interleaved.

- Model: the trained MNIST VAE (models/mnist.safetensors, 1.09 M weights) and models/mnist-int8.safetensors
  (\`node models/make-int8.mjs\`: quantize(), per-output-channel symmetric int8, scales by least squared error);
  inputs: MNIST held-out images; ELBO with one sample, noise supplied. edgevae runs the baseline SIMD build.
- onnxruntime-web ${ort.env.versions?.web ?? ""}: the f32 weights as one Gemm per layer (its fastest f32 graph), and
  ${quantized.bytes ? "its own int8 model: `onnxruntime.quantization.quantize_dynamic(per_channel=True, weight_type=QInt8)` on a MatMul+Add graph of the same weights (DynamicQuantizeLinear + MatMulInteger: activations quantised to uint8 at every call)" : `no int8 model: ${quantized.error}`}.
- Agreement with edgevae f32 on 256 held-out images (ELBO, nats per item: mean difference / mean |difference| / max |difference|):
${peers.map((p, i) => `  ${p.name}: ${accuracy[i].mean.toFixed(3)} / ${accuracy[i].meanAbs.toFixed(3)} / ${accuracy[i].max.toFixed(3)}`).join("\n")}
- Held-out effect of quantize() on all 2,000 images (models/mnist-int8.quantize.json): mean ELBO change ${quantReport.elboChange.meanChange.toFixed(4)} nats per item,
  mean |change| ${quantReport.elboChange.meanAbsChange.toFixed(3)}, max ${quantReport.elboChange.maxAbsChange.toFixed(2)}.

${table(head, rows)}

Sizes and memory: model file f32 ${(f32Bytes.length / 1e6).toFixed(2)} MB, int8 ${(i8Bytes.length / 1e6).toFixed(2)} MB; ONNX f32 ${(f32Onnx.length / 1e6).toFixed(2)} MB${quantized.bytes ? `, ONNX int8 ${(quantized.bytes.length / 1e6).toFixed(2)} MB` : ""}.
Model memory in wasm (packed weights, Vae.info.modelBytes): ${mem.map((m) => `${m.name} ${(m.modelBytes / 1e6).toFixed(2)} MB`).join(", ")};
the int8 path adds one panel of scratch per call (K x 8 f32: 25 KB for K = 784), the int16 path one row (K x 2 bytes).

Cold start (fresh process: import, load, first ELBO at batch 1; median of ${runs}): edgevae f32 ${cold["edgevae f32"].toFixed(1)} ms, edgevae int8 ${cold["edgevae int8"].toFixed(1)} ms.

${table(["goal (issue 10)", "measured", ""], goals)}

Why the default int8 path is not faster at batch 1: each int8 weight costs a sign extension and an integer to float
conversion before its multiply-add, and on this machine the f32 batch-1 ELBO is already bound by arithmetic issue
rather than by memory (the 4.4 MB of f32 weights stream from L3 at ~60 GB/s: see "This machine's ceilings"). Weight-only
int8 with f32 arithmetic needs at least the f32 path's 2.2 M flops per ELBO, and at this machine's 54 GFLOP/s register
peak that is 40 us: the 37 us goal needs integer arithmetic, which the opt-in int16 activations provide (8 multiply-adds
per i32x4.dot_i16x8_s). From batch 4 on, the default path widens each panel of 8 columns once per call and runs the
f32 4x8 kernel over all rows on it.
`;
  return { markdown: md };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes("--quick");
  const { markdown } = await runInt8Bench({ quick });
  console.log(markdown);
  const path = here("./RESULTS.md");
  const old = existsSync(path) ? readFileSync(path, "utf8") : "";
  // replace this section where it is (up to the next section), or append it
  const at = old.indexOf(INT8_HEADING), next = at < 0 ? -1 : old.indexOf("\n## ", at + 1);
  writeFileSync(path, at < 0 ? `${old.trimEnd()}\n\n${markdown}` : `${old.slice(0, at)}${markdown}${next < 0 ? "" : old.slice(next)}`);
}
