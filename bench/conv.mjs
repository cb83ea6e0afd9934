// The conv benchmark: `node bench/conv.mjs [--quick]` (also run at the end of `npm run bench`).
//
// Two conv VAEs with seeded weights (bench/conv-models.mjs): the Keras "Variational AutoEncoder"
// example (latent 16, [1, 28, 28]) and a DCGAN-style 64x64 RGB VAE (latent 128), both Bernoulli.
// Peers, one thread each, on the same weights: edgevae (dist/index.js, a version 2 model file),
// onnxruntime-web (wasm EP, numThreads 1, hand-written ONNX graphs: bench/onnx.mjs), TF.js with
// tfjs-backend-wasm (NHWC, bench/peers-conv.mjs). Ops: encode, decode, ELBO (1 sample, noise
// supplied) at batch 1, 16, 64. Every peer's outputs are checked first, against edgevae and against
// a float64 JS reference (bench/conv-models.mjs); a peer that disagrees is not timed.
// Then each conv layer alone (edgevae through one-layer model files, ORT and TF.js through
// one-layer graphs) at batch 64, in GFLOP/s next to this machine's f32x4 peak (bench/peak.mjs).
// Run directly, it rewrites the conv section of bench/RESULTS.md (everything from the
// "## Conv VAEs" heading on); `npm run bench` appends the same section after the MLP tables.

import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import os from "node:os";
import { kerasModel, dcganModel, referencePeer, convInputs, layerMacs, netMacs, oneLayerModel } from "./conv-models.mjs";
import { edgevaeConvPeer, edgevaeDist, ortConvPeer, tfjsConvPeer, ortLayerPeer, tfjsLayerPeer } from "./peers-conv.mjs";
import { normals, rng } from "./model.mjs";
import { measurePeak } from "./peak.mjs";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const BATCHES = [1, 16, 64];
const OPS = ["encode", "decode", "elbo"];
const TOL = 1e-4;
const LAYER_BATCH = 64;
export const CONV_HEADING = "## Conv VAEs";

// ---- timing (interleaved samples, as bench/run.mjs) ---------------------------------------------
const now = () => performance.now();
async function sample(peer, call, n) {
  const t0 = now();
  for (let i = 0; i < n; i++) { const r = call(peer); if (r instanceof Promise) await r; }
  return (now() - t0) / n;
}
async function calibrate(peer, call, sampleMs) {
  const t0 = now();
  let calls = 0;
  while (calls < 2 || (now() - t0 < 120 && calls < 200)) { const r = call(peer); if (r instanceof Promise) await r; calls++; }
  const per = (now() - t0) / calls;
  return { per, n: Math.max(1, Math.round(sampleMs / per)) };
}
export function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const q = (f) => s[Math.min(s.length - 1, Math.max(0, Math.round(f * (s.length - 1))))];
  return { median: q(0.5), p10: q(0.1), p90: q(0.9), n: s.length };
}
/** Every peer on one config, samples interleaved round-robin (the order rotates each round). */
async function timeInterleaved(peers, call, { samples, sampleMs }) {
  const plan = [];
  for (const p of peers) { const c = await calibrate(p, call, sampleMs); plan.push({ p, ...c, times: [] }); }
  const S = Math.max(...plan.map((e) => e.per)) > 150 ? Math.min(samples, 5) : samples;
  for (let s = 0; s < S; s++) for (let i = 0; i < plan.length; i++) {
    const e = plan[(i + s) % plan.length];
    e.times.push(await sample(e.p, call, e.n));
  }
  return plan.map((e) => stats(e.times));
}

// ---- output checks -------------------------------------------------------------------------------
function worstRel(got, want) {
  if (got.length !== want.length) return { err: Infinity, at: -1, msg: `${got.length} values, want ${want.length}` };
  let err = 0, at = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i]));
    if (!(e <= err)) { err = e; at = i; }
  }
  return { err, at, msg: `[${at}] = ${got[at]} vs ${want[at]}` };
}

