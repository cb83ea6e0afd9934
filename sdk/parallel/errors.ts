// The errors only a worker pool raises. Everything else a pool rejects with is what the
// single-threaded Vae would throw for the same call (the same class, code and message).

import { DisposedError, EdgeVaeError, type ErrorCode } from "../errors";

/**
 * A worker could not start (E_WORKER_START), died while the pool needed it (E_WORKER_EXIT), or
 * the host has no workers and the pool was told not to run on the calling thread (E_NO_WORKERS).
 */
export class WorkerError extends EdgeVaeError {
  constructor(code: Extract<ErrorCode, "E_WORKER_START" | "E_WORKER_EXIT" | "E_NO_WORKERS">, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "WorkerError";
  }
}

/** A call on a pool that was disposed (before or while it ran): E_DISPOSED, a DisposedError. */
export class PoolDisposedError extends DisposedError {
  constructor(what: string) {
    super(what);
    this.message = `${what}: this VaePool was disposed; create a new one to use it`;
    this.name = "PoolDisposedError";
  }
}
