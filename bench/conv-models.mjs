// The conv benchmark's two models, with seeded weights, as edgevae model files (FORMAT.md
// version 2, F32) plus the same weights as plain Float32Arrays for the peers; a float64 JS
// reference forward pass; the exact multiply-add counts; and one-layer model files that time a
// single conv layer of edgevae through encode (conv2d) or decode (conv_transpose2d).
//
//   keras: the Keras "Variational AutoEncoder" example, latent 16, Bernoulli, on [1, 28, 28]:
//     conv2d(1->32, 3, s2, "same" = pads [top 0, left 0, bottom 1, right 1]) relu,
//     conv2d(32->64, 3, s2, same) relu, flatten, linear(3136->16) relu, linear(16->32)
//     / linear(16->3136) relu, reshape [64,7,7], conv_transpose2d(64->64, 3, s2, p1, op1) relu,
//     conv_transpose2d(64->32, 3, s2, p1, op1) relu, conv_transpose2d(32->1, 3, s1, p1) -> logits.
//   dcgan: 64x64 RGB, latent 128, Bernoulli: 4 conv2d(4, s2, p1) 3->32->64->128->256 with
//     LeakyReLU 0.2, flatten, linear(4096->256) / linear(128->4096) relu, reshape [256,4,4],
//     4 conv_transpose2d(4, s2, p1) 256->128->64->32->3 with ReLU between -> logits.
//
// Layer specs (one item, PyTorch semantics, NCHW):
//   {type: "conv2d", cin, cout, k, stride, pad: [top, left, bottom, right], w [cout,cin,k,k], b}
//   {type: "convT", cin, cout, k, stride, pad, outPad, w [cin,cout,k,k], b}
//   {type: "linear", inF, outF, w [outF,inF], b}
//   {type: "relu"} | {type: "leaky", slope} | {type: "flatten"} | {type: "reshape", shape}
// Every layer gets .inShape and .outShape once the model is built.
import { rng, safetensors } from "./model.mjs";

// ---- shapes and multiply-add counts ---------------------------------------------------------

/** Output size of a conv along one axis; `lo`/`hi` are the paddings before and after. */
const convOut = (n, k, s, lo, hi) => Math.floor((n + lo + hi - k) / s) + 1;
const convTOut = (n, k, s, p, op) => (n - 1) * s - 2 * p + k + op;

function outShape(l, s) {
  switch (l.type) {
    case "conv2d": return [l.cout, convOut(s[1], l.k, l.stride, l.pad[0], l.pad[2]), convOut(s[2], l.k, l.stride, l.pad[1], l.pad[3])];
    case "convT": return [l.cout, convTOut(s[1], l.k, l.stride, l.pad, l.outPad), convTOut(s[2], l.k, l.stride, l.pad, l.outPad)];
    case "linear": return [l.outF];
    case "flatten": return [s.reduce((a, b) => a * b, 1)];
    case "reshape": return l.shape;
    default: return s;
  }
}

/** Taps of a conv along one axis that read the input rather than zero padding, summed over outputs. */
function convTaps(n, k, s, lo, outN) {
  let t = 0;
  for (let o = 0; o < outN; o++) for (let j = 0; j < k; j++) { const i = o * s - lo + j; if (i >= 0 && i < n) t++; }
  return t;
}
/** Taps of a transposed conv along one axis that land on a kept (not cropped) output, summed over inputs. */
function convTTaps(n, k, s, p, outN) {
  let t = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) { const o = i * s - p + j; if (o >= 0 && o < outN) t++; }
  return t;
}

/**
 * Multiply-adds of one layer for one item, exactly: taps on zero padding (conv2d) and taps onto
 * cropped outputs (conv_transpose2d) are not counted.
 *   conv2d:           Cout * Cin * taps_h * taps_w, taps_h = sum over output rows of the kernel rows inside the input
 *   conv_transpose2d: Cin * Cout * taps_h * taps_w, taps_h = sum over input rows of the kernel rows landing inside the output
 *   linear:           in * out
 * nominal: the same without the padding correction (Cout*Cin*k*k*Ho*Wo, Cin*Cout*k*k*H*W).
 */
export function layerMacs(l) {
  const [, H, W] = l.inShape ?? [];
  const [, Ho, Wo] = l.outShape ?? [];
  if (l.type === "conv2d") {
    return { exact: l.cout * l.cin * convTaps(H, l.k, l.stride, l.pad[0], Ho) * convTaps(W, l.k, l.stride, l.pad[1], Wo), nominal: l.cout * l.cin * l.k * l.k * Ho * Wo };
  }
  if (l.type === "convT") {
    return { exact: l.cin * l.cout * convTTaps(H, l.k, l.stride, l.pad, Ho) * convTTaps(W, l.k, l.stride, l.pad, Wo), nominal: l.cin * l.cout * l.k * l.k * H * W };
  }
  if (l.type === "linear") return { exact: l.inF * l.outF, nominal: l.inF * l.outF };
  return { exact: 0, nominal: 0 };
}

