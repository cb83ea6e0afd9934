// A page bundled by Vite: it loads a model from the app's public/ folder and scores it. The
// result (or the error) goes to <html data-result> / data-error for the test to read.
import { Vae } from "edgevae";

async function score(simd) {
  const bytes = new Uint8Array(await (await fetch("./model.safetensors")).arrayBuffer());
  const vae = await Vae.load(bytes, simd ? { simd } : {});
  const x = vae.sample(3, { seed: 11 });
  const result = {
    simd: vae.info.simd,
    elbo: Array.from(vae.elbo(x, { samples: 8, seed: 3 }).elbo),
    logpx: Array.from(vae.logLikelihood(x, { k: 64, seed: 3 })),
  };
  vae.dispose();
  return result;
}

(async () => {
  try {
    // the baseline build (bit-identical to Node) and the default, "auto" (relaxed in Chromium)
    const result = { runtime: navigator.userAgent, baseline: await score("baseline"), auto: await score() };
    document.getElementById("out").textContent = JSON.stringify(result, null, 2);
    document.documentElement.dataset.result = JSON.stringify(result);
  } catch (err) {
    document.documentElement.dataset.error = `${err.name} ${err.code ?? ""}: ${err.message}`;
  }
})();
