// The wasm module's exports, typed. One name on both sides: these are assembly/index.ts's
// exports. Pointers are byte offsets into the instance's memory.

export interface Kernels {
  readonly memory: WebAssembly.Memory;
  abi_version(): number;
  heap_base(): number;
  relaxed_simd(): number;
  f32_pack_weights_nr8(src: number, dst: number, n: number, k: number): void;
  f32_gemm_bias_act(x: number, m: number, k: number, w: number, bias: number, n: number, y: number, act: number, slope: number): void;
  f32_activation(code: number, p: number, n: number, param: number): void;
  f32_exp(p: number, n: number): void;
  f32_reparameterise(h: number, items: number, samples: number, j: number, eps: number, z: number): void;
  f32_kl_std_normal(h: number, items: number, j: number, out: number): void;
  f32_add_log_prior_minus_log_q(h: number, items: number, samples: number, j: number, z: number, eps: number, w: number): void;
  f64_logsumexp_update(w: number, items: number, samples: number, runMax: number, runSum: number): void;
  f64_logsumexp_finish(runMax: number, runSum: number, items: number, count: number, out: number): void;
  f64_sum_samples(w: number, items: number, samples: number, acc: number): void;
  f32_elbo_finish(acc: number, items: number, samples: number, kl: number, beta: number, recon: number, elbo: number): void;
  f64_fill(p: number, n: number, value: number): void;
  f32_lerp_rows(za: number, zb: number, j: number, first: number, count: number, total: number, z: number): void;
  f32_split_halves(src: number, rows: number, half: number, first: number, second: number): void;
  f32_bernoulli_logprob(x: number, params: number, items: number, samples: number, d: number, out: number): void;
  f32_gaussian_logprob(x: number, params: number, items: number, samples: number, d: number, sigma: number, out: number): void;
  f32_gaussian_learned_logprob(x: number, params: number, items: number, samples: number, d: number, out: number): void;
  philox4x32_10(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: number): void;
  rng_normal_fill(dst: number, count: number, seedLo: number, seedHi: number, start: number, scratch: number): void;
  f16_to_f32(src: number, dst: number, n: number): void;
  /** src (n) bfloat16 bits -> dst (n) f32, exact. */
  bf16_to_f32(src: number, dst: number, n: number): void;
  /** src (n) i8 -> dst (n) f32, exact. */
  i8_to_f32(src: number, dst: number, n: number): void;
  /** src (n) f32 integers in [-128, 127] -> dst (n) i8. */
  f32_to_i8(src: number, dst: number, n: number): void;
  /** q (N, K) row-major i8 -> packed (ceil(N/8), K, 8) i8, zero padded (assembly/int8.ts). */
  i8_pack_weights_nr8(src: number, dst: number, n: number, k: number): void;
  /** y (m, n) = act((x (m, k) . q^T) * scale + bias): w packed i8 (ceil(n/8), k, 8); scale, bias (ceil(n/8)*8); buf k*8 f32 scratch. */
  i8_gemm_bias_act(x: number, m: number, k: number, w: number, scale: number, bias: number, n: number, y: number, act: number, slope: number, buf: number): void;
  /** q (N, K) row-major i8 -> pairs (ceil(N/4), ceil(K/2), 4, 2) i8 for the int16-activation kernel. */
  i8_pack_weights_pairs4(src: number, dst: number, n: number, k: number): void;
  /** Opt-in int16 activations: y (m, n) = act(f32(xq . q) * sx * scale + bias); w pairs; scale, bias (ceil(n/4)*4); xq ceil(k/2)*2 i16 scratch. */
  i8_gemm_qx_bias_act(x: number, m: number, k: number, w: number, scale: number, bias: number, n: number, y: number, act: number, slope: number, xq: number): void;
  /** dst (groups, rows, width) f32 = q * scale: scale[g][c] per column, or scale[g] when broadcast = 1. */
  i8_dequantize(src: number, scale: number, dst: number, groups: number, rows: number, width: number, broadcast: number): void;
  f32_count_nonfinite(p: number, n: number): number;
  f32_count_nan(p: number, n: number): number;
  /** dst (n) = src (n) f32, memory.copy: the ranges may overlap (assembly/train/backward.ts). */
  f32_copy(src: number, dst: number, n: number): void;
  // The convolution engine (assembly/conv.ts, layout.ts, norm.ts; planned by sdk/conv.ts).
  /** One conv group, NHWC: ind (pixels, taps) i32 byte offsets or -1 (-> zero); w packed (ceil(cout/8), taps*cin, 8), K = t*cin + c; bias (ceil(cout/8)*8); output pixel p at y + b*yItemBytes + outPix[p]. */
  f32_conv_igemm_4x8(items: number, pixels: number, taps: number, cin: number, x: number, xItemBytes: number, ind: number, zero: number, w: number, bias: number, cout: number, y: number, yItemBytes: number, outPix: number, act: number, slope: number): void;
  /** One conv group with few output channels, vectorised over input channels: as f32_conv_igemm_4x8 but w (cout, taps, ceil(cin/4)*4) row-major, bias (cout), zero >= ceil(cin/4)*4. */
  f32_conv_dot_4x1(items: number, pixels: number, taps: number, cin: number, x: number, xItemBytes: number, ind: number, zero: number, w: number, bias: number, cout: number, y: number, yItemBytes: number, outPix: number, act: number, slope: number): void;
  /** Depthwise conv, NHWC: as f32_conv_igemm_4x8 with c channels; w (taps, ceil(c/4)*4) row-major; bias and zero (ceil(c/4)*4). */
  f32_dwconv(items: number, pixels: number, taps: number, c: number, x: number, xItemBytes: number, ind: number, zero: number, w: number, bias: number, y: number, yItemBytes: number, outPix: number, act: number, slope: number): void;
  /** Indirection table of one pass: grid pixel (qy, qx), tap t reads input (qy*ay + ty[t], qx*ax + tx[t]); ind (qh*qw, taps) byte offsets (iy*inW + ix)*pixBytes or -1. */
  i32_conv_indirection(qh: number, qw: number, taps: number, ty: number, tx: number, ay: number, ax: number, inH: number, inW: number, pixBytes: number, ind: number): void;
  /** Output offsets of one pass: dst[qy*qw + qx] = ((oy0 + qy*sy)*outW + ox0 + qx*sx)*pixBytes. */
  i32_conv_output_offsets(qh: number, qw: number, oy0: number, ox0: number, sy: number, sx: number, outW: number, pixBytes: number, dst: number): void;
  /** Per item (rows, cols) row-major -> (cols, rows); src != dst. */
  f32_transpose_items(src: number, items: number, rows: number, cols: number, dst: number): void;
  /** NHWC nearest upsample by integer factors: items x (h, w, c) -> items x (h*fh, w*fw, c); src != dst. */
  f32_upsample_nearest_nhwc(src: number, items: number, h: number, w: number, c: number, fh: number, fw: number, dst: number): void;
  /** dst[p*c + j] = src[p*c + j]*scale[j] + shift[j]; in place allowed. */
  f32_channel_affine(src: number, pixels: number, c: number, scale: number, shift: number, dst: number): void;
  /** Per item (pixels, c) NHWC, groups of c/groups channels (PyTorch GroupNorm); in place allowed. */
  f32_group_norm_nhwc(src: number, items: number, pixels: number, c: number, groups: number, eps: number, gamma: number, beta: number, dst: number): void;
  /** Per item over n values (PyTorch LayerNorm(n)); in place allowed. */
  f32_layer_norm(src: number, items: number, n: number, eps: number, gamma: number, beta: number, dst: number): void;
  /** dst = a + b over n f32; dst may alias a or b. */
  f32_add(a: number, b: number, n: number, dst: number): void;
}

