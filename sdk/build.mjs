// Bundles the SDK into dist/: index.js (ESM, no runtime dependencies), its .d.ts types, and
// the wasm builds beside it. Run by `npm run build` after assembly/build.mjs.
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { gzipSync } from "node:zlib";
import { readFile } from "node:fs/promises";

await rm("dist", { recursive: true, force: true });
await mkdir("dist", { recursive: true });
await build({
  entryPoints: ["sdk/index.ts"],
  outfile: "dist/index.js",
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  minify: true,
  sourcemap: true,
  legalComments: "none",
  define: { EDGEVAE_WASM_DIR: JSON.stringify("./") },
  logLevel: "warning",
});
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"], { stdio: "inherit" });
await copyFile("build/edgevae.wasm", "dist/edgevae.wasm");
await copyFile("build/edgevae-relaxed.wasm", "dist/edgevae-relaxed.wasm");
const js = await readFile("dist/index.js");
console.log(`dist/index.js: ${js.length} bytes minified (${gzipSync(js).length} gzip)`);
