// VaePool for real on each runtime, through the package installed from its tarball (so the
// worker scripts must ship in dist/ and be found beside the bundles): the same checks
// (test/runtimes/parallel-check.mjs) run in this Node process on dist/, in a fresh Node, in
// Deno (module Web Workers), and in Chromium on a page that starts module workers without
// cross-origin isolation. Each must find every pool result byte-identical to its own Vae's,
// the same Vae hashes as Node's, and the typed errors. Deno must exit by itself once the pools
// are disposed (a worker left running would keep it alive until the timeout).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "node:http";
import { chromium, type BrowserContext } from "playwright-core";
import { HERE, ROOT, conformancePack, installPackage, run, type RunResult } from "./harness";
// @ts-expect-error: plain JavaScript shared with the other runtimes
import { parallelCheck } from "./parallel-check.mjs";
// @ts-expect-error: plain JavaScript (the example's server)
import { startServer } from "../../examples/browser/serve.mjs";

const DENO = join(ROOT, "node_modules/.bin/deno");
const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
const inCI = process.env.CI === "true";
const OPTIONS = {
  names: ["mnist_shaped", "gaussian_learned", "v2_conv_image_bernoulli", "v2_sequence_gaussian_f16"],
  configs: [[2, 37], [3, 1], [null, null]], // null: the defaults (the host's cores, automatic slices)
};

interface CheckReport {
  runtime?: string; cores?: number; crossOriginIsolated?: boolean; error?: string;
  mismatches: string[]; hashes: Record<string, string>; pools: { name: string; workers: number; mode: string }[];
  errors: Record<string, { name: string; code: string; message: string } | number | boolean | null>;
}

function parse(r: RunResult, what: string): CheckReport {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as CheckReport;
}

let dir: string, reference: CheckReport;
beforeAll(async () => {
  dir = installPackage();
  for (const f of ["parallel-check.mjs", "parallel-run.mjs", "parallel-page.html"]) copyFileSync(join(HERE, f), join(dir, f));
  const edgevae = await import(new URL("../../dist/index.js", import.meta.url).href);
  reference = await parallelCheck(edgevae, conformancePack(), { ...OPTIONS, missingWorkerUrl: new URL("../../dist/no-such-worker.js", import.meta.url).href }) as CheckReport;
}, 180_000);
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

/** What every runtime must report. */
function expectGood(report: CheckReport, cores: number): void {
  expect(report.error).toBeUndefined();
  expect(report.mismatches).toEqual([]);
  expect(report.hashes).toEqual(reference.hashes);
  expect(report.pools.map((p) => p.workers)).toEqual(OPTIONS.names.flatMap(() => [2, 3, cores]));
  expect(new Set(report.pools.map((p) => p.mode))).toEqual(new Set(["workers"]));
  const e = report.errors;
  expect(e.argument).toMatchObject({ name: "ArgumentError", code: "E_INPUT_LENGTH" });
  expect(e.crash).toMatchObject({ name: "WorkerError", code: "E_WORKER_EXIT" });
  expect((e.crash as { message: string }).message).toMatch(/worker 0 threw.*crash requested.*the pool goes on with 1 worker/);
  expect(e.workersAfterCrash).toBe(1);
  expect(e.sameAfterCrash).toBe(true);
  expect(e.disposedWhileRunning).toMatchObject({ name: "PoolDisposedError", code: "E_DISPOSED" });
  expect(e.afterDispose).toMatchObject({ name: "PoolDisposedError", code: "E_DISPOSED" });
  expect(e.missingWorker).toMatchObject({ name: "WorkerError", code: "E_WORKER_START" });
}

describe("VaePool in this Node process (dist/)", () => {
  it("matches the Vae byte for byte; typed errors", async () => {
    const os = await import("node:os");
    expectGood(reference, os.availableParallelism());
  });
});

