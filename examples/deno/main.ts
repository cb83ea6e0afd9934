// edgevae on Deno: load a model, sample, encode, and score with the ELBO and log p(x).
//   npm run example:deno        (or: deno run --allow-read examples/deno/main.ts [model.safetensors])
// "edgevae" maps to the built package (dist/, see deno.json); it finds its wasm beside itself
// with fetch(new URL("./edgevae.wasm", import.meta.url)), hence --allow-read.
import { Vae } from "edgevae";

const path = Deno.args[0] ?? new URL("../../models/circle-pytorch.safetensors", import.meta.url);
const vae = await Vae.load(await Deno.readFile(path));
const { info } = vae;
console.log(`edgevae on Deno ${Deno.version.deno}: input ${JSON.stringify(info.inputShape)}, latent ${info.latentDim}, ${info.likelihood.type}, ${info.simd} SIMD`);

const D = vae.inputSize;
const x = D === 2 ? Float32Array.from([2, 0, 0, -2, 1, 0, 0, 0, 3, 3]) : vae.sample(4, { seed: 1 });
const { mean } = vae.encode(x);
const { elbo, kl } = vae.elbo(x, { samples: 16, seed: 7 });
const logpx = vae.logLikelihood(x, { k: 256, seed: 7 });
for (let i = 0; i < x.length / D; i++) {
  const label = D === 2 ? `(${x[2 * i]}, ${x[2 * i + 1]})` : `sample ${i}`;
  const z = Array.from(mean.subarray(i * vae.latentDim, (i + 1) * vae.latentDim).slice(0, 4), (v) => v.toFixed(2)).join(", ");
  console.log(`  ${label.padEnd(10)} z ≈ [${z}]  ELBO ${elbo[i].toFixed(3)} (KL ${kl[i].toFixed(3)})  log p(x) ${logpx[i].toFixed(3)}`);
}
const s = vae.sample(3, { seed: 42 });
console.log(`3 samples (seed 42): ${D === 2 ? Array.from({ length: 3 }, (_, i) => `(${s[2 * i].toFixed(3)}, ${s[2 * i + 1].toFixed(3)})`).join(" ") : `${s.length} values`}`);
vae.dispose();
