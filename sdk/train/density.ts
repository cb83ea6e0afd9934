// The honest partition-function check for small latent spaces: for latent_dim <= 2,
// p(x) = integral p(x|z) p(z) dz is computed by quadrature on a grid of z (midpoint rule),
// which makes p(x) a mixture of the decoder's Gaussians; the mixture is summed in wasm
// (assembly/train/density.ts). Gaussian likelihoods only (bernoulli has no density on R^D).

import { ArgumentError } from "../errors";
import type { TrainKernels } from "../kernels";
import { Arena } from "../memory";
import { defaultModule } from "../runtime";
import type { Vae } from "../vae";

const LOG_2PI = Math.log(2 * Math.PI);

export interface QuadratureOptions {
  /** z grid: cells per latent dimension over [-zLimit, zLimit]. Default 200 (latent 2), 4000 (latent 1). */
  zCells?: number;
  zLimit?: number;
}

/** The decoder's Gaussians on a z grid, as the structure-of-arrays the wasm kernel reads. */
interface Mixture { M: number; means: Float32Array; invvar: Float32Array; logc: Float32Array; priorMass: number }

function mixtureOf(vae: Vae, o: QuadratureOptions): Mixture {
  const J = vae.latentDim, D = vae.inputSize, lik = vae.info.likelihood;
  if (J > 2) throw new ArgumentError("E_ARGUMENT", `quadrature over z needs latent_dim <= 2, this model has ${J}`);
  if (lik.type === "bernoulli") throw new ArgumentError("E_ARGUMENT", "quadrature density needs a Gaussian likelihood (bernoulli is a distribution on {0,1}^D)");
  const n = o.zCells ?? (J === 1 ? 4000 : 200), lim = o.zLimit ?? 6, hz = (2 * lim) / n;
  const count = n ** J;
  const z = new Float32Array(count * J);
  const logw = new Float64Array(count);
  let priorMass = 0;
  for (let c = 0; c < count; c++) {
    let s = 0;
    for (let j = 0, rest = c; j < J; j++, rest = Math.floor(rest / n)) {
      const v = -lim + hz * ((rest % n) + 0.5);
      z[c * J + j] = v;
      s += v * v;
    }
    logw[c] = -0.5 * s - 0.5 * J * LOG_2PI + J * Math.log(hz);
    priorMass += Math.exp(logw[c]!);
  }
  const params = vae.decodeParams(z);
  const P = params.length / count;
  const M = Math.ceil(count / 4) * 4;
  const means = new Float32Array(D * M), invvar = new Float32Array(D * M).fill(1), logc = new Float32Array(M).fill(-1e30);
  for (let c = 0; c < count; c++) {
    let lc = logw[c]!;
    for (let d = 0; d < D; d++) {
      const lv = lik.type === "gaussian_learned" ? Math.fround(params[c * P + D + d]!) : 2 * Math.log(lik.sigma);
      means[d * M + c] = params[c * P + d]!;
      invvar[d * M + c] = Math.exp(-lv);
      lc -= 0.5 * (lv + LOG_2PI);
    }
    logc[c] = lc;
  }
  return { M, means, invvar, logc, priorMass };
}

async function kernels(): Promise<{ k: TrainKernels; arena: Arena }> {
  const instance = await WebAssembly.instantiate(await defaultModule("baseline"), {});
  const k = instance.exports as unknown as TrainKernels;
  return { k, arena: new Arena(k.memory, k.heap_base(), 2 ** 31) };
}

/** p(x) at each point (n x inputSize values) by z-grid quadrature: a Float64Array of densities. */
export async function mixtureDensity(vae: Vae, points: Float32Array, options: QuadratureOptions = {}): Promise<Float64Array> {
  const mix = mixtureOf(vae, options);
  const { k, arena } = await kernels();
  const D = vae.inputSize, n = points.length / D;
  const pm = arena.allocF32(mix.means.length), pi = arena.allocF32(mix.invvar.length), pc = arena.allocF32(mix.M);
  arena.writeF32(pm, mix.means); arena.writeF32(pi, mix.invvar); arena.writeF32(pc, mix.logc);
  const out = new Float64Array(n);
  const chunk = 4096;
  const px = arena.allocF32(chunk * D), po = arena.allocF64(chunk);
  for (let i0 = 0; i0 < n; i0 += chunk) {
    const m = Math.min(chunk, n - i0);
    arena.writeF32(px, points, i0 * D, m * D);
    k.f64_gaussian_mixture_density(px, m, D, pm, pi, pc, mix.M, po);
    out.set(new Float64Array(k.memory.buffer, po, m), i0);
  }
  return out;
}

export interface DensityGrid {
  /** cells x cells densities; row r is y = top - (r + 0.5) h (image order), column c is x = left + (c + 0.5) h. */
  density: Float64Array;
  cells: number;
  limit: number;
  cellArea: number;
  /** sum of density x cell area over the grid: close to 1 when the model is a normalised density. */
  integral: number;
}

/** A 2-D model's density on a cells x cells grid over [-limit, limit]^2, by z-grid quadrature. */
export async function densityGrid(vae: Vae, options: QuadratureOptions & { cells?: number; limit?: number } = {}): Promise<DensityGrid> {
  if (vae.inputSize !== 2) throw new ArgumentError("E_ARGUMENT", `densityGrid needs 2-D data, this model's items have ${vae.inputSize} values`);
  const cells = options.cells ?? 200, limit = options.limit ?? 4, h = (2 * limit) / cells;
  const pts = new Float32Array(cells * cells * 2);
  for (let r = 0; r < cells; r++) {
    for (let c = 0; c < cells; c++) {
      pts[2 * (r * cells + c)] = -limit + h * (c + 0.5);
      pts[2 * (r * cells + c) + 1] = limit - h * (r + 0.5);
    }
  }
  const density = await mixtureDensity(vae, pts, options);
  let sum = 0;
  for (const v of density) sum += v;
  return { density, cells, limit, cellArea: h * h, integral: sum * h * h };
}
