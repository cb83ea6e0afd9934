/// <reference types="node" />
// edgevae evaluate MODEL DATA: held-out ELBO (mean, std over items) and, with --iw K, the
// importance-weighted log p(x). Items are scored in chunks (for the progress bar), each drawing
// the noise the whole batch would (NOISE_ITEM_OFFSET), so the numbers equal one
// vae.elbo(allItems, { seed }) call, whatever the chunking.

import type { ElboOptions, LogLikelihoodOptions } from "../vae";
import { NOISE_ITEM_OFFSET, type Vae } from "../vae";
import { COMMON, SIMD, SIMD_HELP, flag, intOption, numOption, str, type Parsed } from "./args";
import type { Command } from "./command";
import { readData } from "./data";
import { writeBytes } from "./files";
import { about, loadVae } from "./model";
import { Progress } from "./progress";

export const DATA_HELP = `DATA is a JSON file (an array of rows), CSV (one item per line; a non-numeric first line is a
header), NPY (float32, float64 or uint8; items along the first axis, e.g. (N, 784) or
(N, 1, 28, 28); (N, H, W, C) is transposed to the model's [C, H, W]), one PNG, or a folder of
PNG images (grayscale or RGB, sorted by name). uint8 and PNG values are divided by 255.`;

export interface Stats { mean: number; std: number; sem: number }

export function stats(v: Float32Array): Stats {
  let sum = 0;
  for (const x of v) sum += x;
  const mean = sum / v.length;
  let ss = 0;
  for (const x of v) ss += (x - mean) ** 2;
  const std = v.length > 1 ? Math.sqrt(ss / (v.length - 1)) : 0;
  return { mean, std, sem: std / Math.sqrt(v.length) };
}

/** Runs `score` over items [i0, i1) chunk by chunk with the items' place in the batch, drawing a bar. */
function chunked(vae: Vae, x: Float32Array, perChunk: number, bar: Progress,
                 score: (xs: Float32Array, first: number) => void): void {
  const D = vae.inputSize, n = x.length / D;
  for (let i0 = 0; i0 < n; i0 += perChunk) {
    const i1 = Math.min(n, i0 + perChunk);
    score(x.subarray(i0 * D, i1 * D), i0);
    bar.update(i1);
  }
  bar.finish();
}

function withOffset<T extends object>(options: T, first: number): T {
  (options as Record<symbol, number>)[NOISE_ITEM_OFFSET] = first; // the chunk's first item in the whole batch
  return options;
}

export const evaluate: Command = {
  name: "evaluate",
  summary: "held-out ELBO and (--iw K) importance-weighted log p(x) on a data set",
  usage: "edgevae evaluate MODEL.safetensors DATA [--samples S] [--iw K] [--seed N] [--items N] [--json]",
  help: `Scores every item of DATA: the ELBO (S Monte-Carlo samples per item) and, with --iw K, the
importance-weighted estimate of log p(x) with K samples; prints the mean and standard deviation
over items, in nats per item. The numbers equal one vae.elbo / vae.logLikelihood call on all
items with the seed.

${DATA_HELP}

  --samples S       samples of z per item in the ELBO (default 1)
  --iw K            also estimate log p(x) with K importance samples
  --beta B          KL weight in the ELBO (default 1)
  --seed N          noise seed (default 0)
  --items N         score only the first N items
  --per-item FILE   also write one CSV line per item (elbo, recon, kl[, log_px])
  --json            print one JSON object instead of text
  --progress        draw the progress bar even when stderr is not a terminal
${SIMD_HELP}`,
  options: {
    ...COMMON, ...SIMD, samples: { type: "string" }, iw: { type: "string" }, beta: { type: "string" }, seed: { type: "string" },
    items: { type: "string" }, "per-item": { type: "string" }, json: { type: "boolean" }, progress: { type: "boolean" },
  },
  positionals: ["MODEL", "DATA"],
  async run(p: Parsed) {
    const [modelPath, dataPath] = p.positionals as [string, string];
    const S = intOption(p, "samples", 1, 1, 1 << 20);
    const K = intOption(p, "iw", undefined, 1, 1 << 20);
    const beta = numOption(p, "beta", 1);
    const seed = intOption(p, "seed", 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = intOption(p, "items", undefined, 1, 2 ** 31);
    const perItem = str(p, "per-item");
    const forced = flag(p, "progress");
    const { vae } = await loadVae(modelPath, p);
    const data = await readData(dataPath, vae);
    const n = Math.min(data.rows, limit ?? data.rows), D = vae.inputSize;
    const x = data.values.subarray(0, n * D);
    const t0 = Date.now();
    const elbo = new Float32Array(n), recon = new Float32Array(n), kl = new Float32Array(n);
    about(dataPath, () => chunked(vae, x, Math.max(1, Math.floor(8192 / S)), new Progress(n, "items (ELBO)", forced), (xs, first) => {
      const r = vae.elbo(xs, withOffset<ElboOptions>({ seed, samples: S, beta }, first));
      elbo.set(r.elbo, first); recon.set(r.recon, first); kl.set(r.kl, first);
    }));
    let logPx: Float32Array | undefined;
    if (K !== undefined) {
      const lp = logPx = new Float32Array(n);
      about(dataPath, () => chunked(vae, x, Math.max(1, Math.floor(8192 / K)), new Progress(n, `items (log p(x), k = ${K})`, forced), (xs, first) => {
        lp.set(vae.logLikelihood(xs, withOffset<LogLikelihoodOptions>({ seed, k: K }, first)), first);
      }));
    }
    const seconds = (Date.now() - t0) / 1000;
    vae.dispose();
    if (perItem !== undefined) {
      const lines = [`item,elbo,recon,kl${logPx ? ",log_px" : ""}`];
      for (let i = 0; i < n; i++) lines.push(`${i},${elbo[i]},${recon[i]},${kl[i]}${logPx ? `,${logPx[i]}` : ""}`);
      await writeBytes(perItem, lines.join("\n") + "\n");
    }
    const e = stats(elbo), lp = logPx && stats(logPx);
    const out = {
      model: modelPath, data: dataPath, data_description: data.description, items: n, seed, samples: S, beta,
      elbo: e, recon: stats(recon), kl: stats(kl), ...(lp ? { log_px: { k: K, ...lp } } : {}), seconds,
    };
    if (flag(p, "json")) {
      process.stdout.write(JSON.stringify(out, null, 2) + "\n");
      return;
    }
    const f = (v: number) => v.toFixed(4).padStart(11);
    const lines = [
      `${modelPath} on ${dataPath}: ${n.toLocaleString("en")} items (${data.description})`,
      `  ELBO      ${f(e.mean)} ± ${e.std.toFixed(4)} (mean ± std over items; standard error ${e.sem.toFixed(4)})  ${S} sample${S > 1 ? "s" : ""} per item, beta ${beta}, seed ${seed}`,
      `    recon   ${f(out.recon.mean)}`,
      `    KL      ${f(out.kl.mean)}`,
    ];
    if (lp) lines.push(`  log p(x)  ${f(lp.mean)} ± ${lp.std.toFixed(4)} (standard error ${lp.sem.toFixed(4)})  importance-weighted, k = ${K}, seed ${seed}`);
    lines.push(`  ${seconds.toFixed(2)} s`);
    process.stdout.write(lines.join("\n") + "\n");
  },
};