const sigmoid = (v) => 1 / (1 + Math.exp(-v));

/** Runs every op of `peer` on the check inputs; returns its outputs (plain arrays). */
async function outputsOf(peer, ins) {
  const { x, z, eps, B } = ins;
  const e = await peer.encode(x, B), el = await peer.elbo(x, eps, B);
  return { mean: e.mean, logvar: e.logvar, logits: await peer.logits(z, B), decode: await peer.decode(z, B), elbo: el.elbo, recon: el.recon, kl: el.kl };
}

function compareOutputs(got, want) {
  let worst = { err: 0, what: "" };
  for (const k of Object.keys(want)) {
    const r = worstRel(got[k], want[k]);
    if (!(r.err <= worst.err)) worst = { ...r, what: k };
  }
  return worst;
}

// ---- formatting ------------------------------------------------------------------------------------
function fmtTime(ms) {
  if (ms === undefined || ms === null) return "-";
  if (ms < 1) return `${(ms * 1000).toFixed(ms < 0.1 ? 1 : 0)} us`;
  if (ms < 100) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(0)} ms`;
}
const fmtStat = (s) => (s ? `${fmtTime(s.median)} (${fmtTime(s.p10)}-${fmtTime(s.p90)})` : "-");
const fmtInt = (v) => Math.round(v).toLocaleString("en-US");
function table(header, rows) {
  const lines = [`| ${header.join(" | ")} |`, `|${header.map((h, i) => (i === 0 ? "---" : "---:")).join("|")}|`];
  for (const r of rows) lines.push(`| ${r.join(" | ")} |`);
  return lines.join("\n");
}
const describeLayer = (l) => l.type === "conv2d"
  ? `conv2d ${l.cin}->${l.cout} ${l.k}x${l.k} s${l.stride} pad [${l.pad.join(",")}], ${l.inShape.join("x")} -> ${l.outShape.join("x")}`
  : `conv_transpose2d ${l.cin}->${l.cout} ${l.k}x${l.k} s${l.stride} p${l.pad} op${l.outPad}, ${l.inShape.join("x")} -> ${l.outShape.join("x")}`;
const pkgVersion = (name) => JSON.parse(readFileSync(here(`../node_modules/${name}/package.json`), "utf8")).version;

// ---- the benchmark ---------------------------------------------------------------------------------

/** Runs the conv benchmark; returns { markdown, data }. */
export async function runConvBench({ quick = false, log = (...a) => console.error(...a), command = "node bench/conv.mjs" } = {}) {
  const started = new Date(), load0 = os.loadavg();
  const opts = { samples: quick ? 3 : 11, sampleMs: quick ? 8 : 25 };
  const models = [kerasModel(), dcganModel()];
  const data = { models: [], layers: [], peak: null };
  const notes = [];

  for (const model of models) {
    log(`conv bench: model ${model.name}, ${(model.bytes.length / 1048576).toFixed(1)} MB file`);
    const ref = referencePeer(model);
    const B = 3;
    const ins = { B, x: convInputs(model, B, 31), z: normals(B * model.J, 32), eps: normals(B * model.J, 33) };
    const r = await outputsOf(ref, ins);
    const want64 = { ...r, decode: r.logits.map(sigmoid) };
    r.decode = want64.decode;

    const candidates = [];
    let edgeError = null;
    try { candidates.push(await edgevaeConvPeer(model)); } catch (err) { edgeError = `cannot load the model file: ${err.code ?? ""} ${err.message}`.trim(); log(`  edgevae ${edgeError}`); }
    candidates.push(await ortConvPeer(model), await tfjsConvPeer(model));

    // check: everyone against the float64 reference, and against edgevae when it runs
    const outs = [];
    for (const p of [...candidates]) {
      try { outs.push(await outputsOf(p, ins)); } catch (err) {
        if (p.name !== "edgevae") throw err;
        edgeError = `it loads, but fails: ${err.code ?? ""} ${err.message}`.trim(); log(`  edgevae ${edgeError}`);
        candidates.splice(candidates.indexOf(p), 1);
      }
    }
    const edgeIdx = candidates.findIndex((p) => p.name === "edgevae");
    const check = [];
    const peers = [];
    candidates.forEach((p, i) => {
      const vsRef = compareOutputs(outs[i], want64);
      const vsEdge = edgeIdx >= 0 && i !== edgeIdx ? compareOutputs(outs[i], outs[edgeIdx]) : null;
      const ok = vsRef.err <= TOL && (!vsEdge || vsEdge.err <= TOL);
      check.push({ name: p.name, vsRef, vsEdge, ok });
      log(`  check ${p.name}: vs float64 ${vsRef.err.toExponential(1)} (${vsRef.what})${vsEdge ? `, vs edgevae ${vsEdge.err.toExponential(1)} (${vsEdge.what})` : ""}${ok ? "" : "  MISMATCH: not timed"}`);
      if (ok) peers.push(p);
      else notes.push(`PEER MISMATCH on ${model.name}: ${p.name} ${vsEdge && vsEdge.err > TOL ? `${vsEdge.what}${vsEdge.msg} (edgevae)` : `${vsRef.what}${vsRef.msg} (float64 reference)`}; not timed.`);
    });

    const results = {};
    for (const op of OPS) for (const Bt of BATCHES) {
      const x = convInputs(model, Bt, 100 + Bt), z = normals(Bt * model.J, 200 + Bt), eps = normals(Bt * model.J, 300 + Bt);
      const call = { encode: (p) => p.encode(x, Bt), decode: (p) => p.decode(z, Bt), elbo: (p) => p.elbo(x, eps, Bt) }[op];
      const st = await timeInterleaved(peers, call, opts);
      results[`${op}/${Bt}`] = Object.fromEntries(peers.map((p, i) => [p.name, st[i]]));
      log(`  ${op} b${Bt}: ${peers.map((p, i) => `${p.name} ${fmtTime(st[i].median)}`).join(", ")}`);
    }
    data.models.push({ model, check, results, edgeError, timed: peers.map((p) => p.name) });
  }

  // ---- each conv layer alone
  log("conv bench: single layers...");
  const edgeLoads = data.models.every((m) => !m.edgeError);
  for (const model of models) {
    for (const l of [...model.conv.encoder, ...model.conv.decoder]) {
      if (l.type !== "conv2d" && l.type !== "convT") continue;
      const Bl = LAYER_BATCH, u = rng(7), n = Bl * l.inShape.reduce((a, b) => a * b, 1);
      const xin = new Float32Array(n); for (let i = 0; i < n; i++) xin[i] = 2 * u() - 1;
      const ort = await ortLayerPeer(l), tfl = await tfjsLayerPeer(l);
      const peers = [];
      const row = { model: model.name, layer: l, macs: layerMacs(l), st: {}, err: {} };
      const want = await ort.run(xin, Bl);
      // TF.js runs NHWC: give it the same items transposed, compare after transposing back
      const [Ci, H, W] = l.inShape, [Co, Ho, Wo] = l.outShape;
      const xNhwc = new Float32Array(n);
      for (let b = 0; b < Bl; b++) for (let c = 0; c < Ci; c++) for (let p = 0; p < H * W; p++) xNhwc[(b * H * W + p) * Ci + c] = xin[(b * Ci + c) * H * W + p];
      const yt = await tfl.run(xNhwc, Bl), ytN = new Float32Array(yt.length);
      for (let b = 0; b < Bl; b++) for (let c = 0; c < Co; c++) for (let p = 0; p < Ho * Wo; p++) ytN[(b * Co + c) * Ho * Wo + p] = yt[(b * Ho * Wo + p) * Co + c];
      row.err["tfjs-wasm"] = worstRel(ytN, want).err;
      if (edgeLoads) {
        const one = oneLayerModel(l);
        if (one) {
          try {
            const ep = await edgevaeConvPeer(one);
            const run = l.type === "conv2d"
              ? async (x, B) => { const r = await ep.vae.encode(x); return interleaveHalves(r.mean, r.logvar, B); }
              : async (x, B) => ep.vae.decodeParams(x);
            // edgevae's encode returns [mean | logvar] = the conv output's channel halves, per item
            row.err.edgevae = worstRel(await run(xin, Bl), want).err;
            peers.push({ name: "edgevae", run: (x) => (l.type === "conv2d" ? ep.vae.encode(x) : ep.vae.decodeParams(x)), x: xin });
          } catch (err) { row.edgeError = `${err.code ?? ""} ${err.message}`.trim(); }
        }
      }
      peers.push({ name: "onnxruntime-web", run: (x, B) => ort.run(x, B), x: xin }, { name: "tfjs-wasm", run: (x, B) => tfl.run(x, B), x: xNhwc });
      const live = peers.filter((p) => p.name === "onnxruntime-web" || (row.err[p.name] ?? Infinity) <= TOL);
      for (const p of peers) if (!live.includes(p)) notes.push(`PEER MISMATCH on ${model.name} layer ${describeLayer(l)}: ${p.name} relative error ${row.err[p.name]?.toExponential(1)} against onnxruntime-web; not timed.`);
      const st = await timeInterleaved(live, (p) => p.run(p.x, Bl), opts);
      live.forEach((p, i) => { row.st[p.name] = st[i]; });
      data.layers.push(row);
      log(`  ${model.name} ${describeLayer(l)}: ${live.map((p, i) => `${p.name} ${fmtTime(st[i].median)} ${((2 * row.macs.exact * Bl) / st[i].median / 1e6).toFixed(1)} GFLOP/s`).join(", ")}`);
    }
  }

  if (edgeLoads) {
    log("conv bench: edgevae relaxed-SIMD build (child process)...");
    const c = spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", here("./conv.mjs"), "--child-relaxed", ...(quick ? ["--quick"] : [])],
      { encoding: "utf8", maxBuffer: 64 << 20 });
    try { data.relaxed = JSON.parse(c.stdout); } catch { notes.push(`the relaxed-SIMD child failed: ${(c.stderr || "").trim().split("\n").slice(-3).join(" ")}`); }
  }

  log("conv bench: f32x4 peak...");
  data.peak = stats(measurePeak(false, quick ? 5 : 9));
  data.peakRelaxed = data.relaxed?.peak ?? null;

  const markdown = report(data, { started, load0, quick, command, notes });
  return { markdown, data };
}

/** The relaxed-SIMD build of edgevae alone (no interleaving): every op and batch, and every conv layer. */
async function relaxedChild(quick) {
  const opts = { samples: quick ? 3 : 11, sampleMs: quick ? 8 : 25 };
  const out = { ops: {}, layers: {}, check: {} };
  for (const model of [kerasModel(), dcganModel()]) {
    const p = await edgevaeConvPeer(model, { simd: "relaxed" });
    // checked against the float64 reference first, like every peer
    const B = 3, ins = { B, x: convInputs(model, B, 31), z: normals(B * model.J, 32), eps: normals(B * model.J, 33) };
    const want = await outputsOf(referencePeer(model), ins);
    want.decode = want.logits.map(sigmoid);
    const worst = compareOutputs(await outputsOf(p, ins), want);
    out.check[model.name] = worst.err;
    if (!(worst.err <= TOL)) continue;
    for (const op of OPS) for (const Bt of BATCHES) {
      const x = convInputs(model, Bt, 100 + Bt), z = normals(Bt * model.J, 200 + Bt), eps = normals(Bt * model.J, 300 + Bt);
      const call = { encode: (q) => q.encode(x, Bt), decode: (q) => q.decode(z, Bt), elbo: (q) => q.elbo(x, eps, Bt) }[op];
      out.ops[`${model.name}/${op}/${Bt}`] = (await timeInterleaved([p], call, opts))[0];
    }
    [...model.conv.encoder, ...model.conv.decoder].forEach((l, i) => { l.index = i; });
    for (const l of [...model.conv.encoder, ...model.conv.decoder]) {
      const one = (l.type === "conv2d" || l.type === "convT") && oneLayerModel(l);
      if (!one) continue;
      const ep = await edgevaeConvPeer(one, { simd: "relaxed" });
      const u = rng(7), n = LAYER_BATCH * l.inShape.reduce((a, b) => a * b, 1), x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = 2 * u() - 1;
      const run = l.type === "conv2d" ? () => ep.vae.encode(x) : () => ep.vae.decodeParams(x);
      out.layers[`${model.name}/${describeLayer(l)}`] = (await timeInterleaved([{ run }], (q) => q.run(), opts))[0];
    }
  }
  out.peak = stats(measurePeak(true, quick ? 5 : 9));
  return out;
}

/** [mean | logvar] per item back into one tensor per item: each is half of the channels. */
function interleaveHalves(mean, logvar, B) {
  const h = mean.length / B, out = new Float32Array(2 * mean.length);
  for (let b = 0; b < B; b++) { out.set(mean.subarray(b * h, (b + 1) * h), 2 * b * h); out.set(logvar.subarray(b * h, (b + 1) * h), (2 * b + 1) * h); }
  return out;
}

// ---- report ----------------------------------------------------------------------------------------
function report(data, { started, load0, quick, command, notes }) {
  const peakG = data.peak.median;
  const names = ["edgevae", "onnxruntime-web", "tfjs-wasm"];
  const short = { edgevae: "edgevae", "onnxruntime-web": "ORT", "tfjs-wasm": "TF.js" };
  let md = `${CONV_HEADING}\n\nGenerated by \`${command}${quick ? " --quick" : ""}\` on ${started.toISOString().slice(0, 16).replace("T", " ")} UTC`
    + ` (load average at start ${load0.map((l) => l.toFixed(2)).join(" ")}, at the end ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; ${os.cpus().length} logical cores, shared).${quick ? " **Quick mode: few, short samples; not for quoting.**" : ""}\n\n`;
  const dist = edgevaeDist === new URL("../dist/index.js", import.meta.url).href ? "dist/" : `${fileURLToPath(edgevaeDist)}, set by EDGEVAE_DIST`;
  md += `- Peers, one thread each: edgevae ${JSON.parse(readFileSync(here("../package.json"), "utf8")).version} (${dist}, baseline SIMD build, a version 2 model file), onnxruntime-web ${pkgVersion("onnxruntime-web")} (wasm EP, numThreads = 1, graph optimisation "all", hand-written ONNX graphs: bench/onnx.mjs), `
    + `@tensorflow/tfjs-core ${pkgVersion("@tensorflow/tfjs-core")} + tfjs-backend-wasm ${pkgVersion("@tensorflow/tfjs-backend-wasm")} (XNNPACK conv2d and matMul with fused bias + activation; conv2dTranspose is the backend's scalar loop; NHWC with the weights converted once).\n`;
  md += `- Same seeded weights in every peer (bench/conv-models.mjs: uniform init with Kaiming's bound, so activations stay O(1)); inputs and noise seeded; items in and out as flat Float32Arrays in PyTorch order (C, H, W), copies included in each call's time.\n`;
  md += `- Times: median per call (p10-p90) of ${quick ? 3 : 11} interleaved samples (5 where a call takes > 150 ms), each as many calls as fit in ~${quick ? 8 : 25} ms after warm-up.\n`;
  md += `- Multiply-adds counted exactly, per item: linear in*out; conv2d Cout*Cin*taps_h*taps_w with taps_h = the sum over output rows of the kernel rows that fall inside the input (zero-padding taps not counted; `
    + `without that correction it is Cout*Cin*k*k*Ho*Wo); conv_transpose2d Cin*Cout*taps_h*taps_w with taps_h = the sum over input rows of the kernel rows that land on a kept output row. GFLOP/s = 2 * MACs * batch / time.\n`;
  md += `- This machine's f32x4 peak (bench/peak.mjs, 12 chains of mul + add in registers): **${peakG.toFixed(1)} GFLOP/s** (p10-p90 ${data.peak.p10.toFixed(1)}-${data.peak.p90.toFixed(1)})`
    + `${data.peakRelaxed ? `; with f32x4.relaxed_madd: **${data.peakRelaxed.median.toFixed(1)} GFLOP/s**` : ""}.\n`;
  md += `- \\* edgevae relaxed: the relaxed-SIMD build (fused multiply-add), in a child process with \`--experimental-wasm-relaxed-simd\`, timed alone (not interleaved); "-" where edgevae did not load.\n`;
  if (data.relaxed) md += `- The relaxed build's outputs against the float64 reference (same check as below): ${Object.entries(data.relaxed.check).map(([k, v]) => `${k} ${v.toExponential(1)}${v <= TOL ? "" : " **MISMATCH, not timed**"}`).join(", ")}.\n`;
  for (const n of notes) md += `- **${n}**\n`;
  md += "\n";

  for (const m of data.models) {
    const { model } = m;
    const encM = netMacs(model.conv.encoder), decM = netMacs(model.conv.decoder);
    const title = model.name === "keras"
      ? `Keras "Variational AutoEncoder" example, [1, 28, 28], latent 16, Bernoulli`
      : `DCGAN-style 64x64 RGB conv VAE, [3, 64, 64], latent ${model.J}, Bernoulli, LeakyReLU 0.2 encoder`;
    md += `### ${title}\n\n`;
    md += `Multiply-adds per item: encode ${(encM / 1e6).toFixed(3)} M, decode ${(decM / 1e6).toFixed(3)} M, ELBO ${((encM + decM) / 1e6).toFixed(3)} M `
      + `(nominal, padding taps included: ${(netMacs(model.conv.encoder, "nominal") / 1e6).toFixed(3)} M + ${(netMacs(model.conv.decoder, "nominal") / 1e6).toFixed(3)} M). `
      + `Weights ${(model.bytes.length / 1048576).toFixed(1)} MB.\n\n`;
    md += "Outputs checked before timing (batch 3; mean, logvar, decoded logits, decoded means, ELBO, recon, KL; relative error |a-b| / max(1, |b|), limit 1e-4): "
      + m.check.map((c) => `${c.name} ${c.vsRef.err.toExponential(1)} against float64 JS${c.vsEdge ? `, ${c.vsEdge.err.toExponential(1)} against edgevae` : ""}${c.ok ? "" : " **MISMATCH, not timed**"}`).join("; ") + ".";
    if (m.edgeError) md += ` **edgevae: ${m.edgeError}** (no edgevae column; the ratios below need it).`;
    md += "\n\n";
    const rows = [];
    for (const op of OPS) for (const B of BATCHES) {
      const r = m.results[`${op}/${B}`], e = r.edgevae?.median;
      const macs = { encode: encM, decode: decM, elbo: encM + decM }[op];
      const g = (s) => (s ? ((2 * macs * B) / s.median / 1e6).toFixed(1) : "-");
      const ratio = (s) => (s && e ? `${(s.median / e).toFixed(2)}x` : "-");
      const rel = data.relaxed?.ops[`${model.name}/${op}/${B}`];
      rows.push([`${op} b${B}`, ...names.map((n) => fmtStat(r[n])), fmtStat(rel), ratio(r["onnxruntime-web"]), ratio(r["tfjs-wasm"]), ...names.map((n) => g(r[n])), g(rel)]);
    }
    md += table(["op, batch", ...names, "edgevae relaxed*", "ORT / edgevae", "TF.js / edgevae", ...names.map((n) => `${short[n]} GFLOP/s`), "relaxed* GFLOP/s"], rows) + "\n\n";
    const e64 = m.results["elbo/64"].edgevae?.median;
    if (e64) md += `edgevae ELBO at batch 64: ${((2 * (encM + decM) * 64) / e64 / 1e6).toFixed(1)} GFLOP/s, ${((100 * (2 * (encM + decM) * 64) / e64 / 1e6) / peakG).toFixed(0)}% of the f32x4 peak.\n\n`;
    const thr = (s, B) => (s ? fmtInt((B / s.median) * 1000) : "-");
    md += `Throughput (items/s):\n\n` + table(["op", ...names.flatMap((n) => BATCHES.map((B) => `${short[n]} b${B}`)), ...BATCHES.map((B) => `relaxed* b${B}`)],
      OPS.map((op) => [op, ...names.flatMap((n) => BATCHES.map((B) => thr(m.results[`${op}/${B}`][n], B))),
        ...BATCHES.map((B) => thr(data.relaxed?.ops[`${model.name}/${op}/${B}`], B))])) + "\n\n";
  }

  md += `### Each conv layer alone, batch ${LAYER_BATCH}\n\n`;
  md += `edgevae through a one-layer model file (the layer is the encoder, timed by \`encode\`, or the decoder, timed by \`decodeParams\`; the other network is one cheap layer), `
    + `ORT and TF.js through a one-layer graph (ORT in NCHW and TF.js in NHWC, their own layouts: no layout change; edgevae computes NHWC inside, so its time includes converting the items from and to PyTorch's order). No activation. Outputs checked against ORT first. % of peak: GFLOP/s / ${peakG.toFixed(1)}, with the exact multiply-adds, and with the nominal ones `
    + `(taps on zero padding / cropped outputs included, as bench/conv-kernels.mjs counts: what an im2col or indirect GEMM executes).\n\n`;
  const lrows = data.layers.map((r) => {
    const g = (n) => (r.st[n] ? (2 * r.macs.exact * LAYER_BATCH) / r.st[n].median / 1e6 : null);
    const ge = g("edgevae"), rs = data.relaxed?.layers[`${r.model}/${describeLayer(r.layer)}`];
    const gr = rs ? (2 * r.macs.exact * LAYER_BATCH) / rs.median / 1e6 : null;
    return [`${r.model}: ${describeLayer(r.layer)}`, (r.macs.exact / 1e6).toFixed(3),
      ...names.map((n) => (r.st[n] ? fmtTime(r.st[n].median) : r.edgeError && n === "edgevae" ? "load failed" : "-")),
      ...names.map((n) => (g(n) ? g(n).toFixed(1) : "-")), ge ? `${((100 * ge) / peakG).toFixed(0)}%` : "-",
      ge ? `${((100 * ge * r.macs.nominal) / r.macs.exact / peakG).toFixed(0)}%` : "-",
      gr ? gr.toFixed(1) : "-", gr && data.peakRelaxed ? `${((100 * gr) / data.peakRelaxed.median).toFixed(0)}%` : "-"];
  });
  md += table(["layer", "M MACs / item", ...names.map((n) => `${short[n]} time`), ...names.map((n) => `${short[n]} GFLOP/s`), "edgevae % of peak",
    "edgevae % of peak, nominal MACs", "relaxed* GFLOP/s", "relaxed* % of relaxed peak"], lrows) + "\n\n";

  // targets
  const med = (name, op, peer) => data.models.find((m) => m.model.name === name)?.results[`${op}/64`][peer]?.median;
  const tgt = (label, peerName, model, want) => {
    const e = med(model, "elbo", "edgevae"), p = med(model, "elbo", peerName);
    if (!e || !p) return [label, "-", "not measured (no edgevae)"];
    const r = p / e; return [label, `${r.toFixed(2)}x`, r >= want ? "met" : "MISSED"];
  };
  const targets = [
    tgt("Keras: ELBO b64 >= 1.5x onnxruntime-web throughput", "onnxruntime-web", "keras", 1.5),
    tgt("64x64: ELBO b64 >= 1.3x onnxruntime-web throughput", "onnxruntime-web", "dcgan", 1.3),
    tgt("Keras: ELBO b64 >= 5x TF.js-wasm throughput", "tfjs-wasm", "keras", 5),
    tgt("64x64: ELBO b64 >= 5x TF.js-wasm throughput", "tfjs-wasm", "dcgan", 5),
  ];
  if (data.relaxed) {
    const rel = (name) => data.relaxed.ops[`${name}/elbo/64`]?.median;
    for (const [label, peer, model, want] of [["Keras: ELBO b64 >= 1.5x onnxruntime-web", "onnxruntime-web", "keras", 1.5], ["64x64: ELBO b64 >= 1.3x onnxruntime-web", "onnxruntime-web", "dcgan", 1.3],
      ["Keras: ELBO b64 >= 5x TF.js-wasm", "tfjs-wasm", "keras", 5], ["64x64: ELBO b64 >= 5x TF.js-wasm", "tfjs-wasm", "dcgan", 5]]) {
      const p = med(model, "elbo", peer), e = rel(model);
      if (p && e) targets.push([`(relaxed build*) ${label}`, `${(p / e).toFixed(2)}x`, p / e >= want ? "met" : "MISSED"]);
    }
  }
  for (const r of data.layers) {
    if (r.layer.k !== 3 || r.layer.cin < 32 || r.layer.cout < 32) continue;
    const s = r.st.edgevae;
    const pct = s ? (100 * (2 * r.macs.exact * LAYER_BATCH) / s.median / 1e6) / peakG : null;
    targets.push([`3x3 conv >= 70% of f32x4 peak (batch ${LAYER_BATCH}): ${describeLayer(r.layer)}`,
      pct ? `${pct.toFixed(0)}% (${((pct * r.macs.nominal) / r.macs.exact).toFixed(0)}% counting padding taps)` : "-", pct ? (pct >= 70 ? "met" : "MISSED") : "not measured (no edgevae)"]);
    const rs = data.relaxed?.layers[`${r.model}/${describeLayer(r.layer)}`];
    if (rs && data.peakRelaxed) {
      const pr = (100 * (2 * r.macs.exact * LAYER_BATCH) / rs.median / 1e6) / data.peakRelaxed.median;
      targets.push([`(relaxed build*) the same, against the relaxed_madd peak`, `${pr.toFixed(0)}%`, pr >= 70 ? "met" : "MISSED"]);
    }
  }
  md += `### Conv targets\n\n${table(["target", "measured", ""], targets)}\n`;
  return md;
}

/** Replaces the conv section of RESULTS.md (from CONV_HEADING on), or appends it. */
export function writeConvSection(markdown, path = here("./RESULTS.md")) {
  let text = existsSync(path) ? readFileSync(path, "utf8") : "";
  const at = text.indexOf(`\n${CONV_HEADING}\n`);
  if (at >= 0) text = text.slice(0, at);
  text = text.trimEnd();
  writeFileSync(path, `${text}${text ? "\n\n" : ""}${markdown}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href && process.argv.includes("--child-relaxed")) {
  process.stdout.write(JSON.stringify(await relaxedChild(process.argv.includes("--quick"))));
  process.exit(0);
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const quick = process.argv.includes("--quick");
  const { markdown } = await runConvBench({ quick });
  if (process.argv.includes("--no-write")) console.log(markdown);
  else { writeConvSection(markdown); console.log(markdown); }
}
