// Density of a mixture of diagonal Gaussians at many points, for the partition-function
// check of 2-D models: p(x) = integral p(x|z) p(z) dz ~= sum_c w_c N(x; mean_c, diag var_c)
// over a grid of latents z_c (w_c = p(z_c) * cell area).
//
// x (n, D) points; means, invvar (D, M) component-major columns (structure of arrays), M a
// multiple of 4 (pad with logc = -1e30); logc (M) = ln w_c - 0.5 sum_d (ln var_cd + ln 2 pi).
// out (n) f64 = sum_c exp(logc_c - 0.5 sum_d (x_d - mean_cd)^2 invvar_cd).

import { madd, hsum } from "../simd";
import { vexp } from "../vmath";

export function f64_gaussian_mixture_density(x: usize, n: i32, d: i32, means: usize, invvar: usize,
                                             logc: usize, m: i32, out: usize): void {
  const colBytes = <usize>m << 2;
  for (let i = 0; i < n; i++) {
    const xi = x + (<usize>(i * d) << 2);
    let total: f64 = 0;
    for (let c0 = 0; c0 < m; c0 += 256) { // blocks of 256 components: f32 sums, f64 between blocks
      const c1 = min(m, c0 + 256);
      let acc = f32x4.splat(0);
      for (let c = c0; c < c1; c += 4) {
        const o = <usize>c << 2;
        let e = v128.load(logc + o);
        for (let dd = 0; dd < d; dd++) {
          const col = <usize>dd * colBytes + o;
          const diff = f32x4.sub(v128.load_splat<f32>(xi + (<usize>dd << 2)), v128.load(means + col));
          e = madd(f32x4.mul(diff, diff), f32x4.mul(v128.load(invvar + col), f32x4.splat(-0.5)), e);
        }
        acc = f32x4.add(acc, vexp(e));
      }
      total += hsum(acc);
    }
    store<f64>(out + (<usize>i << 3), total);
  }
}
