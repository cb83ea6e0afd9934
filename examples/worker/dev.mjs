// Runs the example Worker locally and offline (wrangler dev on workerd, at 127.0.0.1):
//   npm run example:worker                       (or: node examples/worker/dev.mjs)
//   node examples/worker/dev.mjs --model my.safetensors --port 8787 [other wrangler dev options]
// The model (--model, else models/mnist.safetensors when it exists, else the circle model) is
// copied to examples/worker/model.bin, which the Worker imports.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { relative, resolve } from "node:path";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = resolve(here, "../..");
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const [, value] = args.splice(i, 2);
  return value;
};
const mnist = resolve(root, "models/mnist.safetensors");
const model = resolve(opt("model", existsSync(mnist) ? mnist : resolve(root, "models/circle-pytorch.safetensors")));
const port = opt("port", "8787");
if (!existsSync(resolve(root, "dist/workerd.js"))) {
  console.error("dist/ is missing: run `npm run build` first");
  process.exit(1);
}
// The Worker imports ../model.bin: a Data module (wrangler's default rule for **/*.bin).
copyFileSync(model, resolve(here, "model.bin"));
console.log(`edgevae example Worker: model ${relative(root, model)} at http://127.0.0.1:${port}/`);
const wrangler = resolve(root, "node_modules/.bin/wrangler");
const child = spawn(wrangler, [
  "dev", "--ip", "127.0.0.1", "--port", port, "--local", "--show-interactive-dev-session=false",
  "--persist-to", resolve(process.env.EDGEVAE_WRANGLER_STATE ?? resolve(here, ".wrangler/state")),
  ...args, // anything else goes to wrangler dev (e.g. --inspector-port 9230)
], { cwd: here, stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code) => process.exit(code ?? 0));
