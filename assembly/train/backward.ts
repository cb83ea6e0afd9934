// Backward passes for training (issue 3): linear layers, the activations of FORMAT.md, the
// three likelihoods, and the reparameterisation with the KL to the standard normal prior.
// The trainer keeps weights unpacked, W (N, K) row-major (PyTorch nn.Linear layout), and
// runs the forward pass with the inference kernels (gemm.ts over weights packed after every
// optimiser step), so a trained model reproduces bit for bit through the Vae inference path.
//
// Conventions: B = rows (items x samples), K = a layer's input width, N = its output width.
// Gradient buffers hold d loss / d value; `scale` folds the loss's sign and 1 / batch in.

import { madd, loadPartial, storePartial } from "../simd";
import { vexp, vsigmoid, vtanh, verfc } from "../vmath";
import {
  ACT_RELU, ACT_LEAKY_RELU, ACT_ELU, ACT_GELU, ACT_SILU, ACT_TANH, ACT_SIGMOID, ACT_SOFTPLUS,
} from "../activations";

// ---- linear layers -----------------------------------------------------------------------

// The shared micro-kernel of both linear backward passes, register block 4 rows x 8 columns:
//   out[i][c] (+)= sum_{j < inner} A(i, j) * V[j][c],   i < rows, c < cols,
// with A(i, j) at a + 4 (i sa_i + j sa_j) (scalars, broadcast) and V row j at v + 4 j cols
// (vectors), out row i at o + 4 i cols. The column tail (cols not a multiple of 8) goes
// through partial loads/stores, the row tail through a 1-row loop.
// @ts-ignore: decorator
@inline function tailLo(p: usize, left: i32): v128 { return loadPartial(p, left); }
// @ts-ignore: decorator
@inline function tailHi(p: usize, left: i32): v128 {
  return left > 4 ? loadPartial(p + 16, left - 4) : f32x4.splat(0);
}
// @ts-ignore: decorator
@inline function store8(p: usize, lo: v128, hi: v128, left: i32, acc: bool): void {
  if (left >= 8) {
    if (acc) { lo = f32x4.add(lo, v128.load(p)); hi = f32x4.add(hi, v128.load(p, 16)); }
    v128.store(p, lo); v128.store(p, hi, 16);
    return;
  }
  if (acc) { lo = f32x4.add(lo, tailLo(p, left)); hi = f32x4.add(hi, tailHi(p, left)); }
  storePartial(p, lo, left);
  if (left > 4) storePartial(p + 16, hi, left - 4);
}

function ab_accumulate(a: usize, saI: i32, saJ: i32, inner: i32, v: usize, rows: i32, cols: i32,
                       o: usize, acc: bool): void {
  const vRow = <usize>cols << 2;
  const aI = <usize>saI << 2, aJ = <usize>saJ << 2;
  let i = 0;
  for (; i + 4 <= rows; i += 4) {
    const ai = a + <usize>i * aI;
    for (let c = 0; c < cols; c += 8) {
      const left = cols - c;
      const vc = v + (<usize>c << 2);
      let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
      if (left >= 8) {
        for (let j = 0; j < inner; j++) {
          const vq = vc + <usize>j * vRow;
          const w0 = v128.load(vq), w1 = v128.load(vq, 16);
          const aq = ai + <usize>j * aJ;
          const s0 = v128.load_splat<f32>(aq), s1 = v128.load_splat<f32>(aq + aI);
          const s2 = v128.load_splat<f32>(aq + 2 * aI), s3 = v128.load_splat<f32>(aq + 3 * aI);
          a00 = madd(s0, w0, a00); a01 = madd(s0, w1, a01);
          a10 = madd(s1, w0, a10); a11 = madd(s1, w1, a11);
          a20 = madd(s2, w0, a20); a21 = madd(s2, w1, a21);
          a30 = madd(s3, w0, a30); a31 = madd(s3, w1, a31);
        }
      } else {
        for (let j = 0; j < inner; j++) {
          const vq = vc + <usize>j * vRow;
          const w0 = tailLo(vq, left), w1 = tailHi(vq, left);
          const aq = ai + <usize>j * aJ;
          const s0 = v128.load_splat<f32>(aq), s1 = v128.load_splat<f32>(aq + aI);
          const s2 = v128.load_splat<f32>(aq + 2 * aI), s3 = v128.load_splat<f32>(aq + 3 * aI);
          a00 = madd(s0, w0, a00); a01 = madd(s0, w1, a01);
          a10 = madd(s1, w0, a10); a11 = madd(s1, w1, a11);
          a20 = madd(s2, w0, a20); a21 = madd(s2, w1, a21);
          a30 = madd(s3, w0, a30); a31 = madd(s3, w1, a31);
        }
      }
      const oq = o + ((<usize>i * cols + c) << 2);
      store8(oq, a00, a01, left, acc);
      store8(oq + vRow, a10, a11, left, acc);
      store8(oq + 2 * vRow, a20, a21, left, acc);
      store8(oq + 3 * vRow, a30, a31, left, acc);
    }
  }
  for (; i < rows; i++) {
    const ai = a + <usize>i * aI;
    for (let c = 0; c < cols; c += 8) {
      const left = cols - c;
      const vc = v + (<usize>c << 2);
      let a0 = f32x4.splat(0), a1 = a0;
      for (let j = 0; j < inner; j++) {
        const vq = vc + <usize>j * vRow;
        const s = v128.load_splat<f32>(ai + <usize>j * aJ);
        a0 = madd(s, tailLo(vq, left), a0);
        a1 = madd(s, tailHi(vq, left), a1);
      }
      store8(o + ((<usize>i * cols + c) << 2), a0, a1, left, acc);
    }
  }
}

