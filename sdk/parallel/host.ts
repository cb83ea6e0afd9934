// Starting a worker on each host, behind one small interface (WorkerHandle):
//   Node (and Bun): node:worker_threads, a module Worker from a file: URL;
//   browsers and Deno: a module Web Worker (same origin; no SharedArrayBuffer, so no
//   cross-origin isolation needed);
//   Cloudflare Workers / workerd and any host without either: none (the pool runs inline).
// No Node types here (tsconfig has none): the Node module is reached by a dynamic import whose
// specifier is joined at run time, as in sdk/runtime.ts, so browser bundlers never see it.

import type { PoolMessage, WorkerReply } from "./protocol";

declare const EDGEVAE_TARGET: string | undefined;

export interface WorkerEvents {
  message(msg: WorkerReply): void;
  /** The worker is gone or unusable; `why` reads after "worker N ...". Called at most once. */
  death(why: string): void;
}

export interface WorkerHandle {
  post(msg: PoolMessage, transfer?: ArrayBuffer[]): void;
  /** Ends the worker; resolves when it is gone (at once in browsers, which report nothing). */
  terminate(): Promise<void>;
  /** Node: whether a busy (ref) or idle (unref) worker keeps the process alive. */
  keepAlive(on: boolean): void;
}

type Kind = "node" | "web" | "none";

interface NodeWorker {
  postMessage(m: unknown, t?: ArrayBuffer[]): void;
  on(e: "message", f: (m: WorkerReply) => void): void;
  on(e: "error", f: (err: Error) => void): void;
  on(e: "messageerror", f: (err: Error) => void): void;
  on(e: "exit", f: (code: number) => void): void;
  terminate(): Promise<number>;
  ref(): void;
  unref(): void;
}

interface WebWorker {
  postMessage(m: unknown, t: ArrayBuffer[]): void;
  addEventListener(type: "message", f: (e: { data: WorkerReply }) => void): void;
  addEventListener(type: "error" | "messageerror", f: (e: { message?: string; preventDefault?(): void }) => void): void;
  terminate(): void;
}
type WebWorkerCtor = new (url: URL | string, options: { type: "module"; name?: string }) => WebWorker;

function onNode(): boolean {
  const g = globalThis as { Deno?: unknown; process?: { versions?: { node?: string } } };
  return g.Deno === undefined && g.process?.versions?.node !== undefined;
}

/** Which kind of worker this host can start. */
export function workerKind(): Kind {
  if (typeof EDGEVAE_TARGET === "string" && EDGEVAE_TARGET === "workerd") return "none";
  if ((typeof EDGEVAE_TARGET !== "string" || EDGEVAE_TARGET === "default") && onNode()) return "node";
  return typeof (globalThis as { Worker?: unknown }).Worker === "function" ? "web" : "none";
}

/** The host's logical cores (the default pool size). */
export async function hardwareThreads(): Promise<number> {
  if ((typeof EDGEVAE_TARGET !== "string" || EDGEVAE_TARGET === "default") && onNode()) {
    const os = (await import(/* @vite-ignore */ ["node", "os"].join(":"))) as { availableParallelism?(): number; cpus(): unknown[] };
    return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  }
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === "number" && n >= 1 ? Math.floor(n) : 1;
}

/**
 * The worker script beside this module. Each literal is the `new URL("./file", import.meta.url)`
 * pattern bundlers follow. From source (tests, EDGEVAE_TARGET undefined) it is the built one in dist/.
 */
function defaultWorkerUrl(): URL {
  if (typeof EDGEVAE_TARGET === "string" && EDGEVAE_TARGET === "browser") return new URL("./parallel-worker-browser.js", import.meta.url);
  if (typeof EDGEVAE_TARGET === "string") return new URL("./parallel-worker.js", import.meta.url);
  return new URL("../../dist/parallel-worker.js", import.meta.url);
}

/** Starts one worker of `kind`; throws (synchronously or not) when the host refuses. */
export async function startWorker(kind: Kind, url: URL | string | undefined, name: string, on: WorkerEvents): Promise<WorkerHandle> {
  let dead = false;
  const death = (why: string) => { if (!dead) { dead = true; on.death(why); } };
  if (kind === "node" && (typeof EDGEVAE_TARGET !== "string" || EDGEVAE_TARGET === "default")) {
    const wt = (await import(/* @vite-ignore */ ["node", "worker_threads"].join(":"))) as { Worker: new (u: URL | string, o: { name: string; execArgv?: string[] }) => NodeWorker };
    // a worker inherits the process's flags, but --input-type (node --input-type=module -e ...) makes a file worker fail to start
    const execArgv = (globalThis as { process?: { execArgv?: string[] } }).process?.execArgv?.filter((a) => !a.startsWith("--input-type"));
    const w = new wt.Worker(url ?? defaultWorkerUrl(), { name, execArgv });
    let ending = false;
    w.on("message", (m) => on.message(m));
    w.on("error", (err) => death(`threw ${err?.name ?? "an error"}: ${err?.message ?? String(err)}`));
    w.on("messageerror", (err) => death(`sent a message that could not be read (${err?.message})`));
    w.on("exit", (code) => { if (!ending) death(`exited (exit code ${code})`); });
    return {
      post: (m, t) => w.postMessage(m, t),
      terminate: async () => { ending = true; dead = true; await w.terminate(); },
      keepAlive: (keep) => (keep ? w.ref() : w.unref()),
    };
  }
  if (kind === "web" && !(typeof EDGEVAE_TARGET === "string" && EDGEVAE_TARGET === "workerd")) {
    const Ctor = (globalThis as unknown as { Worker: WebWorkerCtor }).Worker;
    // In the browser bundle the default is spelled new Worker(new URL("./...", import.meta.url), { type: "module" }):
    // the pattern by which Vite, webpack 5 and Parcel bundle the worker and the wasm files it fetches
    const w: WebWorker = url !== undefined ? new Ctor(url, { type: "module", name })
      : typeof EDGEVAE_TARGET === "string" && EDGEVAE_TARGET === "browser"
        ? new Worker(new URL("./parallel-worker-browser.js", import.meta.url), { type: "module", name }) as unknown as WebWorker
        : new Ctor(defaultWorkerUrl(), { type: "module", name });
    w.addEventListener("message", (e) => on.message(e.data));
    // browsers give a bare Event when the script cannot be fetched or is not a module
    w.addEventListener("error", (e) => { e.preventDefault?.(); death(e.message ? `threw: ${e.message}` : "failed (its script could not be loaded: not found, not JavaScript, or not same-origin?)"); });
    w.addEventListener("messageerror", () => death("sent a message that could not be read"));
    return {
      post: (m, t) => w.postMessage(m, t ?? []),
      terminate: async () => { dead = true; w.terminate(); },
      keepAlive: () => {},
    };
  }
  throw new Error("this host has no Worker API");
}
