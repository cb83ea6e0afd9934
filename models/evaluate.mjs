#!/usr/bin/env node
// Evaluates a model file on its held-out set through the inference SDK (Vae):
//   npm run evaluate -- --model models/circle.safetensors --data circle [--k 1024] [--samples 1] [--seed 0]
//   npm run evaluate -- --model models/mnist.safetensors --data mnist [--k 1000] [--items N]
//   npm run evaluate -- --model models/fashion-conv.safetensors --data fashion [--k 1000] [--iw-items N]
//   (the 10,000 test images; --iw-items N estimates log p(x) on the first N only, the ELBO on all)
// Prints, and writes beside the model as NAME.eval.json: the mean held-out ELBO, the mean
// importance-weighted log p(x) with k samples, and for 2-D models with latent <= 2 the
// z-grid quadrature log p(x) and the density at the origin vs on the ring.
import { readFile, writeFile } from "node:fs/promises";
import { Vae } from "../dist/index.js";
import { circleData, circleLogDensity, mixtureDensity, parseData, splitData } from "../dist/train.js";
import { fashionMnist, mnistSplit, readDataFile } from "./datasets.mjs";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
if (!args.model || !args.data) {
  console.error("usage: npm run evaluate -- --model FILE --data circle|mnist|fashion|FILE [--k 1024] [--samples 1] [--seed 0] [--items N]");
  process.exit(1);
}
const seed = Number(args.seed ?? 0);
const vae = await Vae.load(await readFile(args.model), { maxBatchRows: 4096 });
let x;
if (args.data === "circle") x = circleData(2000, 0, 1).values;
else if (args.data === "mnist") x = mnistSplit().heldOut.values;
else if (args.data === "fashion") x = fashionMnist("t10k").values;
else x = splitData(await readDataFile(args.data, parseData), Number(args["held-out"] ?? 0.1), 0).heldOut.values;
if (args.items) x = x.subarray(0, Number(args.items) * vae.inputSize);
const n = x.length / vae.inputSize;
const k = Number(args.k ?? (args.data === "circle" ? 1024 : 1000));
const S = Number(args.samples ?? 1);
const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
const out = { model: args.model, data: args.data, items: n, seed, command: `npm run evaluate -- ${process.argv.slice(2).join(" ")}` };

let t = Date.now();
const e = vae.elbo(x, { samples: S, seed });
out[`heldout_elbo_S${S}`] = mean(e.elbo);
out.heldout_recon = mean(e.recon);
out.heldout_kl = mean(e.kl);
out.elbo_seconds = (Date.now() - t) / 1000;
t = Date.now();
const iwItems = Math.min(n, Number(args["iw-items"] ?? n));
if (iwItems < n) {
  out.iw_items = iwItems;
  out[`heldout_elbo_S${S}_first${iwItems}`] = mean(e.elbo.subarray(0, iwItems));
}
const lp = vae.logLikelihood(x.subarray(0, iwItems * vae.inputSize), { k, seed });
out[`heldout_log_px_iw_k${k}`] = mean(lp);
out.iw_seconds = (Date.now() - t) / 1000;

if (vae.inputSize === 2 && vae.latentDim <= 2 && vae.info.likelihood.type !== "bernoulli") {
  const dens = await mixtureDensity(vae, x);
  out.heldout_log_px_quadrature = mean(Array.from(dens, Math.log));
  if (args.data === "circle") {
    const pts = [];
    for (let i = 0; i < n; i++) pts.push(circleLogDensity(x[2 * i], x[2 * i + 1]));
    out.heldout_true_log_density = mean(pts);
  }
  const probes = new Float32Array([0, 0, 2, 0, 0, 2, -2, 0, 0, -2, 1, 0, 3, 0]);
  const pd = await mixtureDensity(vae, probes);
  out.density_quadrature = { "(0,0)": pd[0], "(2,0)": pd[1], "(0,2)": pd[2], "(-2,0)": pd[3], "(0,-2)": pd[4], "(1,0)": pd[5], "(3,0)": pd[6] };
  // ring: mean density over 360 points on the circle of radius 2
  const ring = new Float32Array(720);
  for (let i = 0; i < 360; i++) { ring[2 * i] = 2 * Math.cos((i * Math.PI) / 180); ring[2 * i + 1] = 2 * Math.sin((i * Math.PI) / 180); }
  const rd = await mixtureDensity(vae, ring);
  out.ring_density_mean = mean(Array.from(rd));
  out.ring_density_min = Math.min(...rd);
  out.origin_over_ring_mean = pd[0] / out.ring_density_mean;
}
for (const [key, v] of Object.entries(out)) console.log(`${key.padEnd(32)} ${typeof v === "number" ? +v.toFixed(5) : JSON.stringify(v)}`);
if (!args.items) await writeFile(args.model.replace(/\.safetensors$/, "") + ".eval.json", JSON.stringify(out, null, 1) + "\n");
