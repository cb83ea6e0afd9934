// Builds both wasm variants (baseline SIMD and relaxed SIMD) from assembly/, then checks
// that each module imports nothing and prints its size. Run by `npm run build:wasm`.
import asc from "assemblyscript/asc";
import { readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";

const targets = [
  ["simd", "build/edgevae.wasm"],
  ["relaxed", "build/edgevae-relaxed.wasm"],
];

for (const [target, outFile] of targets) {
  const { error, stderr } = await asc.main(["--config", "asconfig.json", "--target", target]);
  if (error) {
    console.error(stderr.toString());
    throw new Error(`asc failed for target ${target}: ${error.message}`);
  }
  const bytes = await readFile(outFile);
  const imports = WebAssembly.Module.imports(await compileForInspection(bytes, target));
  if (imports.length !== 0) {
    throw new Error(`${outFile} must be import-free but imports ${imports.map((i) => `${i.module}.${i.name}`).join(", ")}`);
  }
  console.log(`${outFile}: ${bytes.length} bytes (${gzipSync(bytes).length} gzip), 0 imports`);
}

// Node 20 cannot compile relaxed-SIMD code without a flag; a module's import list is in its
// import section, which does not depend on that, so a host without relaxed SIMD reads the
// list from the baseline build's twin and checks the section directly.
async function compileForInspection(bytes, target) {
  try {
    return await WebAssembly.compile(bytes);
  } catch (err) {
    if (target !== "relaxed") throw err;
    return importSectionOnly(bytes);
  }
}

// A module holding only the given module's type and import sections: it compiles anywhere.
function importSectionOnly(bytes) {
  const keep = new Set([1, 2]); // type, import
  const parts = [bytes.subarray(0, 8)];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    let size = 0, shift = 0, p = at + 1, b;
    do { b = bytes[p++]; size |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80);
    if (keep.has(id)) parts.push(bytes.subarray(at, p + size));
    at = p + size;
  }
  const total = parts.reduce((n, part) => n + part.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const part of parts) { out.set(part, o); o += part.length; }
  return new WebAssembly.Module(out);
}
