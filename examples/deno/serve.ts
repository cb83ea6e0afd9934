// A small edgevae HTTP service on Deno, at 127.0.0.1 only:
//   npm run example:deno-serve  (or: deno run --allow-read --allow-net=127.0.0.1 examples/deno/serve.ts [model] [--port 8000])
//   curl 'http://127.0.0.1:8000/sample?n=4&seed=7'                       -> {"samples": [[...], ...]}
//   curl -X POST http://127.0.0.1:8000/score -d '{"x": [[2, 0], [0, 0]]}' -> ELBO, KL and log p(x) per item
// Bad requests get a 4xx with {"error": {code, message}} (the SDK's error codes).
import { EdgeVaeError, Vae } from "edgevae";

const args = [...Deno.args];
const portAt = args.indexOf("--port");
const port = portAt >= 0 ? Number(args.splice(portAt, 2)[1]) : 8000;
const path = args[0] ?? new URL("../../models/circle-pytorch.safetensors", import.meta.url);
const vae = await Vae.load(await Deno.readFile(path));
const D = vae.inputSize;

const json = (body: unknown, status = 200) => Response.json(body, { status });
const fail = (status: number, code: string, message: string) => json({ error: { code, message } }, status);
const rows = (a: Float32Array, width: number) => Array.from({ length: a.length / width }, (_, i) => Array.from(a.subarray(i * width, (i + 1) * width)));

function int(url: URL, name: string, fallback: number, max: number): number {
  const raw = url.searchParams.get(name);
  const v = raw === null ? fallback : Number(raw);
  if (!Number.isSafeInteger(v) || v < 0 || v > max) throw new EdgeVaeError("E_ARGUMENT", `${name} must be an integer from 0 to ${max}`);
  return v;
}

async function handle(req: Request): Promise<Response> {
  const url = new URL(req.url);
  try {
    if (req.method === "GET" && url.pathname === "/sample") {
      const n = Math.max(1, int(url, "n", 4, 1024));
      return json({ samples: rows(vae.sample(n, { seed: int(url, "seed", 7, 2 ** 31) }), D) });
    }
    if (req.method === "POST" && url.pathname === "/score") {
      let body: { x?: unknown };
      try { body = await req.json(); } catch { return fail(400, "E_BAD_JSON", `the body must be JSON like {"x": [[${D} numbers], ...]}`); }
      if (!Array.isArray(body.x)) return fail(400, "E_INPUT_TYPE", `"x" must be an array of items of ${D} numbers`);
      const x = Float32Array.from((body.x as unknown[]).flat() as number[]);
      const seed = int(url, "seed", 1, 2 ** 31);
      const { elbo, recon, kl } = vae.elbo(x, { samples: int(url, "samples", 8, 256) || 1, seed });
      const logpx = vae.logLikelihood(x, { k: int(url, "k", 64, 4096) || 1, seed });
      return json({ elbo: Array.from(elbo), recon: Array.from(recon), kl: Array.from(kl), logpx: Array.from(logpx), simd: vae.info.simd });
    }
    if (url.pathname === "/") return new Response("edgevae on Deno: GET /sample?n=4&seed=7, POST /score {\"x\": [[...], ...]}\n");
    return fail(404, "E_NOT_FOUND", `no route ${req.method} ${url.pathname}`);
  } catch (err) {
    if (err instanceof EdgeVaeError) return fail(400, err.code, err.message);
    return fail(500, "E_INTERNAL", String((err as Error)?.message ?? err));
  }
}

Deno.serve({ hostname: "127.0.0.1", port, onListen: ({ port }) => console.log(`edgevae Deno service: http://127.0.0.1:${port}/`) }, handle);
