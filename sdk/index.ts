// edgevae: run trained VAEs anywhere JavaScript runs. Public exports only.
export { Vae } from "./vae";
export type {
  LoadOptions, ModelInfo, Posterior, ElboResult, Floats, NoiseOptions, ElboOptions,
  LogLikelihoodOptions, ReconstructOptions, WeightDtype,
} from "./vae";
export { EdgeVaeError, FormatError, ArgumentError, RuntimeError, DisposedError } from "./errors";
export type { ErrorCode } from "./errors";
// the worker pool (docs/parallel.md); its worker script is dist/parallel-worker*.js, beside this bundle
export { VaePool, WorkerError, PoolDisposedError } from "./parallel/index";
export type { PoolOptions, ProgressOptions, PoolElboOptions, PoolLogLikelihoodOptions, PoolReconstructOptions } from "./parallel/index";
export type { Architecture, Layer, Likelihood, TensorInfo } from "./format";
export { parseModel } from "./format";
export { LIMITS } from "./limits";
export { hasWasmSimd, hasRelaxedSimd } from "./runtime";
export type { WasmSource, SimdLevel } from "./runtime";
