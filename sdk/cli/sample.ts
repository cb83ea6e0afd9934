/// <reference types="node" />
// edgevae sample MODEL -n 64 -o out.png: prior samples (z ~ N(0, I), decoded to the
// likelihood's mean) as a PNG grid for image models, or CSV.

import { extname } from "node:path";
import { COMMON, SIMD, SIMD_HELP, UsageError, intOption, str, type Parsed } from "./args";
import type { Command } from "./command";
import { imageGeometry } from "./data";
import { writeBytes } from "./files";
import { loadVae } from "./model";
import { encodePng } from "./png";

/** The shortest decimal that reads back as the same float32. */
export function f32String(v: number): string {
  for (let digits = 1; digits < 9; digits++) {
    const s = Number(v.toPrecision(digits));
    if (Math.fround(s) === v) return String(s);
  }
  return String(v);
}

export function csv(values: Float32Array, width: number): string {
  const lines = [Array.from({ length: width }, (_, j) => `x${j}`).join(",")];
  for (let i = 0; i < values.length / width; i++) {
    lines.push(Array.from(values.subarray(i * width, (i + 1) * width), f32String).join(","));
  }
  return lines.join("\n") + "\n";
}

/** n images (channel-major c x h x w, values in [0, 1]) as one PNG grid of `cols` columns, each pixel scale x scale. */
export function grid(values: Float32Array, n: number, c: 1 | 3, h: number, w: number, cols: number, scale: number): Uint8Array {
  const gap = 2, rows = Math.ceil(n / cols);
  const W = cols * (w * scale + gap) + gap, H = rows * (h * scale + gap) + gap;
  const img = new Uint8Array(W * H * c).fill(128); // grey between the cells
  const pixels = h * w;
  for (let k = 0; k < n; k++) {
    const x0 = gap + (k % cols) * (w * scale + gap), y0 = gap + Math.floor(k / cols) * (h * scale + gap);
    for (let y = 0; y < h * scale; y++) {
      for (let x = 0; x < w * scale; x++) {
        const p = Math.floor(y / scale) * w + Math.floor(x / scale);
        for (let j = 0; j < c; j++) {
          const v = values[k * c * pixels + j * pixels + p]!;
          img[((y0 + y) * W + x0 + x) * c + j] = Math.round(Math.min(1, Math.max(0, v)) * 255);
        }
      }
    }
  }
  return encodePng(W, H, c, img);
}

export const sample: Command = {
  name: "sample",
  summary: "prior samples as a PNG grid (image models) or CSV",
  usage: "edgevae sample MODEL.safetensors [-n 64] [-o out.png|out.csv] [--seed N] [--cols C] [--scale S]",
  help: `Draws n latents z ~ N(0, I) (Philox noise of the seed: the same on every host) and decodes
them to the likelihood's mean. -o out.png writes a grid of images for models whose input is
[C, H, W] with 1 (grayscale) or 3 (RGB) channels, or 784 values (shown as 28x28); -o out.csv,
or no -o (to stdout), writes one CSV row per sample (shortest decimals that read back exactly).

  -n, --count N     samples (default 64)
  -o, --out FILE    .png or .csv (default: CSV on stdout)
  --seed N          noise seed (default 0)
  --cols C          grid columns (default: ceil(sqrt(n)))
  --scale S         pixels per model pixel in the grid (default 1)
${SIMD_HELP}`,
  options: { ...COMMON, ...SIMD, count: { type: "string", short: "n" }, out: { type: "string", short: "o" }, seed: { type: "string" }, cols: { type: "string" }, scale: { type: "string" } },
  positionals: ["MODEL"],
  async run(p: Parsed) {
    const n = intOption(p, "count", 64, 1, 1 << 16);
    const seed = intOption(p, "seed", 0, 0, Number.MAX_SAFE_INTEGER);
    const cols = intOption(p, "cols", Math.ceil(Math.sqrt(n)), 1, 1 << 16);
    const scale = intOption(p, "scale", 1, 1, 16);
    const out = str(p, "out");
    const ext = out === undefined ? ".csv" : extname(out).toLowerCase();
    if (ext !== ".png" && ext !== ".csv") throw new UsageError(`-o must name a .png or .csv file, got ${JSON.stringify(out)}`);
    const { vae } = await loadVae(p.positionals[0]!, p);
    const geo = imageGeometry(vae);
    if (ext === ".png" && geo === undefined) {
      vae.dispose();
      throw new UsageError(`${p.positionals[0]}: its items are ${JSON.stringify(vae.inputShape)}, not images ([C, H, W] with 1 or 3 channels, or 784 values); write CSV: -o samples.csv`);
    }
    const values = vae.sample(n, { seed });
    const D = vae.inputSize;
    vae.dispose();
    if (ext === ".png") {
      await writeBytes(out!, grid(values, n, geo!.c, geo!.h, geo!.w, cols, scale));
      process.stderr.write(`wrote ${out}: ${n} samples of ${geo!.w}x${geo!.h} ${geo!.c === 1 ? "grayscale" : "RGB"}, ${cols} columns, seed ${seed}\n`);
    } else if (out !== undefined) {
      await writeBytes(out, csv(values, D));
      process.stderr.write(`wrote ${out}: ${n} samples of ${D} values, seed ${seed}\n`);
    } else {
      process.stdout.write(csv(values, D));
    }
  },
};
