// VaePool: the Vae's batch calls (encode, decode, decodeParams, reconstruct, elbo,
// logLikelihood) spread over a pool of workers, each with its own wasm instance and its own
// copy of the model (no SharedArrayBuffer, so no cross-origin isolation is needed in browsers).
//
// A call's batch is cut into contiguous slices of items ("tasks"), handed out in order to the
// least busy worker, at most DEPTH per worker (so a worker finds its next slice waiting instead
// of waiting for a round trip), big ones first and smaller ones towards the end (sliceSize). Results are written back at each slice's offset. Seeded noise
// is indexed by (item, sample) in the whole batch (the worker passes the slice's first item to
// its Vae: NOISE_ITEM_OFFSET), caller eps is sliced with the items, and every per-item result
// is independent of which rows share a kernel pass; so a pool gives the very bytes of one
// Vae loaded with the same options, for any number of workers and any slicing.
//
// Failures: a slice that fails fails its call, which rejects (once all its dispatched slices
// have settled) with the error of its lowest failing slice, as the single-threaded Vae would
// meet it first. A worker that dies fails the calls it was running (WorkerError E_WORKER_EXIT);
// the pool goes on with the others and closes itself when none is left.

import { count, invalid, newResult, optionsOf, seedOf, toFloat32, typeName } from "../arguments";
import { ArgumentError, EdgeVaeError, RuntimeError } from "../errors";
import { parseModel } from "../format";
import { hasRelaxedSimd, type WasmSource } from "../runtime";
import {
  Vae, type ElboOptions, type ElboResult, type Floats, type LoadOptions, type LogLikelihoodOptions,
  type ModelInfo, type Posterior, type ReconstructOptions,
} from "../vae";
import { PoolDisposedError, WorkerError } from "./errors";
import { hardwareThreads, startWorker, workerKind, type WorkerHandle } from "./host";
import { deserializeError, type Method, type RunOptions, type WorkerLoadOptions, type WorkerReply } from "./protocol";

export interface PoolOptions extends LoadOptions {
  /**
   * Workers to start. Default: the host's logical cores (os.availableParallelism() on Node,
   * navigator.hardwareConcurrency elsewhere). 0 runs every call on the calling thread.
   */
  workers?: number;
  /**
   * What to do on a host that cannot start workers (Cloudflare Workers, Vercel Edge):
   * "inline" (default) runs every call on the calling thread, with the same results;
   * "error" makes create() reject with WorkerError E_NO_WORKERS.
   */
  noWorkers?: "inline" | "error";
  /** Items per slice handed to a worker. Default: guided per call, from a quarter of the batch per worker down to 64 rows (items x samples). */
  chunkItems?: number;
  /** The worker script, when it is not beside this module (dist/parallel-worker.js, dist/parallel-worker-browser.js). */
  workerUrl?: string | URL;
  /** How long create() waits for every worker to load the model before rejecting with E_WORKER_START. Default 60,000 ms. */
  startTimeoutMs?: number;
}

export interface ProgressOptions {
  /** Called as slices finish, with items done and items in the call (decode: latent rows). */
  onProgress?: (done: number, total: number) => void;
}

export type PoolElboOptions = ElboOptions & ProgressOptions;
export type PoolLogLikelihoodOptions = LogLikelihoodOptions & ProgressOptions;
export type PoolReconstructOptions = ReconstructOptions & ProgressOptions;

/** Slices in flight per worker: one running, one waiting, so a worker never idles for a round trip. */
const DEPTH = 2;
/** Default slices hold at least this many rows (items x samples): milliseconds of work, far above a message's cost. */
const MIN_SLICE_ROWS = 64;
const MAX_SAMPLES = 1 << 20; // as sdk/vae.ts
const MAX_WORKERS = 256;
const CRASH = Symbol.for("edgevae.VaePool.crashWorker");

