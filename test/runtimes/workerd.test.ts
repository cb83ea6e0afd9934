// Cloudflare Workers, for real and offline: `wrangler dev` (wrangler 4.86.0, the last that runs
// on Node 20) serves Workers on workerd at 127.0.0.1.
//  - the example Worker (examples/worker, started by its documented command, dev.mjs, with an
//    MNIST-shaped test model): /sample answers a PNG grid, /score ELBO and log p(x) equal to
//    Node's, bad requests 4xx with the SDK's error codes;
//  - a conformance Worker importing the package installed from its tarball (the "workerd"
//    export condition: no Node code, the wasm passed as the imported WebAssembly.Module): the
//    baseline build gives the reference bits, the relaxed build agrees within tolerance.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Vae } from "../../sdk/index";
import {
  HERE, ROOT, conformancePack, expectCloseToBaseline, installPackage, mnistShapedModel, referenceReport, type Report,
} from "./harness";

const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface Server { child: ChildProcess; base: string; log: () => string }

/** Starts a command in its own process group and waits until GET base/ answers. */
async function startServer(cmd: string, args: string[], cwd: string, port: number, env: NodeJS.ProcessEnv): Promise<Server> {
  const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => { out += d; });
  child.stderr!.on("data", (d) => { out += d; });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      stop(child);
      throw new Error(`${cmd} exited with ${child.exitCode}:\n${out}`);
    }
    try {
      const r = await fetch(`${base}/`);
      if (r.ok) return { child, base, log: () => out };
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  stop(child);
  throw new Error(`${cmd} did not answer on ${base} within 90 s:\n${out}`);
}

function stop(child: ChildProcess | undefined): void {
  // the whole process group: wrangler's workerd and esbuild too
  if (child?.pid === undefined) return;
  const pid = child.pid;
  try { process.kill(-pid, "SIGTERM"); } catch { /* gone */ }
  // wrangler does not always exit on SIGTERM: make sure, a moment later
  setTimeout(() => { try { process.kill(-pid, "SIGKILL"); } catch { /* gone */ } }, 1500).unref();
}

const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "true" };
let tmp: string, pkgDir: string, example: Server | undefined, conformanceWorker: Server | undefined;
let reference: Report;
const model = mnistShapedModel();

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "edgevae-workerd-"));
  pkgDir = installPackage();
  copyFileSync(join(HERE, "workerd/worker.js"), join(pkgDir, "worker.js"));
  copyFileSync(join(HERE, "workerd/wrangler.toml"), join(pkgDir, "wrangler.toml"));
  const modelPath = join(tmp, "mnist-shaped.safetensors");
  writeFileSync(modelPath, model);
  const [p1, p2, i1, i2] = [await freePort(), await freePort(), await freePort(), await freePort()];
  reference = await referenceReport("baseline");
  const started = await Promise.allSettled([
    startServer(process.execPath, [join(ROOT, "examples/worker/dev.mjs"), "--model", modelPath, "--port", String(p1),
      "--inspector-port", String(i1)], ROOT, p1, { ...env, EDGEVAE_WRANGLER_STATE: join(tmp, "state-example") }),
    startServer(WRANGLER, ["dev", "--ip", "127.0.0.1", "--port", String(p2), "--inspector-port", String(i2), "--local",
      "--show-interactive-dev-session=false", "--persist-to", join(tmp, "state-conformance")], pkgDir, p2, env),
  ]);
  [example, conformanceWorker] = started.map((s) => (s.status === "fulfilled" ? s.value : undefined));
  for (const s of started) if (s.status === "rejected") throw s.reason;
}, 180_000);

