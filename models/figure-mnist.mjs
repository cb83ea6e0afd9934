#!/usr/bin/env node
// docs/mnist-samples.png: an 8 x 8 grid of prior samples of models/mnist.safetensors (mean
// images sigmoid(logits) of z ~ N(0, I), Vae.sample), and rows of latent interpolations
// between the posterior means of held-out digits (Vae.encode + Vae.interpolate).
//   npm run figure:mnist [-- --model FILE --out FILE --seed 0]
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { Vae } from "../dist/index.js";
import { mnistSplit } from "./datasets.mjs";
import { Canvas } from "./png.mjs";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const modelPath = args.model ?? "models/mnist.safetensors";
const outPath = args.out ?? "docs/mnist-samples.png";
const seed = Number(args.seed ?? 0);

const vae = await Vae.load(await readFile(modelPath));
const J = vae.latentDim;
const S = 2, CELL = 28 * S + 4, COLS = 10, ROWS = 8, STEPS = 10;
const W = 20 + COLS * CELL + 20;
const H = 40 + ROWS * CELL + 50 + 3 * CELL + 20;
const cv = new Canvas(W, H);
const draw = (img, x0, y0) => {
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
    const v = Math.round(255 * (1 - Math.min(1, Math.max(0, img[y * 28 + x]))));
    cv.fillRect(x0 + x * S, y0 + y * S, S, S, [v, v, v]);
  }
};
cv.text(20, 12, `PRIOR SAMPLES: Z FROM N(0,I), MEAN IMAGES, SEED ${seed}`);
const samples = vae.sample(ROWS * COLS, { seed });
for (let i = 0; i < ROWS * COLS; i++) draw(samples.subarray(i * 784, (i + 1) * 784), 20 + (i % COLS) * CELL, 40 + Math.floor(i / COLS) * CELL);

const y1 = 40 + ROWS * CELL + 20;
cv.text(20, y1, "INTERPOLATIONS BETWEEN HELD-OUT POSTERIOR MEANS");
const { heldOut } = mnistSplit();
const pairs = [[0, 1], [2, 7], [3, 8]].map(([a, b]) => [heldOut.labels.indexOf(a), heldOut.labels.indexOf(b)]);
pairs.forEach(([ia, ib], row) => {
  const { mean } = vae.encode(heldOut.values.subarray(ia * 784, (ia + 1) * 784));
  const mb = vae.encode(heldOut.values.subarray(ib * 784, (ib + 1) * 784)).mean;
  const imgs = vae.interpolate(mean.subarray(0, J), mb, STEPS);
  for (let t = 0; t < STEPS; t++) draw(imgs.subarray(t * 784, (t + 1) * 784), 20 + t * CELL, y1 + 20 + row * CELL);
});
await mkdir(outPath.replace(/\/[^/]*$/, ""), { recursive: true });
await writeFile(outPath, cv.png());
console.log(`wrote ${outPath} (${W}x${H})`);
