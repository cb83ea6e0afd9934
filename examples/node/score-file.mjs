// Scores every item of a file with a VaePool (docs/parallel.md): ELBO and/or importance-weighted
// log p(x) per row, as CSV on stdout (or --out), with a progress bar on stderr.
//
//   node examples/node/score-file.mjs <model.safetensors> <items.json | items.csv> [options]
//     --score elbo|logpx|both   what to compute (default both)
//     --k 256                   importance samples for log p(x)
//     --samples 1               Monte-Carlo samples for the ELBO
//     --seed 0                  noise seed: the same scores for any --workers (one pool call per score
//                               over the whole file; the pool slices it and reports progress)
//     --workers N               worker threads (default: the machine's cores; 0: this thread)
//     --out scores.csv          write there instead of stdout
//
// Items: JSON (an array of rows, or { "x": [rows] } as models/fashion-test16.json) or CSV (rows of
// numbers; a non-numeric first line is a header), each row inputSize values in the model's
// channel-major order. For example:
//   node examples/node/score-file.mjs models/fashion-conv.safetensors models/fashion-test16.json --k 1000
import { readFile, writeFile } from "node:fs/promises";
import { VaePool, EdgeVaeError } from "edgevae";
import { parseData } from "edgevae/train";

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const positional = args.filter((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1].startsWith("--")));
if (positional.length < 2) {
  console.error("usage: node examples/node/score-file.mjs <model.safetensors> <items.json|items.csv> [--score elbo|logpx|both] [--k 256] [--samples 1] [--seed 0] [--workers N] [--out file.csv]");
  process.exit(2);
}
const [modelPath, itemsPath] = positional;
const score = flag("score", "both");
if (!["elbo", "logpx", "both"].includes(score)) { console.error(`--score must be elbo, logpx or both, got ${score}`); process.exit(2); }
const k = Number(flag("k", 256)), samples = Number(flag("samples", 1)), seed = Number(flag("seed", 0));
const workers = flag("workers") === undefined ? undefined : Number(flag("workers"));

/** A progress bar on stderr: redrawn in place on a terminal, a line per 10% otherwise. */
function progressBar(total, label) {
  const started = performance.now(), tty = process.stderr.isTTY;
  let lastTenth = -1;
  return (done) => {
    const f = done / total, s = (performance.now() - started) / 1000, rate = done / Math.max(s, 1e-9);
    const eta = done > 0 ? (total - done) / rate : NaN;
    const text = `${label} [${"#".repeat(Math.round(f * 30)).padEnd(30, ".")}] ${(100 * f).toFixed(0).padStart(3)}% `
      + `${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")} items, ${Math.round(rate).toLocaleString("en-US")}/s`
      + (done < total && Number.isFinite(eta) ? `, ${eta.toFixed(0)} s left` : `, ${s.toFixed(1)} s`);
    if (tty) process.stderr.write(`\r${text}\x1b[K${done === total ? "\n" : ""}`);
    else if (Math.floor(10 * f) > lastTenth) { lastTenth = Math.floor(10 * f); process.stderr.write(`${text}\n`); }
  };
}

let pool;
try {
  const text = await readFile(itemsPath, "utf8");
  const json = text.trimStart().startsWith("{") ? JSON.parse(text) : null;
  const data = parseData(json ? JSON.stringify(json.x) : text, itemsPath);
  pool = await VaePool.create(await readFile(modelPath), { workers });
  if (data.width !== pool.inputSize) {
    throw new Error(`${itemsPath}: rows have ${data.width} values, but the model takes items of ${pool.inputSize} (input_shape ${JSON.stringify(pool.inputShape)})`);
  }
  const n = data.rows;
  console.error(`${modelPath}: ${n.toLocaleString("en-US")} items of ${pool.inputSize} values on ${pool.mode === "inline" ? "the calling thread" : `${pool.workers} workers`} `
    + `(${pool.info.simd} SIMD); ${score === "elbo" ? `ELBO, ${samples} sample(s)` : score === "logpx" ? `log p(x), k = ${k}` : `ELBO (${samples} sample(s)) and log p(x) (k = ${k})`}, seed ${seed}`);
  const elbo = new Float32Array(n), logpx = new Float32Array(n);
  for (const [what, out, run] of [
    ["ELBO    ", elbo, (x, opts) => pool.elbo(x, { samples, ...opts }).then((r) => r.elbo)],
    ["log p(x)", logpx, (x, opts) => pool.logLikelihood(x, { k, ...opts })],
  ]) {
    if ((what.startsWith("ELBO") && score === "logpx") || (what.startsWith("log") && score === "elbo")) continue;
    const bar = progressBar(n, what);
    bar(0);
    // the whole file in one call: the pool cuts it into slices and calls onProgress as they finish
    out.set(await run(data.values, { seed, onProgress: bar }));
  }
  const header = ["item", ...(score !== "logpx" ? ["elbo"] : []), ...(score !== "elbo" ? ["logpx"] : [])];
  const lines = [header.join(",")];
  for (let i = 0; i < n; i++) lines.push([i, ...(score !== "logpx" ? [elbo[i]] : []), ...(score !== "elbo" ? [logpx[i]] : [])].join(","));
  const csv = `${lines.join("\n")}\n`;
  if (flag("out")) { await writeFile(flag("out"), csv); console.error(`wrote ${flag("out")}`); } else process.stdout.write(csv);
} catch (err) {
  console.error(err instanceof EdgeVaeError ? `error ${err.code}: ${err.message}` : `error: ${err.message}`);
  process.exitCode = 1;
} finally {
  await pool?.dispose();
}
