// The training API: train() and its pieces, the package's "edgevae/train" entry (a separate
// bundle, so that inference-only users do not ship the trainer).
export { train } from "./train";
export type { TrainOptions, TrainResult, TrainProgress, EpochLog } from "./train";
export { Trainer, mlpArchitecture } from "./trainer";
export type {
  TrainArchitecture, TrainLayer, TrainLikelihood, TrainerOptions, StepOptions, StepResult, EvalResult,
  ActivationName, ParamInfo,
} from "./trainer";
export { circleData, circleLogDensity, parseData, splitData, fromRows, CIRCLE } from "./data";
export type { Dataset } from "./data";
export { PhiloxStream } from "./rng";
export { writeSafetensors } from "./safetensors";
export { densityGrid, mixtureDensity } from "./density";
export type { DensityGrid } from "./density";
export { quantize, elboChange } from "./quantize";
export type { QuantizeOptions, QuantizeResult, QuantizedLayer, ElboChange } from "./quantize";
// Images for hosts without JavaScript (docs/image.md): a model compiled into wasm memory + kernel calls.
export { compileImage, parseImage, ImageRunner, wasmSignatures, IMAGE_MAGIC, IMAGE_VERSION } from "../image";
export type { ImageOptions, CompiledImage, ImageHeader, ImageProgram, ImageProgramName, ImageRegion, ImageArg, WasmSignature, WasmType } from "../image";
