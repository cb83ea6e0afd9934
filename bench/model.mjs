// The benchmark model: an MNIST-sized MLP VAE (784-512-256-2x32 encoder, 32-256-512-784 decoder,
// ReLU, Bernoulli) with seeded random weights, written as an edgevae model file (FORMAT.md v1),
// plus the same weights as plain Float32Arrays for the peers, and seeded inputs and noise.

/** mulberry32: a small seeded PRNG, so every run and every peer sees the same numbers. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normals (Box-Muller) from a seeded uniform source. */
export function normals(n, seed) {
  const u = rng(seed), out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u())), t = 2 * Math.PI * u();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

/**
 * A VAE spec: layer widths of the encoder (input .. 2J) and decoder (J .. D).
 * Weights follow PyTorch's nn.Linear init (uniform +-1/sqrt(fan_in)), scaled so activations stay O(1).
 */
export function makeModel({ D = 784, hidden = [512, 256], J = 32, seed = 1 } = {}) {
  const u = rng(seed);
  const encWidths = [D, ...hidden, 2 * J];
  const decWidths = [J, ...[...hidden].reverse(), D];
  const layers = { encoder: [], decoder: [] };
  const tensors = [];
  for (const [name, widths] of [["encoder", encWidths], ["decoder", decWidths]]) {
    for (let i = 0; i + 1 < widths.length; i++) {
      const inF = widths[i], outF = widths[i + 1];
      const bound = 1 / Math.sqrt(inF);
      const w = new Float32Array(outF * inF), b = new Float32Array(outF);
      for (let j = 0; j < w.length; j++) w[j] = (2 * u() - 1) * bound * 1.5;
      for (let j = 0; j < b.length; j++) b[j] = (2 * u() - 1) * bound;
      const wn = `${name === "encoder" ? "enc" : "dec"}.${i}.weight`, bn = `${name === "encoder" ? "enc" : "dec"}.${i}.bias`;
      tensors.push([wn, [outF, inF], w], [bn, [outF], b]);
      layers[name].push({ inF, outF, w, b, relu: i + 2 < widths.length });
    }
  }
  const arch = {
    version: 1, input_shape: [D], latent_dim: J,
    encoder: archOf("enc", layers.encoder), decoder: archOf("dec", layers.decoder),
    likelihood: { type: "bernoulli" }, prior: { type: "standard_normal" },
  };
  return { D, J, layers, arch, bytes: safetensors(tensors, { edgevae: JSON.stringify(arch), source: "edgevae bench (seeded random weights)" }) };
}

function archOf(prefix, layers) {
  const out = [];
  layers.forEach((l, i) => {
    out.push({ type: "linear", weight: `${prefix}.${i}.weight`, bias: `${prefix}.${i}.bias` });
    if (l.relu) out.push({ type: "relu" });
  });
  return out;
}

/** A safetensors file of F32 tensors [name, shape, Float32Array] with __metadata__. */
export function safetensors(tensors, metadata) {
  const header = { __metadata__: metadata };
  let offset = 0;
  for (const [name, shape, data] of tensors) {
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += " ";
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const [, , data] of tensors) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    at += data.byteLength;
  }
  return out;
}

/** MNIST-like inputs in [0, 1]: mostly zeros, some ink. */
export function inputs(n, D, seed = 7) {
  const u = rng(seed), x = new Float32Array(n * D);
  for (let i = 0; i < x.length; i++) { const v = u(); x[i] = v < 0.8 ? 0 : v; }
  return x;
}