/** The ABI version this SDK speaks (assembly/index.ts ABI_VERSION). */
export const ABI_VERSION = 2;

/** Activation codes (assembly/activations.ts). */
export const ACT = {
  identity: 0, relu: 1, leaky_relu: 2, elu: 3, gelu: 4, silu: 5, tanh: 6, sigmoid: 7, softplus: 8,
} as const;

/** The training kernels (assembly/train/*.ts). Present in every build of the same ABI. */
export interface TrainKernels extends Kernels {
  f32_linear_backward_input(dy: number, b: number, n: number, w: number, k: number, dx: number): void;
  f32_linear_backward_params(dy: number, b: number, n: number, x: number, k: number, dw: number, db: number): void;
  f32_copy(src: number, dst: number, n: number): void;
  f32_activation_backward(code: number, u: number, dy: number, dx: number, n: number, param: number): void;
  f32_bernoulli_backward(x: number, params: number, items: number, samples: number, d: number, scale: number, dparams: number): void;
  f32_gaussian_backward(x: number, params: number, items: number, samples: number, d: number, sigma: number, scale: number, dparams: number): void;
  f32_gaussian_learned_backward(x: number, params: number, items: number, samples: number, d: number, scale: number, dparams: number): void;
  f32_reparameterise_kl_backward(h: number, items: number, samples: number, j: number, eps: number, dz: number, klScale: number, dh: number): void;
  f32_adam_step(p: number, g: number, m: number, v: number, n: number, lr: number, b1: number, b2: number, eps: number, bc1: number, bc2: number): void;
  f32_sum_squares(p: number, n: number): number;
  f32_scale(p: number, n: number, s: number): void;
  f64_gaussian_mixture_density(x: number, n: number, d: number, means: number, invvar: number, logc: number, m: number, out: number): void;
}
