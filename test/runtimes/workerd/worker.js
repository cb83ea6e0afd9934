// The conformance Worker (test/runtimes/workerd.test.ts copies it next to the installed
// package): POST /conformance?simd=baseline|relaxed with the model pack as the body returns the
// conformance report; GET /no-wasm shows the error of loading without { wasm } on Workers.
import { Vae, EdgeVaeError } from "edgevae";
import baselineWasm from "edgevae/edgevae.wasm";
import relaxedWasm from "edgevae/edgevae-relaxed.wasm";
import { conformance } from "./conformance.mjs";

export default {
  async fetch(request) {
    const url = new URL(request.url);
    try {
      if (url.pathname === "/conformance") {
        const pack = await request.json();
        const wasm = url.searchParams.get("simd") === "relaxed" ? relaxedWasm : baselineWasm;
        const report = await conformance(Vae, pack, { wasm });
        return Response.json({ runtime: `workerd (${navigator.userAgent})`, ...report });
      }
      if (url.pathname === "/no-wasm") {
        const pack = await request.json();
        const first = Object.values(pack)[0];
        const bytes = Uint8Array.from(atob(first), (c) => c.charCodeAt(0));
        await Vae.load(bytes);
        return Response.json({ loaded: true });
      }
      return new Response("ok");
    } catch (err) {
      const code = err instanceof EdgeVaeError ? err.code : "E_INTERNAL";
      return Response.json({ error: { name: err.name, code, message: err.message } }, { status: 500 });
    }
  },
};
