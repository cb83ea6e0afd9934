// The main job behind `npm start`: load the shipped models, encode, decode, sample, and score
// a few inputs with the ELBO and the importance-weighted log p(x).
//
//   node examples/node/main.mjs [model.safetensors ...]
//   (default: models/circle.safetensors, models/mnist.safetensors, models/fashion-conv.safetensors)
// For image models it also writes a PNG grid of prior samples and reconstructions to out/.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { Vae } from "edgevae";
import { mnistSplit } from "../../models/datasets.mjs";
import { Canvas } from "../../models/png.mjs";

const shipped = ["circle.safetensors", "mnist.safetensors", "fashion-conv.safetensors"].map((f) => new URL(`../../models/${f}`, import.meta.url).pathname);
const paths = process.argv.length > 2 ? process.argv.slice(2) : shipped;
const fmt = (v, w = 9) => v.toFixed(2).padStart(w);

for (const path of paths) {
  const started = performance.now();
  const vae = await Vae.load(await readFile(path));
  const loadMs = performance.now() - started;
  const { info } = vae;
  const D = vae.inputSize, J = vae.latentDim;
  console.log(`\n== ${path.split("/").slice(-2).join("/")}`);
  console.log(`   input ${JSON.stringify(info.inputShape)}, latent ${J}, likelihood ${JSON.stringify(info.likelihood)}, ` +
    `${info.parameterCount.toLocaleString("en")} parameters (${info.dtype})`);
  console.log(`   encoder ${info.encoder.join(" > ")}`);
  console.log(`   decoder ${info.decoder.join(" > ")}`);
  console.log(`   loaded in ${loadMs.toFixed(1)} ms on the ${info.simd} SIMD build`);

  // A few inputs the model should like, and a few it should not.
  let labels, x, shown;
  if (D === 2) {
    const points = [[2, 0], [0, -2], [-1.414, 1.414], [1, 0], [0, 0], [3, 3]];
    labels = points.map(([a, b]) => `(${a}, ${b}) ${Math.abs(Math.hypot(a, b) - 2) < 0.05 ? "on the ring" : "off the ring"}`);
    x = Float32Array.from(points.flat());
  } else if (/fashion/.test(path)) {
    // Fashion-MNIST test images (held out from training; 16 ship in models/), then things that are not clothes
    const test = JSON.parse(await readFile(new URL("../../models/fashion-test16.json", import.meta.url), "utf8"));
    const images = Float32Array.from(test.x.flat()); // 16 items of [1, 28, 28]
    const picks = [0, 1, 2, 8];
    const noise = Float32Array.from({ length: D }, (_, i) => ((i * 2654435761) % 1000) / 1000);
    const digit = mnistSplit().heldOut.values.subarray(3 * D, 4 * D);
    labels = [...picks.map((i) => `test image: ${test.label_names[i]}`), "an MNIST digit", "uniform noise"];
    x = new Float32Array((picks.length + 2) * D);
    picks.forEach((i, n) => x.set(images.subarray(i * D, (i + 1) * D), n * D));
    x.set(digit, picks.length * D);
    x.set(noise, (picks.length + 1) * D);
    shown = images.slice(0, 8 * D);
  } else {
    // held-out MNIST digits (never seen in training), then things that are not digits
    const { heldOut } = mnistSplit();
    const picks = [3, 420, 1030, 1610];
    const noise = Float32Array.from({ length: D }, (_, i) => ((i * 2654435761) % 1000) / 1000);
    const inverted = heldOut.values.subarray(0, D).map((v) => 1 - v);
    labels = [...picks.map((i) => `held-out digit "${heldOut.labels[i]}"`), "inverted digit", "uniform noise"];
    x = new Float32Array((picks.length + 2) * D);
    picks.forEach((i, n) => x.set(heldOut.values.subarray(i * D, (i + 1) * D), n * D));
    x.set(inverted, picks.length * D);
    x.set(noise, (picks.length + 1) * D);
    shown = heldOut.values.slice(0, 8 * D);
  }
  const k = D === 2 ? 1024 : 256;
  const t0 = performance.now();
  const { mean } = vae.encode(x);
  const elbo = vae.elbo(x, { samples: 16, seed: 7 });
  const logpx = vae.logLikelihood(x, { k, seed: 7 });
  const ms = performance.now() - t0;
  console.log(`\n   per item, in nats (ELBO with 16 samples; log p(x) importance-weighted, k = ${k}):`);
  console.log(`   ${"input".padEnd(28)} ${"q(z|x) mean".padEnd(20)} ${"ELBO".padStart(9)} ${"recon".padStart(9)} ${"KL".padStart(9)} ${"log p(x)".padStart(9)}`);
  for (let b = 0; b < labels.length; b++) {
    const m = Array.from(mean.subarray(b * J, b * J + Math.min(J, 2)), (v) => v.toFixed(2).padStart(6)).join(" ") + (J > 2 ? " ..." : "");
    console.log(`   ${labels[b].padEnd(28)} ${("[" + m + "]").padEnd(20)} ${fmt(elbo.elbo[b])} ${fmt(elbo.recon[b])} ${fmt(elbo.kl[b])} ${fmt(logpx[b])}`);
  }
  console.log(`   (encode + ELBO + log p(x) for ${labels.length} items: ${ms.toFixed(1)} ms)`);

  if (D === 2) {
    const recon = vae.reconstruct(x, { useMean: true });
    console.log(`\n   reconstructions (decoder mean at the posterior mean): ` +
      labels.map((l, b) => `${l.split(" ")[0]}${l.split(" ")[1]} -> (${recon[2 * b].toFixed(2)}, ${recon[2 * b + 1].toFixed(2)})`).join(", "));
    const s = vae.sample(2000, { seed: 3 });
    const radii = Array.from({ length: 2000 }, (_, i) => Math.hypot(s[2 * i], s[2 * i + 1]));
    const avg = radii.reduce((a, r) => a + r, 0) / radii.length;
    const sd = Math.sqrt(radii.reduce((a, r) => a + (r - avg) ** 2, 0) / radii.length);
    console.log(`   2000 prior samples: radius ${avg.toFixed(3)} +- ${sd.toFixed(3)} (the data: 2.000 +- 0.050)`);
  } else {
    const side = Math.round(Math.sqrt(D));
    if (side * side === D) {
      const file = await writeGrid(vae, shown, side, path);
      console.log(`\n   wrote ${file}: 32 prior samples, then 8 held-out images with their reconstructions`);
      console.log(`\n   two prior samples (decoder means), as text:`);
      const img = vae.sample(2, { seed: 11 });
      const shade = " .:-=+*#%@";
      for (let r = 0; r < side; r += 2) {
        let line = "   ";
        for (const n of [0, 1]) {
          for (let c = 0; c < side; c++) line += shade[Math.min(9, Math.floor(img[n * D + r * side + c] * 10))];
          line += "    ";
        }
        console.log(line);
      }
    }
  }
  vae.dispose();
}

