// train(): the whole training loop as one async call, usable in a page, a Worker, Deno or
// Node (no file IO, no Node APIs). Deterministic for a seed: weight init, noise and the
// shuffle of every epoch come from Philox streams of the seed.

import { ArgumentError } from "../errors";
import type { WasmSource } from "../runtime";
import { circleData, fromRows, splitData, type Dataset } from "./data";
import { PhiloxStream, STREAM } from "./rng";
import { Trainer, mlpArchitecture, type ActivationName, type TrainArchitecture, type TrainLikelihood } from "./trainer";

export interface TrainProgress {
  epoch: number; epochs: number;
  /** Step within the epoch (1-based) and steps per epoch. */
  step: number; stepsPerEpoch: number;
  /** Mean training ELBO (beta = 1) over this epoch's steps so far. */
  elbo: number;
  itemsPerSecond: number;
  /** Estimated seconds to the end of training. */
  etaSeconds: number;
  elapsedSeconds: number;
}

export interface EpochLog {
  epoch: number;
  steps: number;
  beta: number;
  lr: number;
  /** Mean over the epoch's steps of the batch ELBO (beta = 1), and its parts. */
  trainElbo: number; trainRecon: number; trainKl: number;
  /** Held-out ELBO (beta = 1, one sample per item, fixed evaluation noise), and its parts. */
  heldOutElbo: number; heldOutRecon: number; heldOutKl: number;
  seconds: number;
}

export interface TrainOptions {
  /** "circle", rows (array of arrays), or a Dataset / flat Float32Array (then give inputShape). */
  data: "circle" | readonly (readonly number[])[] | Dataset | Float32Array;
  inputShape?: number[];
  /** Held-out data; default: a held-out fraction of data (circle: 2000 fresh points). */
  heldOut?: readonly (readonly number[])[] | Dataset | Float32Array;
  /** Fraction of data held out when heldOut is not given. Default 0.1. */
  heldOutFraction?: number;
  /** Seed of the split and of the circle data (fixed by default, so models with different seeds see the same data). Default 0. */
  dataSeed?: number;
  /** Circle dataset sizes. Default 20000 / 2000. */
  circlePoints?: number; circleHeldOut?: number;

  /** An explicit architecture, or an MLP from hidden / latentDim / activation / likelihood. */
  architecture?: TrainArchitecture;
  hidden?: number[];
  latentDim?: number;
  activation?: ActivationName;
  /** Default: gaussian_learned for circle, bernoulli when every value is in [0, 1], else gaussian sigma 1. */
  likelihood?: TrainLikelihood;

  epochs?: number;
  batchSize?: number;
  /** Adam learning rate; with lrMin, a cosine decay from lr to lrMin over the run. */
  lr?: number;
  lrMin?: number;
  seed?: number;
  /** KL weight (after warm-up). Default 1. */
  beta?: number;
  /** KL warm-up: beta rises linearly from 0 to `beta` over this many epochs. Default 0. */
  warmup?: number;
  /** Gradient L2-norm clip (0: none). */
  clipNorm?: number;
  /** Monte-Carlo samples per item in the training ELBO. Default 1. */
  samples?: number;

  onProgress?: (p: TrainProgress) => void;
  /** Milliseconds between onProgress calls (and yields to the event loop). Default 200. */
  progressIntervalMs?: number;
  onEpoch?: (e: EpochLog) => void;
  /** Stops training after the current step when it returns true. */
  shouldStop?: () => boolean;

  /** Model file dtype. Default "F32". */
  dtype?: "F32" | "F16";
  /** Extra __metadata__ strings written into the model file. */
  metadata?: Record<string, string>;
  wasm?: WasmSource;
}

export interface TrainResult {
  /** The trained model as a FORMAT v1 file: pass it to Vae.load. */
  model: Uint8Array;
  log: EpochLog[];
  trainer: Trainer;
  train: Dataset;
  heldOut: Dataset;
  seconds: number;
  /** What was trained, as recorded in the model's edgevae_training metadata. */
  settings: Record<string, unknown>;
}

