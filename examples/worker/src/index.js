// edgevae on Cloudflare Workers. Workers cannot compile wasm from bytes, so the Worker imports
// the wasm (wrangler turns a .wasm import into a WebAssembly.Module) and passes it as { wasm };
// the model file is imported as a Data module (wrangler's default rule makes **/*.bin an ArrayBuffer).
//
//   GET  /sample?n=16&seed=7   a PNG grid of n samples from the model (a scatter plot for 2-D models)
//   POST /score                {"pixels": [784 values in 0..1]} (or a list of such items):
//                              ELBO (with its reconstruction and KL parts) and log p(x) per item
//   GET  /info                 the model's shapes and the wasm build in use
// Add ?simd=baseline to use the baseline build (bit-identical on every runtime) instead of the
// relaxed-SIMD one that workerd supports. Bad requests get a 4xx with {"error": {code, message}},
// using the SDK's error codes.
import { Vae, EdgeVaeError, hasRelaxedSimd } from "edgevae";
import baselineWasm from "edgevae/edgevae.wasm";
import relaxedWasm from "edgevae/edgevae-relaxed.wasm";
import modelBytes from "../model.bin"; // the model file, copied here by dev.mjs (a .bin import is Data: an ArrayBuffer)
import { encodePng } from "./png.js";

const MAX_SAMPLES = 256;
const MAX_ITEMS = 64;

// One model per wasm build, loaded on first use (no top-level await on Workers).
const loaded = new Map();
function vaeFor(simd) {
  let pending = loaded.get(simd);
  if (!pending) {
    const wasm = simd === "relaxed" ? relaxedWasm : baselineWasm;
    pending = Vae.load(new Uint8Array(modelBytes), { wasm, maxBatchRows: 64 });
    pending.catch(() => loaded.delete(simd));
    loaded.set(simd, pending);
  }
  return pending;
}

class RequestError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

