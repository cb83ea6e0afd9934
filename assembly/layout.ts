// Layout changes and element-wise glue of the graph engine: CHW <-> HWC transposes, nearest
// upsampling of NHWC images, and the residual add.

// @ts-ignore: decorator
@inline function transpose4x4(s: usize, sStride: usize, d: usize, dStride: usize): void {
  const a0 = v128.load(s), a1 = v128.load(s + sStride);
  const a2 = v128.load(s + 2 * sStride), a3 = v128.load(s + 3 * sStride);
  const t0 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
  v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(d + dStride, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(d + 2 * dStride, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(d + 3 * dStride, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}

// Per item: src (rows, cols) row-major -> dst (cols, rows) row-major; items back to back
// (rows*cols f32 each). CHW -> HWC is rows = C, cols = H*W; HWC -> CHW is rows = H*W, cols = C.
// 4x4 blocks with SIMD shuffles, scalar edges. src != dst.
export function f32_transpose_items(src: usize, items: i32, rows: i32, cols: i32, dst: usize): void {
  const itemBytes = <usize>rows * <usize>cols << 2;
  const sRow = <usize>cols << 2, dRow = <usize>rows << 2;
  const r4 = rows & ~3, c4 = cols & ~3;
  for (let b = 0; b < items; b++) {
    const s = src + <usize>b * itemBytes, d = dst + <usize>b * itemBytes;
    for (let r = 0; r < r4; r += 4) {
      const sr = s + <usize>r * sRow, dr = d + (<usize>r << 2);
      for (let c = 0; c < c4; c += 4) {
        transpose4x4(sr + (<usize>c << 2), sRow, dr + <usize>c * dRow, dRow);
      }
      for (let c = c4; c < cols; c++) {
        const sc = sr + (<usize>c << 2), dc = dr + <usize>c * dRow;
        store<f32>(dc, load<f32>(sc));
        store<f32>(dc, load<f32>(sc + sRow), 4);
        store<f32>(dc, load<f32>(sc + 2 * sRow), 8);
        store<f32>(dc, load<f32>(sc + 3 * sRow), 12);
      }
    }
    for (let r = r4; r < rows; r++) {
      const sr = s + <usize>r * sRow, dr = d + (<usize>r << 2);
      for (let c = 0; c < cols; c++) store<f32>(dr + <usize>c * dRow, load<f32>(sr + (<usize>c << 2)));
    }
  }
}

// Copies n f32 (vectors, then a scalar tail). Short runs: one pixel's channels.
// @ts-ignore: decorator
@inline function copyF32(d: usize, s: usize, n: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(d + (<usize>j << 2), v128.load(s + (<usize>j << 2)));
  for (; j < n; j++) store<f32>(d + (<usize>j << 2), load<f32>(s + (<usize>j << 2)));
}

// src items x (h, w, c) NHWC -> dst items x (h*fh, w*fw, c): dst[oy][ox] = src[oy/fh][ox/fw]
// (PyTorch nn.Upsample(mode="nearest") with integer factors). src != dst.
export function f32_upsample_nearest_nhwc(src: usize, items: i32, h: i32, w: i32, c: i32,
                                          fh: i32, fw: i32, dst: usize): void {
  const pixBytes = <usize>c << 2;
  const ow = w * fw;
  const outRowBytes = <usize>ow * pixBytes;
  for (let b = 0; b < items; b++) {
    for (let iy = 0; iy < h; iy++) {
      const sRow = src + (<usize>(b * h + iy) * <usize>w) * pixBytes;
      const dRow = dst + <usize>(b * h + iy) * <usize>fh * outRowBytes;
      let dq = dRow;
      for (let ix = 0; ix < w; ix++) {
        const sp = sRow + <usize>ix * pixBytes;
        if (c == 1) {
          const v = load<f32>(sp);
          for (let f = 0; f < fw; f++) { store<f32>(dq, v); dq += 4; }
        } else {
          for (let f = 0; f < fw; f++) { copyF32(dq, sp, c); dq += pixBytes; }
        }
      }
      for (let r = 1; r < fh; r++) memory.copy(dRow + <usize>r * outRowBytes, dRow, outRowBytes);
    }
  }
}

// dst (n) = a (n) + b (n); dst may alias a or b.
export function f32_add(a: usize, b: usize, n: i32, dst: usize): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const o = <usize>i << 2;
    const x0 = f32x4.add(v128.load(a + o), v128.load(b + o));
    const x1 = f32x4.add(v128.load(a + o, 16), v128.load(b + o, 16));
    const x2 = f32x4.add(v128.load(a + o, 32), v128.load(b + o, 32));
    const x3 = f32x4.add(v128.load(a + o, 48), v128.load(b + o, 48));
    v128.store(dst + o, x0); v128.store(dst + o, x1, 16);
    v128.store(dst + o, x2, 32); v128.store(dst + o, x3, 48);
  }
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(a + o) + load<f32>(b + o));
  }
}
