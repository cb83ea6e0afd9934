// A Deno script using the package installed in node_modules/ (deno.json "nodeModulesDir":
// "manual": Deno resolves npm: and bare specifiers there, no registry). The package finds its
// wasm with fetch(new URL("./edgevae.wasm", import.meta.url)), hence --allow-read.
import { Vae, EdgeVaeError } from "npm:edgevae";

const vae = await Vae.load(await Deno.readFile(Deno.args[0]!), { simd: "baseline" });
const x = vae.sample(3, { seed: 11 });
const { elbo } = vae.elbo(x, { samples: 8, seed: 3 });
const logpx = vae.logLikelihood(x, { k: 64, seed: 3 });
let errorName = "";
try { vae.encode([1]); } catch (err) { if (err instanceof EdgeVaeError) errorName = err.constructor.name; }
console.log(JSON.stringify({
  runtime: `deno ${Deno.version.deno}`, simd: vae.info.simd, elbo: Array.from(elbo), logpx: Array.from(logpx), errorName,
}));
vae.dispose();