// dy (B, N); w (N, K) row-major -> dx (B, K) = dy W (overwritten).
export function f32_linear_backward_input(dy: usize, b: i32, n: i32, w: usize, k: i32, dx: usize): void {
  ab_accumulate(dy, n, 1, n, w, b, k, dx, false);
}

// dy (B, N); x (B, K) the layer's input -> dw (N, K) += dy^T x; db (N) += sum_b dy (db may be 0: no bias).
export function f32_linear_backward_params(dy: usize, b: i32, n: i32, x: usize, k: i32,
                                           dw: usize, db: usize): void {
  ab_accumulate(dy, 1, n, b, x, n, k, dw, true);
  if (db == 0) return;
  for (let r = 0; r < b; r++) {
    const row = dy + (<usize>(r * n) << 2);
    for (let c = 0; c < n; c += 4) {
      const q = db + (<usize>c << 2), left = n - c;
      storePartial(q, f32x4.add(loadPartial(q, left), loadPartial(row + (<usize>c << 2), left)), left);
    }
  }
}

// Element-wise copy with a conversion used by the trainer: dst (n) = src (n) (memory.copy).
export function f32_copy(src: usize, dst: usize, n: i32): void {
  memory.copy(dst, src, <usize>n << 2);
}

// ---- activations ----------------------------------------------------------------------------

const INV_SQRT_2PI: f32 = 0.3989422804014327;

// d act(u) / du times dy, on one vector. `param`: leaky_relu's slope or elu's alpha.
// relu and leaky_relu use the PyTorch convention at 0 (the negative side's slope).
// @ts-ignore: decorator
@inline function activationGrad(code: i32, u: v128, dy: v128, param: f32): v128 {
  const zero = f32x4.splat(0), one = f32x4.splat(1);
  switch (code) {
    case ACT_RELU: return v128.and(dy, f32x4.gt(u, zero));
    case ACT_LEAKY_RELU: return v128.bitselect(dy, f32x4.mul(dy, f32x4.splat(param)), f32x4.gt(u, zero));
    case ACT_ELU:
      return v128.bitselect(dy, f32x4.mul(dy, f32x4.mul(vexp(u), f32x4.splat(param))), f32x4.gt(u, zero));
    case ACT_GELU: { // Phi(u) + u phi(u)
      const cdf = f32x4.mul(verfc(f32x4.mul(u, f32x4.splat(-0.7071067811865476))), f32x4.splat(0.5));
      const pdf = f32x4.mul(vexp(f32x4.mul(f32x4.mul(u, u), f32x4.splat(-0.5))), f32x4.splat(INV_SQRT_2PI));
      return f32x4.mul(dy, madd(u, pdf, cdf));
    }
    case ACT_SILU: { // s (1 + u (1 - s))
      const s = vsigmoid(u);
      return f32x4.mul(dy, f32x4.mul(s, madd(u, f32x4.sub(one, s), one)));
    }
    case ACT_TANH: {
      const t = vtanh(u);
      return f32x4.mul(dy, f32x4.sub(one, f32x4.mul(t, t)));
    }
    case ACT_SIGMOID: {
      const s = vsigmoid(u);
      return f32x4.mul(dy, f32x4.mul(s, f32x4.sub(one, s)));
    }
    case ACT_SOFTPLUS: return f32x4.mul(dy, vsigmoid(u));
    default: return dy;
  }
}

// u (n) pre-activations; dy (n) -> dx (n) = dy * act'(u). dx may be dy (in place).
export function f32_activation_backward(code: i32, u: usize, dy: usize, dx: usize, n: i32, param: f32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, activationGrad(code, v128.load(u + o), v128.load(dy + o), param));
  }
  if (i < n) {
    const o = <usize>i << 2;
    storePartial(dx + o, activationGrad(code, loadPartial(u + o, n - i), loadPartial(dy + o, n - i), param), n - i);
  }
}

// ---- likelihoods ----------------------------------------------------------------------------
// x (items, D); params (items*S, P) (row b*S + s for item b, sample s) ->
// dparams (items*S, P) = scale * d log p(x_b | params_r) / d params_r.

