// The conformance script: the same models, inputs and seeds on every runtime (Node 20, Node 24,
// Deno, Chromium, workerd), hashed. Plain JavaScript with no imports, so that every host runs
// this very file: the caller passes the Vae class it imported from "edgevae" (through the
// package's own `exports`, so each host gets its own bundle), a pack of models and load options.
//
//   const report = await conformance(Vae, pack, { simd: "baseline" });
//   report.hash: SHA-256 (hex) over the bytes of every result, in a fixed order
//   report.ops: { "<model>/<op>": sha-256 hex }, report.values: { "<model>/<op>": number[] }
//
// pack: { "<model name>": "<base64 of the model file>" } (a JSON file: every host can read one).

const OPS = ["encode.mean", "encode.logvar", "sample", "decode", "decodeParams", "reconstruct",
  "elbo.elbo", "elbo.recon", "elbo.kl", "logLikelihood", "interpolate"];

function fromBase64(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Inputs that are exact in float32 on every host (no transcendental functions of the host).
function inputs(vae, batch) {
  const D = vae.inputSize;
  const bernoulli = vae.info.likelihood.type === "bernoulli";
  const x = new Float32Array(batch * D);
  for (let i = 0; i < batch; i++) {
    for (let j = 0; j < D; j++) {
      const v = ((i * 7 + j * 13) % 17) / 16; // in [0, 1]
      x[i * D + j] = bernoulli ? v : 4 * v - 2;
    }
  }
  return x;
}

/** Runs every operation of the SDK on every model of the pack; returns hashes and values. */
export async function conformance(Vae, pack, loadOptions = {}) {
  const results = [];
  const builds = {};
  for (const name of Object.keys(pack).sort()) {
    const vae = await Vae.load(fromBase64(pack[name]), { maxBatchRows: 32, ...loadOptions });
    builds[name] = vae.info.simd;
    const J = vae.latentDim;
    const x = inputs(vae, 5);
    const { mean, logvar } = vae.encode(x);
    const z = new Float32Array(3 * J);
    for (let i = 0; i < z.length; i++) z[i] = ((i * 5) % 11) / 4 - 1.25;
    const elbo = vae.elbo(x, { samples: 8, beta: 1, seed: 3 });
    const r = {
      "encode.mean": mean,
      "encode.logvar": logvar,
      // 40 > maxBatchRows: chunked, which must not change a bit
      sample: vae.sample(40, { seed: 7 }),
      decode: vae.decode(z),
      decodeParams: vae.decodeParams(z),
      reconstruct: vae.reconstruct(x, { seed: 11 }),
      "elbo.elbo": elbo.elbo,
      "elbo.recon": elbo.recon,
      "elbo.kl": elbo.kl,
      logLikelihood: vae.logLikelihood(x, { k: 64, seed: 5 }),
      interpolate: vae.interpolate(mean.subarray(0, J), mean.subarray(J, 2 * J), 5),
    };
    vae.dispose();
    for (const op of OPS) results.push([`${name}/${op}`, r[op]]);
  }
  const total = results.reduce((n, [, a]) => n + a.byteLength, 0);
  const all = new Uint8Array(total);
  let at = 0;
  const ops = {}, values = {};
  for (const [key, a] of results) {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    all.set(bytes, at);
    at += bytes.length;
    ops[key] = await sha256(bytes);
    values[key] = Array.from(a);
  }
  return { hash: await sha256(all), builds, ops, values };
}