interface Call {
  readonly what: string;
  readonly method: Method;
  readonly x: Float32Array;
  readonly xWidth: number;
  readonly eps: Float32Array | undefined;
  readonly epsWidth: number;
  readonly options: RunOptions;
  readonly total: number;
  /** Items per slice when the pool has chunkItems; else slices are sized as they are handed out (sliceSize). */
  readonly chunk: number | undefined;
  /** The smallest default slice: MIN_SLICE_ROWS rows, or fewer items when the batch is small. */
  readonly minItems: number;
  readonly outputs: Float32Array[];
  readonly widths: number[];
  readonly onProgress: ((done: number, total: number) => void) | undefined;
  /** The first item not yet handed out. */
  next: number;
  running: number;
  done: number;
  failure: { index: number; error: unknown } | undefined;
  finished: boolean;
  resolve(values: Float32Array[]): void;
  reject(err: unknown): void;
}

/** A checked call, before slicing: x holds `total` items (decode: latent rows) of xWidth values. */
interface Plan {
  readonly method: Method;
  readonly x: Float32Array;
  readonly xWidth: number;
  readonly eps?: Float32Array | undefined;
  /** eps values per item: samples (or k) x latentDim. */
  readonly epsWidth?: number;
  readonly total: number;
  /** Decoder rows per item (samples, k; else 1): sizes the default slices. */
  readonly rowsPerItem: number;
  readonly options: RunOptions;
  /** Values per item of each result array. */
  readonly widths: number[];
}

interface Task { readonly call: Call; readonly index: number; readonly start: number; readonly count: number }

class Slot {
  handle: WorkerHandle | undefined;
  alive = true;
  readonly inFlight = new Map<number, Task>();
  onReply: (msg: WorkerReply) => void = () => {};
  onDeath: (why: string) => void = () => {};
  constructor(readonly index: number) {}
}

export class VaePool {
  readonly info: ModelInfo;
  readonly inputShape: readonly number[];
  readonly inputSize: number;
  readonly latentDim: number;
  /** "workers", or "inline": every call runs on the calling thread (workers: 0, or a host without workers). */
  readonly mode: "workers" | "inline";

  private readonly inline: Vae | undefined;
  private readonly slots: Slot[];
  private readonly chunkItems: number | undefined;
  private readonly paramSize: number;
  private queue: Call[] = [];
  private nextId = 1;
  /** Set once the pool is closed: makes the error a call on it rejects with. */
  private closedBy: ((what: string) => EdgeVaeError) | undefined;
  private disposing: Promise<void> | undefined;

  private constructor(info: ModelInfo, inline: Vae | undefined, slots: Slot[], chunkItems: number | undefined) {
    this.info = info;
    this.inputShape = info.inputShape;
    this.inputSize = info.inputSize;
    this.latentDim = info.latentDim;
    this.paramSize = info.likelihood.type === "gaussian_learned" ? 2 * info.inputSize : info.inputSize;
    this.inline = inline;
    this.slots = slots;
    this.chunkItems = chunkItems;
    this.mode = inline === undefined ? "workers" : "inline";
    for (const slot of slots) {
      slot.onReply = (msg) => this.reply(slot, msg);
      slot.onDeath = (why) => this.death(slot, why);
      slot.handle!.keepAlive(false); // idle: a Node process may exit without dispose()
    }
  }

