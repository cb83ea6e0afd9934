// Element-wise activations, in place over a contiguous f32 buffer.
// Every kernel: p (n) f32, overwritten; n any count (the last 1..3 values go through a
// partial vector, so there is one code path per function).

import { loadPartial, storePartial } from "./simd";
import { vexp, vexpm1, vsoftplus, vsigmoid, vtanh, verfc } from "./vmath";

// Activation codes shared with sdk/kernels.ts ACT (keep in sync).
export const ACT_IDENTITY = 0;
export const ACT_RELU = 1;
export const ACT_LEAKY_RELU = 2;
export const ACT_ELU = 3;
export const ACT_GELU = 4;
export const ACT_SILU = 5;
export const ACT_TANH = 6;
export const ACT_SIGMOID = 7;
export const ACT_SOFTPLUS = 8;

// One activation on one vector. `param` is leaky_relu's negative_slope or elu's alpha.
// @ts-ignore: decorator
@inline export function activate(code: i32, v: v128, param: f32): v128 {
  switch (code) {
    case ACT_RELU: return f32x4.max(v, f32x4.splat(0));
    case ACT_LEAKY_RELU:
      return v128.bitselect(v, f32x4.mul(v, f32x4.splat(param)), f32x4.gt(v, f32x4.splat(0)));
    case ACT_ELU:
      return v128.bitselect(v, f32x4.mul(vexpm1(v), f32x4.splat(param)), f32x4.gt(v, f32x4.splat(0)));
    case ACT_GELU: // exact GELU: x Phi(x) = 0.5 x erfc(-x / sqrt 2)
      return f32x4.mul(f32x4.mul(v, f32x4.splat(0.5)),
                       verfc(f32x4.mul(v, f32x4.splat(-0.7071067811865476))));
    case ACT_SILU: return f32x4.mul(v, vsigmoid(v));
    case ACT_TANH: return vtanh(v);
    case ACT_SIGMOID: return vsigmoid(v);
    case ACT_SOFTPLUS: return vsoftplus(v);
    default: return v;
  }
}

// p (n) f32, in place: p[i] = act(p[i]).
export function f32_activation(code: i32, p: usize, n: i32, param: f32): void {
  if (code == ACT_IDENTITY) return;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const q = p + (<usize>i << 2);
    v128.store(q, activate(code, v128.load(q), param));
  }
  if (i < n) {
    const q = p + (<usize>i << 2);
    storePartial(q, activate(code, loadPartial(q, n - i), param), n - i);
  }
}

// Exposes vexp for the accuracy tests: p (n) f32, in place: p[i] = e^p[i].
export function f32_exp(p: usize, n: i32): void {
  let i = 0;
  for (; i < n; i += 4) {
    const q = p + (<usize>i << 2);
    storePartial(q, vexp(loadPartial(q, n - i)), n - i);
  }
}
