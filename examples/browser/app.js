// The browser example: samples, a latent walk, a drawing pad scored live by ELBO and log p(x),
// the Fashion-MNIST conv VAE's samples and reconstructions, and the circle model's density heat
// map. Uses whatever models the server lists at /models/: an MNIST-like model (784 values per
// item, e.g. models/mnist.safetensors), a Fashion-MNIST model (models/fashion-conv.safetensors,
// with the test images of models/fashion-test16.json) and a 2-D model
// (models/circle-pytorch.safetensors). ?simd=baseline forces the baseline build (bit-identical
// to every other runtime); the default picks relaxed SIMD where the browser has it.
import { Vae, hasRelaxedSimd } from "edgevae";
import { densityGrid } from "edgevae/train";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const simd = params.get("simd") ?? "auto";
const demo = { simd, ready: false, lastScore: null, errors: [] };
window.edgevaeDemo = demo;

async function loadModel(name) {
  const r = await fetch(`/models/${name}`);
  if (!r.ok) throw new Error(`GET /models/${name}: HTTP ${r.status}`);
  return Vae.load(new Uint8Array(await r.arrayBuffer()), { simd });
}

function missing(sectionId, html) {
  const p = document.createElement("p");
  p.className = "missing";
  p.innerHTML = html;
  $(sectionId).append(p);
}

// ---- images -------------------------------------------------------------------------------
function drawItem(canvas, values, offset, side) {
  canvas.width = side; canvas.height = side;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    const v = Math.max(0, Math.min(255, Math.round(values[offset + i] * 255)));
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function setupImageModel(vae) {
  const D = vae.inputSize, J = vae.latentDim, side = Math.round(Math.sqrt(D));
  const grid = $("grid"), strip = $("strip");
  const tiles = Array.from({ length: 16 }, () => grid.appendChild(document.createElement("canvas")));
  const stripTiles = Array.from({ length: 8 }, () => strip.appendChild(document.createElement("canvas")));
  let zA, zB;

  function seedValue() {
    const s = Number($("seed").value);
    return Number.isSafeInteger(s) && s >= 0 ? s : 0;
  }
  function renderSamples() {
    const seed = seedValue();
    const x = vae.sample(16, { seed });
    tiles.forEach((c, i) => drawItem(c, x, i * D, side));
    // the walk's ends: the posterior means of the first two samples
    const { mean } = vae.encode(x.subarray(0, 2 * D));
    zA = mean.subarray(0, J); zB = mean.subarray(J, 2 * J);
    const path = vae.interpolate(zA, zB, 8);
    stripTiles.forEach((c, i) => drawItem(c, path, i * D, side));
    renderWalk();
    demo.sampleSeed = seed;
  }
  function renderWalk() {
    const t = Number($("slider").value);
    const z = new Float32Array(J);
    for (let j = 0; j < J; j++) z[j] = (1 - t) * zA[j] + t * zB[j];
    drawItem($("interp"), vae.decode(z), 0, side);
  }
  $("seed").addEventListener("input", renderSamples);
  $("reseed").addEventListener("click", () => { $("seed").value = String(seedValue() + 1); renderSamples(); });
  $("slider").addEventListener("input", renderWalk);
  renderSamples();

  // what the model's own digits score: a reference for the verdict
  const own = vae.logLikelihood(vae.sample(32, { seed: 99 }), { k: 64, seed: 1 });
  const sorted = Array.from(own).sort((a, b) => a - b);
  const threshold = sorted[Math.floor(0.05 * sorted.length)] - 25;
  $("typical").textContent = `The model's own samples score log p(x) from ${sorted[0].toFixed(0)} to ${sorted[sorted.length - 1].toFixed(0)} nats; below ${threshold.toFixed(0)} counts as "not a digit" here.`;

  // the drawing pad: 280 x 280, read as 28 x 28 by averaging 10 x 10 blocks
  const pad = $("pad"), ctx = pad.getContext("2d", { willReadFrequently: true });
  const clear = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, pad.width, pad.height); };
  clear();
  let drawing = false, last = null, pending = false;
  const at = (e) => { const r = pad.getBoundingClientRect(); return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height]; };
  pad.addEventListener("pointerdown", (e) => { drawing = true; last = at(e); pad.setPointerCapture(e.pointerId); stroke(at(e)); });
  pad.addEventListener("pointermove", (e) => { if (drawing) stroke(at(e)); });
  pad.addEventListener("pointerup", () => { drawing = false; last = null; schedule(); });
  $("clear").addEventListener("click", () => {
    clear(); demo.lastScore = null;
    $("elbo").textContent = $("logpx").textContent = "–"; $("verdict").textContent = "draw something"; $("verdict").className = "";
  });
  function stroke(p) {
    ctx.strokeStyle = "#fff"; ctx.lineWidth = 22; ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath(); ctx.moveTo(...(last ?? p)); ctx.lineTo(...p); ctx.stroke();
    last = p;
    schedule();
  }
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; score(); });
  }
  function score() {
    const px = ctx.getImageData(0, 0, pad.width, pad.height).data, k = pad.width / side;
    const x = new Float32Array(D);
    for (let y = 0; y < side; y++) for (let c = 0; c < side; c++) {
      let s = 0;
      for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) s += px[4 * ((y * k + dy) * pad.width + c * k + dx)];
      x[y * side + c] = s / (k * k * 255);
    }
    const { elbo } = vae.elbo(x, { samples: 16, seed: 1 });
    const logpx = vae.logLikelihood(x, { k: 128, seed: 1 });
    $("elbo").textContent = elbo[0].toFixed(1);
    $("logpx").textContent = logpx[0].toFixed(1);
    const yes = logpx[0] >= threshold;
    $("verdict").textContent = yes ? "looks like a digit" : "not a digit (anomaly)";
    $("verdict").className = yes ? "yes" : "no";
    demo.lastScore = { pixels: Array.from(x), elbo: elbo[0], logpx: logpx[0] };
  }
}

