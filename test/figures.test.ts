// The figure scripts themselves (npm run figure:circle / figure:mnist), on small grids, into a
// temporary folder: they run, write a PNG, and the circle's density integrates to 1.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = new URL("..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "edgevae-figures-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const run = (script: string, ...args: string[]) =>
  execFileSync(process.execPath, [join(ROOT, "models", script), ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });

describe("figure scripts", () => {
  it("figure-circle.mjs prints a quadrature integral of 1 +- 0.03 and writes its PNG", () => {
    const out = join(dir, "circle.png");
    const printed = run("figure-circle.mjs", "--cells", "40", "--k", "64", "--out", out);
    const quadrature = Number(/z-grid quadrature[^:]*:\s*([\d.]+)/.exec(printed)?.[1]);
    expect(Math.abs(quadrature - 1)).toBeLessThan(0.03);
    expect([...readFileSync(out).subarray(0, 8)]).toEqual(PNG_SIGNATURE);
  });

  it("figure-mnist.mjs writes its grid of samples and interpolations", () => {
    const out = join(dir, "mnist.png");
    expect(run("figure-mnist.mjs", "--out", out)).toContain(`wrote ${out}`);
    expect([...readFileSync(out).subarray(0, 8)]).toEqual(PNG_SIGNATURE);
  });
});
