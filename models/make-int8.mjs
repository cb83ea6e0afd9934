#!/usr/bin/env node
// Writes the shipped int8 models from the float ones with the SDK's quantize() (every linear and
// conv layer int8, per-channel scales chosen by least squared error), and beside each a
// NAME.quantize.json: per-layer errors and what quantising does to the held-out ELBO (same
// noise, item by item). Then `npm run evaluate` gives their held-out ELBO and log p(x).
//   npm run build && node models/make-int8.mjs
import { readFile, writeFile } from "node:fs/promises";
import { elboChange, quantize } from "../dist/train.js";
import { fashionMnist, mnistSplit } from "./datasets.mjs";

const MODELS = [
  ["models/mnist.safetensors", "models/mnist-int8.safetensors", "MNIST held-out split (2,000 images)", () => mnistSplit().heldOut.values],
  ["models/fashion-conv.safetensors", "models/fashion-conv-int8.safetensors", "Fashion-MNIST test set (10,000 images)", () => fashionMnist("t10k").values],
];
for (const [from, to, data, load] of MODELS) {
  const before = new Uint8Array(await readFile(from));
  const q = quantize(before);
  const change = await elboChange(before, q.bytes, load(), { seed: 0, load: { maxBatchRows: 1024 } });
  await writeFile(to, q.bytes);
  const report = { from, to, command: "node models/make-int8.mjs", bytesBefore: q.bytesBefore, bytesAfter: q.bytesAfter, layers: q.layers, heldOut: data, elboChange: change };
  await writeFile(to.replace(/\.safetensors$/, ".quantize.json"), JSON.stringify(report, null, 1) + "\n");
  console.log(`${to}: ${q.bytesBefore} -> ${q.bytesAfter} bytes; held-out ELBO ${change.meanElboBefore.toFixed(3)} -> ${change.meanElboAfter.toFixed(3)} (mean change ${change.meanChange.toFixed(4)}, mean |change| ${change.meanAbsChange.toFixed(4)}, max ${change.maxAbsChange.toFixed(3)} nats)`);
}
