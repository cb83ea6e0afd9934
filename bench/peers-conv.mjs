// The conv benchmark's peers, each on the same weights (bench/conv-models.mjs), noise supplied:
//   encode(x, B) -> {mean, logvar}; decode(z, N) -> sigmoid(logits); logits(z, N) -> logits
//   (for the output check only); elbo(x, eps, B) -> {elbo, recon, kl}.
// Every op takes and returns flat Float32Arrays in PyTorch's item order (C, H, W); copying in and
// out is part of its time.
import { fileURLToPath } from "node:url";
import * as O from "./onnx.mjs";
import { ortSessions } from "./peers.mjs";

const nodeModules = fileURLToPath(new URL("../node_modules/", import.meta.url));

/** Which build of edgevae: dist/index.js, or the file EDGEVAE_DIST names (e.g. a build of another checkout). */
export const edgevaeDist = process.env.EDGEVAE_DIST ? new URL(`file://${process.env.EDGEVAE_DIST}`).href : new URL("../dist/index.js", import.meta.url).href;

export async function edgevaeConvPeer(model, options = {}) {
  const { Vae } = await import(edgevaeDist);
  const vae = await Vae.load(model.bytes, options);
  return {
    name: options.simd === "relaxed" ? "edgevae-relaxed" : "edgevae", vae,
    encode: (x) => vae.encode(x),
    decode: (z) => vae.decode(z),
    logits: (z) => vae.decodeParams(z),
    elbo: (x, eps) => vae.elbo(x, { eps }),
  };
}

/** onnxruntime-web, wasm EP, one thread, graph optimisation "all", hand-written ONNX graphs. */
export async function ortConvPeer(model) {
  const { ort, sessions: [enc, dec, decLogits, elbo] } = await ortSessions([
    O.convEncodeGraph(model), O.convDecodeGraph(model), O.convDecodeGraph(model, { logits: true }), O.convElboGraph(model),
  ]);
  const { D, J } = model;
  const T = (data, dims) => new ort.Tensor("float32", data, dims);
  return {
    name: "onnxruntime-web", version: ort.env.versions?.web ?? "",
    encode: async (x, B) => { const r = await enc.run({ x: T(x, [B, D]) }); return { mean: r.mean.data, logvar: r.logvar.data }; },
    decode: async (z, N) => (await dec.run({ z: T(z, [N, J]) })).mean.data,
    logits: async (z, N) => (await decLogits.run({ z: T(z, [N, J]) })).mean.data,
    elbo: async (x, eps, B) => { const r = await elbo.run({ x: T(x, [B, D]), eps: T(eps, [B, J]) }); return { elbo: r.elbo.data, recon: r.recon.data, kl: r.kl.data }; },
  };
}

/** onnxruntime-web timing one conv / conv_transpose layer alone (for the per-layer table). */
export async function ortLayerPeer(layer) {
  const { ort, sessions: [s] } = await ortSessions([O.convLayerGraph(layer)]);
  return { name: "onnxruntime-web", run: async (x, B) => (await s.run({ x: new ort.Tensor("float32", x, [B, ...layer.inShape]) })).y.data };
}

let tfReady = null;
async function loadTf() {
  tfReady ??= (async () => {
    const tf = await import("@tensorflow/tfjs-core");
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    wasm.setWasmPaths(nodeModules + "@tensorflow/tfjs-backend-wasm/dist/");
    wasm.setThreadsCount?.(1);
    await tf.setBackend("wasm");
    await tf.ready();
    return tf;
  })();
  return tfReady;
}