describe("VaePool in a fresh Node, from the packed package", () => {
  it("finds its worker script in node_modules/edgevae/dist and matches the Vae; the process exits once the pools are disposed", async () => {
    const r = await run(process.execPath, ["parallel-run.mjs", "pack.json", JSON.stringify(OPTIONS)], { cwd: dir, timeoutMs: 120_000 });
    const report = parse(r, "node parallel-run.mjs");
    expect(report.runtime).toBe(`node ${process.version}`);
    expectGood(report, (await import("node:os")).availableParallelism());
  });
});

describe("VaePool in Deno (module Web Workers)", () => {
  it("matches the Vae byte for byte with Node's hashes; typed errors; Deno exits once the pools are disposed", async () => {
    const env = { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" };
    const r = await run(DENO, ["run", "--allow-read", "--no-lock", "--no-prompt", "parallel-run.mjs", "pack.json", JSON.stringify(OPTIONS)], { cwd: dir, env, timeoutMs: 120_000 });
    const report = parse(r, "deno run parallel-run.mjs");
    expect(report.runtime).toMatch(/^deno 2\./);
    expectGood(report, report.cores!);
  });
});

if (!hasChromium && !inCI) {
  it.skip(`VaePool in Chromium: SKIPPED because ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`, () => {});
}

describe.skipIf(!hasChromium && !inCI)("VaePool in Chromium (a page that starts module workers)", () => {
  let server: Server, base: string, context: BrowserContext, tmp: string;
  beforeAll(async () => {
    if (!hasChromium) throw new Error(`${CHROMIUM} is missing: CI must install it (apt-get install -y chromium), see .ci/run`);
    tmp = mkdtempSync(join(tmpdir(), "edgevae-pool-chromium-"));
    ({ server, url: base } = await startServer({
      port: 0, mounts: { "/edgevae/": join(dir, "node_modules/edgevae/dist"), "/check/": dir },
    }));
    context = await chromium.launchPersistentContext(join(tmp, "profile"), {
      executablePath: CHROMIUM, headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"],
    });
  }, 120_000);
  afterAll(async () => {
    await context?.close();
    server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("matches the Vae byte for byte with Node's hashes, typed errors, without cross-origin isolation", async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${base}check/parallel-page.html?options=${encodeURIComponent(JSON.stringify(OPTIONS))}`);
    await page.waitForFunction(() => document.documentElement.dataset.done === "true", null, { timeout: 120_000 });
    const report = await page.evaluate(() => (window as unknown as { report: CheckReport }).report);
    expect(report.runtime).toMatch(/Chrome\//);
    expect(report.crossOriginIsolated).toBe(false);
    expectGood(report, report.cores!);
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});

describe("VaePool in a Vite production build", () => {
  it("bundles the worker script and points it at the wasm files it fetches", () => {
    const app = installPackage();
    try {
      writeFileSync(join(app, "index.html"), '<!doctype html><script type="module" src="./main.js"></script>');
      writeFileSync(join(app, "main.js"), 'import { VaePool } from "edgevae";\nwindow.create = (bytes) => VaePool.create(bytes);\n');
      execFileSync(process.execPath, [join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "error"], { cwd: app, encoding: "utf8", timeout: 60_000 });
      const assets = readdirSync(join(app, "dist/assets"));
      const worker = assets.find((f) => /^parallel-worker-browser-[\w-]+\.js$/.test(f));
      expect(worker, assets.join(", ")).toBeDefined();
      const main = assets.filter((f) => f.endsWith(".js") && f !== worker).map((f) => readFileSync(join(app, "dist/assets", f), "utf8")).join("\n");
      expect(main).toContain(worker);
      const workerJs = readFileSync(join(app, "dist/assets", worker!), "utf8");
      for (const wasm of assets.filter((f) => f.endsWith(".wasm"))) expect(workerJs).toContain(wasm); // hashed names, both builds
      expect(assets.filter((f) => f.endsWith(".wasm"))).toHaveLength(2);
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  }, 120_000);
});
