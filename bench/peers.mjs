// The peers, each exposing the same four ops on the same weights, with noise supplied:
//   encode(x, B) -> {mean, logvar}; decode(z, N) -> mean; elbo(x, eps, B) -> {elbo, recon, kl};
//   logLikelihood(x, eps, B, K) -> Float32Array.
// Every op returns plain Float32Arrays (copy-out included in its time, as for edgevae).
import { fileURLToPath } from "node:url";
import * as O from "./onnx.mjs";

const nodeModules = fileURLToPath(new URL("../node_modules/", import.meta.url));

export async function edgevaePeer(model, options = {}) {
  const { Vae } = await import("../dist/index.js");
  const vae = await Vae.load(model.bytes, options);
  return {
    name: options.simd === "relaxed" ? "edgevae-relaxed" : "edgevae", vae,
    encode: (x) => vae.encode(x),
    decode: (z) => vae.decode(z),
    elbo: (x, eps) => vae.elbo(x, { eps }),
    logLikelihood: (x, eps, B, K) => vae.logLikelihood(x, { eps, k: K }),
  };
}

/** onnxruntime-web in its fastest one-thread setup (wasm EP, SIMD, graph optimisation "all"): a session per ONNX graph. */
export async function ortSessions(graphs) {
  const ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  const opts = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
  return { ort, sessions: await Promise.all(graphs.map((g) => ort.InferenceSession.create(g, opts))) };
}

export async function ortPeer(model, K) {
  const { ort, sessions: [enc, dec, elbo, ll] } = await ortSessions([
    O.encodeGraph(model), O.decodeGraph(model), O.elboGraph(model), O.logLikelihoodGraph(model, K),
  ]);
  const { D, J } = model;
  const T = (data, dims) => new ort.Tensor("float32", data, dims);
  return {
    name: "onnxruntime-web", version: ort.env.versions?.web ?? "",
    encode: async (x, B) => { const r = await enc.run({ x: T(x, [B, D]) }); return { mean: r.mean.data, logvar: r.logvar.data }; },
    decode: async (z, N) => (await dec.run({ z: T(z, [N, J]) })).mean.data,
    elbo: async (x, eps, B) => { const r = await elbo.run({ x: T(x, [B, D]), eps: T(eps, [B, J]) }); return { elbo: r.elbo.data, recon: r.recon.data, kl: r.kl.data }; },
    logLikelihood: async (x, eps, B) => (await ll.run({ x: T(x, [B, D]), eps: T(eps, [B, K, J]) })).logpx.data,
  };
}

export async function tfjsPeer(model) {
  const tf = await import("@tensorflow/tfjs-core");
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  wasm.setWasmPaths(nodeModules + "@tensorflow/tfjs-backend-wasm/dist/");
  wasm.setThreadsCount?.(1);
  await tf.setBackend("wasm");
  await tf.ready();
  const { D, J } = model;
  // Weights are given to TF.js transposed once, (in, out) as a Keras Dense kernel: in 4.22 the
  // wasm backend's fused matMul with transposeB: true computes wrong values (checked below).
  const net = (layers) => layers.map((l) => ({ w: tf.tidy(() => tf.transpose(tf.tensor2d(l.w, [l.outF, l.inF]))), b: tf.tensor1d(l.b), relu: l.relu }));
  const encNet = net(model.layers.encoder), decNet = net(model.layers.decoder);
  const mlp = (x, layers) => layers.reduce((h, l) => tf.fused.matMul({ a: h, b: l.w, bias: l.b, activation: l.relu ? "relu" : "linear" }), x);
  const encoder = (x) => tf.split(mlp(x, encNet), 2, 1);
  const bern = (x, l, axis) => tf.sum(tf.sub(tf.mul(x, l), tf.softplus(l)), axis);
  const logK = Math.log;
  return {
    name: "tfjs-wasm", version: tf.version_core, tf,
    encode: (x, B) => {
      const [m, lv] = tf.tidy(() => encoder(tf.tensor2d(x, [B, D])));
      const out = { mean: m.dataSync(), logvar: lv.dataSync() };
      m.dispose(); lv.dispose();
      return out;
    },
    decode: (z, N) => {
      const t = tf.tidy(() => tf.sigmoid(mlp(tf.tensor2d(z, [N, J]), decNet)));
      const out = t.dataSync(); t.dispose(); return out;
    },
    elbo: (x, eps, B) => {
      const ts = tf.tidy(() => {
        const xt = tf.tensor2d(x, [B, D]);
        const [m, lv] = encoder(xt);
        const z = tf.add(m, tf.mul(tf.exp(tf.mul(lv, 0.5)), tf.tensor2d(eps, [B, J])));
        const recon = bern(xt, mlp(z, decNet), 1);
        const kl = tf.mul(tf.sum(tf.sub(tf.add(tf.square(m), tf.exp(lv)), tf.add(lv, 1)), 1), 0.5);
        return [tf.sub(recon, kl), recon, kl];
      });
      const out = { elbo: ts[0].dataSync(), recon: ts[1].dataSync(), kl: ts[2].dataSync() };
      tf.dispose(ts);
      return out;
    },
    logLikelihood: (x, eps, B, K) => {
      const t = tf.tidy(() => {
        const xt = tf.tensor2d(x, [B, D]), e = tf.tensor3d(eps, [B, K, J]);
        const [m, lv] = encoder(xt);
        const z = tf.add(tf.expandDims(m, 1), tf.mul(tf.expandDims(tf.exp(tf.mul(lv, 0.5)), 1), e));
        const l = tf.reshape(mlp(tf.reshape(z, [B * K, J]), decNet), [B, K, D]);
        const logp = bern(tf.expandDims(xt, 1), l, 2);
        const w = tf.add(logp, tf.mul(tf.add(tf.sub(tf.sum(tf.square(e), 2), tf.sum(tf.square(z), 2)), tf.sum(lv, 1, true)), 0.5));
        return tf.sub(tf.logSumExp(w, 1), logK(K));
      });
      const out = t.dataSync(); t.dispose(); return out;
    },
  };
}