  /**
   * Checks the model file on this thread, then starts the workers and loads it into each (one
   * copy of the bytes per worker). Rejects, with every worker ended, if any worker fails: with
   * the error Vae.load gives for that model and these options (FormatError, E_MEMORY, ...), or
   * WorkerError E_WORKER_START when a worker cannot start or is not ready within startTimeoutMs.
   */
  static async create(model: Uint8Array | ArrayBuffer, options: PoolOptions = {}): Promise<VaePool> {
    let bytes = model instanceof Uint8Array ? model
      : model instanceof ArrayBuffer ? new Uint8Array(model)
      : invalid("E_INPUT_TYPE", `VaePool.create(model): model must be a Uint8Array or ArrayBuffer holding a model file, got ${typeName(model)}`);
    options = optionsOf(options, "VaePool.create");
    const { workers: wanted, noWorkers = "inline", chunkItems, workerUrl, startTimeoutMs = 60_000, ...load } = options;
    if (noWorkers !== "inline" && noWorkers !== "error") invalid("E_ARGUMENT", `VaePool.create: noWorkers must be "inline" or "error", got ${String(noWorkers)}`);
    if (chunkItems !== undefined) count(chunkItems, "VaePool.create: chunkItems", 1, 2 ** 31);
    if (workerUrl !== undefined && typeof workerUrl !== "string" && !(workerUrl instanceof URL)) invalid("E_ARGUMENT", `VaePool.create: workerUrl must be a URL or a string, got ${typeName(workerUrl)}`);
    count(startTimeoutMs, "VaePool.create: startTimeoutMs", 1, 2 ** 31 - 1);
    const workers = wanted ?? (await hardwareThreads());
    count(workers, "VaePool.create: workers", 0, MAX_WORKERS);
    const kind = workerKind();
    if (workers === 0 || kind === "none") {
      if (workers > 0 && noWorkers === "error") {
        throw new WorkerError("E_NO_WORKERS", `VaePool.create: this host cannot start workers (no Worker API, e.g. Cloudflare Workers); pass noWorkers: "inline" to run on the calling thread`);
      }
      const vae = await Vae.load(bytes, load);
      return new VaePool(vae.info, vae, [], chunkItems);
    }
    // another thread could change shared memory between the check and the copies: take a private copy
    if (typeof SharedArrayBuffer === "function" && bytes.buffer instanceof SharedArrayBuffer) bytes = new Uint8Array(bytes);
    try {
      parseModel(bytes); // a bad file fails here, with Vae.load's error, before any worker starts
    } catch (err) {
      throw err instanceof EdgeVaeError ? err : new RuntimeError("E_INTERNAL", `VaePool.create: internal error (${String(err)})`, { cause: err });
    }
    const workerOptions = await workerLoadOptions(load);
    const slots = Array.from({ length: workers }, (_, i) => new Slot(i));
    let info: ModelInfo | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        let ready = 0, failed = false;
        const fail = (err: unknown) => {
          if (failed) return;
          failed = true;
          clearTimeout(timer);
          reject(err);
        };
        const timer = setTimeout(() => fail(new WorkerError("E_WORKER_START",
          `VaePool.create: ${workers - ready} of ${workers} workers were not ready within ${startTimeoutMs} ms (startTimeoutMs); is the worker script reachable (workerUrl)?`)), startTimeoutMs);
        for (const slot of slots) {
          // the model goes once the worker listens ("started") and its handle is here: on Deno the
          // first message can arrive before startWorker's promise has handed the handle over
          let started = false;
          const sendModel = () => {
            if (!started || slot.handle === undefined || failed) return;
            const copy = new Uint8Array(bytes).buffer; // each worker's own, transferred (a copy: Buffer#slice would be a view)
            slot.handle.post({ type: "load", model: copy, options: workerOptions }, [copy]);
          };
          slot.onReply = (msg) => {
            if (msg.type === "started") {
              started = true;
              sendModel();
            } else if (msg.type === "ready") {
              info ??= msg.info;
              if (++ready === workers) { clearTimeout(timer); resolve(); }
            } else if (msg.type === "failed") {
              fail(deserializeError(msg.error, `VaePool.create: worker ${slot.index} could not load the model: `));
            }
          };
          slot.onDeath = (why) => fail(new WorkerError("E_WORKER_START", `VaePool.create: worker ${slot.index} ${why} before it was ready`));
          startWorker(kind, workerUrl, `edgevae-${slot.index}`, { message: (m) => slot.onReply(m), death: (w) => slot.onDeath(w) }).then(
            (handle) => { slot.handle = handle; if (failed) void handle.terminate(); else sendModel(); },
            (err: unknown) => fail(new WorkerError("E_WORKER_START", `VaePool.create: could not start worker ${slot.index}: ${(err as Error)?.message ?? String(err)}`, { cause: err })),
          );
        }
      });
    } catch (err) {
      await Promise.all(slots.map((s) => s.handle?.terminate().catch(() => {})));
      // (a handle that arrives after this is ended by the .then above: `failed` is set)
      throw err;
    }
    return new VaePool(info!, undefined, slots, chunkItems);
  }

  /** Live workers (0 when inline or closed). */
  get workers(): number {
    return this.slots.filter((s) => s.alive).length;
  }

  /** Whether the pool is closed: disposed, or every worker died. Calls then reject. */
  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  /** q(z|x) for each item, as Vae.encode. x: batch x inputSize values. */
  encode(x: Floats, options: ProgressOptions = {}): Promise<Posterior> {
    return this.start("encode", options, () => {
      const xs = this.items(x, "encode(x)");
      const n = xs.length / this.inputSize, J = this.latentDim;
      return { method: "encode", x: xs, xWidth: this.inputSize, total: n, rowsPerItem: 1, options: {}, widths: [J, J] };
    }, (v) => v.encode(x), (r) => ({ mean: r[0]!, logvar: r[1]! }));
  }

  /** The likelihood's mean for each latent row, as Vae.decode. z: n x latentDim values. */
  decode(z: Floats, options: ProgressOptions = {}): Promise<Float32Array> {
    return this.start("decode", options, () => {
      const zs = this.latents(z, "decode(z)");
      return { method: "decode", x: zs, xWidth: this.latentDim, total: zs.length / this.latentDim, rowsPerItem: 1, options: {}, widths: [this.inputSize] };
    }, (v) => v.decode(z), (r) => r[0]!);
  }

  /** The decoder's raw output for each latent row, as Vae.decodeParams. */
  decodeParams(z: Floats, options: ProgressOptions = {}): Promise<Float32Array> {
    return this.start("decodeParams", options, () => {
      const zs = this.latents(z, "decodeParams(z)");
      return { method: "decodeParams", x: zs, xWidth: this.latentDim, total: zs.length / this.latentDim, rowsPerItem: 1, options: {}, widths: [this.paramSize] };
    }, (v) => v.decodeParams(z), (r) => r[0]!);
  }

  /** Decodes a sample of q(z|x) (or its mean) for each item, as Vae.reconstruct. */
  reconstruct(x: Floats, options: PoolReconstructOptions = {}): Promise<Float32Array> {
    return this.start("reconstruct", options, () => {
      const xs = this.items(x, "reconstruct(x)");
      const o = optionsOf(options, "reconstruct");
      const useMean = o.useMean ?? false;
      if (typeof useMean !== "boolean") invalid("E_ARGUMENT", `reconstruct: useMean must be true or false, got ${String(useMean)}`);
      const run: RunOptions = useMean ? { useMean } : { useMean, seed: seedOf(o.seed, "reconstruct") };
      return { method: "reconstruct", x: xs, xWidth: this.inputSize, total: xs.length / this.inputSize, rowsPerItem: 1, options: run, widths: [this.inputSize] };
    }, (v, o) => v.reconstruct(x, o), (r) => r[0]!);
  }

  /** ELBO per item, with its parts, as Vae.elbo (the same bytes for the same seed or eps). */
  elbo(x: Floats, options: PoolElboOptions = {}): Promise<ElboResult> {
    return this.start("elbo", options, () => {
      const xs = this.items(x, "elbo(x)");
      const n = xs.length / this.inputSize, J = this.latentDim;
      const o = optionsOf(options, "elbo");
      const S = o.samples ?? 1;
      count(S, "elbo: samples", 1, MAX_SAMPLES);
      const beta = o.beta ?? 1;
      if (typeof beta !== "number" || !Number.isFinite(Math.fround(beta))) invalid("E_ARGUMENT", `elbo: beta must be a finite number (within float32 range), got ${String(beta)}`);
      const eps = this.noise(o.eps, n * S, "elbo", "samples");
      const run: RunOptions = { samples: S, beta, ...(eps === undefined ? { seed: seedOf(o.seed, "elbo") } : {}) };
      return { method: "elbo", x: xs, xWidth: this.inputSize, eps, epsWidth: S * J, total: n, rowsPerItem: S, options: run, widths: [1, 1, 1] };
    }, (v, o) => v.elbo(x, o), (r) => ({ elbo: r[0]!, recon: r[1]!, kl: r[2]! }));
  }

  /** Importance-weighted log p(x) per item, as Vae.logLikelihood (the same bytes for the same seed or eps). */
  logLikelihood(x: Floats, options: PoolLogLikelihoodOptions = {}): Promise<Float32Array> {
    return this.start("logLikelihood", options, () => {
      const xs = this.items(x, "logLikelihood(x)");
      const n = xs.length / this.inputSize, J = this.latentDim;
      const o = optionsOf(options, "logLikelihood");
      const K = o.k ?? 64;
      count(K, "logLikelihood: k", 1, MAX_SAMPLES);
      const eps = this.noise(o.eps, n * K, "logLikelihood", "k");
      const run: RunOptions = { k: K, ...(eps === undefined ? { seed: seedOf(o.seed, "logLikelihood") } : {}) };
      return { method: "logLikelihood", x: xs, xWidth: this.inputSize, eps, epsWidth: K * J, total: n, rowsPerItem: K, options: run, widths: [1] };
    }, (v, o) => v.logLikelihood(x, o), (r) => r[0]!);
  }

  /**
   * Ends every worker (or frees the inline Vae). Calls still running or queued reject with
   * PoolDisposedError (E_DISPOSED), as does any later call. Resolves once the workers are gone.
   */
  dispose(): Promise<void> {
    if (this.disposing !== undefined) return this.disposing;
    this.closedBy = (what) => new PoolDisposedError(`${what}()`);
    const calls = new Set<Call>(this.queue);
    for (const slot of this.slots) for (const t of slot.inFlight.values()) calls.add(t.call);
    this.queue = [];
    for (const call of calls) this.finish(call, new PoolDisposedError(`${call.what}()`));
    this.inline?.dispose();
    this.disposing = Promise.all(this.slots.map((slot) => {
      slot.inFlight.clear();
      const wasAlive = slot.alive;
      slot.alive = false;
      return wasAlive ? slot.handle!.terminate().catch(() => {}) : undefined;
    })).then(() => {});
    return this.disposing;
  }

  /** Test hook (test/parallel*.test.ts): worker `index` dies as a crashing one would. */
  [CRASH](index: number, how: "throw" | "exit" = "throw"): void {
    this.slots[index]?.handle?.post({ type: "crash", how });
  }

  // ---- internals -------------------------------------------------------------------------

  /**
   * One call: checks its arguments (on this thread, with the Vae's messages), then queues it,
   * or runs it inline. plan() checks and describes the call; inline() is the same call on a
   * Vae; shape() turns the result arrays into the method's result.
   */
  private start<O extends ProgressOptions, R>(what: string, options: O, plan: () => Plan,
    inline: (vae: Vae, options: O) => R, shape: (values: Float32Array[]) => R): Promise<R> {
    if (this.closedBy !== undefined) return Promise.reject(this.closedBy(what));
    const onProgress = options !== null && typeof options === "object" ? options.onProgress : undefined;
    if (onProgress !== undefined && typeof onProgress !== "function") {
      return Promise.reject(new ArgumentError("E_ARGUMENT", `${what}: onProgress must be a function, got ${typeName(onProgress)}`));
    }
    if (this.inline !== undefined) {
      const vae = this.inline;
      return new Promise<R>((resolve) => {
        const result = inline(vae, options); // the Vae's own checks and errors
        resolve(result);
        if (onProgress !== undefined) { const n = plan().total; onProgress(n, n); } // (x is valid: the Vae took it)
      });
    }
    let call: Call;
    try {
      const p = plan();
      const minItems = Math.min(Math.ceil(MIN_SLICE_ROWS / p.rowsPerItem), Math.ceil(p.total / Math.max(1, this.workers)));
      call = {
        ...p, what, eps: p.eps, epsWidth: p.epsWidth ?? 0, chunk: this.chunkItems, minItems,
        outputs: p.widths.map((w) => newResult(p.total * w, what)), onProgress,
        next: 0, running: 0, done: 0, failure: undefined, finished: false, resolve: () => {}, reject: () => {},
      };
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<Float32Array[]>((resolve, reject) => {
      call.resolve = resolve;
      call.reject = reject;
      this.queue.push(call);
      this.pump();
    }).then(shape);
  }

  /**
   * The next slice's items. Default: guided, a share of what is left, remaining / (2 x workers),
   * never below minItems: big slices first (few messages), small ones last, so the workers
   * finish together instead of one waiting on the other's last big slice.
   */
  private sliceSize(call: Call): number {
    const remaining = call.total - call.next;
    if (call.chunk !== undefined) return Math.min(call.chunk, remaining);
    return Math.min(remaining, Math.max(call.minItems, Math.ceil(remaining / (2 * Math.max(1, this.workers)))));
  }

  /** Hands out slices, in order, to the least busy live workers with room. */
  private pump(): void {
    for (;;) {
      const call = this.queue[0];
      if (call === undefined) return;
      let slot: Slot | undefined;
      for (const s of this.slots) if (s.alive && s.inFlight.size < DEPTH && (slot === undefined || s.inFlight.size < slot.inFlight.size)) slot = s;
      if (slot === undefined) return;
      const start = call.next, n = this.sliceSize(call), index = start; // slices are ordered by their first item
      call.next += n;
      if (call.next >= call.total) this.queue.shift();
      // copies of the slice: a view would clone (or detach) the caller's whole buffer
      const x = call.x.slice(start * call.xWidth, (start + n) * call.xWidth);
      const eps = call.eps?.slice(start * call.epsWidth, (start + n) * call.epsWidth);
      const id = this.nextId++;
      slot.inFlight.set(id, { call, index, start, count: n });
      call.running++;
      if (slot.inFlight.size === 1) slot.handle!.keepAlive(true);
      try {
        slot.handle!.post({ type: "run", id, method: call.method, start, x, eps, options: call.options }, eps === undefined ? [x.buffer] : [x.buffer, eps.buffer]);
      } catch (err) {
        slot.inFlight.delete(id);
        call.running--;
        this.fail(call, index, new RuntimeError("E_INTERNAL", `${call.what}: could not send a slice to worker ${slot.index}: ${(err as Error)?.message}`, { cause: err }));
        this.settle(call);
      }
    }
  }

  private reply(slot: Slot, msg: WorkerReply): void {
    if (msg.type !== "done" && msg.type !== "error") return;
    const task = slot.inFlight.get(msg.id);
    if (task === undefined) return; // a call disposed meanwhile
    slot.inFlight.delete(msg.id);
    if (slot.inFlight.size === 0) slot.handle!.keepAlive(false);
    const call = task.call;
    call.running--;
    if (!call.finished) {
      if (msg.type === "error") {
        this.fail(call, task.index, deserializeError(msg.error));
      } else if (call.failure === undefined) {
        msg.values.forEach((v, i) => call.outputs[i]!.set(v, task.start * call.widths[i]!));
        call.done += task.count;
        try {
          call.onProgress?.(call.done, call.total);
        } catch (err) {
          this.fail(call, -1, err); // the callback's own error, first
        }
      }
      this.settle(call);
    }
    this.pump();
  }

  private death(slot: Slot, why: string): void {
    if (!slot.alive) return;
    slot.alive = false;
    void slot.handle?.terminate().catch(() => {}); // a browser worker that threw is still running
    const tasks = [...slot.inFlight.values()];
    slot.inFlight.clear();
    const live = this.workers;
    for (const t of tasks) {
      t.call.running--;
      this.fail(t.call, t.index, new WorkerError("E_WORKER_EXIT",
        `${t.call.what}: worker ${slot.index} ${why} while running items ${t.start} to ${t.start + t.count - 1}; `
        + (live > 0 ? `the pool goes on with ${live} worker(s)` : "no worker is left, the pool is closed")));
      this.settle(t.call);
    }
    if (live === 0 && this.closedBy === undefined) {
      this.closedBy = (what) => new WorkerError("E_WORKER_EXIT", `${what}: every worker of this VaePool has died (the last one ${why}); the pool is closed, create a new one`);
      const queued = this.queue;
      this.queue = [];
      for (const call of queued) this.finish(call, this.closedBy(call.what));
    } else {
      this.pump();
    }
  }

  /** Records a failed slice; the call dispatches nothing more and rejects once its slices settle. */
  private fail(call: Call, index: number, error: unknown): void {
    if (call.failure === undefined || index < call.failure.index) call.failure = { index, error };
    const at = this.queue.indexOf(call);
    if (at >= 0) this.queue.splice(at, 1);
  }

  private settle(call: Call): void {
    if (call.finished || call.running > 0) return;
    if (call.failure !== undefined) this.finish(call, call.failure.error);
    else if (call.next >= call.total) this.finish(call);
  }

  private finish(call: Call, error?: unknown): void {
    if (call.finished) return;
    call.finished = true;
    if (error === undefined) call.resolve(call.outputs);
    else call.reject(error);
  }

  private items(x: Floats, what: string): Float32Array {
    const xs = toFloat32(x, what), D = this.inputSize;
    if (xs.length === 0 || xs.length % D !== 0) {
      invalid("E_INPUT_LENGTH", `${what}: got ${xs.length} values, which is not a whole, non-zero number of items of ${D} values (input_shape ${JSON.stringify(this.inputShape)})`);
    }
    return xs;
  }

  private latents(z: Floats, what: string): Float32Array {
    const zs = toFloat32(z, what), J = this.latentDim;
    if (zs.length === 0 || zs.length % J !== 0) {
      invalid("E_INPUT_LENGTH", `${what}: got ${zs.length} values, which is not a whole, non-zero number of latents of ${J} values`);
    }
    return zs;
  }

  private noise(eps: Floats | undefined, rows: number, what: string, per: string): Float32Array | undefined {
    if (eps === undefined) return undefined;
    const e = toFloat32(eps, `${what}: eps`);
    const want = rows * this.latentDim;
    if (e.length !== want) {
      invalid("E_NOISE_LENGTH", `${what}: eps has ${e.length} values but needs batch x ${per} x latentDim = ${want} (item-major [batch][${per}][latentDim])`);
    }
    return e;
  }
}