export const netMacs = (layers, kind = "exact") => layers.reduce((n, l) => n + layerMacs(l)[kind], 0);

// ---- building models ---------------------------------------------------------------------------

/**
 * Seeded weights: PyTorch's default init draws uniform(+-1/sqrt(fan_in)); here the bound is
 * Kaiming's sqrt(6 / fan_in) * gain (gain 1 before a ReLU, smaller for the last layer of each
 * network) so activations keep an O(1) scale through ten layers instead of shrinking ~2.5x per
 * layer. fan_in of a transposed conv is the taps feeding one output: Cin * k * k / stride^2.
 */
function fillWeights(layers, u, lastGain) {
  const weighted = layers.filter((l) => l.w === undefined && (l.type === "conv2d" || l.type === "convT" || l.type === "linear"));
  weighted.forEach((l, i) => {
    let n, fanIn, nb;
    if (l.type === "conv2d") { n = l.cout * l.cin * l.k * l.k; fanIn = l.cin * l.k * l.k; nb = l.cout; }
    else if (l.type === "convT") { n = l.cin * l.cout * l.k * l.k; fanIn = (l.cin * l.k * l.k) / (l.stride * l.stride); nb = l.cout; }
    else { n = l.outF * l.inF; fanIn = l.inF; nb = l.outF; }
    const gain = i === weighted.length - 1 ? lastGain : 1;
    const bound = Math.sqrt(6 / fanIn) * gain, bbound = 1 / Math.sqrt(fanIn);
    l.w = new Float32Array(n); l.b = new Float32Array(nb);
    for (let j = 0; j < n; j++) l.w[j] = (2 * u() - 1) * bound;
    for (let j = 0; j < nb; j++) l.b[j] = (2 * u() - 1) * bbound * 0.1;
  });
}

function inferShapes(layers, shape) {
  for (const l of layers) { l.inShape = shape; shape = outShape(l, shape); l.outShape = shape; }
  return shape;
}

function archLayers(prefix, layers, tensors) {
  const out = [];
  layers.forEach((l, i) => {
    const w = `${prefix}.${i}.weight`, b = `${prefix}.${i}.bias`;
    switch (l.type) {
      case "conv2d":
        tensors.push([w, [l.cout, l.cin, l.k, l.k], l.w], [b, [l.cout], l.b]);
        out.push({ type: "conv2d", weight: w, bias: b, stride: [l.stride, l.stride], padding: l.pad });
        break;
      case "convT":
        tensors.push([w, [l.cin, l.cout, l.k, l.k], l.w], [b, [l.cout], l.b]);
        out.push({ type: "conv_transpose2d", weight: w, bias: b, stride: [l.stride, l.stride], padding: [l.pad, l.pad], output_padding: [l.outPad, l.outPad] });
        break;
      case "linear":
        tensors.push([w, [l.outF, l.inF], l.w], [b, [l.outF], l.b]);
        out.push({ type: "linear", weight: w, bias: b });
        break;
      case "relu": out.push({ type: "relu" }); break;
      case "leaky": out.push({ type: "leaky_relu", negative_slope: l.slope }); break;
      case "flatten": out.push({ type: "flatten" }); break;
      case "reshape": out.push({ type: "reshape", shape: l.shape }); break;
      default: throw new Error(`unknown layer ${l.type}`);
    }
  });
  return out;
}

/** Builds a model from layer specs: shapes, weights (unless given), the edgevae v2 file. */
export function buildModel({ name, inShape, latentShape, encoder, decoder, seed = 1, lastGain = 0.5 }) {
  const u = rng(seed);
  const J = latentShape.reduce((a, b) => a * b, 1), D = inShape.reduce((a, b) => a * b, 1);
  const encOut = inferShapes(encoder, inShape), decOut = inferShapes(decoder, latentShape);
  const want = [2 * latentShape[0], ...latentShape.slice(1)];
  if (encOut.join() !== want.join()) throw new Error(`${name}: encoder ends in [${encOut}], not [${want}]`);
  if (decOut.join() !== inShape.join() && decOut.join() !== String(D)) throw new Error(`${name}: decoder ends in [${decOut}], not [${inShape}]`);
  fillWeights(encoder, u, lastGain);
  fillWeights(decoder, u, lastGain);
  const tensors = [];
  const arch = {
    version: 2, input_shape: inShape, latent_dim: J,
    ...(latentShape.length > 1 ? { latent_shape: latentShape } : {}),
    encoder: archLayers("enc", encoder, tensors), decoder: archLayers("dec", decoder, tensors),
    likelihood: { type: "bernoulli" }, prior: { type: "standard_normal" },
  };
  const bytes = safetensors(tensors, { edgevae: JSON.stringify(arch), source: `edgevae conv bench ${name} (seeded random weights)` });
  return { name, inShape, latentShape, D, J, conv: { encoder, decoder }, arch, bytes };
}

