// Chromium, for real: Debian's /usr/bin/chromium driven by playwright-core loads the browser
// example (examples/browser, served by its own serve.mjs on 127.0.0.1) with the package's
// browser bundle installed from its tarball, then
//  - runs the conformance script in the page: the baseline build gives the reference bits,
//    the default ("auto": relaxed SIMD in Chrome) agrees within tolerance;
//  - draws on the pad: the page's live ELBO and log p(x) equal Node's for the same pixels;
//  - takes a screenshot and checks it is not blank (EDGEVAE_UPDATE_DOCS=1 saves it to
//    docs/browser-example.png)
//    (when the real models/mnist.safetensors is there; otherwise an MNIST-shaped test model
//    is served and the picture is not worth keeping).
// Without Chromium the test is skipped, saying why; with CI=true a missing Chromium fails.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "node:http";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { Vae } from "../../sdk/index";
import { densityGrid } from "../../sdk/train/index";
import { expectCloseToBaseline, installPackage, mnistShapedModel, referenceReport, ROOT, type Report } from "./harness";
// @ts-expect-error: plain JavaScript (the example's server)
import { startServer } from "../../examples/browser/serve.mjs";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
const inCI = process.env.CI === "true";
const realMnist = existsSync(join(ROOT, "models/mnist.safetensors"));

if (!hasChromium && !inCI) {
  it.skip(`Chromium: SKIPPED because ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`, () => {});
}