/**
 * TF.js with tfjs-backend-wasm (XNNPACK for conv2d and matMul; conv2dTranspose is the backend's
 * scalar Conv2DBackpropInput loop), NHWC as TF.js wants it. The PyTorch weights are converted
 * once at load: conv filters [Cout, Cin, k, k] -> [k, k, Cin, Cout]; conv_transpose filters
 * [Cin, Cout, k, k] -> [k, k, Cout, Cin] (TF's [h, w, outDepth, inDepth]: no flip, both are
 * cross-correlation adjoints); a linear layer after a flatten of [C, H, W] gets its input
 * features permuted to H, W, C order, and one before a reshape to [C, H, W] its output features,
 * so no activation is transposed inside the networks. Paddings are explicit, PyTorch's:
 * conv2d [[0,0],[top,bottom],[left,right],[0,0]]; conv_transpose2d passes the forward conv's
 * pads [[0,0],[p, p - output_padding],...] with the PyTorch output shape, which gives PyTorch's
 * output exactly (checked against the float64 reference). Activations are fused into conv2d and
 * matMul; after conv2dTranspose they are separate ops (TF.js has no fused transposed conv).
 */
export async function tfjsConvPeer(model) {
  const tf = await loadTf();
  const { D, J } = model;
  const buildNet = (layers) => {
    const ops = [];
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i], next = layers[i + 1];
      const act = next?.type === "relu" ? { activation: "relu" } : next?.type === "leaky" ? { activation: "leakyrelu", leakyreluAlpha: next.slope } : null;
      const at = i;
      if (act) i++;
      if (l.type === "conv2d") {
        const filter = tf.tidy(() => tf.transpose(tf.tensor4d(l.w, [l.cout, l.cin, l.k, l.k]), [2, 3, 1, 0]));
        const bias = tf.tensor1d(l.b), [t, le, b, r] = l.pad;
        const pad = t === le && t === b && t === r ? t : [[0, 0], [t, b], [le, r], [0, 0]];
        ops.push((h) => tf.fused.conv2d({ x: h, filter, bias, strides: l.stride, pad, ...(act ?? {}) }));
      } else if (l.type === "convT") {
        const filter = tf.tidy(() => tf.transpose(tf.tensor4d(l.w, [l.cin, l.cout, l.k, l.k]), [2, 3, 1, 0]));
        const bias = tf.tensor1d(l.b), [, Ho, Wo] = l.outShape;
        const pad = [[0, 0], [l.pad, l.pad - l.outPad], [l.pad, l.pad - l.outPad], [0, 0]];
        ops.push((h) => {
          const y = tf.add(tf.conv2dTranspose(h, filter, [h.shape[0], Ho, Wo, l.cout], l.stride, pad), bias);
          return act?.activation === "relu" ? tf.relu(y) : act ? tf.leakyRelu(y, act.leakyreluAlpha) : y;
        });
      } else if (l.type === "linear") {
        const prev = layers[at - 1], after = layers[i + 1];
        let w = tf.tensor2d(l.w, [l.outF, l.inF]), b = tf.tensor1d(l.b);
        const fromImage = prev?.type === "flatten" && prev.inShape.length === 3;
        const toImage = after?.type === "reshape" && after.shape.length === 3;
        const wt = tf.tidy(() => {
          let m = w;
          if (fromImage) { const [C, H, W] = prev.inShape; m = tf.reshape(tf.transpose(tf.reshape(m, [l.outF, C, H, W]), [0, 2, 3, 1]), [l.outF, l.inF]); }
          if (toImage) { const [C, H, W] = after.shape; m = tf.reshape(tf.transpose(tf.reshape(m, [C, H, W, l.inF]), [1, 2, 0, 3]), [l.outF, l.inF]); }
          return tf.transpose(m); // (in, out): the wasm backend's fused matMul with transposeB is wrong in 4.22 (bench/peers.mjs)
        });
        if (toImage) { // permuted in JS: a reshaped tensor keeps its source's shape in the wasm backend's data map, which fused matMul checks
          const [C, H, W] = after.shape, bb = new Float32Array(l.outF);
          for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) bb[p * C + c] = l.b[c * H * W + p];
          b.dispose(); b = tf.tensor1d(bb);
        }
        w.dispose();
        ops.push((h) => tf.fused.matMul({ a: h, b: wt, bias: b, ...(act ?? { activation: "linear" }) }));
      } else if (l.type === "flatten") {
        ops.push((h) => tf.reshape(h, [h.shape[0], -1]));
      } else if (l.type === "reshape") {
        const [C, H, W] = l.shape;
        ops.push((h) => tf.reshape(h, [h.shape[0], H, W, C]));
      } else if (l.type === "relu") ops.push((h) => tf.relu(h));
      else if (l.type === "leaky") ops.push((h) => tf.leakyRelu(h, l.slope));
      else throw new Error(`tfjs: unknown layer ${l.type}`);
    }
    return (x) => ops.reduce((h, op) => op(h), x);
  };
  const enc = buildNet(model.conv.encoder), dec = buildNet(model.conv.decoder);
  const [C, H, W] = model.inShape;
  // NCHW items in, NHWC inside (one channel: a reshape, no copy)
  const toNhwc = (x, B) => (C === 1 ? tf.tensor4d(x, [B, H, W, 1]) : tf.transpose(tf.tensor4d(x, [B, C, H, W]), [0, 2, 3, 1]));
  const toFlat = (y) => tf.reshape(C === 1 ? y : tf.transpose(y, [0, 3, 1, 2]), [y.shape[0], D]);
  const encoder = (xt) => tf.split(enc(xt), 2, 1);
  const latent = (z, N) => (model.latentShape.length > 1 ? tf.transpose(tf.tensor4d(z, [N, ...model.latentShape]), [0, 2, 3, 1]) : tf.tensor2d(z, [N, J]));
  const take = (t) => { const d = t.dataSync(); t.dispose(); return d; };
  return {
    name: "tfjs-wasm", version: tf.version_core, tf,
    encode: (x, B) => {
      const [m, lv] = tf.tidy(() => encoder(toNhwc(x, B)));
      return { mean: take(m), logvar: take(lv) };
    },
    decode: (z, N) => take(tf.tidy(() => tf.sigmoid(toFlat(dec(latent(z, N)))))),
    logits: (z, N) => take(tf.tidy(() => toFlat(dec(latent(z, N))))),
    elbo: (x, eps, B) => {
      const ts = tf.tidy(() => {
        const xt = toNhwc(x, B);
        const [m, lv] = encoder(xt);
        const z = tf.add(m, tf.mul(tf.exp(tf.mul(lv, 0.5)), tf.tensor2d(eps, [B, J])));
        const l = dec(z);
        const recon = tf.sum(tf.sub(tf.mul(xt, l), tf.softplus(l)), [1, 2, 3]);
        const kl = tf.mul(tf.sum(tf.sub(tf.add(tf.square(m), tf.exp(lv)), tf.add(lv, 1)), 1), 0.5);
        return [tf.sub(recon, kl), recon, kl];
      });
      return { elbo: take(ts[0]), recon: take(ts[1]), kl: take(ts[2]) };
    },
  };
}