function asDataset(d: TrainOptions["data"] | NonNullable<TrainOptions["heldOut"]>, inputSize: number | undefined, what: string): Dataset {
  if (d instanceof Float32Array) {
    if (inputSize === undefined) throw new ArgumentError("E_ARGUMENT", `train: ${what} is a flat Float32Array; give inputShape`);
    if (d.length % inputSize !== 0) throw new ArgumentError("E_INPUT_LENGTH", `train: ${what} has ${d.length} values, not a multiple of ${inputSize}`);
    return { values: d, rows: d.length / inputSize, width: inputSize };
  }
  if (Array.isArray(d)) return fromRows(d, what);
  return d as Dataset;
}

const now = (): number => (typeof performance !== "undefined" ? performance.now() : Date.now());
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** Trains a VAE and returns the model file, the per-epoch log and the trainer. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const o = options;
  const dataSeed = o.dataSeed ?? 0;
  const shapeSize = o.inputShape?.reduce((a, b) => a * b, 1);
  let trainSet: Dataset, heldOut: Dataset;
  if (o.data === "circle") {
    trainSet = circleData(o.circlePoints ?? 20000, dataSeed, 0);
    heldOut = o.heldOut !== undefined ? asDataset(o.heldOut, 2, "heldOut") : circleData(o.circleHeldOut ?? 2000, dataSeed, 1);
  } else {
    const all = asDataset(o.data, shapeSize, "data");
    if (o.heldOut !== undefined) { trainSet = all; heldOut = asDataset(o.heldOut, all.width, "heldOut"); }
    else ({ train: trainSet, heldOut } = splitData(all, o.heldOutFraction ?? 0.1, dataSeed));
  }
  const D = trainSet.width;
  if (heldOut.width !== D) throw new ArgumentError("E_INPUT_LENGTH", `train: held-out rows have ${heldOut.width} values, training rows ${D}`);
  if (shapeSize !== undefined && shapeSize !== D) throw new ArgumentError("E_INPUT_LENGTH", `train: inputShape ${JSON.stringify(o.inputShape)} holds ${shapeSize} values, rows have ${D}`);

  let likelihood = o.likelihood;
  if (likelihood === undefined) {
    const unit = trainSet.values.every((v) => v >= 0 && v <= 1);
    likelihood = o.data === "circle" ? { type: "gaussian_learned" } : unit ? { type: "bernoulli" } : { type: "gaussian", sigma: 1 };
  }
  const arch = o.architecture ?? mlpArchitecture({
    inputSize: D, inputShape: o.inputShape ?? [D], hidden: o.hidden ?? [64, 64], latentDim: o.latentDim ?? 2,
    activation: o.activation ?? "tanh", likelihood,
  });
  const epochs = o.epochs ?? 10, batch = o.batchSize ?? 256, lr = o.lr ?? 1e-3, seed = o.seed ?? 0;
  const betaMax = o.beta ?? 1, warmup = o.warmup ?? 0, lrMin = o.lrMin;
  for (const [name, v, min] of [["epochs", epochs, 1], ["batchSize", batch, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new ArgumentError("E_ARGUMENT", `train: ${name} must be an integer >= ${min}, got ${v}`);
  }
  if (!(lr > 0)) throw new ArgumentError("E_ARGUMENT", `train: lr must be > 0, got ${lr}`);

  const trainer = await Trainer.create(arch, {
    seed, maxBatch: Math.min(batch, trainSet.rows), samples: o.samples ?? 1, clipNorm: o.clipNorm ?? 0,
    ...(o.wasm !== undefined ? { wasm: o.wasm } : {}),
  });
  const stepsPerEpoch = Math.ceil(trainSet.rows / trainer.maxBatch);
  const totalSteps = epochs * stepsPerEpoch, warmupSteps = warmup * stepsPerEpoch;
  const shuffle = new PhiloxStream(seed, STREAM.shuffle);
  const order = Uint32Array.from({ length: trainSet.rows }, (_, i) => i);
  const batchBuf = new Float32Array(trainer.maxBatch * D);
  const log: EpochLog[] = [];
  const t0 = now();
  let lastReport = t0, items = 0, beta = 0, stepLr = lr;
  const interval = o.progressIntervalMs ?? 200;
  let stopped = false;

  for (let epoch = 1; epoch <= epochs && !stopped; epoch++) {
    const te = now();
    shuffle.shuffle(order);
    let sumElbo = 0, sumRecon = 0, sumKl = 0, steps = 0;
    for (let s = 0; s < stepsPerEpoch; s++) {
      const first = s * trainer.maxBatch, nb = Math.min(trainer.maxBatch, trainSet.rows - first);
      for (let i = 0; i < nb; i++) {
        const r = order[first + i]!;
        batchBuf.set(trainSet.values.subarray(r * D, (r + 1) * D), i * D);
      }
      const t = trainer.steps; // global step index, 0-based
      beta = warmupSteps > 0 ? betaMax * Math.min(1, (t + 1) / warmupSteps) : betaMax;
      stepLr = lrMin === undefined ? lr : lrMin + 0.5 * (lr - lrMin) * (1 + Math.cos(Math.PI * t / totalSteps));
      const res = trainer.step(batchBuf, 0, nb, { beta, lr: stepLr });
      if (!Number.isFinite(res.loss)) {
        throw new ArgumentError("E_ARGUMENT", `train: the loss became ${res.loss} at epoch ${epoch}, step ${s + 1}; lower lr or set clipNorm`);
      }
      sumElbo += res.elbo; sumRecon += res.recon; sumKl += res.kl; steps++; items += nb;
      const tn = now();
      if (tn - lastReport >= interval || s === stepsPerEpoch - 1) {
        lastReport = tn;
        const elapsed = (tn - t0) / 1000, done = trainer.steps;
        o.onProgress?.({
          epoch, epochs, step: s + 1, stepsPerEpoch, elbo: sumElbo / steps, itemsPerSecond: items / elapsed,
          etaSeconds: elapsed / done * (totalSteps - done), elapsedSeconds: elapsed,
        });
        await yieldToLoop();
      }
      if (o.shouldStop?.() === true) { stopped = true; break; }
    }
    const ev = trainer.evaluate(heldOut.values, { seed: dataSeed });
    const entry: EpochLog = {
      epoch, steps: trainer.steps, beta, lr: stepLr,
      trainElbo: sumElbo / steps, trainRecon: sumRecon / steps, trainKl: sumKl / steps,
      heldOutElbo: ev.elbo, heldOutRecon: ev.recon, heldOutKl: ev.kl, seconds: (now() - te) / 1000,
    };
    log.push(entry);
    o.onEpoch?.(entry);
  }
  const seconds = (now() - t0) / 1000;
  const last = log[log.length - 1]!;
  const settings: Record<string, unknown> = {
    trainer: "edgevae train()", seed, epochs: log.length, steps: trainer.steps, batch: trainer.maxBatch, lr,
    ...(lrMin !== undefined ? { lr_min: lrMin, schedule: "cosine" } : { schedule: "constant" }),
    beta: betaMax, warmup_epochs: warmup, samples: trainer.samples, clip_norm: o.clipNorm ?? 0,
    optimizer: "Adam(0.9, 0.999, eps 1e-8)", data: o.data === "circle" ? "circle radius 2, radial noise sd 0.05" : "user",
    data_seed: dataSeed, train_items: trainSet.rows, heldout_items: heldOut.rows,
    final_train_elbo: round(last.trainElbo), final_heldout_elbo: round(last.heldOutElbo), train_seconds: round(seconds, 1),
  };
  const model = trainer.exportModel({
    dtype: o.dtype ?? "F32",
    metadata: { edgevae_training: JSON.stringify(settings), ...o.metadata },
  });
  return { model, log, trainer, train: trainSet, heldOut, seconds, settings };
}

function round(v: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
