// Datasets for the trainer: the circle toy problem, and user data as JSON or CSV text.
// Pure functions (no file IO): the CLI reads files, a page passes text or arrays.

import { ArgumentError } from "../errors";
import { PhiloxStream, STREAM } from "./rng";

/** A dataset: n rows of `width` values, row-major. */
export interface Dataset { readonly values: Float32Array; readonly rows: number; readonly width: number }

export const CIRCLE = { radius: 2, noise: 0.05 } as const;

/**
 * n points on a circle of radius 2 with radial noise sd 0.05 (angle uniform): Philox stream of
 * `seed`, so the same (n, seed, part) gives the same points everywhere. part 0: training, 1: held-out.
 */
export function circleData(n: number, seed = 0, part = 0): Dataset {
  const rng = new PhiloxStream(seed, STREAM.data + 16 * part);
  const values = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = 2 * Math.PI * rng.uniform();
    const r = CIRCLE.radius + CIRCLE.noise * rng.normal();
    values[2 * i] = r * Math.cos(t);
    values[2 * i + 1] = r * Math.sin(t);
  }
  return { values, rows: n, width: 2 };
}

/** log density of the circle data distribution at (x, y): radial N(2, 0.05^2), angle uniform. */
export function circleLogDensity(x: number, y: number): number {
  const r = Math.hypot(x, y), d = (r - CIRCLE.radius) / CIRCLE.noise;
  return -0.5 * d * d - Math.log(CIRCLE.noise) - 0.5 * Math.log(2 * Math.PI) - Math.log(2 * Math.PI * r);
}

/** Rows of numbers (array of arrays) as a dataset; every row must have the same length. */
export function fromRows(rows: readonly (readonly number[] | ArrayLike<number>)[], what = "data"): Dataset {
  if (rows.length === 0) throw new ArgumentError("E_INPUT_LENGTH", `${what}: no rows`);
  const width = rows[0]!.length;
  if (width === 0) throw new ArgumentError("E_INPUT_LENGTH", `${what}: row 0 is empty`);
  const values = new Float32Array(rows.length * width);
  rows.forEach((row, i) => {
    if (row.length !== width) throw new ArgumentError("E_INPUT_LENGTH", `${what}: row ${i} has ${row.length} values, row 0 has ${width}`);
    for (let j = 0; j < width; j++) {
      const v = Number(row[j]);
      if (!Number.isFinite(v)) throw new ArgumentError("E_INPUT_VALUE", `${what}: row ${i}, column ${j} is ${String(row[j])}, not a finite number`);
      values[i * width + j] = v;
    }
  });
  return { values, rows: rows.length, width };
}

/**
 * Parses user data: JSON (an array of arrays of numbers) or CSV (rows of numbers separated by
 * commas, semicolons, tabs or spaces; a first line that is not numeric is taken as a header).
 */
export function parseData(text: string, name = "data"): Dataset {
  const t = text.trim();
  if (t.startsWith("[")) {
    let parsed: unknown;
    try { parsed = JSON.parse(t); } catch (err) {
      throw new ArgumentError("E_INPUT_VALUE", `${name}: not valid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(parsed) || !parsed.every(Array.isArray)) {
      throw new ArgumentError("E_INPUT_VALUE", `${name}: JSON data must be an array of arrays of numbers`);
    }
    return fromRows(parsed as number[][], name);
  }
  const lines = t.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith("#"));
  const rows = lines.map((l) => l.split(/[,;\t ]+/));
  if (rows.length > 0 && rows[0]!.some((v) => !Number.isFinite(Number(v)))) rows.shift(); // header
  return fromRows(rows.map((r) => r.map(Number)), name);
}

/** A deterministic split: a Philox permutation of `seed`, the last `fraction` of it held out. */
export function splitData(data: Dataset, fraction: number, seed = 0): { train: Dataset; heldOut: Dataset } {
  const n = data.rows, nHeld = Math.round(n * fraction);
  if (nHeld < 1 || nHeld >= n) throw new ArgumentError("E_ARGUMENT", `held-out fraction ${fraction} of ${n} rows leaves an empty split`);
  const order = new PhiloxStream(seed, STREAM.split).shuffle(Uint32Array.from({ length: n }, (_, i) => i));
  const take = (idx: Uint32Array): Dataset => {
    const values = new Float32Array(idx.length * data.width);
    idx.forEach((r, i) => values.set(data.values.subarray(r * data.width, (r + 1) * data.width), i * data.width));
    return { values, rows: idx.length, width: data.width };
  };
  return { train: take(order.subarray(0, n - nHeld)), heldOut: take(order.subarray(n - nHeld)) };
}