// Bernoulli from logits: d/dl (x l - softplus(l)) = x - sigmoid(l).
export function f32_bernoulli_backward(x: usize, params: usize, items: i32, samples: i32, d: i32,
                                       scale: f32, dparams: usize): void {
  const row = <usize>d << 2, sc = f32x4.splat(scale);
  for (let b = 0; b < items; b++) {
    const xb = x + <usize>b * row;
    for (let s = 0; s < samples; s++) {
      const r = <usize>(b * samples + s) * row;
      for (let i = 0; i < d; i += 4) {
        const o = <usize>i << 2, n = d - i;
        const g = f32x4.sub(loadPartial(xb + o, n), vsigmoid(loadPartial(params + r + o, n)));
        storePartial(dparams + r + o, f32x4.mul(g, sc), n);
      }
    }
  }
}

// Gaussian, fixed sigma: d/dm = (x - m) / sigma^2.
export function f32_gaussian_backward(x: usize, params: usize, items: i32, samples: i32, d: i32,
                                      sigma: f32, scale: f32, dparams: usize): void {
  const row = <usize>d << 2, sc = f32x4.splat(<f32>(<f64>scale / (<f64>sigma * <f64>sigma)));
  for (let b = 0; b < items; b++) {
    const xb = x + <usize>b * row;
    for (let s = 0; s < samples; s++) {
      const r = <usize>(b * samples + s) * row;
      for (let i = 0; i < d; i += 4) {
        const o = <usize>i << 2, n = d - i;
        const g = f32x4.sub(loadPartial(xb + o, n), loadPartial(params + r + o, n));
        storePartial(dparams + r + o, f32x4.mul(g, sc), n);
      }
    }
  }
}

// Gaussian, learned variance, params row [mean (D) | logvar (D)]:
//   d/dm = (x - m) e^-lv;  d/dlv = 0.5 ((x - m)^2 e^-lv - 1).
export function f32_gaussian_learned_backward(x: usize, params: usize, items: i32, samples: i32, d: i32,
                                              scale: f32, dparams: usize): void {
  const row = <usize>d << 2, sc = f32x4.splat(scale), half = f32x4.splat(0.5 * scale);
  for (let b = 0; b < items; b++) {
    const xb = x + <usize>b * row;
    for (let s = 0; s < samples; s++) {
      const m = params + <usize>(2 * (b * samples + s)) * row, lv = m + row;
      const dm = dparams + <usize>(2 * (b * samples + s)) * row, dlv = dm + row;
      for (let i = 0; i < d; i += 4) {
        const o = <usize>i << 2, n = d - i;
        const diff = f32x4.sub(loadPartial(xb + o, n), loadPartial(m + o, n));
        const iv = vexp(f32x4.neg(loadPartial(lv + o, n)));
        const t = f32x4.mul(diff, iv);
        storePartial(dm + o, f32x4.mul(t, sc), n);
        storePartial(dlv + o, f32x4.mul(madd(t, diff, f32x4.splat(-1)), half), n);
      }
    }
  }
}

// ---- reparameterisation and KL ----------------------------------------------------------------
// h (items, 2J) = [mean | logvar]; eps, dz (items*S, J) with z = mean + exp(logvar / 2) eps;
// loss = (terms through z) + klScale * KL(q || N(0, I)). -> dh (items, 2J) (overwritten):
//   dmean   = sum_s dz + klScale * mean
//   dlogvar = 0.5 exp(logvar / 2) sum_s dz eps + klScale * 0.5 (exp(logvar) - 1)
export function f32_reparameterise_kl_backward(h: usize, items: i32, samples: i32, j: i32, eps: usize,
                                               dz: usize, klScale: f32, dh: usize): void {
  const hRow = <usize>(2 * j) << 2, zRow = <usize>j << 2;
  const ks = f32x4.splat(klScale), half = f32x4.splat(0.5);
  for (let b = 0; b < items; b++) {
    const mean = h + <usize>b * hRow, logvar = mean + zRow;
    const dmean = dh + <usize>b * hRow, dlogvar = dmean + zRow;
    for (let i = 0; i < j; i += 4) {
      const o = <usize>i << 2, n = j - i;
      let gm = f32x4.splat(0), ge = f32x4.splat(0);
      for (let s = 0; s < samples; s++) {
        const row = <usize>(b * samples + s) * zRow + o;
        const g = loadPartial(dz + row, n);
        gm = f32x4.add(gm, g);
        ge = madd(g, loadPartial(eps + row, n), ge);
      }
      const lv = loadPartial(logvar + o, n);
      const std = vexp(f32x4.mul(lv, half));
      storePartial(dmean + o, madd(ks, loadPartial(mean + o, n), gm), n);
      const klPart = f32x4.mul(f32x4.mul(ks, half), f32x4.sub(f32x4.mul(std, std), f32x4.splat(1)));
      storePartial(dlogvar + o, madd(f32x4.mul(std, half), ge, klPart), n);
    }
  }
}
