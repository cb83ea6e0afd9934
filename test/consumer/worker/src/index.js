// A Cloudflare Worker using the installed package: Workers cannot compile wasm from bytes, so
// it imports the wasm (a WebAssembly.Module) and passes it in; the model is a .bin Data module.
import { Vae, EdgeVaeError } from "edgevae";
import wasm from "edgevae/edgevae.wasm";
import model from "./model.bin";

let pending; // loaded on the first request: no top-level await on Workers
export default {
  async fetch() {
    try {
      const vae = await (pending ??= Vae.load(new Uint8Array(model), { wasm }));
      const x = vae.sample(3, { seed: 11 });
      return Response.json({
        runtime: navigator.userAgent, simd: vae.info.simd,
        elbo: Array.from(vae.elbo(x, { samples: 8, seed: 3 }).elbo),
        logpx: Array.from(vae.logLikelihood(x, { k: 64, seed: 3 })),
      });
    } catch (err) {
      const code = err instanceof EdgeVaeError ? err.code : "E_INTERNAL";
      return Response.json({ error: { name: err.name, code, message: err.message } }, { status: 500 });
    }
  },
};
