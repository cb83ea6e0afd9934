// Getting a WebAssembly.Module on each runtime, and checking the host can run it.
// No DOM or Node types here: the Node file-system path is taken through a dynamic import
// only when running on Node with a file: URL (Node's fetch cannot read files).

import { RuntimeError } from "./errors";

/**
 * Where the wasm comes from: a compiled Module (what Cloudflare Workers hand you, since they
 * forbid compiling from bytes), its bytes, a URL (or URL string), or a fetch Response.
 */
export type WasmSource = WebAssembly.Module | ArrayBuffer | ArrayBufferView | URL | string | Response | PromiseLike<Response>;

/** Which build to run. "relaxed" needs relaxed-SIMD support (fused multiply-add). */
export type SimdLevel = "baseline" | "relaxed";

const WASM_FILES: Record<SimdLevel, string> = {
  baseline: "edgevae.wasm",
  relaxed: "edgevae-relaxed.wasm",
};

// (module (func (result v128) (v128.const i32x4 0 0 0 0)))
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11,
]);
// the same with f32x4.relaxed_madd applied to three constants
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 133, 2, 11,
]);

export function hasWasmSimd(): boolean {
  return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
}

export function hasRelaxedSimd(): boolean {
  return hasWasmSimd() && WebAssembly.validate(RELAXED_PROBE);
}

// Where the packaged wasm files are, relative to this module: beside it in the bundles (dist/;
// sdk/build.mjs defines EDGEVAE_WASM_DIR as "./"), in build/ beside sdk/ when running from
// source. The bundles spell the URLs as literals, new URL("./edgevae.wasm", import.meta.url):
// the pattern by which bundlers (Vite, webpack 5, Parcel) find the wasm and ship it with an app.
// (Written inline in defaultModule, after the Workers check, so that the Workers bundle drops it.)
declare const EDGEVAE_WASM_DIR: string | undefined;

// Which bundle this is (sdk/build.mjs defines it; package.json `exports` picks one per host):
//   "default"  Node, Deno and anything else: the wasm is found beside this module, through the
//              file system on Node (whose fetch cannot read file: URLs), fetch elsewhere;
//   "browser"  fetch only: no Node code at all in the bundle;
//   "workerd"  Cloudflare Workers and other hosts that forbid compiling wasm from bytes: there
//              is nothing to find, the Worker imports the wasm and passes it as { wasm }.
// (The checks spell out `typeof EDGEVAE_TARGET` at each use so that esbuild folds them and
// drops the other hosts' code; running from source, EDGEVAE_TARGET is undefined: "default".)
declare const EDGEVAE_TARGET: string | undefined;

const WORKERS_HINT = "On Cloudflare Workers (and other hosts that cannot compile wasm from bytes), import the wasm in the Worker "
  + "(`import wasm from \"edgevae/edgevae.wasm\"`: wrangler turns a .wasm import into a WebAssembly.Module) and pass it: "
  + "Vae.load(model, { wasm })";

function onWorkers(): boolean {
  const nav = (globalThis as { navigator?: { userAgent?: string } }).navigator;
  return nav?.userAgent === "Cloudflare-Workers";
}

const defaultModules = new Map<SimdLevel, Promise<WebAssembly.Module>>();

/** The packaged wasm of a build, compiled once per process (a failed attempt is forgotten). */
export function defaultModule(level: SimdLevel): Promise<WebAssembly.Module> {
  if ((typeof EDGEVAE_TARGET === "string" && EDGEVAE_TARGET === "workerd") || onWorkers()) {
    return Promise.reject(new RuntimeError("E_WASM_LOAD", `edgevae cannot load its own wasm (${WASM_FILES[level]}) on this host. ${WORKERS_HINT}`));
  }
  let pending = defaultModules.get(level);
  if (pending === undefined) {
    const url = typeof EDGEVAE_WASM_DIR === "string" // folded by esbuild in the bundles
      ? (level === "relaxed" ? new URL("./edgevae-relaxed.wasm", import.meta.url) : new URL("./edgevae.wasm", import.meta.url))
      : new URL(`../build/${WASM_FILES[level]}`, import.meta.url);
    pending = compileWasm(url);
    pending.catch(() => defaultModules.delete(level));
    defaultModules.set(level, pending);
  }
  return pending;
}

function isResponse(v: unknown): v is Response {
  return typeof Response === "function" && v instanceof Response;
}

function describe(source: unknown): string {
  if (source instanceof URL) return source.href;
  if (typeof source === "string") return source;
  if (isResponse(source)) return source.url || "a Response";
  return "the given bytes";
}

/** Compiles (or passes through) the wasm from any WasmSource. */
export async function compileWasm(source: WasmSource): Promise<WebAssembly.Module> {
  if (!hasWasmSimd()) {
    throw new RuntimeError("E_WASM_UNSUPPORTED", "this JavaScript runtime has no WebAssembly SIMD (needs Chrome 91+, Firefox 89+, Safari 16.4+, Node 16.4+, Deno, or Cloudflare Workers)");
  }
  if (source instanceof WebAssembly.Module) return source;
  let bytes: ArrayBuffer | ArrayBufferView;
  const where = describe(source);
  try {
    if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) bytes = source;
    else if (source instanceof URL || typeof source === "string") bytes = await readUrl(new URL(source));
    else bytes = await readResponse(await source, where);
  } catch (err) {
    if (err instanceof RuntimeError) throw err;
    throw new RuntimeError("E_WASM_LOAD", `could not read the edgevae wasm from ${where}: ${(err as Error).message}`, { cause: err });
  }
  const view = ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
  if (view.length < 4 || view[0] !== 0 || view[1] !== 0x61 || view[2] !== 0x73 || view[3] !== 0x6d) {
    const start = [...view.subarray(0, 16)].map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : ".")).join("");
    throw new RuntimeError("E_WASM_LOAD", `${where} is not a wasm file (it starts with "${start}"; an HTML 404 page? check the path)`);
  }
  try {
    return await WebAssembly.compile(view as Uint8Array<ArrayBuffer>);
  } catch (err) {
    throw new RuntimeError("E_WASM_LOAD", `could not compile the edgevae wasm from ${where}: ${(err as Error).message}. ${WORKERS_HINT}`, { cause: err });
  }
}

async function readUrl(url: URL): Promise<ArrayBuffer | Uint8Array> {
  const g = globalThis as { process?: { versions?: { node?: string } } };
  if ((typeof EDGEVAE_TARGET !== "string" || EDGEVAE_TARGET === "default") && url.protocol === "file:" && g.process?.versions?.node !== undefined) {
    // Node's fetch does not read file: URLs; its file system does. The specifier is built at
    // run time so that bundlers for browsers and Workers leave it alone.
    // (joined at run time: a string literal would be folded back into import("node:...") by
    // the minifier, and bundlers that do not target Node would then fail to resolve it)
    const fsName = ["node", "fs/promises"].join(":");
    const fs = (await import(/* @vite-ignore */ fsName)) as { readFile(u: URL): Promise<Uint8Array> };
    return fs.readFile(url);
  }
  return readResponse(await fetch(url), url.href);
}

async function readResponse(response: Response, where: string): Promise<ArrayBuffer> {
  if (!response.ok) {
    throw new RuntimeError("E_WASM_LOAD", `fetching the edgevae wasm from ${where} failed: HTTP ${response.status} ${response.statusText}`);
  }
  return response.arrayBuffer();
}
