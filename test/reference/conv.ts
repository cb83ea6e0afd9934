// Float64 reference of the version 2 layers on shaped tensors, for tests only.
// Layout is PyTorch's: a batch of `items` items back to back, each item [C, H, W] channel-major
// (x[b][c][y][x] at ((b*C + c)*H + y)*W + x). A 1-D layer on [C, L] is the 2-D layer with
// H = 1 (and kh = 1, stride, dilation 1 and no padding on that axis).
// Plain loops that follow PyTorch's definitions literally; nothing here is shared with the SDK.

export interface Conv2dOptions {
  stride?: [number, number];                      // [sh, sw], default [1, 1]
  padding?: [number, number, number, number];     // [top, left, bottom, right], default 0
  dilation?: [number, number];                    // [dh, dw], default [1, 1]
  groups?: number;                                // default 1
}

export interface ConvTranspose2dOptions {
  stride?: [number, number];
  padding?: [number, number];                     // [ph, pw]
  outputPadding?: [number, number];               // [oh, ow]
  dilation?: [number, number];
  groups?: number;
}

export interface Image { data: Float64Array; c: number; h: number; w: number }

/**
 * nn.Conv2d: x items x [cin, h, w]; weight [cout, cin/g, kh, kw]; bias [cout] or null.
 * y[b][co][oy][ox] = bias[co] + sum_{c, ky, kx} w[co][c][ky][kx] * x[b][g*cin/g + c][iy][ix],
 * iy = oy*sh - top + ky*dh, ix = ox*sw - left + kx*dw (zero outside), g = co div (cout/g).
 */
export function conv2d(x: ArrayLike<number>, items: number, cin: number, h: number, w: number,
                       weight: ArrayLike<number>, bias: ArrayLike<number> | null,
                       cout: number, kh: number, kw: number, opts: Conv2dOptions = {}): Image {
  const [sh, sw] = opts.stride ?? [1, 1];
  const [top, left, bottom, right] = opts.padding ?? [0, 0, 0, 0];
  const [dh, dw] = opts.dilation ?? [1, 1];
  const groups = opts.groups ?? 1;
  const cinG = cin / groups, coutG = cout / groups;
  const oh = Math.floor((h + top + bottom - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + left + right - dw * (kw - 1) - 1) / sw) + 1;
  const y = new Float64Array(items * cout * oh * ow);
  for (let b = 0; b < items; b++) {
    for (let co = 0; co < cout; co++) {
      const g = Math.floor(co / coutG);
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          let s = bias ? bias[co]! : 0;
          for (let c = 0; c < cinG; c++) {
            const ci = g * cinG + c;
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * sh - top + ky * dh;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * sw - left + kx * dw;
                if (ix < 0 || ix >= w) continue;
                s += weight[((co * cinG + c) * kh + ky) * kw + kx]! * x[((b * cin + ci) * h + iy) * w + ix]!;
              }
            }
          }
          y[((b * cout + co) * oh + oy) * ow + ox] = s;
        }
      }
    }
  }
  return { data: y, c: cout, h: oh, w: ow };
}

/**
 * nn.ConvTranspose2d: x items x [cin, h, w]; weight [cin, cout/g, kh, kw]; bias [cout] or null.
 * Every input value scatters: y[b][g*(cout/g) + j][iy*sh - ph + ky*dh][ix*sw - pw + kx*dw]
 * += x[b][ci][iy][ix] * w[ci][j][ky][kx], with g = ci div (cin/g); positions outside are dropped.
 * Output oh = (h - 1)*sh - 2*ph + dh*(kh - 1) + outputPadding_h + 1, likewise ow.
 */
export function convTranspose2d(x: ArrayLike<number>, items: number, cin: number, h: number, w: number,
                                weight: ArrayLike<number>, bias: ArrayLike<number> | null,
                                cout: number, kh: number, kw: number,
                                opts: ConvTranspose2dOptions = {}): Image {
  const [sh, sw] = opts.stride ?? [1, 1];
  const [ph, pw] = opts.padding ?? [0, 0];
  const [oph, opw] = opts.outputPadding ?? [0, 0];
  const [dh, dw] = opts.dilation ?? [1, 1];
  const groups = opts.groups ?? 1;
  const cinG = cin / groups, coutG = cout / groups;
  const oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
  const ow = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
  const y = new Float64Array(items * cout * oh * ow);
  for (let b = 0; b < items; b++) {
    for (let co = 0; co < cout; co++) {
      const v = bias ? bias[co]! : 0;
      for (let i = 0; i < oh * ow; i++) y[(b * cout + co) * oh * ow + i] = v;
    }
    for (let ci = 0; ci < cin; ci++) {
      const g = Math.floor(ci / cinG);
      for (let iy = 0; iy < h; iy++) {
        for (let ix = 0; ix < w; ix++) {
          const xv = x[((b * cin + ci) * h + iy) * w + ix]!;
          for (let j = 0; j < coutG; j++) {
            const co = g * coutG + j;
            for (let ky = 0; ky < kh; ky++) {
              const oy = iy * sh - ph + ky * dh;
              if (oy < 0 || oy >= oh) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ox = ix * sw - pw + kx * dw;
                if (ox < 0 || ox >= ow) continue;
                y[((b * cout + co) * oh + oy) * ow + ox] += xv * weight[((ci * coutG + j) * kh + ky) * kw + kx]!;
              }
            }
          }
        }
      }
    }
  }
  return { data: y, c: cout, h: oh, w: ow };
}

