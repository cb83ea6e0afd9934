// Deno, for real (the npm package `deno`): the conformance script against the package installed
// from its tarball (Deno resolves "edgevae" through node_modules and the "deno" export
// condition, and finds the wasm with fetch(new URL(..., import.meta.url))), then the examples.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { expectCloseToBaseline, installPackage, parseReport, referenceReport, ROOT, run, type Report } from "./harness";

export const DENO = join(ROOT, "node_modules/.bin/deno");
const env = { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" };

let dir: string, reference: Report;
beforeAll(async () => {
  dir = installPackage();
  reference = await referenceReport("baseline");
}, 120_000);
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

const conformanceOnDeno = async (options: object) =>
  parseReport(await run(DENO, ["run", "--allow-read", "--no-lock", "--no-prompt", "run.mjs", "pack.json", JSON.stringify(options)], { cwd: dir, env }), "deno run.mjs");

describe("Deno", () => {
  it("gives the reference bits with the baseline build", async () => {
    const report = await conformanceOnDeno({ simd: "baseline" });
    expect(report.runtime).toMatch(/^deno 2\./);
    expect(report.ops).toEqual(reference.ops);
    expect(report.hash).toBe(reference.hash);
  });

  it('"auto" picks the relaxed build (Deno has relaxed SIMD), close to the baseline', async () => {
    const report = await conformanceOnDeno({});
    expect(new Set(Object.values(report.builds))).toEqual(new Set(["relaxed"]));
    expectCloseToBaseline(report, reference);
  });
});

describe("the Deno examples (examples/deno)", () => {
  it("main.ts scores points on and off the circle", async () => {
    const r = await run(DENO, ["run", "--allow-read", "examples/deno/main.ts"], { cwd: ROOT, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/edgevae on Deno 2\.\d+\.\d+: input \[2\], latent 2/);
    const logpx = [...r.stdout.matchAll(/log p\(x\) (-?\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(logpx).toHaveLength(5);
    expect(logpx[0]).toBeGreaterThan(-3); // (2, 0): on the ring
    expect(logpx[4]).toBeLessThan(-8);    // (3, 3): far off it
  });

  it("serve.ts answers /sample and /score, and 4xx with the SDK's error codes", async () => {
    const { spawn } = await import("node:child_process");
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(DENO, ["run", "--allow-read", "--allow-net=127.0.0.1", "examples/deno/serve.ts", "--port", String(port)], { cwd: ROOT, env, stdio: "ignore" });
    try {
      const base = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 100; i++) {
        if (await fetch(`${base}/`).then((r) => r.ok, () => false)) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      const sample = await (await fetch(`${base}/sample?n=3&seed=7`)).json() as { samples: number[][] };
      expect(sample.samples).toHaveLength(3);
      expect(sample.samples[0]).toHaveLength(2);
      const r = await fetch(`${base}/score?k=32`, { method: "POST", body: JSON.stringify({ x: [[2, 0], [3, 3]] }) });
      const score = await r.json() as { elbo: number[]; logpx: number[] };
      expect(score.logpx[0]).toBeGreaterThan(score.logpx[1]!);
      const bad = await fetch(`${base}/score`, { method: "POST", body: JSON.stringify({ x: [1, 2, 3] }) });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("E_INPUT_LENGTH");
    } finally {
      child.kill("SIGKILL");
    }
  });
});
