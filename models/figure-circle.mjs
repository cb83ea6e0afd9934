#!/usr/bin/env node
// docs/circle-density.png: the true circle data density (left) beside the learned p(x) of
// models/circle.safetensors (right) over [-4, 4]^2, with a colour bar; prints the integral of
// p(x) over the grid. p(x) = integral p(x|z) p(z) dz by quadrature on a 200 x 200 z grid over
// [-6, 6]^2 (Vae.decodeParams + the wasm mixture-density kernel): the honest partition-function
// check; the importance-weighted estimate (Vae.logLikelihood, k = 1024) is shown beside it.
//   npm run figure:circle [-- --model FILE --out FILE --cells 200 --k 1024]
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { Vae } from "../dist/index.js";
import { densityGrid, circleLogDensity } from "../dist/train.js";
import { Canvas, viridis } from "./png.mjs";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const modelPath = args.model ?? "models/circle.safetensors";
const outPath = args.out ?? "docs/circle-density.png";
const cells = Number(args.cells ?? 200), K = Number(args.k ?? 1024), limit = 4;

const vae = await Vae.load(await readFile(modelPath), { maxBatchRows: 8192 });
let t = Date.now();
const grid = await densityGrid(vae, { cells, limit, zCells: 200, zLimit: 6 });
const quadSeconds = (Date.now() - t) / 1000;

// the same grid's points, for the importance-weighted estimate and the true density
const h = (2 * limit) / cells;
const pts = new Float32Array(cells * cells * 2);
const truth = new Float64Array(cells * cells);
for (let r = 0; r < cells; r++) for (let c = 0; c < cells; c++) {
  const x = -limit + h * (c + 0.5), y = limit - h * (r + 0.5);
  pts[2 * (r * cells + c)] = x; pts[2 * (r * cells + c) + 1] = y;
  truth[r * cells + c] = Math.exp(circleLogDensity(x, y));
}
t = Date.now();
const lp = vae.logLikelihood(pts, { k: K, seed: 0 });
const iwSeconds = (Date.now() - t) / 1000;
let iwIntegral = 0, trueIntegral = 0;
for (let i = 0; i < lp.length; i++) { iwIntegral += Math.exp(lp[i]) * h * h; trueIntegral += truth[i] * h * h; }

// ---- draw
const P = 400, M = 50, GAP = 40, BAR = 22;
const W = M + P + GAP + P + 30 + BAR + 70, H = 60 + P + 90;
const cv = new Canvas(W, H);
const vmax = Math.max(...grid.density, ...truth);
const panel = (x0, y0, values, title) => {
  for (let py = 0; py < P; py++) for (let px = 0; px < P; px++) {
    const r = Math.min(cells - 1, Math.floor((py * cells) / P)), c = Math.min(cells - 1, Math.floor((px * cells) / P));
    cv.set(x0 + px, y0 + py, viridis(values[r * cells + c] / vmax));
  }
  cv.strokeRect(x0 - 1, y0 - 1, P + 2, P + 2, [0, 0, 0]);
  cv.text(x0 + (P - cv.textWidth(title)) / 2, y0 - 24, title);
  for (const v of [-4, -2, 0, 2, 4]) { // axis ticks
    const px = x0 + ((v + limit) / (2 * limit)) * (P - 1), py = y0 + ((limit - v) / (2 * limit)) * (P - 1);
    cv.fillRect(Math.round(px), y0 + P + 1, 1, 5, [0, 0, 0]);
    cv.text(Math.round(px) - cv.textWidth(String(v), 1) / 2, y0 + P + 9, v, [0, 0, 0], 1);
    cv.fillRect(x0 - 6, Math.round(py), 5, 1, [0, 0, 0]);
    cv.text(x0 - 8 - cv.textWidth(String(v), 1), Math.round(py) - 3, v, [0, 0, 0], 1);
  }
};
const y0 = 60;
panel(M, y0, truth, "TRUE DENSITY (R=2, SD 0.05)");
panel(M + P + GAP, y0, grid.density, "LEARNED P(X), EDGEVAE");
// colour bar
const bx = M + P + GAP + P + 30;
for (let py = 0; py < P; py++) cv.fillRect(bx, y0 + py, BAR, 1, viridis(1 - py / (P - 1)));
cv.strokeRect(bx - 1, y0 - 1, BAR + 2, P + 2, [0, 0, 0]);
for (let i = 0; i <= 4; i++) {
  const v = (vmax * i) / 4, py = y0 + Math.round((1 - i / 4) * (P - 1));
  cv.fillRect(bx + BAR + 1, py, 4, 1, [0, 0, 0]);
  cv.text(bx + BAR + 8, py - 3, v.toFixed(2), [0, 0, 0], 1);
}
cv.text(bx - 2, y0 - 24, "P(X)");
const line1 = `INTEGRAL OVER [-4,4]^2: Z-GRID QUADRATURE ${grid.integral.toFixed(4)}   IWAE K=${K} ${iwIntegral.toFixed(4)}   TRUE ${trueIntegral.toFixed(4)}`;
cv.text(M, y0 + P + 30, line1, [0, 0, 0], 1);
cv.text(M, y0 + P + 46, `${cells}X${cells} X GRID, 200X200 Z GRID OVER [-6,6]^2; MODEL ${modelPath.toUpperCase()}`, [0, 0, 0], 1);
const ratio = grid.density[Math.floor(cells / 2) * cells + Math.floor(cells / 2)] / vmax;
cv.text(M, y0 + P + 62, `P AT THE CENTRE / COLOUR-BAR MAX ${ratio.toExponential(2)}`, [0, 0, 0], 1);

await mkdir(outPath.replace(/\/[^/]*$/, ""), { recursive: true });
await writeFile(outPath, cv.png());
console.log(`integral of p(x) over [-4,4]^2 (${cells}x${cells} cells):`);
console.log(`  z-grid quadrature (200x200 z over [-6,6]^2): ${grid.integral.toFixed(5)}  (${quadSeconds.toFixed(1)}s)`);
console.log(`  importance-weighted, k=${K}:                 ${iwIntegral.toFixed(5)}  (${iwSeconds.toFixed(1)}s)`);
console.log(`  true data density on the same grid:          ${trueIntegral.toFixed(5)}`);
console.log(`wrote ${outPath}`);