describe.skipIf(!hasChromium && !inCI)("Chromium (Debian /usr/bin/chromium, playwright-core)", () => {
  let tmp: string, pkgDir: string, modelsDir: string, server: Server, base: string;
  let context: BrowserContext, page: Page, reference: Report;
  const errors: string[] = [];

  beforeAll(async () => {
    if (!hasChromium) throw new Error(`${CHROMIUM} is missing: CI must install it (apt-get install -y chromium), see .ci/run`);
    tmp = mkdtempSync(join(tmpdir(), "edgevae-chromium-"));
    pkgDir = installPackage();
    if (realMnist) {
      modelsDir = join(ROOT, "models");
    } else {
      modelsDir = join(tmp, "models");
      rmSync(modelsDir, { recursive: true, force: true });
      (await import("node:fs")).mkdirSync(modelsDir);
      writeFileSync(join(modelsDir, "mnist.safetensors"), mnistShapedModel());
      copyFileSync(join(ROOT, "models/circle-pytorch.safetensors"), join(modelsDir, "circle-pytorch.safetensors"));
    }
    // the page gets the packed package's dist/ as /edgevae/, and the conformance files
    ({ server, url: base } = await startServer({
      port: 0, models: modelsDir,
      mounts: { "/edgevae/": join(pkgDir, "node_modules/edgevae/dist"), "/conformance/": pkgDir },
    }));
    reference = await referenceReport("baseline");
    context = await chromium.launchPersistentContext(join(tmp, "profile"), {
      executablePath: CHROMIUM, headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"],
      viewport: { width: 1360, height: 860 },
    });
    page = await context.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    server?.close();
    for (const d of [tmp, pkgDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  async function open(query: string): Promise<void> {
    await page.goto(`${base}${query}`);
    await page.waitForFunction(() => document.documentElement.dataset.ready, null, { timeout: 60_000 });
    expect(await page.evaluate(() => document.documentElement.dataset.ready), JSON.stringify(errors)).toBe("true");
  }

  // (a string, not a function: vitest would rewrite a function's dynamic imports)
  const conformanceInPage = (options: object) => page.evaluate(`(async () => {
    const { Vae } = await import("edgevae");
    const { conformance } = await import("/conformance/conformance.mjs");
    const pack = await (await fetch("/conformance/pack.json")).json();
    return { runtime: navigator.userAgent, ...(await conformance(Vae, pack, ${JSON.stringify(options)})) };
  })()`) as Promise<Report>;

  it("the example page loads both models with the baseline build, without errors", async () => {
    await open("?simd=baseline");
    const demo = await page.evaluate(() => (window as unknown as { edgevaeDemo: Record<string, unknown> }).edgevaeDemo);
    expect(demo.imageModel).toBe("mnist.safetensors");
    expect(demo.circleModel).toBe("circle-pytorch.safetensors");
    expect(await page.locator("footer").textContent()).toMatch(/baseline SIMD/);
    expect(errors).toEqual([]);
  });

  it("the conformance script in the page gives the reference bits (baseline build)", async () => {
    const report = await conformanceInPage({ simd: "baseline" });
    expect(report.runtime).toMatch(/Chrome\//);
    expect(report.ops).toEqual(reference.ops);
    expect(report.hash).toBe(reference.hash);
  });

  it('"auto" picks the relaxed build in Chromium, close to the baseline', async () => {
    const report = await conformanceInPage({});
    expect(new Set(Object.values(report.builds))).toEqual(new Set(["relaxed"]));
    expectCloseToBaseline(report, reference);
  });

  it("a digit drawn on the pad is scored live, with Node's numbers; the circle's mass too", async () => {
    const box = (await page.locator("#pad").boundingBox())!;
    await page.mouse.move(box.x + 150, box.y + 50);
    await page.mouse.down();
    for (let i = 0; i <= 24; i++) await page.mouse.move(box.x + 150 + 8 * Math.sin(i / 4), box.y + 50 + i * 8);
    await page.mouse.up();
    await page.waitForFunction(() => (window as unknown as { edgevaeDemo: { lastScore: unknown } }).edgevaeDemo.lastScore);
    await page.waitForTimeout(200); // the last animation frame's score
    const { lastScore: s, circleMass, circleMassIw } = await page.evaluate(() => (window as unknown as {
      edgevaeDemo: { lastScore: { pixels: number[]; elbo: number; logpx: number }; circleMass: number; circleMassIw: number };
    }).edgevaeDemo);
    expect(s.pixels.filter((v) => v > 0.5).length).toBeGreaterThan(20);
    const vae = await Vae.load(readFileSync(join(modelsDir, "mnist.safetensors")), { simd: "baseline" });
    const x = Float32Array.from(s.pixels);
    expect(s.elbo).toBe(vae.elbo(x, { samples: 16, seed: 1 }).elbo[0]);
    expect(s.logpx).toBe(vae.logLikelihood(x, { k: 128, seed: 1 })[0]);
    expect(await page.locator("#logpx").textContent()).toBe(s.logpx.toFixed(1));
    vae.dispose();

    const circle = await Vae.load(readFileSync(join(modelsDir, "circle-pytorch.safetensors")), { simd: "baseline" });
    const G = 96, L = 3, h = (2 * L) / G, pts = new Float32Array(G * G * 2);
    for (let r = 0; r < G; r++) for (let c = 0; c < G; c++) {
      pts[2 * (r * G + c)] = -L + (c + 0.5) * h;
      pts[2 * (r * G + c) + 1] = L - (r + 0.5) * h;
    }
    let massIw = 0;
    for (const v of circle.logLikelihood(pts, { k: 64, seed: 1 })) massIw += Math.exp(v) * h * h;
    expect(circleMassIw).toBeCloseTo(massIw, 10);
    const grid = await densityGrid(circle, { cells: G, limit: L, zCells: 120 });
    expect(circleMass).toBeCloseTo(grid.integral, 10);
    expect(Math.abs(circleMass - 1)).toBeLessThan(0.03); // the quadrature integrates the density to 1
    circle.dispose();
  });

  it("the Fashion-MNIST conv VAE's samples and reconstructions are drawn, with Node's ELBO", async () => {
    const name = ["fashion-conv.safetensors", "fashion-mlp.safetensors"].find((n) => existsSync(join(modelsDir, n)));
    const demo = await page.evaluate(() => (window as unknown as { edgevaeDemo: { fashionModel?: string; fashionElbo?: number[] } }).edgevaeDemo);
    if (name === undefined) { expect(demo.fashionModel).toBeUndefined(); return; }
    expect(demo.fashionModel).toBe(name);
    expect(await page.locator("#fashion-grid canvas").count()).toBe(16);
    expect(await page.locator("#fashion-recon canvas").count()).toBe(16);
    const test = JSON.parse(readFileSync(join(modelsDir, "fashion-test16.json"), "utf8")) as { x: number[][] };
    const vae = await Vae.load(readFileSync(join(modelsDir, name)), { simd: "baseline" });
    const images = Float32Array.from(test.x.flat()).subarray(0, 8 * vae.inputSize);
    expect(demo.fashionElbo).toEqual(Array.from(vae.elbo(images, { samples: 4, seed: 1 }).elbo));
    vae.dispose();
  });

  it("a wasm URL that is not there gives E_WASM_LOAD naming the URL", async () => {
    const err = await page.evaluate(`(async () => {
      const { Vae } = await import("edgevae");
      const bytes = new Uint8Array(await (await fetch("/models/circle-pytorch.safetensors")).arrayBuffer());
      try { await Vae.load(bytes, { wasm: new URL("/edgevae/missing.wasm", location.href) }); return null; }
      catch (e) { return { code: e.code, message: e.message }; }
    })()`) as { code: string; message: string } | null;
    expect(err?.code).toBe("E_WASM_LOAD");
    expect(err?.message).toContain(`${base}edgevae/missing.wasm`);
    expect(err?.message).toMatch(/404/);
  });

  it("a screenshot of the page is not blank", async () => {
    const png = await page.screenshot({ fullPage: true });
    // decode it in the browser and look at the pixels: many colours, much non-background
    const stats = await page.evaluate(async (b64) => {
      const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${b64}`)).blob());
      const c = new OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = c.getContext("2d")!;
      ctx.drawImage(bitmap, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      const colours = new Set<number>();
      let bright = 0;
      for (let i = 0; i < d.length; i += 4) {
        colours.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
        if (d[i]! + d[i + 1]! + d[i + 2]! > 300) bright++;
      }
      return { width: c.width, height: c.height, colours: colours.size, bright: bright / (d.length / 4) };
    }, png.toString("base64"));
    expect(stats.width).toBe(1360);
    expect(stats.colours).toBeGreaterThan(200);
    expect(stats.bright).toBeGreaterThan(0.01);
    // the README's picture: refreshed on request only, so a test run never edits tracked files
    if (realMnist && process.env.EDGEVAE_UPDATE_DOCS === "1") writeFileSync(join(ROOT, "docs/browser-example.png"), png);
  });
});