/** Plain JavaScript: straightforward loops over Float32Arrays, W row-major (out, in). */
export function plainJsPeer(model) {
  const { D, J } = model;
  const linear = (x, rows, l) => {
    const y = new Float32Array(rows * l.outF);
    for (let r = 0; r < rows; r++) {
      const xo = r * l.inF;
      for (let o = 0; o < l.outF; o++) {
        const wo = o * l.inF;
        let s = l.b[o];
        for (let i = 0; i < l.inF; i++) s += x[xo + i] * l.w[wo + i];
        y[r * l.outF + o] = l.relu && s < 0 ? 0 : s;
      }
    }
    return y;
  };
  const mlp = (x, rows, layers) => layers.reduce((h, l) => linear(h, rows, l), x);
  const softplus = (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
  const split = (h, B) => {
    const mean = new Float32Array(B * J), logvar = new Float32Array(B * J);
    for (let b = 0; b < B; b++) { mean.set(h.subarray(b * 2 * J, b * 2 * J + J), b * J); logvar.set(h.subarray(b * 2 * J + J, (b + 1) * 2 * J), b * J); }
    return { mean, logvar };
  };
  const encode = (x, B) => split(mlp(x, B, model.layers.encoder), B);
  const bern = (x, xo, l, lo) => { let s = 0; for (let i = 0; i < D; i++) s += x[xo + i] * l[lo + i] - softplus(l[lo + i]); return s; };
  return {
    name: "plain-js",
    encode,
    decode: (z, N) => mlp(z, N, model.layers.decoder).map((v) => 1 / (1 + Math.exp(-v))),
    elbo: (x, eps, B) => {
      const { mean, logvar } = encode(x, B);
      const z = new Float32Array(B * J);
      for (let i = 0; i < z.length; i++) z[i] = mean[i] + Math.exp(0.5 * logvar[i]) * eps[i];
      const l = mlp(z, B, model.layers.decoder);
      const elbo = new Float32Array(B), recon = new Float32Array(B), kl = new Float32Array(B);
      for (let b = 0; b < B; b++) {
        let k = 0;
        for (let j = 0; j < J; j++) { const m = mean[b * J + j], lv = logvar[b * J + j]; k += m * m + Math.exp(lv) - 1 - lv; }
        recon[b] = bern(x, b * D, l, b * D); kl[b] = 0.5 * k; elbo[b] = recon[b] - kl[b];
      }
      return { elbo, recon, kl };
    },
    logLikelihood: (x, eps, B, K) => {
      const { mean, logvar } = encode(x, B);
      const z = new Float32Array(B * K * J);
      for (let b = 0; b < B; b++) for (let k = 0; k < K; k++) for (let j = 0; j < J; j++) {
        const i = (b * K + k) * J + j;
        z[i] = mean[b * J + j] + Math.exp(0.5 * logvar[b * J + j]) * eps[i];
      }
      const l = mlp(z, B * K, model.layers.decoder);
      const out = new Float32Array(B);
      for (let b = 0; b < B; b++) {
        let lv = 0; for (let j = 0; j < J; j++) lv += logvar[b * J + j];
        const w = new Float64Array(K);
        for (let k = 0; k < K; k++) {
          let a = 0; const r = (b * K + k) * J;
          for (let j = 0; j < J; j++) a += eps[r + j] ** 2 - z[r + j] ** 2;
          w[k] = bern(x, b * D, l, (b * K + k) * D) + 0.5 * (a + lv);
        }
        const m = Math.max(...w); let s = 0; for (const v of w) s += Math.exp(v - m);
        out[b] = m + Math.log(s) - Math.log(K);
      }
      return out;
    },
  };
}