// ---- Fashion-MNIST: a convolutional VAE --------------------------------------------------------
async function setupFashion(vae, name) {
  const D = vae.inputSize, side = Math.round(Math.sqrt(D));
  const r = await fetch("/models/fashion-test16.json");
  if (!r.ok) throw new Error(`GET /models/fashion-test16.json: HTTP ${r.status}`);
  const test = await r.json();
  const images = Float32Array.from(test.x.flat()).subarray(0, 8 * D);
  const grid = $("fashion-grid"), pairs = $("fashion-recon");
  const tiles = Array.from({ length: 16 }, () => grid.appendChild(document.createElement("canvas")));
  const shown = Array.from({ length: 8 }, () => pairs.appendChild(document.createElement("canvas")));
  const rebuilt = Array.from({ length: 8 }, () => pairs.appendChild(document.createElement("canvas")));
  const t0 = performance.now();
  const samples = vae.sample(16, { seed: 3 });
  const recon = vae.reconstruct(images, { useMean: true });
  const { elbo } = vae.elbo(images, { samples: 4, seed: 1 });
  const ms = performance.now() - t0;
  tiles.forEach((c, i) => drawItem(c, samples, i * D, side));
  shown.forEach((c, i) => drawItem(c, images, i * D, side));
  rebuilt.forEach((c, i) => drawItem(c, recon, i * D, side));
  const mean = elbo.reduce((a, v) => a + v, 0) / elbo.length;
  $("fashion-note").textContent = `${name}: ${vae.info.encoder.filter((l) => l.startsWith("conv")).length} conv + ` +
    `${vae.info.decoder.filter((l) => l.startsWith("conv")).length} transposed-conv layers, ${vae.info.parameterCount.toLocaleString("en")} parameters. ` +
    `16 samples, 8 reconstructions and their ELBO (mean ${mean.toFixed(1)} nats) took ${ms.toFixed(0)} ms here.`;
  demo.fashionModel = name;
  demo.fashionElbo = Array.from(elbo);
}