/** A PNG of 32 prior samples (4 rows of 8), then 8 images with their reconstructions (decoder mean at the posterior mean). */
async function writeGrid(vae, images, side, modelPath) {
  const samples = vae.sample(32, { seed: 5 });
  const recon = vae.reconstruct(images, { useMean: true });
  const scale = 3, cell = side * scale + 4, D = side * side;
  const canvas = new Canvas(8 * cell + 4, 6 * cell + 30);
  const draw = (values, n, col, row) => {
    for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) {
      const v = Math.round(255 * (1 - Math.min(1, Math.max(0, values[n * D + y * side + x]))));
      canvas.fillRect(4 + col * cell + x * scale, 4 + row * cell + y * scale + (row >= 4 ? 26 : 0), scale, scale, [v, v, v]);
    }
  };
  for (let n = 0; n < 32; n++) draw(samples, n, n % 8, Math.floor(n / 8));
  canvas.text(6, 4 * cell + 8, "held out / reconstructed", [80, 80, 80], 2);
  for (let n = 0; n < 8; n++) { draw(images, n, n, 4); draw(recon, n, n, 5); }
  await mkdir(new URL("../../out/", import.meta.url), { recursive: true });
  const name = modelPath.split("/").pop().replace(/\.safetensors$/, "") + "-samples.png";
  await writeFile(new URL(`../../out/${name}`, import.meta.url), canvas.png());
  return `out/${name}`;
}