afterAll(async () => {
  stop(example?.child);
  stop(conformanceWorker?.child);
  await new Promise((r) => setTimeout(r, 2000));
  for (const d of [tmp, pkgDir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe("workerd: the example Worker (examples/worker)", () => {
  it("GET /sample?n=16&seed=7 answers a PNG grid of 16 samples", async () => {
    const r = await fetch(`${example!.base}/sample?n=16&seed=7`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("image/png");
    const png = new Uint8Array(await r.arrayBuffer());
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const view = new DataView(png.buffer);
    // 4 x 4 tiles of 56 px (28 px drawn 2 x 2) with 2 px gaps
    expect([view.getUint32(16), view.getUint32(20)]).toEqual([4 * 58 + 2, 4 * 58 + 2]);
    // the same request gives the same image
    const again = new Uint8Array(await (await fetch(`${example!.base}/sample?n=16&seed=7`)).arrayBuffer());
    expect(again).toEqual(png);
  });

  it("POST /score answers ELBO and log p(x) equal to Node's (baseline build)", async () => {
    const vae = await Vae.load(model, { simd: "baseline" });
    const x = vae.sample(2, { seed: 3 });
    const r = await fetch(`${example!.base}/score?simd=baseline&seed=5&k=32&samples=4`, {
      method: "POST", body: JSON.stringify({ pixels: [Array.from(x.subarray(0, 784)), Array.from(x.subarray(784))] }),
    });
    expect(r.status).toBe(200);
    const body = await r.json() as { items: number; simd: string; elbo: number[]; recon: number[]; kl: number[]; logpx: number[] };
    const want = vae.elbo(x, { samples: 4, seed: 5 });
    expect(body.items).toBe(2);
    expect(body.simd).toBe("baseline");
    expect(body.elbo).toEqual(Array.from(want.elbo));
    expect(body.kl).toEqual(Array.from(want.kl));
    expect(body.logpx).toEqual(Array.from(vae.logLikelihood(x, { k: 32, seed: 5 })));
    vae.dispose();
  });

  it("uses the relaxed build by default (workerd has relaxed SIMD)", async () => {
    const r = await fetch(`${example!.base}/info`);
    expect(((await r.json()) as { simd: string }).simd).toBe("relaxed");
  });

  it("answers bad requests with 4xx and the SDK's error codes", async () => {
    const cases: [string, RequestInit | undefined, number, string][] = [
      ["/sample?n=0", undefined, 400, "E_ARGUMENT"],
      ["/sample?n=16&seed=-1", undefined, 400, "E_ARGUMENT"],
      ["/score", { method: "POST", body: "not json" }, 400, "E_BAD_JSON"],
      ["/score", { method: "POST", body: JSON.stringify({ pixels: [0.5, 0.5, 0.5] }) }, 400, "E_INPUT_LENGTH"],
      ["/score", { method: "POST", body: JSON.stringify({ nope: 1 }) }, 400, "E_INPUT_TYPE"],
      ["/score", undefined, 405, "E_METHOD"],
      ["/nowhere", undefined, 404, "E_NOT_FOUND"],
    ];
    for (const [path, init, status, code] of cases) {
      const r = await fetch(`${example!.base}${path}`, init);
      expect(r.status, path).toBe(status);
      const body = await r.json() as { error: { code: string; message: string } };
      expect(body.error.code, path).toBe(code);
      expect(body.error.message.length, path).toBeGreaterThan(10);
    }
  });
});

describe("workerd: the conformance script on the package's workerd bundle", () => {
  const post = async (path: string) => {
    const r = await fetch(`${conformanceWorker!.base}${path}`, { method: "POST", body: JSON.stringify(conformancePack()) });
    return { status: r.status, body: await r.json() as Report & { error?: { code: string; message: string } } };
  };

  it("gives the reference bits with the baseline build", async () => {
    const { status, body } = await post("/conformance?simd=baseline");
    expect(status, JSON.stringify(body.error)).toBe(200);
    expect(body.runtime).toMatch(/Cloudflare-Workers/);
    expect(body.ops).toEqual(reference.ops);
    expect(body.hash).toBe(reference.hash);
  });

  it("runs the relaxed build, close to the baseline", async () => {
    const { status, body } = await post("/conformance?simd=relaxed");
    expect(status, JSON.stringify(body.error)).toBe(200);
    expect(new Set(Object.values(body.builds))).toEqual(new Set(["relaxed"]));
    expectCloseToBaseline(body, reference);
  });

  it("without { wasm }, Vae.load says how to pass the imported module", async () => {
    const { status, body } = await post("/no-wasm");
    expect(status).toBe(500);
    expect(body.error!.code).toBe("E_WASM_LOAD");
    expect(body.error!.message).toMatch(/import wasm from "edgevae\/edgevae\.wasm"/);
  });
});

// the bundle the Worker got: no Node code, no import.meta (checked at build time too)
it("the package's workerd bundle has no node: imports", () => {
  const js = readFileSync(join(ROOT, "dist/workerd.js"), "utf8");
  expect(js).not.toMatch(/node:/);
  expect(js).not.toMatch(/import\.meta/);
});