const conv = (cin, cout, k, stride, pad) => ({ type: "conv2d", cin, cout, k, stride, pad: typeof pad === "number" ? [pad, pad, pad, pad] : pad });
const convT = (cin, cout, k, stride, pad, outPad = 0) => ({ type: "convT", cin, cout, k, stride, pad, outPad });
const linear = (inF, outF) => ({ type: "linear", inF, outF });
const relu = () => ({ type: "relu" });

/** The Keras "Variational AutoEncoder" example's architecture (PyTorch alignment of its "same" pads). */
export function kerasModel(seed = 21) {
  const same = [0, 0, 1, 1];
  return buildModel({
    name: "keras", seed, inShape: [1, 28, 28], latentShape: [16], lastGain: 1,
    encoder: [conv(1, 32, 3, 2, same), relu(), conv(32, 64, 3, 2, same), relu(), { type: "flatten" }, linear(3136, 16), relu(), linear(16, 32)],
    decoder: [linear(16, 3136), relu(), { type: "reshape", shape: [64, 7, 7] },
      convT(64, 64, 3, 2, 1, 1), relu(), convT(64, 32, 3, 2, 1, 1), relu(), convT(32, 1, 3, 1, 1, 0)],
  });
}

/** A DCGAN-style 64x64 RGB conv VAE, latent 128. */
export function dcganModel(seed = 22, J = 128) {
  const leaky = () => ({ type: "leaky", slope: 0.2 });
  return buildModel({
    name: "dcgan", seed, inShape: [3, 64, 64], latentShape: [J],
    encoder: [conv(3, 32, 4, 2, 1), leaky(), conv(32, 64, 4, 2, 1), leaky(), conv(64, 128, 4, 2, 1), leaky(),
      conv(128, 256, 4, 2, 1), leaky(), { type: "flatten" }, linear(4096, 2 * J)],
    decoder: [linear(J, 4096), relu(), { type: "reshape", shape: [256, 4, 4] },
      convT(256, 128, 4, 2, 1), relu(), convT(128, 64, 4, 2, 1), relu(), convT(64, 32, 4, 2, 1), relu(), convT(32, 3, 4, 2, 1)],
  });
}

/**
 * A model file whose encoder (conv2d) or decoder (conv_transpose2d) is exactly one layer `l`
 * (a copy of a bench model's layer, same weights), so `encode` / `decode` times that layer
 * alone (plus copying one input in and the output out). The other network is one cheap layer
 * with kernel = stride = the size ratio, mapping back to the right shape.
 * Returns null when the layer's shapes do not allow it (odd channel counts, non-integer ratios).
 */
export function oneLayerModel(l, seed = 99) {
  const copy = (x) => ({ ...x, inShape: undefined, outShape: undefined });
  if (l.type === "conv2d") {
    const [, H, W] = l.inShape, [Co, Ho, Wo] = l.outShape;
    if (Co % 2 || H % Ho || W % Wo || H / Ho !== W / Wo) return null;
    const s = H / Ho;
    return buildModel({ name: "one-layer", seed, inShape: l.inShape, latentShape: [Co / 2, Ho, Wo],
      encoder: [copy(l)], decoder: [convT(Co / 2, l.cin, s, s, 0)] });
  }
  if (l.type === "convT") {
    const [Ci, H, W] = l.inShape, [Co, Ho, Wo] = l.outShape;
    if (Ho % H || Wo % W || Ho / H !== Wo / W) return null;
    const s = Ho / H;
    return buildModel({ name: "one-layer", seed, inShape: l.outShape, latentShape: l.inShape,
      encoder: [conv(Co, 2 * Ci, s, s, 0)], decoder: [copy(l)] });
  }
  return null;
}

// ---- inputs ------------------------------------------------------------------------------------

/** Inputs in [0, 1]: MNIST-like (mostly zeros) for one channel, uniform pixels for RGB. */
export function convInputs(model, n, seed) {
  const u = rng(seed), x = new Float32Array(n * model.D);
  const sparse = model.inShape[0] === 1;
  for (let i = 0; i < x.length; i++) { const v = u(); x[i] = sparse ? (v < 0.8 ? 0 : v) : v; }
  return x;
}

