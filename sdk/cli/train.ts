/// <reference types="node" />
// edgevae train DATA -o MODEL.safetensors: the SDK's train() (the same wasm kernels as
// inference) on a data file, with a line per epoch, a progress bar, and a log beside the model.

import { existsSync } from "node:fs";
import type { Dataset } from "../train/data";
import { train, type TrainOptions } from "../train/train";
import type { ActivationName, TrainLikelihood } from "../train/trainer";
import { COMMON, UsageError, choice, flag, intOption, numOption, str, type Parsed } from "./args";
import type { Command } from "./command";
import { readData, type Data } from "./data";
import { DATA_HELP } from "./evaluate";
import { writeBytes } from "./files";
import { about } from "./model";
import { Progress } from "./progress";

const ACTIVATIONS = ["tanh", "relu", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "softplus"] as const;

function likelihoodOf(s: string | undefined): TrainLikelihood | undefined {
  if (s === undefined) return undefined;
  if (s === "bernoulli" || s === "gaussian_learned") return { type: s };
  const m = /^gaussian:(.+)$/.exec(s);
  if (m && Number(m[1]) > 0 && Number.isFinite(Number(m[1]))) return { type: "gaussian", sigma: Number(m[1]) };
  throw new UsageError(`--likelihood must be bernoulli, gaussian:SIGMA (SIGMA > 0) or gaussian_learned, got ${JSON.stringify(s)}`);
}

function dataset(d: Data, limit: number | undefined): Dataset {
  const rows = Math.min(d.rows, limit ?? d.rows);
  return { values: d.values.subarray(0, rows * d.width), rows, width: d.width };
}

