#!/usr/bin/env node
// The edgevae training CLI: trains a VAE with the SDK's train() (the same wasm kernels as
// inference) and writes a FORMAT v1 model plus a per-epoch log beside it.
//
//   npm run train -- --data circle|mnist|FILE.json|FILE.csv --arch 64,64 --latent 2 \
//     --epochs N --batch 256 --lr 1e-3 [--lr-min 1e-5] --seed S --beta 1 --warmup E \
//     [--likelihood bernoulli|gaussian:SIGMA|gaussian_learned] [--activation tanh|relu|...] \
//     [--dtype f32|f16] [--clip NORM] [--held-out 0.1] --out models/NAME.safetensors
//
// Writes NAME.safetensors and NAME.log.json (command, settings, one entry per epoch with the
// training and held-out ELBO). Run `npm run build` first (it imports dist/).
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, relative } from "node:path";
import { train, parseData } from "../dist/train.js";
import { mnistSplit, readDataFile } from "./datasets.mjs";

const HELP = `usage: npm run train -- --data circle|mnist|FILE.json|FILE.csv --out models/NAME.safetensors [options]
  --arch 64,64          hidden widths (encoder; the decoder mirrors them)
  --latent 2            latent dimension
  --epochs 10 --batch 256 --lr 1e-3 [--lr-min X: cosine decay to X]
  --seed 0 --beta 1 --warmup 0 (KL warm-up, epochs)
  --likelihood bernoulli|gaussian:SIGMA|gaussian_learned   (default: by data)
  --activation tanh|relu|leaky_relu|elu|gelu|silu|sigmoid|softplus   (default tanh)
  --dtype f32|f16 --clip NORM --samples S --held-out FRACTION (user data; default 0.1)`;

const KNOWN = new Set(["data", "out", "arch", "latent", "epochs", "batch", "lr", "lr-min", "seed", "beta", "warmup",
  "likelihood", "activation", "dtype", "clip", "samples", "held-out"]);

function parseArgs(argv) {
  const a = {};
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    if (key === "--help" || key === "-h") { console.log(HELP); process.exit(0); }
    if (!key.startsWith("--")) throw new Error(`unexpected argument ${key}\n${HELP}`);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith("--")) throw new Error(`${key} needs a value\n${HELP}`);
    if (!KNOWN.has(key.slice(2))) throw new Error(`unknown option ${key}\n${HELP}`);
    a[key.slice(2)] = value;
    i++;
  }
  return a;
}

function num(a, key, def, integer = false) {
  if (a[key] === undefined) return def;
  const v = Number(a[key]);
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v))) throw new Error(`--${key} must be ${integer ? "an integer" : "a number"}, got ${a[key]}`);
  return v;
}

function likelihoodOf(s) {
  if (s === undefined) return undefined;
  if (s === "bernoulli" || s === "gaussian_learned") return { type: s };
  const m = /^gaussian:(.+)$/.exec(s);
  if (m && Number(m[1]) > 0) return { type: "gaussian", sigma: Number(m[1]) };
  throw new Error(`--likelihood must be bernoulli, gaussian:SIGMA (SIGMA > 0) or gaussian_learned, got ${s}`);
}

function fmtTime(s) {
  if (!Number.isFinite(s)) return "--:--";
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h > 0 ? `${h}:${String(m).padStart(2, "0")}` : `${m}`) + `:${String(sec).padStart(2, "0")}`;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (a.data === undefined || a.out === undefined) throw new Error(`--data and --out are required\n${HELP}`);
  const command = `npm run train -- ${process.argv.slice(2).join(" ")}`;
  const options = {
    hidden: (a.arch ?? "64,64").split(",").filter((s) => s !== "").map((s) => {
      const v = Number(s);
      if (!Number.isInteger(v) || v < 1) throw new Error(`--arch must be comma-separated positive integers, got ${a.arch}`);
      return v;
    }),
    latentDim: num(a, "latent", 2, true),
    epochs: num(a, "epochs", 10, true),
    batchSize: num(a, "batch", 256, true),
    lr: num(a, "lr", 1e-3),
    lrMin: num(a, "lr-min", undefined),
    seed: num(a, "seed", 0, true),
    beta: num(a, "beta", 1),
    warmup: num(a, "warmup", 0),
    clipNorm: num(a, "clip", 0),
    samples: num(a, "samples", 1, true),
    activation: a.activation ?? "tanh",
    likelihood: likelihoodOf(a.likelihood),
    dtype: (a.dtype ?? "f32").toUpperCase(),
  };
  let dataName = a.data;
  if (a.data === "circle") {
    options.data = "circle";
  } else if (a.data === "mnist") {
    const { train: tr, heldOut } = mnistSplit();
    options.data = tr; options.heldOut = heldOut; options.inputShape = [1, 28, 28];
    dataName = "mnist (npm package, 8000 train / 2000 held-out: digit i held out when i % 5 == 4)";
  } else {
    options.data = await readDataFile(a.data, parseData);
    options.heldOutFraction = num(a, "held-out", 0.1);
  }

  const tty = process.stdout.isTTY === true;
  const width = 24;
  options.onProgress = (p) => {
    if (!tty) return;
    const frac = ((p.epoch - 1) + p.step / p.stepsPerEpoch) / p.epochs;
    const filled = Math.round(frac * width);
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    process.stdout.write(`\r[${bar}] epoch ${p.epoch}/${p.epochs}  ELBO ${p.elbo.toFixed(3)}  ${Math.round(p.itemsPerSecond)} items/s  ETA ${fmtTime(p.etaSeconds)}   `);
  };
  const t0 = Date.now();
  options.onEpoch = (e) => {
    const line = `epoch ${String(e.epoch).padStart(4)}/${options.epochs}  beta ${e.beta.toFixed(2)}  lr ${e.lr.toExponential(2)}  train ELBO ${e.trainElbo.toFixed(4)}  held-out ELBO ${e.heldOutElbo.toFixed(4)} (recon ${e.heldOutRecon.toFixed(3)}, KL ${e.heldOutKl.toFixed(3)})  ${e.seconds.toFixed(2)}s`;
    if (tty) process.stdout.write(`\r${" ".repeat(110)}\r`);
    const elapsed = (Date.now() - t0) / 1000, eta = elapsed / e.epoch * (options.epochs - e.epoch);
    console.log(tty ? line : `${line}  ETA ${fmtTime(eta)}`);
  };
  options.metadata = { edgevae_command: command };

  console.log(`# ${command}`);
  const result = await train(options);
  const out = a.out;
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, result.model);
  const logPath = out.replace(/\.safetensors$/, "") + ".log.json";
  const log = {
    command, data: dataName, node: process.version, seconds: Math.round(result.seconds * 10) / 10,
    settings: result.settings, architecture: result.trainer.architectureJson(),
    parameters: result.trainer.parameterCount, epochs: result.log,
  };
  await writeFile(logPath, JSON.stringify(log, null, 1) + "\n");
  const last = result.log[result.log.length - 1];
  console.log(`trained ${result.trainer.steps} steps (${result.log.length} epochs) in ${result.seconds.toFixed(1)}s; final held-out ELBO ${last.heldOutElbo.toFixed(4)}`);
  console.log(`wrote ${relative(process.cwd(), out)} (${result.model.length} bytes) and ${relative(process.cwd(), logPath)}`);
}

main().catch((err) => {
  console.error(`train: ${err.message}`);
  process.exit(1);
});
