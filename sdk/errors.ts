// Every error edgevae throws is an EdgeVaeError with a stable `code`; callers switch on the
// code, never on the message. Messages say what was wrong, where, and what to do.

export type ErrorCode =
  // the model file (FormatError)
  | "E_FILE_TRUNCATED"      // shorter than its own header says
  | "E_HEADER_SIZE"         // the header length is out of bounds
  | "E_HEADER_JSON"         // the header is not UTF-8 JSON of the safetensors shape
  | "E_TENSOR_ENTRY"        // a tensor entry is malformed (dtype, shape, data_offsets)
  | "E_TENSOR_OFFSETS"      // offsets out of range, overlapping, leaving holes, or size mismatch
  | "E_DTYPE"               // a dtype that this version does not read
  | "E_NO_ARCHITECTURE"     // no __metadata__["edgevae"]
  | "E_ARCHITECTURE"        // the architecture JSON is malformed or inconsistent
  | "E_VERSION"             // a format version this SDK does not know
  | "E_LAYER_TYPE"          // an unknown layer type
  | "E_LIKELIHOOD"          // an unknown or malformed likelihood
  | "E_TENSOR_MISSING"      // a layer names a tensor that is not in the file
  | "E_TENSOR_SHAPE"        // a tensor's shape does not fit its layer
  | "E_NONFINITE_WEIGHTS"   // NaN or Infinity in a weight tensor
  | "E_LIMIT"               // a dimension or size beyond the documented limits
  | "E_DUPLICATE_KEY"       // a JSON object (header, an entry, the architecture) repeats a key
  | "E_TENSOR_VALUE"        // a tensor holds values its layer forbids (a negative running_var)
  // calls (ArgumentError)
  | "E_INPUT_TYPE"          // not a Float32Array / number array
  | "E_INPUT_LENGTH"        // a length that is not a whole number of items
  | "E_ARGUMENT"            // an option out of range (samples, k, beta, seed, steps ...)
  | "E_NOISE_LENGTH"        // caller-supplied eps of the wrong size
  | "E_INPUT_VALUE"         // NaN or Infinity in an input
  // the host (RuntimeError)
  | "E_WASM_LOAD"           // the wasm module could not be fetched or compiled
  | "E_WASM_UNSUPPORTED"    // no WebAssembly SIMD on this host
  | "E_ABI_MISMATCH"        // the wasm file does not match this SDK version
  | "E_MEMORY"              // the memory plan would exceed the limit or could not grow
  | "E_NONFINITE_RESULT"    // finite inputs, but the model's float32 arithmetic produced NaN
  | "E_INTERNAL"            // an unexpected internal error (a bug): the original is the cause
  // worker pools (WorkerError, sdk/parallel)
  | "E_WORKER_START"        // a worker could not be started, or did not answer in time
  | "E_WORKER_EXIT"         // a worker died (threw, exited, was killed) while the pool needed it
  | "E_NO_WORKERS"          // the host has no workers and the pool was told not to run on the calling thread
  // the edgevae command (sdk/cli; E_USAGE exits with code 2, every other code with 1)
  | "E_USAGE"               // an unknown subcommand or option, a missing or malformed argument
  | "E_FILE"                // a file or folder could not be read or written (the system's reason is in the message)
  | "E_DATA_FORMAT"         // a data file is not JSON rows, CSV, NPY or a folder of PNGs, or is malformed
  | "E_NOT_AVAILABLE"       // a subcommand this build does not include
  // images for hosts without JavaScript (sdk/image.ts, docs/image.md)
  | "E_IMAGE"               // an image file is malformed, or was built for another wasm binary
  // lifecycle
  | "E_DISPOSED";           // the Vae was used after dispose()

export class EdgeVaeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EdgeVaeError";
    this.code = code;
  }
}

/** The model file breaks the format (docs/FORMAT.md). */
export class FormatError extends EdgeVaeError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "FormatError";
  }
}

/** A call's arguments have the wrong type, length or range. */
export class ArgumentError extends EdgeVaeError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = "ArgumentError";
  }
}

/**
 * The host cannot run edgevae (no SIMD, wasm not found, memory exhausted), a computation
 * produced NaN from finite inputs (E_NONFINITE_RESULT), or an unexpected internal error
 * (E_INTERNAL, with the original error as `cause`).
 */
export class RuntimeError extends EdgeVaeError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "RuntimeError";
  }
}

/** The Vae was used after dispose(). */
export class DisposedError extends EdgeVaeError {
  constructor(what: string) {
    super("E_DISPOSED", `${what}: this Vae was disposed; load the model again to use it`);
    this.name = "DisposedError";
  }
}