// ---- the circle's density -----------------------------------------------------------------
const STOPS = [[13, 8, 135], [126, 3, 168], [204, 71, 120], [248, 149, 64], [240, 249, 33]]; // plasma
function colour(t) {
  t = Math.max(0, Math.min(1, t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(t)), f = t - i;
  return STOPS[i].map((a, c) => Math.round(a + f * (STOPS[i + 1][c] - a)));
}

async function setupCircle(vae) {
  // p(x) = integral p(x|z) p(z) dz by quadrature over a 120 x 120 grid of z (latent_dim 2):
  // smooth, and it integrates to 1 when the model is a proper density. The importance-weighted
  // estimate is shown beside it: with a ring, the encoder is a heavy-tailed proposal.
  const G = 96, L = 3, h = (2 * L) / G;
  const grid = await densityGrid(vae, { cells: G, limit: L, zCells: 120 });
  const logp = grid.density.map(Math.log);
  const pts = new Float32Array(G * G * 2);
  for (let r = 0; r < G; r++) for (let c = 0; c < G; c++) {
    pts[2 * (r * G + c)] = -L + (c + 0.5) * h;
    pts[2 * (r * G + c) + 1] = L - (r + 0.5) * h;
  }
  let massIw = 0;
  for (const v of vae.logLikelihood(pts, { k: 64, seed: 1 })) massIw += Math.exp(v) * h * h;
  let top = -Infinity;
  for (const v of logp) top = Math.max(top, v);
  const canvas = $("heat"), ctx = canvas.getContext("2d"), img = ctx.createImageData(G, G);
  for (let i = 0; i < G * G; i++) {
    const [r, g, b] = colour((logp[i] - (top - 10)) / 10);
    img.data.set([r, g, b, 255], 4 * i);
  }
  const tmp = new OffscreenCanvas(G, G);
  tmp.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "rgba(255,255,255,0.8)"; ctx.lineWidth = 1.5;
  ctx.beginPath(); ctx.arc(canvas.width / 2, canvas.height / 2, (2 / (2 * L)) * canvas.width, 0, 2 * Math.PI); ctx.stroke();
  $("mass").textContent = `Integral of p(x) over the square [-3, 3]²: ${grid.integral.toFixed(3)} by quadrature over z ` +
    `(a proper density integrates to 1); the importance-weighted estimate (k = 64) gives ${massIw.toFixed(3)}.`;
  demo.circleMass = grid.integral;
  demo.circleMassIw = massIw;
}

// ---- start ----------------------------------------------------------------------------------
async function main() {
  const list = await (await fetch("/models/")).json();
  const builds = [];
  const image = list.includes("mnist.safetensors") ? "mnist.safetensors" : list.find((n) => /mnist/i.test(n));
  if (image) {
    const vae = await loadModel(image);
    builds.push(`${image}: ${vae.info.simd} SIMD`);
    if (Math.round(Math.sqrt(vae.inputSize)) ** 2 === vae.inputSize) setupImageModel(vae);
    else missing("samples-section", `${image} does not hold images (${vae.inputSize} values per item)`);
    demo.imageModel = image;
  } else {
    for (const id of ["samples-section", "interp-section", "draw-section"]) {
      missing(id, "No MNIST model in <code>models/</code> yet: train one (<code>npm run train</code>, models/README) and reload.");
    }
  }
  const fashion = ["fashion-conv.safetensors", "fashion-mlp.safetensors"].find((n) => list.includes(n));
  if (fashion) {
    const vae = await loadModel(fashion);
    builds.push(`${fashion}: ${vae.info.simd} SIMD`);
    await setupFashion(vae, fashion);
  } else {
    missing("fashion-section", "No Fashion-MNIST model in <code>models/</code> (models/fashion-conv.safetensors).");
  }
  const circle = ["circle-pytorch.safetensors", "circle.safetensors"].find((n) => list.includes(n));
  if (circle) {
    const vae = await loadModel(circle);
    builds.push(`${circle}: ${vae.info.simd} SIMD`);
    await setupCircle(vae);
    demo.circleModel = circle;
  } else {
    missing("circle-section", "No circle model in <code>models/</code> (models/circle-pytorch.safetensors).");
  }
  $("status").textContent = `models: ${list.join(", ") || "none"}`;
  $("build").textContent = `wasm: ${builds.join("; ") || "not loaded"} (relaxed SIMD ${hasRelaxedSimd() ? "available" : "not available"} here; add ?simd=baseline for the bit-identical build)`;
}

main().then(
  () => { demo.ready = true; document.documentElement.dataset.ready = "true"; },
  (err) => {
    demo.errors.push(String(err?.message ?? err));
    $("status").textContent = `error: ${err?.message ?? err}`;
    $("status").className = "missing";
    document.documentElement.dataset.ready = "error";
  },
);
