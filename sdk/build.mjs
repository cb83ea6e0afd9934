// Bundles the SDK into dist/: one ESM bundle per kind of host (no runtime dependencies), the
// .d.ts types, and the wasm builds beside them. Run by `npm run build` after assembly/build.mjs.
//   dist/index.js    Node, Deno, default: finds its wasm beside itself (Node: file system)
//   dist/browser.js  browsers: fetch(new URL("./edgevae.wasm", import.meta.url)); no Node code
//   dist/workerd.js  Cloudflare Workers / Vercel Edge: the Worker passes the imported Module
// package.json `exports` maps the conditions workerd / edge-light / browser / deno / node to them.
import { build } from "esbuild";
import { chmod, copyFile, mkdir, rm, readFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { gzipSync } from "node:zlib";
import { fixDeclarations, writeWasmDeclarations } from "./fix-dts.mjs";

// [output name, host target, entry]: the inference SDK, and the trainer as its own entry
// ("edgevae/train") so that inference-only users do not ship it.
const BUNDLES = [
  ["index", "default", "sdk/index.ts"],
  ["browser", "browser", "sdk/index.ts"],
  ["workerd", "workerd", "sdk/index.ts"],
  ["train", "default", "sdk/train/index.ts"],
  ["train-browser", "browser", "sdk/train/index.ts"],
  ["train-workerd", "workerd", "sdk/train/index.ts"],
  // VaePool's worker script (docs/parallel.md), found beside index.js / browser.js by URL
  ["parallel-worker", "default", "sdk/parallel/worker.ts"],
  ["parallel-worker-browser", "browser", "sdk/parallel/worker.ts"],
  // the edgevae command (package.json "bin"; Node only: platform node, a #! line, executable)
  ["cli", "default", "sdk/cli/main.ts"],
];

await rm("dist", { recursive: true, force: true });
await mkdir("dist", { recursive: true });
for (const [name, target, entry] of BUNDLES) {
  await build({
    entryPoints: [entry],
    outfile: `dist/${name}.js`,
    bundle: true,
    format: "esm",
    platform: name === "cli" ? "node" : "neutral",
    ...(name === "cli" ? { banner: { js: "#!/usr/bin/env node" } } : {}),
    target: "es2022",
    // no top-level await in any bundle: it breaks Workers and some bundlers
    supported: { "top-level-await": false },
    minify: true,
    // class and function names survive minification: err.constructor.name, readable stack frames
    keepNames: true,
    sourcemap: true,
    legalComments: "none",
    define: { EDGEVAE_WASM_DIR: JSON.stringify("./"), EDGEVAE_TARGET: JSON.stringify(target) },
    logLevel: "warning",
  });
}
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"], { stdio: "inherit" });
// the .d.ts import "./errors"; node16/nodenext need "./errors.js" (sdk/fix-dts.mjs)
await fixDeclarations("dist");
await chmod("dist/cli.js", 0o755);
await copyFile("build/edgevae.wasm", "dist/edgevae.wasm");
await copyFile("build/edgevae-relaxed.wasm", "dist/edgevae-relaxed.wasm");
// types for `import wasm from "edgevae/edgevae.wasm"` (package.json exports)
await writeWasmDeclarations("dist", ["edgevae.wasm", "edgevae-relaxed.wasm"]);

// What each bundle must not contain: Node modules off Node; on Workers, no attempt to find or
// compile wasm bytes (import.meta.url, fetch of the wasm).
const FORBIDDEN = {
  browser: [/node:/, /process\.versions/],
  workerd: [/node:/, /process\.versions/, /import\.meta/],
};
for (const [name, target] of BUNDLES) {
  const js = await readFile(`dist/${name}.js`, "utf8");
  for (const pattern of FORBIDDEN[target] ?? []) {
    if (pattern.test(js)) throw new Error(`dist/${name}.js must not contain ${pattern}`);
  }
  console.log(`dist/${name}.js: ${js.length} bytes minified (${gzipSync(js).length} gzip)`);
}
