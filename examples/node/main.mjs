// The main job behind `npm start`: load a shipped model, encode, decode, sample, and score
// a few inputs with the ELBO and the importance-weighted log p(x).
//
//   node examples/node/main.mjs [model.safetensors]     (default: models/circle-pytorch.safetensors)
import { readFile } from "node:fs/promises";
import { Vae } from "edgevae";

const path = process.argv[2] ?? new URL("../../models/circle-pytorch.safetensors", import.meta.url);
const started = performance.now();
const vae = await Vae.load(await readFile(path));
const loadMs = performance.now() - started;
const { info } = vae;

console.log(`edgevae: ${typeof path === "string" ? path : "models/circle-pytorch.safetensors"}`);
console.log(`  input ${JSON.stringify(info.inputShape)}, latent ${info.latentDim}, likelihood ${JSON.stringify(info.likelihood)}`);
console.log(`  ${info.parameterCount} parameters (${info.dtype}), wasm build: ${info.simd} SIMD, loaded in ${loadMs.toFixed(1)} ms`);
console.log(`  encoder: ${info.encoder.join(" > ")}`);
console.log(`  decoder: ${info.decoder.join(" > ")}`);

const fmt = (v, w = 9) => v.toFixed(3).padStart(w);
const D = vae.inputSize, J = vae.latentDim;

// A few inputs: for a 2-D model, points on the radius-2 ring and off it; otherwise model samples.
let labels, x;
if (D === 2) {
  const points = [[2, 0], [0, -2], [-1.414, 1.414], [1, 0], [0, 0], [3, 3]];
  labels = points.map(([a, b]) => `(${a}, ${b})`.padEnd(16) + (Math.abs(Math.hypot(a, b) - 2) < 0.05 ? "on the ring " : "off the ring"));
  x = Float32Array.from(points.flat());
} else {
  const n = 4;
  labels = Array.from({ length: n }, (_, i) => `model sample ${i}`);
  x = vae.sample(n, { seed: 1 });
}
const batch = x.length / D;

const { mean, logvar } = vae.encode(x);
const elbo = vae.elbo(x, { samples: 16, seed: 7 });
const logpx = vae.logLikelihood(x, { k: 1024, seed: 7 });
console.log(`\nper item (ELBO with 16 samples, log p(x) importance-weighted with k = 1024; nats):`);
console.log(`  ${"input".padEnd(29)} ${"q(z|x) mean".padEnd(J * 8 + 2)} ${"ELBO".padStart(9)} ${"recon".padStart(9)} ${"KL".padStart(9)} ${"log p(x)".padStart(9)}`);
for (let b = 0; b < batch; b++) {
  const m = Array.from(mean.subarray(b * J, (b + 1) * J), (v) => v.toFixed(2).padStart(7)).join(" ");
  console.log(`  ${labels[b].padEnd(29)} [${m}] ${fmt(elbo.elbo[b])} ${fmt(elbo.recon[b])} ${fmt(elbo.kl[b])} ${fmt(logpx[b])}`);
}
void logvar;

const recon = vae.reconstruct(x, { useMean: true });
if (D === 2) {
  console.log(`\nreconstructions (decoder mean at the posterior mean):`);
  for (let b = 0; b < batch; b++) console.log(`  ${labels[b].slice(0, 16)} -> (${recon[2 * b].toFixed(3)}, ${recon[2 * b + 1].toFixed(3)})`);
  const s = vae.sample(2000, { seed: 3 });
  const radii = Array.from({ length: 2000 }, (_, i) => Math.hypot(s[2 * i], s[2 * i + 1]));
  const avg = radii.reduce((a, b) => a + b, 0) / radii.length;
  const sd = Math.sqrt(radii.reduce((a, r) => a + (r - avg) ** 2, 0) / radii.length);
  console.log(`\n2000 prior samples (decoder means): radius ${avg.toFixed(3)} +- ${sd.toFixed(3)} (the data: 2.000 +- 0.050)`);
} else {
  console.log(`\nreconstructed ${batch} items; sampled ${batch} more: ${vae.sample(batch, { seed: 2 }).length / D} items of ${D} values`);
}
vae.dispose();
