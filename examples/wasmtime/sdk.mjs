#!/usr/bin/env node
// The JavaScript side of examples/wasmtime/host.py: the same numbers from the SDK itself (no
// image), printed in host.py's format, so that the two outputs can be compared bit for bit.
//
//   node examples/wasmtime/sdk.mjs models/mnist.safetensors [--items examples/wasmtime/mnist16.json] [--seed 0] [--samples 1] [--beta 1]
//
// Runs the baseline build (the results every runtime reproduces bit for bit). Run
// `npm run build` first.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { Vae } from "edgevae";

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    items: { type: "string", default: "examples/wasmtime/mnist16.json" },
    seed: { type: "string", default: "0" }, samples: { type: "string", default: "1" }, beta: { type: "string", default: "1" },
  },
});
if (positionals.length !== 1) {
  console.error("usage: node examples/wasmtime/sdk.mjs MODEL.safetensors [--items FILE.json] [--seed S] [--samples S] [--beta B]");
  process.exit(2);
}
const vae = await Vae.load(await readFile(positionals[0]), { simd: "baseline" });
const items = JSON.parse(await readFile(a.items, "utf8"));
const x = Float32Array.from(items.flat());
const seed = Number(a.seed), samples = Number(a.samples), beta = Number(a.beta);
const { mean, logvar } = vae.encode(x);
const { elbo } = vae.elbo(x, { seed, samples, beta });

const J = vae.latentDim;
const hex = (f) => Array.from(new Uint32Array(f.buffer, f.byteOffset, f.length), (w) => w.toString(16).padStart(8, "0"));
console.log(`# edgevae SDK on Node ${process.version}, ${vae.info.simd} build: ${items.length} items, latent ${J}, ELBO seed ${seed} samples ${samples} beta ${beta}`);
for (let i = 0; i < items.length; i++) {
  const m = mean.subarray(i * J, (i + 1) * J), l = logvar.subarray(i * J, (i + 1) * J), e = elbo.subarray(i, i + 1);
  console.log(`item ${i} elbo ${e[0].toFixed(6)} bits ${hex(e)[0]}`);
  console.log(`item ${i} mean ${Array.from(m, (v) => v.toFixed(6)).join(" ")}`);
  console.log(`item ${i} mean bits ${hex(m).join(" ")}`);
  console.log(`item ${i} logvar bits ${hex(l).join(" ")}`);
}
vae.dispose();
