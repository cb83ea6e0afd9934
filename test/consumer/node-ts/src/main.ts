// A Node TypeScript project using the installed package: node src/main.ts's output is
// `node out/main.js model.safetensors` -> one JSON line with the model's ELBO and log p(x).
import { readFile } from "node:fs/promises";
import { Vae, ArgumentError, EdgeVaeError, type ElboOptions, type ErrorCode } from "edgevae";
import { train } from "edgevae/train";

const path = process.argv[2];
if (!path) throw new Error("usage: node out/main.js model.safetensors");
const vae = await Vae.load(await readFile(path), { simd: "baseline" });

const x = vae.sample(3, { seed: 11 });                        // 3 decoded prior samples
const options: ElboOptions = { samples: 8, seed: 3 };
const { elbo } = vae.elbo(x, options);
const logpx = vae.logLikelihood(x, { k: 64, seed: 3 });

// a typed error, with its class name intact in the minified bundle
let error: { name: string; code: ErrorCode; isArgumentError: boolean } | undefined;
try {
  vae.elbo(new Float32Array(vae.inputSize + 1));
} catch (err) {
  if (!(err instanceof EdgeVaeError)) throw err;
  error = { name: err.constructor.name, code: err.code, isArgumentError: err instanceof ArgumentError };
}

console.log(JSON.stringify({
  runtime: `node ${process.versions.node}`,
  inputSize: vae.inputSize, latentDim: vae.latentDim, simd: vae.info.simd,
  elbo: Array.from(elbo), logpx: Array.from(logpx), error, train: typeof train,
}));
vae.dispose();
