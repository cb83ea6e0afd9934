// The wasm ABI of edgevae: exports only. Every export takes byte offsets into this module's
// memory (usize), element counts (i32) and scalars; no strings or arrays cross the boundary.
// The module imports nothing. The SDK (sdk/kernels.ts mirrors this list) owns the memory plan:
// it grows the memory from JS and places every buffer past heap_base().

// Bumped whenever an export's meaning or signature changes; the SDK checks it.
const ABI_VERSION: i32 = 2;
export function abi_version(): i32 { return ABI_VERSION; }

// First free byte after the module's static data; the SDK's arena starts here.
export function heap_base(): usize { return __heap_base; }

// 1 when built with relaxed SIMD (fused multiply-add may change low bits), else 0.
export function relaxed_simd(): i32 { return ASC_FEATURE_RELAXED_SIMD ? 1 : 0; }

export { f32_pack_weights_nr8, f32_gemm_bias_act } from "./gemm";
export { f32_activation, f32_exp } from "./activations";
export {
  f32_reparameterise, f32_kl_std_normal, f32_add_log_prior_minus_log_q,
  f64_logsumexp_update, f64_logsumexp_finish, f64_sum_samples, f32_elbo_finish,
  f64_fill, f32_lerp_rows, f32_split_halves,
} from "./gaussian";
export { f32_bernoulli_logprob, f32_gaussian_logprob, f32_gaussian_learned_logprob } from "./likelihoods";
export { philox4x32_10, rng_normal_fill } from "./rng";
export { f16_to_f32, f32_count_nonfinite, f32_count_nan } from "./convert";
// Int8 weights (format version 2): packing, the int8 GEMM, per-call dequantisation, BF16.
export {
  i8_pack_weights_nr8, i8_gemm_bias_act, i8_dequantize, f32_to_i8, i8_to_f32, bf16_to_f32,
  i8_pack_weights_pairs4, i8_gemm_qx_bias_act,
} from "./int8";
// Training (issue 3): backward passes, Adam, and the mixture density of the 2-D density check.
export {
  f32_linear_backward_input, f32_linear_backward_params, f32_copy, f32_activation_backward,
  f32_bernoulli_backward, f32_gaussian_backward, f32_gaussian_learned_backward,
  f32_reparameterise_kl_backward,
} from "./train/backward";
export { f32_adam_step, f32_sum_squares, f32_scale } from "./train/adam";
export { f64_gaussian_mixture_density } from "./train/density";
// A known-answer self-test for hosts without JavaScript (wasm-interp): 0 means every check passed.
export { self_check } from "./selfcheck";
// The convolution engine (version 2 files): NHWC indirect-GEMM convolutions, layout changes,
// normalisation.
export {
  f32_conv_igemm_4x8, f32_dwconv, f32_conv_dot_4x1, i32_conv_indirection, i32_conv_output_offsets,
} from "./conv";
export { f32_transpose_items, f32_upsample_nearest_nhwc, f32_add } from "./layout";
export { f32_channel_affine, f32_group_norm_nhwc, f32_layer_norm } from "./norm";
