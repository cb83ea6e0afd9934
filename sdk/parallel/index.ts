// The worker pool's public surface, re-exported by sdk/index.ts (so its errors are the very
// classes `edgevae` exports: one bundle, one copy of each class).
export { VaePool } from "./pool";
export type { PoolOptions, ProgressOptions, PoolElboOptions, PoolLogLikelihoodOptions, PoolReconstructOptions } from "./pool";
export { WorkerError, PoolDisposedError } from "./errors";
