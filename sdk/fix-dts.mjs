// Rewrites the relative module specifiers in the emitted declaration files (dist/**/*.d.ts) to
// the files Node resolves: "./errors" -> "./errors.js", "./ops" -> "./ops/index.js". tsc copies
// the sources' extensionless imports into the .d.ts as they are, which only moduleResolution
// "bundler" accepts; under node16/nodenext they fail (TS2834) and arethetypeswrong reports an
// internal resolution error. Doing it here keeps the sources' imports as they are.
// Every relative specifier must end up naming a .d.ts that exists, or the build fails.
import { readdir, readFile, writeFile, stat } from "node:fs/promises";
import { dirname, join, relative } from "node:path";

// `from "x"` (import / export ... from), `import("x")` (type imports) and bare `import "x"`:
// the only places tsc's declaration emit writes a module specifier.
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])([^"'\n]+)\2/g;

async function isFile(path) {
  try { return (await stat(path)).isFile(); } catch { return false; }
}

async function* declarationFiles(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* declarationFiles(path);
    else if (entry.name.endsWith(".d.ts")) yield path;
  }
}

/** The specifier Node would resolve to the declaration file `spec` means, or undefined. */
async function resolveSpecifier(fromDir, spec) {
  if (/\.(c|m)?js$/.test(spec)) {
    // already explicit: its declaration file must exist beside it
    return (await isFile(join(fromDir, spec.replace(/\.(c|m)?js$/, (_, k) => `.d.${k ?? ""}ts`)))) ? spec : undefined;
  }
  const base = spec.replace(/\/$/, "");
  if (await isFile(join(fromDir, `${base}.d.ts`))) return `${base}.js`;
  if (await isFile(join(fromDir, base, "index.d.ts"))) return `${base}/index.js`;
  return undefined;
}

/** Rewrites every .d.ts under `dir`; returns the number of specifiers rewritten. Throws naming each one it cannot resolve. */
export async function fixDeclarations(dir) {
  const problems = [];
  let rewritten = 0;
  for await (const file of declarationFiles(dir)) {
    const text = await readFile(file, "utf8");
    const fromDir = dirname(file);
    const found = [...text.matchAll(SPECIFIER)].filter((m) => m[3].startsWith("./") || m[3].startsWith("../"));
    const targets = new Map();
    for (const m of found) {
      if (targets.has(m[3])) continue;
      const target = await resolveSpecifier(fromDir, m[3]);
      if (target === undefined) problems.push(`${relative(".", file)}: "${m[3]}" names no declaration file`);
      targets.set(m[3], target);
    }
    const out = text.replace(SPECIFIER, (all, lead, quote, spec) => {
      const target = targets.get(spec);
      if (target === undefined || target === spec) return all;
      rewritten++;
      return `${lead}${quote}${target}${quote}`;
    });
    if (out !== text) await writeFile(file, out);
  }
  if (problems.length > 0) throw new Error(`declaration files with unresolvable imports:\n  ${problems.join("\n  ")}`);
  return rewritten;
}

/**
 * Writes `<name>.d.ts` beside each wasm build, the "types" of package.json's "./edgevae.wasm"
 * exports: what `import wasm from "edgevae/edgevae.wasm"` gives where the README uses it,
 * under wrangler (its CompiledWasm rule) and Vercel Edge, a compiled WebAssembly.Module.
 */
export async function writeWasmDeclarations(dir, names) {
  for (const name of names) {
    await writeFile(join(dir, `${name}.d.ts`), [
      `// ${name} as Cloudflare Workers (wrangler) and Vercel Edge import it: a compiled module,`,
      `// to pass as Vae.load(model, { wasm }).`,
      "declare const wasm: WebAssembly.Module;",
      "export default wasm;",
      "",
    ].join("\n"));
  }
}