/** nn.Conv1d on items x [cin, l]: conv2d with H = 1; padding [left, right]. weight [cout, cin/g, k]. */
export function conv1d(x: ArrayLike<number>, items: number, cin: number, l: number,
                       weight: ArrayLike<number>, bias: ArrayLike<number> | null, cout: number, k: number,
                       opts: { stride?: number; padding?: [number, number]; dilation?: number; groups?: number } = {}): Image {
  const [left, right] = opts.padding ?? [0, 0];
  return conv2d(x, items, cin, 1, l, weight, bias, cout, 1, k, {
    stride: [1, opts.stride ?? 1], padding: [0, left, 0, right], dilation: [1, opts.dilation ?? 1], groups: opts.groups ?? 1,
  });
}

/** nn.ConvTranspose1d on items x [cin, l]: convTranspose2d with H = 1. weight [cin, cout/g, k]. */
export function convTranspose1d(x: ArrayLike<number>, items: number, cin: number, l: number,
                                weight: ArrayLike<number>, bias: ArrayLike<number> | null, cout: number, k: number,
                                opts: { stride?: number; padding?: number; outputPadding?: number; dilation?: number; groups?: number } = {}): Image {
  return convTranspose2d(x, items, cin, 1, l, weight, bias, cout, 1, k, {
    stride: [1, opts.stride ?? 1], padding: [0, opts.padding ?? 0], outputPadding: [0, opts.outputPadding ?? 0],
    dilation: [1, opts.dilation ?? 1], groups: opts.groups ?? 1,
  });
}

/** nn.Upsample(mode="nearest"), integer factors: y[b][c][oy][ox] = x[b][c][oy div fh][ox div fw]. */
export function upsampleNearest2d(x: ArrayLike<number>, items: number, c: number, h: number, w: number,
                                  fh: number, fw: number): Image {
  const oh = h * fh, ow = w * fw;
  const y = new Float64Array(items * c * oh * ow);
  for (let b = 0; b < items; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          y[((b * c + ch) * oh + oy) * ow + ox] = x[((b * c + ch) * h + Math.floor(oy / fh)) * w + Math.floor(ox / fw)]!;
        }
      }
    }
  }
  return { data: y, c, h: oh, w: ow };
}

/**
 * nn.GroupNorm(groups, c): x items x [c, positions] (positions = H*W or L). Per item and group
 * of c/groups consecutive channels: mean and biased variance over the group's channels and
 * positions; y = (x - mean)/sqrt(var + eps) * gamma[ch] + beta[ch] (gamma 1, beta 0 when null).
 */
export function groupNorm(x: ArrayLike<number>, items: number, c: number, positions: number, groups: number,
                          gamma: ArrayLike<number> | null, beta: ArrayLike<number> | null, eps = 1e-5): Float64Array {
  const cg = c / groups;
  const y = new Float64Array(items * c * positions);
  for (let b = 0; b < items; b++) {
    for (let g = 0; g < groups; g++) {
      const start = (b * c + g * cg) * positions, count = cg * positions; // contiguous in CHW
      let sum = 0;
      for (let i = 0; i < count; i++) sum += x[start + i]!;
      const mean = sum / count;
      let ss = 0;
      for (let i = 0; i < count; i++) ss += (x[start + i]! - mean) ** 2;
      const rstd = 1 / Math.sqrt(ss / count + eps);
      for (let i = 0; i < count; i++) {
        const ch = g * cg + Math.floor(i / positions);
        y[start + i] = (x[start + i]! - mean) * rstd * (gamma ? gamma[ch]! : 1) + (beta ? beta[ch]! : 0);
      }
    }
  }
  return y;
}

/** nn.LayerNorm(n) on items x [n]: biased variance; gamma 1, beta 0 when null. */
export function layerNorm(x: ArrayLike<number>, items: number, n: number,
                          gamma: ArrayLike<number> | null, beta: ArrayLike<number> | null, eps = 1e-5): Float64Array {
  const y = new Float64Array(items * n);
  for (let b = 0; b < items; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += x[b * n + i]!;
    const mean = sum / n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (x[b * n + i]! - mean) ** 2;
    const rstd = 1 / Math.sqrt(ss / n + eps);
    for (let i = 0; i < n; i++) y[b * n + i] = (x[b * n + i]! - mean) * rstd * (gamma ? gamma[i]! : 1) + (beta ? beta[i]! : 0);
  }
  return y;
}

/**
 * Inference batch norm (BatchNorm1d/2d in eval()): x items x [c, positions] (positions 1 for a
 * vector [c]); y = (x - mean[ch]) / sqrt(var[ch] + eps) * gamma[ch] + beta[ch].
 */
export function batchNorm(x: ArrayLike<number>, items: number, c: number, positions: number,
                          mean: ArrayLike<number>, variance: ArrayLike<number>,
                          gamma: ArrayLike<number> | null, beta: ArrayLike<number> | null, eps = 1e-5): Float64Array {
  const y = new Float64Array(items * c * positions);
  for (let b = 0; b < items; b++) {
    for (let ch = 0; ch < c; ch++) {
      const scale = (gamma ? gamma[ch]! : 1) / Math.sqrt(variance[ch]! + eps);
      for (let i = 0; i < positions; i++) {
        const at = (b * c + ch) * positions + i;
        y[at] = (x[at]! - mean[ch]!) * scale + (beta ? beta[ch]! : 0);
      }
    }
  }
  return y;
}

/** The residual add: y = a + b element-wise. */
export function add(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const y = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i]! + b[i]!;
  return y;
}

/** [C, H, W] -> [H, W, C] per item (the SDK's internal layout), for comparing with kernels. */
export function chwToHwc(x: ArrayLike<number>, items: number, c: number, hw: number): Float64Array {
  const y = new Float64Array(items * c * hw);
  for (let b = 0; b < items; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < hw; p++) y[(b * hw + p) * c + ch] = x[(b * c + ch) * hw + p]!;
    }
  }
  return y;
}