// ---- helpers (the Vae's checks, with its messages: a pool call fails as the Vae call would) ----

/** Load options as a worker receives them: "auto" resolved here (one answer for every worker), the wasm as cloneable data. */
async function workerLoadOptions(load: LoadOptions): Promise<WorkerLoadOptions> {
  const { wasm, simd, maxBatchRows, maxMemoryBytes } = load;
  const out: WorkerLoadOptions = {
    maxBatchRows, maxMemoryBytes,
    // (an invalid value goes as is: the worker's Vae.load refuses it with its own message)
    simd: (simd === undefined || simd === "auto" ? (wasm === undefined && hasRelaxedSimd() ? "relaxed" : "baseline") : simd) as WorkerLoadOptions["simd"],
  };
  if (wasm !== undefined) out.wasm = await cloneableWasm(wasm);
  return out;
}

async function cloneableWasm(w: WasmSource): Promise<WorkerLoadOptions["wasm"]> {
  if (w instanceof URL) return w.href;
  if (typeof w === "string" || w instanceof WebAssembly.Module || w instanceof ArrayBuffer || ArrayBuffer.isView(w)) return w;
  try {
    const response = await w; // a Response, or a promise of one: read here, its bytes go to every worker
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    return await response.arrayBuffer();
  } catch (err) {
    throw new RuntimeError("E_WASM_LOAD", `VaePool.create: could not read the edgevae wasm from the given Response: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

