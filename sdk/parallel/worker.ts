// The worker of a VaePool (bundled alone by sdk/build.mjs: dist/parallel-worker.js for Node and
// Deno, dist/parallel-worker-browser.js for browsers). It holds one Vae on its own wasm
// instance and runs the slices the pool sends, one at a time (compute is synchronous). The
// protocol is in sdk/parallel/protocol.ts. It talks over Node's parentPort in a Node
// worker_thread and over the worker global (postMessage / "message") everywhere else.

import { NOISE_ITEM_OFFSET, Vae, type ElboOptions, type LogLikelihoodOptions, type ReconstructOptions } from "../vae";
import { serializeError, toBatchIndices, type PoolMessage, type WorkerReply } from "./protocol";

declare const EDGEVAE_TARGET: string | undefined;

interface Channel {
  post(msg: WorkerReply, transfer?: ArrayBuffer[]): void;
  listen(onMessage: (msg: PoolMessage) => void): void;
  /** Ends this worker abruptly (test hook). */
  exit(code: number): void;
}

interface NodePort { postMessage(m: unknown, t?: ArrayBuffer[]): void; on(e: "message", f: (m: PoolMessage) => void): void }

async function channel(): Promise<Channel> {
  const g = globalThis as { Deno?: unknown; process?: { versions?: { node?: string }; exit(code: number): never } };
  if ((typeof EDGEVAE_TARGET !== "string" || EDGEVAE_TARGET === "default") && g.Deno === undefined && g.process?.versions?.node !== undefined) {
    // (the specifier is joined at run time, as in sdk/runtime.ts, so bundlers for browsers leave it alone)
    const wt = (await import(/* @vite-ignore */ ["node", "worker_threads"].join(":"))) as { parentPort: NodePort | null };
    const port = wt.parentPort;
    if (port !== null) {
      return {
        post: (m, t) => port.postMessage(m, t),
        listen: (f) => port.on("message", f),
        exit: (code) => g.process!.exit(code),
      };
    }
  }
  const self = globalThis as unknown as {
    postMessage(m: unknown, t?: ArrayBuffer[]): void;
    addEventListener(type: "message", f: (e: { data: PoolMessage }) => void): void;
    close(): void;
  };
  return {
    post: (m, t) => self.postMessage(m, t ?? []),
    listen: (f) => self.addEventListener("message", (e) => f(e.data)),
    exit: () => self.close(),
  };
}

async function main(): Promise<void> {
  const ch = await channel();
  let vae: Vae | undefined;
  ch.listen((msg) => {
    switch (msg.type) {
      case "load":
        Vae.load(new Uint8Array(msg.model), msg.options).then(
          (v) => { vae = v; ch.post({ type: "ready", info: v.info }); },
          (err: unknown) => ch.post({ type: "failed", error: serializeError(err) }),
        );
        return;
      case "run": {
        if (vae === undefined) {
          ch.post({ type: "error", id: msg.id, error: serializeError(new Error("run before load")) });
          return;
        }
        try {
          const values = run(vae, msg);
          ch.post({ type: "done", id: msg.id, values }, values.map((v) => v.buffer as ArrayBuffer));
        } catch (err) {
          const D = vae.inputSize, J = vae.latentDim;
          const S = msg.method === "elbo" ? msg.options.samples ?? 1 : msg.method === "logLikelihood" ? msg.options.k ?? 64 : 1;
          const out = { encode: J, decode: D, decodeParams: vae.info.likelihood.type === "gaussian_learned" ? 2 * D : D, reconstruct: D, elbo: 1, logLikelihood: 1 }[msg.method];
          const widths = { x: msg.method === "decode" || msg.method === "decodeParams" ? J : D, eps: S * J, out };
          ch.post({ type: "error", id: msg.id, error: toBatchIndices(serializeError(err), msg.start, widths) });
        }
        return;
      }
      case "crash":
        // as a crashing worker would: an uncaught exception (the host reports it as the worker's
        // "error" event), or an exit without a word (Node's "exit" event)
        if (msg.how === "exit") ch.exit(70);
        else setTimeout(() => { throw new Error("edgevae worker: crash requested (test hook)"); }, 0);
        return;
    }
  });
  ch.post({ type: "started" });
}

/** One slice through the worker's Vae; the results' buffers are transferred back. */
function run(vae: Vae, msg: Extract<PoolMessage, { type: "run" }>): Float32Array[] {
  const { x, eps, options: o, start } = msg;
  // seeded noise is the whole batch's: item i of this slice is item start + i of the caller's
  const seeded = eps === undefined ? { seed: o.seed, [NOISE_ITEM_OFFSET]: start } : { eps };
  switch (msg.method) {
    case "encode": { const p = vae.encode(x); return [p.mean, p.logvar]; }
    case "decode": return [vae.decode(x)];
    case "decodeParams": return [vae.decodeParams(x)];
    case "reconstruct": return [vae.reconstruct(x, { useMean: o.useMean, seed: o.seed, [NOISE_ITEM_OFFSET]: start } as ReconstructOptions)];
    case "elbo": { const r = vae.elbo(x, { samples: o.samples, beta: o.beta, ...seeded } as ElboOptions); return [r.elbo, r.recon, r.kl]; }
    case "logLikelihood": return [vae.logLikelihood(x, { k: o.k, ...seeded } as LogLikelihoodOptions)];
  }
}

void main();