export const trainCommand: Command = {
  name: "train",
  summary: "train an MLP VAE on a data file and write a .safetensors model",
  usage: "edgevae train DATA -o MODEL.safetensors [--arch 64,64] [--latent 2] [--epochs 10] [options]",
  help: `Trains an MLP VAE with edgevae's trainer (forward pass on the inference kernels, backward
passes and Adam in wasm; deterministic for a seed), prints one line per epoch with the training
and held-out ELBO, and writes the model and MODEL.log.json (the command, settings and epochs).
DATA "circle" is the built-in 2-D circle data set (unless a file of that name exists).

${DATA_HELP}

  -o, --out FILE        the model file to write (.safetensors)
  --arch W,W            hidden widths of the encoder; the decoder mirrors them (default 64,64)
  --latent J            latent dimension (default 2)
  --activation A        ${ACTIVATIONS.join(", ")} (default tanh)
  --likelihood L        bernoulli, gaussian:SIGMA or gaussian_learned (default: bernoulli when
                        every value is in [0, 1], else gaussian:1; circle: gaussian_learned)
  --epochs N            (default 10)     --batch N      items per step (default 256)
  --lr X                Adam learning rate (default 1e-3); --lr-min X: cosine decay to X
  --beta B              KL weight (default 1); --warmup E: KL warm-up over E epochs (default 0)
  --samples S           samples of z per item in the training ELBO (default 1)
  --clip NORM           gradient norm clip (default 0: none)
  --seed N              weights, noise and shuffles (default 0)
  --held-out F          fraction of DATA held out (default 0.1); or --held-out-data FILE
  --items N             use only the first N items of DATA
  --dtype f32|f16       the model file's weights (default f32)
  --log FILE            where to write the log (default: MODEL.log.json)
  --progress            draw the progress bar even when stderr is not a terminal`,
  options: {
    ...COMMON, out: { type: "string", short: "o" }, arch: { type: "string" }, latent: { type: "string" }, activation: { type: "string" },
    likelihood: { type: "string" }, epochs: { type: "string" }, batch: { type: "string" }, lr: { type: "string" }, "lr-min": { type: "string" },
    beta: { type: "string" }, warmup: { type: "string" }, samples: { type: "string" }, clip: { type: "string" }, seed: { type: "string" },
    "held-out": { type: "string" }, "held-out-data": { type: "string" }, items: { type: "string" }, dtype: { type: "string" },
    log: { type: "string" }, progress: { type: "boolean" },
  },
  positionals: ["DATA"],
  async run(p: Parsed) {
    const dataPath = p.positionals[0]!;
    const out = str(p, "out") ?? (() => { throw new UsageError("missing -o MODEL.safetensors (where to write the model)"); })();
    const archText = str(p, "arch") ?? "64,64";
    const hidden = archText.split(",").map((s) => Number(s));
    if (hidden.length === 0 || hidden.some((v) => !Number.isSafeInteger(v) || v < 1 || v > 1 << 16)) throw new UsageError(`--arch must be comma-separated positive widths, e.g. 512,256, got ${JSON.stringify(archText)}`);
    const epochs = intOption(p, "epochs", 10, 1, 1 << 20);
    const heldOutFraction = numOption(p, "held-out", 0.1, true);
    if (heldOutFraction >= 1) throw new UsageError(`--held-out must be a fraction below 1, got ${heldOutFraction}`);
    const limit = intOption(p, "items", undefined, 2, 2 ** 31);
    const options: TrainOptions = {
      data: "circle",
      hidden,
      latentDim: intOption(p, "latent", 2, 1, 1 << 12),
      activation: choice(p, "activation", ACTIVATIONS, "tanh") as ActivationName,
      epochs,
      batchSize: intOption(p, "batch", 256, 1, 1 << 16),
      lr: numOption(p, "lr", 1e-3, true),
      seed: intOption(p, "seed", 0, 0, 2 ** 32 - 1),
      beta: numOption(p, "beta", 1),
      warmup: numOption(p, "warmup", 0),
      clipNorm: numOption(p, "clip", 0),
      samples: intOption(p, "samples", 1, 1, 1 << 10),
      dtype: choice(p, "dtype", ["f32", "f16"] as const, "f32").toUpperCase() as "F32" | "F16",
      metadata: { edgevae_command: `edgevae train ${process.argv.slice(3).join(" ")}` },
    };
    const lrMin = numOption(p, "lr-min", undefined, true);
    if (lrMin !== undefined) options.lrMin = lrMin;
    const likelihood = likelihoodOf(str(p, "likelihood"));
    if (likelihood !== undefined) options.likelihood = likelihood;
    let dataName = "circle (built in: radius 2, radial noise sd 0.05)";
    if (dataPath !== "circle" || existsSync(dataPath)) {
      const d = await readData(dataPath);
      options.data = dataset(d, limit);
      options.inputShape = [...d.shape];
      dataName = `${dataPath} (${d.description})`;
      const held = str(p, "held-out-data");
      if (held !== undefined) {
        const h = await readData(held, { inputShape: d.shape, inputSize: d.width });
        options.heldOut = dataset(h, undefined);
        dataName += `; held out: ${held} (${h.description})`;
      } else {
        options.heldOutFraction = heldOutFraction;
      }
    }

    let bar: Progress | undefined; // made at the first report, which knows the steps per epoch
    options.onProgress = (e) => {
      bar ??= new Progress(e.epochs * e.stepsPerEpoch, "steps", flag(p, "progress"));
      bar.update((e.epoch - 1) * e.stepsPerEpoch + e.step, `epoch ${e.epoch}, ELBO ${e.elbo.toFixed(3)}, ${Math.round(e.itemsPerSecond).toLocaleString("en")} items/s`);
    };
    options.onEpoch = (e) => {
      bar?.finish();
      process.stdout.write(`epoch ${String(e.epoch).padStart(4)}/${epochs}  beta ${e.beta.toFixed(2)}  lr ${e.lr.toExponential(2)}  train ELBO ${e.trainElbo.toFixed(4)}  held-out ELBO ${e.heldOutElbo.toFixed(4)} (recon ${e.heldOutRecon.toFixed(3)}, KL ${e.heldOutKl.toFixed(3)})  ${e.seconds.toFixed(2)} s\n`);
    };
    process.stdout.write(`# training on ${dataName}\n`);
    const result = await about(dataPath, () => train(options));
    bar?.finish();
    await writeBytes(out, result.model);
    const logPath = str(p, "log") ?? out.replace(/\.safetensors$/, "") + ".log.json";
    const log = {
      command: options.metadata!.edgevae_command, data: dataName, node: process.version, seconds: Math.round(result.seconds * 10) / 10,
      settings: result.settings, architecture: result.trainer.architectureJson(), parameters: result.trainer.parameterCount, epochs: result.log,
    };
    await writeBytes(logPath, JSON.stringify(log, null, 1) + "\n");
    const last = result.log[result.log.length - 1]!;
    process.stdout.write(`trained ${result.trainer.steps} steps (${result.log.length} epochs) in ${result.seconds.toFixed(1)} s; final held-out ELBO ${last.heldOutElbo.toFixed(4)}\n`);
    process.stdout.write(`wrote ${out} (${result.model.length.toLocaleString("en")} bytes) and ${logPath}\n`);
  },
};