/** TF.js timing one conv / conv_transpose layer alone, NHWC in and out (no layout change). */
export async function tfjsLayerPeer(layer) {
  const tf = await loadTf();
  const [Ci, H, W] = layer.inShape, [Co, Ho, Wo] = layer.outShape;
  let f;
  if (layer.type === "conv2d") {
    const filter = tf.tidy(() => tf.transpose(tf.tensor4d(layer.w, [Co, Ci, layer.k, layer.k]), [2, 3, 1, 0])), bias = tf.tensor1d(layer.b);
    const [t, l, b, r] = layer.pad;
    f = (x) => tf.fused.conv2d({ x, filter, bias, strides: layer.stride, pad: t === l && t === b && t === r ? t : [[0, 0], [t, b], [l, r], [0, 0]] });
  } else {
    const filter = tf.tidy(() => tf.transpose(tf.tensor4d(layer.w, [Ci, Co, layer.k, layer.k]), [2, 3, 1, 0])), bias = tf.tensor1d(layer.b);
    const pad = [[0, 0], [layer.pad, layer.pad - layer.outPad], [layer.pad, layer.pad - layer.outPad], [0, 0]];
    f = (x) => tf.add(tf.conv2dTranspose(x, filter, [x.shape[0], Ho, Wo, Co], layer.stride, pad), bias);
  }
  return {
    name: "tfjs-wasm",
    run: (x, B) => { const t = tf.tidy(() => f(tf.tensor4d(x, [B, H, W, Ci]))); const d = t.dataSync(); t.dispose(); return d; },
  };
}
