/// <reference types="node" />
// Data sets for the edgevae command: JSON (an array of rows), CSV, NPY (float32, float64 or
// uint8; 2-D or more: items along the first axis), one PNG, or a folder of PNGs (sorted by
// name, numbers in names compared as numbers). uint8 arrays and PNG pixels are scaled to
// [0, 1] (value / 255, or / 65535 for 16-bit PNGs), as image VAEs are trained on.
// Items come out channel-major, as the model files' input_shape says.

import { readdir, readFile, stat } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import { ArgumentError } from "../errors";
import { parseData } from "../train/data";
import { CliError } from "./args";
import { fileError, readBytes } from "./files";
import { decodePng, type Image } from "./png";

/** n items of `width` values each, row-major; `shape` is one item's shape. */
export interface Data {
  readonly values: Float32Array;
  readonly rows: number;
  readonly width: number;
  readonly shape: readonly number[];
  /** What was read, e.g. "NPY <f4 (16, 784)" or "16 PNG images 28x28 grayscale". */
  readonly description: string;
}

/** What the data must fit: a model's input. */
export interface InputSpec { readonly inputShape: readonly number[]; readonly inputSize: number }

/** The image geometry of a model's items: [C, H, W] with 1 or 3 channels, or 784-wide vectors as 28x28; else undefined. */
export function imageGeometry(spec: InputSpec): { c: 1 | 3; h: number; w: number } | undefined {
  const s = spec.inputShape;
  if (s.length === 3 && (s[0] === 1 || s[0] === 3)) return { c: s[0] as 1 | 3, h: s[1]!, w: s[2]! };
  if (spec.inputSize === 784 && s.filter((d) => d !== 1).length <= 1) return { c: 1, h: 28, w: 28 };
  return undefined;
}

/** Reads a data set; with `spec`, checks (and for channels-last NPY, transposes) items to fit the model. */
export async function readData(path: string, spec?: InputSpec): Promise<Data> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    throw fileError(path, err);
  }
  const data = isDir ? await readPngFolder(path, spec) : await readFileData(path, spec);
  checkFinite(data, path);
  if (spec !== undefined && data.width !== spec.inputSize) {
    throw new ArgumentError("E_INPUT_LENGTH", `${path}: its items hold ${data.width} values (${data.description}); the model reads ${spec.inputSize} (input_shape ${JSON.stringify(spec.inputShape)})`);
  }
  return data;
}

async function readFileData(path: string, spec: InputSpec | undefined): Promise<Data> {
  const bytes = await readBytes(path);
  const ext = extname(path).toLowerCase();
  const isNpy = bytes.length >= 6 && bytes[0] === 0x93 && String.fromCharCode(...bytes.subarray(1, 6)) === "NUMPY";
  if (ext === ".npy" || isNpy) return npyData(bytes, path, spec);
  if (ext === ".png") return imagesData([decodePng(bytes, path)], [path], spec, "1 PNG image");
  if (ext !== "" && ![".json", ".csv", ".tsv", ".txt"].includes(ext)) {
    throw new CliError("E_DATA_FORMAT", `${path}: unknown data file type "${ext}"; give JSON (an array of rows), CSV, NPY, a PNG, or a folder of PNGs`);
  }
  const text = new TextDecoder().decode(bytes);
  const set = parseData(text, path); // JSON rows or CSV; coded ArgumentErrors name the row
  const json = text.trimStart().startsWith("[");
  return { ...set, shape: [set.width], description: `${json ? "JSON" : "CSV"}, ${set.rows} rows of ${set.width} values` };
}

// ---- NPY ---------------------------------------------------------------------------------------

/** Parses an NPY file (format versions 1 to 3): float32 / float64 / uint8, C order. */
export function parseNpy(bytes: Uint8Array, name: string): { values: Float32Array; shape: number[]; descr: string } {
  const bad = (what: string): never => { throw new CliError("E_DATA_FORMAT", `${name}: ${what}`); };
  if (bytes.length < 10 || bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== "NUMPY") bad("not an NPY file (no \\x93NUMPY magic)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  if (major < 1 || major > 3) bad(`NPY format version ${major} is not read (versions 1 to 3 are)`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > bytes.length) bad("truncated in its header");
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1] ?? bad(`its header has no descr: ${header.trim()}`);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1] ?? bad("its header has no fortran_order");
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1] ?? bad("its header has no shape");
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) bad(`its shape (${shapeText}) is not a list of sizes`);
  if (fortran === "True") bad("it is in Fortran order; save it in C order (numpy.ascontiguousarray) first");
  const kinds: Record<string, { size: number; read: (o: number) => number }> = {
    "<f4": { size: 4, read: (o) => view.getFloat32(o, true) }, ">f4": { size: 4, read: (o) => view.getFloat32(o, false) },
    "<f8": { size: 8, read: (o) => view.getFloat64(o, true) }, ">f8": { size: 8, read: (o) => view.getFloat64(o, false) },
    "|u1": { size: 1, read: (o) => bytes[o]! / 255 }, "<u1": { size: 1, read: (o) => bytes[o]! / 255 }, ">u1": { size: 1, read: (o) => bytes[o]! / 255 },
  };
  const kind = kinds[descr] ?? bad(`its dtype "${descr}" is not read; edgevae reads float32 (<f4), float64 (<f8) and uint8 (|u1) arrays`);
  const count = shape.reduce((a, b) => a * b, 1), data = start + headerLen;
  if (data + count * kind.size > bytes.length) bad(`holds ${bytes.length - data} bytes of data; shape (${shape.join(", ")}) of ${descr} needs ${count * kind.size}`);
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = kind.read(data + i * kind.size);
  return { values, shape, descr };
}

