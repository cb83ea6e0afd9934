// Documented bounds on what a model file may ask for (docs/FORMAT.md, "Limits"). They keep
// an untrusted file from making the loader allocate or loop without bound; real VAEs are far
// inside them.
export const LIMITS = {
  /** Largest safetensors JSON header, in bytes (the safetensors reference also uses 100 MB). */
  maxHeaderBytes: 100_000_000,
  /** Largest __metadata__["edgevae"] string, in characters. */
  maxArchitectureChars: 1_000_000,
  /** Deepest nesting of JSON arrays/objects in the header or the architecture. */
  maxJsonDepth: 64,
  /** Most entries in __metadata__ (the architecture included). */
  maxMetadataEntries: 10_000,
  /** Most tensors in one file. */
  maxTensors: 100_000,
  /** Most dimensions in one tensor shape. */
  maxRank: 8,
  /** Most layers in the encoder or the decoder (activations and layers nested in residuals included). */
  maxLayers: 256,
  /** Widest layer, input or latent (values per item). */
  maxWidth: 1 << 20,
  /** Most values per item in any tensor of a network (an image [C, H, W] counts C*H*W): 64 MiB as f32. */
  maxValues: 1 << 24,
  /** Most (output pixel, kernel tap) pairs of one convolution: its indirection table is one i32 each. */
  maxConvTaps: 1 << 24,
  /** Deepest nesting of residual blocks (a residual inside a residual's body is depth 2). */
  maxNesting: 16,
  /** Most parameters (weights + biases) in one model: 1 GiB as f32. */
  maxParameters: 1 << 28,
  /** Most values in one call's result array (1 GiB of f32): bigger requests are refused, not attempted. */
  maxResultValues: 1 << 28,
} as const;
