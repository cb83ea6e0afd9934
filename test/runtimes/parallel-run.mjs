// Runs test/runtimes/parallel-check.mjs with the "edgevae" package this host resolves (Node or
// Deno) and prints its report as JSON. Copied next to an installed package by
// test/runtimes/parallel-runtimes.test.ts.
//   node parallel-run.mjs <pack.json> '<options JSON>'
//   deno run --allow-read parallel-run.mjs <pack.json> '<options JSON>'
import * as edgevae from "edgevae";
import { readFile } from "node:fs/promises";
import { parallelCheck } from "./parallel-check.mjs";

const args = globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
const pack = JSON.parse(await readFile(args[0], "utf8"));
const options = JSON.parse(args[1] ?? "{}");
const missingWorkerUrl = new URL("./node_modules/edgevae/dist/no-such-worker.js", import.meta.url).href;
const report = await parallelCheck(edgevae, pack, { ...options, missingWorkerUrl });
const runtime = globalThis.Deno ? `deno ${globalThis.Deno.version.deno}` : `node ${process.version}`;
const cores = globalThis.navigator?.hardwareConcurrency ?? null;
// no process.exit: the runtime must end by itself once every pool is disposed
console.log(JSON.stringify({ runtime, cores, ...report }));
