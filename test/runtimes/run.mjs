// Runs the conformance script with the "edgevae" package that this host resolves (Node or Deno)
// and prints its report as JSON. Copied next to an installed package by test/runtimes/harness.ts.
//   node run.mjs <pack.json> '{"simd":"baseline"}'
//   deno run --allow-read run.mjs <pack.json> '{"simd":"baseline"}'
import { Vae } from "edgevae";
import { readFile } from "node:fs/promises";
import { conformance } from "./conformance.mjs";

const args = globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
const pack = JSON.parse(await readFile(args[0], "utf8"));
const options = JSON.parse(args[1] ?? "{}");
const report = await conformance(Vae, pack, options);
const runtime = globalThis.Deno ? `deno ${globalThis.Deno.version.deno}` : `node ${process.version}`;
console.log(JSON.stringify({ runtime, ...report }));