// ---- float64 reference -------------------------------------------------------------------------

/** One layer on one item, float64, direct loops (PyTorch semantics). */
function refLayer(l, x) {
  switch (l.type) {
    case "conv2d": {
      const [Ci, H, W] = l.inShape, [Co, Ho, Wo] = l.outShape, k = l.k, s = l.stride, [pt, pl] = l.pad;
      const y = new Float64Array(Co * Ho * Wo);
      for (let co = 0; co < Co; co++) for (let oh = 0; oh < Ho; oh++) for (let ow = 0; ow < Wo; ow++) {
        let acc = l.b[co];
        for (let ci = 0; ci < Ci; ci++) for (let i = 0; i < k; i++) {
          const ih = oh * s - pt + i; if (ih < 0 || ih >= H) continue;
          for (let j = 0; j < k; j++) {
            const iw = ow * s - pl + j; if (iw < 0 || iw >= W) continue;
            acc += x[(ci * H + ih) * W + iw] * l.w[((co * Ci + ci) * k + i) * k + j];
          }
        }
        y[(co * Ho + oh) * Wo + ow] = acc;
      }
      return y;
    }
    case "convT": {
      const [Ci, H, W] = l.inShape, [Co, Ho, Wo] = l.outShape, k = l.k, s = l.stride, p = l.pad;
      const y = new Float64Array(Co * Ho * Wo);
      for (let co = 0; co < Co; co++) y.fill(l.b[co], co * Ho * Wo, (co + 1) * Ho * Wo);
      for (let ci = 0; ci < Ci; ci++) for (let ih = 0; ih < H; ih++) for (let iw = 0; iw < W; iw++) {
        const v = x[(ci * H + ih) * W + iw];
        for (let co = 0; co < Co; co++) for (let i = 0; i < k; i++) {
          const oh = ih * s - p + i; if (oh < 0 || oh >= Ho) continue;
          for (let j = 0; j < k; j++) {
            const ow = iw * s - p + j; if (ow < 0 || ow >= Wo) continue;
            y[(co * Ho + oh) * Wo + ow] += v * l.w[((ci * Co + co) * k + i) * k + j];
          }
        }
      }
      return y;
    }
    case "linear": {
      const y = new Float64Array(l.outF);
      for (let o = 0; o < l.outF; o++) { let a = l.b[o]; for (let i = 0; i < l.inF; i++) a += x[i] * l.w[o * l.inF + i]; y[o] = a; }
      return y;
    }
    case "relu": return x.map((v) => (v > 0 ? v : 0));
    case "leaky": return x.map((v) => (v > 0 ? v : v * l.slope));
    default: return x; // flatten, reshape: the flat item is unchanged
  }
}

const refNet = (layers, x) => layers.reduce((h, l) => refLayer(l, h), Float64Array.from(x));
const softplus = (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));

/** The float64 reference peer (not timed): same interface as the other peers. */
export function referencePeer(model) {
  const { D, J } = model;
  const encode = (x, B) => {
    const mean = new Float64Array(B * J), logvar = new Float64Array(B * J);
    for (let b = 0; b < B; b++) {
      const h = refNet(model.conv.encoder, x.subarray(b * D, (b + 1) * D));
      mean.set(h.subarray(0, J), b * J); logvar.set(h.subarray(J, 2 * J), b * J);
    }
    return { mean, logvar };
  };
  const logits = (z, N) => {
    const out = new Float64Array(N * D);
    for (let n = 0; n < N; n++) out.set(refNet(model.conv.decoder, z.subarray(n * J, (n + 1) * J)), n * D);
    return out;
  };
  return {
    name: "float64-js",
    encode,
    logits,
    decode: (z, N) => logits(z, N).map((v) => 1 / (1 + Math.exp(-v))),
    elbo: (x, eps, B) => {
      const { mean, logvar } = encode(x, B);
      const z = mean.map((m, i) => m + Math.exp(0.5 * logvar[i]) * eps[i]);
      const l = logits(z, B);
      const elbo = new Float64Array(B), recon = new Float64Array(B), kl = new Float64Array(B);
      for (let b = 0; b < B; b++) {
        let r = 0, k = 0;
        for (let i = 0; i < D; i++) { const v = l[b * D + i]; r += x[b * D + i] * v - softplus(v); }
        for (let j = 0; j < J; j++) { const m = mean[b * J + j], lv = logvar[b * J + j]; k += m * m + Math.exp(lv) - 1 - lv; }
        recon[b] = r; kl[b] = 0.5 * k; elbo[b] = r - kl[b];
      }
      return { elbo, recon, kl };
    },
  };
}