function npyData(bytes: Uint8Array, path: string, spec: InputSpec | undefined): Data {
  const { values, shape, descr } = parseNpy(bytes, path);
  if (shape.length < 2) throw new CliError("E_DATA_FORMAT", `${path}: a ${shape.length}-D array of shape (${shape.join(", ")}); items go along the first axis of a 2-D or higher array, e.g. (N, 784) or (N, 1, 28, 28)`);
  const rows = shape[0]!, item = shape.slice(1), width = item.reduce((a, b) => a * b, 1);
  if (rows === 0 || width === 0) throw new CliError("E_DATA_FORMAT", `${path}: shape (${shape.join(", ")}) holds no values`);
  let description = `NPY ${descr} (${shape.join(", ")})`;
  let out = values;
  const s = spec?.inputShape;
  // (N, H, W, C) arrays of images are common; the model reads channel-major [C, H, W]
  if (s !== undefined && s.length === 3 && s[0]! > 1 && item.length === 3 && item[0] === s[1] && item[1] === s[2] && item[2] === s[0]) {
    out = channelsFirst(values, rows, s[1]! * s[2]!, s[0]!);
    description += ", channels last: transposed to [C, H, W]";
  }
  return { values: out, rows, width, shape: item.length === 2 ? [1, ...item] : item, description };
}

/** Per item (pixels, c) -> (c, pixels). */
function channelsFirst(src: Float32Array, items: number, pixels: number, c: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let n = 0; n < items; n++) {
    const o = n * pixels * c;
    for (let p = 0; p < pixels; p++) for (let j = 0; j < c; j++) out[o + j * pixels + p] = src[o + p * c + j]!;
  }
  return out;
}

// ---- PNG images --------------------------------------------------------------------------------

async function readPngFolder(dir: string, spec: InputSpec | undefined): Promise<Data> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.toLowerCase().endsWith(".png"));
  } catch (err) {
    throw fileError(dir, err);
  }
  if (names.length === 0) throw new CliError("E_DATA_FORMAT", `${dir}: a folder with no .png files; a folder data set is a folder of PNG images`);
  names.sort(new Intl.Collator("en", { numeric: true }).compare);
  const paths = names.map((n) => join(dir, n));
  const images: Image[] = [];
  for (const p of paths) images.push(decodePng(await readFile(p).catch((err: unknown) => { throw fileError(p, err); }), p));
  return imagesData(images, paths, spec, `${images.length} PNG images`);
}

/** True when every pixel has R = G = B (a gray image saved as RGB). */
function isGray(img: Image): boolean {
  if (img.channels === 1) return true;
  const p = img.pixels;
  for (let i = 0; i < p.length; i += 3) if (p[i] !== p[i + 1] || p[i] !== p[i + 2]) return false;
  return true;
}

function imagesData(images: Image[], paths: string[], spec: InputSpec | undefined, what: string): Data {
  const first = images[0]!;
  const geo = spec !== undefined ? imageGeometry(spec) : undefined;
  if (spec !== undefined && geo === undefined) {
    throw new CliError("E_DATA_FORMAT", `${paths[0]}: the model reads items of shape ${JSON.stringify(spec.inputShape)}, not images; PNG data needs a model whose input is [C, H, W] with 1 or 3 channels (or 784 values, as 28x28)`);
  }
  const c = geo?.c ?? (images.every(isGray) ? 1 : 3);
  const h = geo?.h ?? first.height, w = geo?.w ?? first.width;
  const width = c * h * w;
  const values = new Float32Array(images.length * width);
  images.forEach((img, n) => {
    if (img.width !== w || img.height !== h) {
      throw new ArgumentError("E_INPUT_LENGTH", `${paths[n]}: ${img.width}x${img.height} pixels; ${geo ? "the model reads" : `${paths[0]} (the first image) is`} ${w}x${h}`);
    }
    if (c === 1 && !isGray(img)) throw new CliError("E_DATA_FORMAT", `${paths[n]}: a colour (RGB) image, but ${geo ? "the model reads" : "the data set is"} grayscale (1 channel)`);
    if (c === 3 && img.channels === 1) throw new CliError("E_DATA_FORMAT", `${paths[n]}: a grayscale image, but ${geo ? "the model reads" : "the data set is"} RGB (3 channels)`);
    const pixels = h * w, o = n * width;
    for (let p = 0; p < pixels; p++) for (let j = 0; j < c; j++) values[o + j * pixels + p] = img.pixels[p * img.channels + j]!; // channel-major
  });
  const label = images.length === 1 ? basename(paths[0]!) : what;
  return { values, rows: images.length, width, shape: [c, h, w], description: `${label}, ${w}x${h} ${c === 1 ? "grayscale" : "RGB"}` };
}

function checkFinite(d: Data, path: string): void {
  for (let i = 0; i < d.values.length; i++) {
    if (!Number.isFinite(d.values[i]!)) {
      throw new ArgumentError("E_INPUT_VALUE", `${path}: item ${Math.floor(i / d.width)}, value ${i % d.width} is ${d.values[i]}; data must be finite numbers`);
    }
  }
}