function json(body, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function intParam(url, name, fallback, min, max) {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new RequestError(400, "E_ARGUMENT", `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return v;
}

function simdOf(url) {
  const s = url.searchParams.get("simd") ?? "auto";
  if (s === "auto") return hasRelaxedSimd() ? "relaxed" : "baseline";
  if (s === "baseline" || s === "relaxed") return s;
  throw new RequestError(400, "E_ARGUMENT", `simd must be "auto", "baseline" or "relaxed", got ${JSON.stringify(s)}`);
}

// A side x side image per item, when the item is one (1 x 28 x 28, 28 x 28, or 784 values).
function imageSide(vae) {
  const side = Math.round(Math.sqrt(vae.inputSize));
  return side * side === vae.inputSize && side > 1 ? side : 0;
}

async function samplePng(vae, n, seed) {
  const x = vae.sample(n, { seed });
  const side = imageSide(vae);
  if (side) {
    // a grid of tiles, each pixel drawn 2 x 2, 2-pixel gaps
    const scale = 2, gap = 2, cols = Math.ceil(Math.sqrt(n)), rows = Math.ceil(n / cols);
    const tile = side * scale;
    const width = cols * (tile + gap) + gap, height = rows * (tile + gap) + gap;
    const img = new Uint8Array(width * height).fill(40);
    for (let i = 0; i < n; i++) {
      const ox = gap + (i % cols) * (tile + gap), oy = gap + Math.floor(i / cols) * (tile + gap);
      for (let py = 0; py < tile; py++) {
        for (let px = 0; px < tile; px++) {
          const v = x[i * vae.inputSize + Math.floor(py / scale) * side + Math.floor(px / scale)];
          img[(oy + py) * width + ox + px] = Math.max(0, Math.min(255, Math.round(v * 255)));
        }
      }
    }
    return encodePng(img, width, height, 1);
  }
  if (vae.inputSize === 2) {
    // a scatter plot of the samples over [-3, 3]^2, with the radius-2 circle in grey
    const size = 256, img = new Uint8Array(size * size * 3).fill(255);
    const toPx = (v) => Math.round(((v + 3) / 6) * (size - 1));
    for (let a = 0; a < 2000; a++) {
      const t = (2 * Math.PI * a) / 2000, px = toPx(2 * Math.cos(t)), py = toPx(-2 * Math.sin(t));
      img.fill(200, (py * size + px) * 3, (py * size + px) * 3 + 3);
    }
    for (let i = 0; i < n; i++) {
      const px = toPx(x[2 * i]), py = toPx(-x[2 * i + 1]);
      if (px < 0 || py < 0 || px >= size || py >= size) continue;
      const at = (py * size + px) * 3;
      img[at] = 200; img[at + 1] = 30; img[at + 2] = 30;
    }
    return encodePng(img, size, size, 3);
  }
  throw new RequestError(400, "E_ARGUMENT", `/sample draws images or 2-D points; this model's items have ${vae.inputSize} values`);
}

async function score(request, vae, url) {
  let body;
  try {
    body = await request.json();
  } catch (err) {
    throw new RequestError(400, "E_BAD_JSON", `the body must be JSON like {"pixels": [${vae.inputSize} numbers]}: ${err.message}`);
  }
  const items = body?.pixels ?? body?.x;
  if (!Array.isArray(items)) {
    throw new RequestError(400, "E_INPUT_TYPE", `the body must have "pixels": an array of ${vae.inputSize} numbers, or an array of such arrays`);
  }
  const flat = Array.isArray(items[0]) ? items.flat() : items;
  if (flat.length > MAX_ITEMS * vae.inputSize) {
    throw new RequestError(413, "E_INPUT_LENGTH", `at most ${MAX_ITEMS} items per request`);
  }
  if (!flat.every((v) => typeof v === "number")) {
    throw new RequestError(400, "E_INPUT_TYPE", "pixels must be numbers");
  }
  const seed = intParam(url, "seed", 1, 0, 2 ** 31);
  const k = intParam(url, "k", 64, 1, 1024);
  const samples = intParam(url, "samples", 8, 1, 256);
  const x = Float32Array.from(flat);
  const { elbo, recon, kl } = vae.elbo(x, { samples, seed }); // throws E_INPUT_LENGTH / E_INPUT_VALUE
  const logpx = vae.logLikelihood(x, { k, seed });
  return json({
    items: elbo.length, simd: vae.info.simd, samples, k, seed,
    elbo: Array.from(elbo), recon: Array.from(recon), kl: Array.from(kl), logpx: Array.from(logpx),
  });
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    try {
      const route = `${request.method} ${url.pathname}`;
      if (route === "GET /sample") {
        const n = intParam(url, "n", 16, 1, MAX_SAMPLES);
        const seed = intParam(url, "seed", 7, 0, 2 ** 31);
        const vae = await vaeFor(simdOf(url));
        const png = await samplePng(vae, n, seed);
        return new Response(png, { headers: { "content-type": "image/png", "x-edgevae-simd": vae.info.simd } });
      }
      if (route === "POST /score") return await score(request, await vaeFor(simdOf(url)), url);
      if (route === "GET /info") {
        const { info } = await vaeFor(simdOf(url));
        return json({ inputShape: info.inputShape, latentDim: info.latentDim, likelihood: info.likelihood, simd: info.simd, parameterCount: info.parameterCount });
      }
      if (url.pathname === "/sample" || url.pathname === "/score" || url.pathname === "/info") {
        throw new RequestError(405, "E_METHOD", `${request.method} is not allowed on ${url.pathname}`);
      }
      if (url.pathname === "/") {
        return new Response("edgevae Worker: GET /sample?n=16&seed=7 (PNG), POST /score {\"pixels\": [...]}, GET /info\n");
      }
      throw new RequestError(404, "E_NOT_FOUND", `no route ${url.pathname}: try /sample, /score or /info`);
    } catch (err) {
      if (err instanceof RequestError) return json({ error: { code: err.code, message: err.message } }, err.status);
      if (err instanceof EdgeVaeError) {
        const status = err.name === "ArgumentError" ? 400 : 500;
        return json({ error: { code: err.code, message: err.message } }, status);
      }
      return json({ error: { code: "E_INTERNAL", message: String(err?.message ?? err) } }, 500);
    }
  },
};
