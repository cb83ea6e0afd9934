// A web app bundles edgevae with Vite (a production build of a page that imports "edgevae"):
// the browser bundle spells its wasm URLs as new URL("./edgevae.wasm", import.meta.url)
// literals, so the bundler must ship both wasm files with the app and point the code at them.
// (That the page then runs in Chromium is test/runtimes/browser.test.ts's job.)
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { installPackage, ROOT } from "./harness";

const app = installPackage();
afterAll(() => rmSync(app, { recursive: true, force: true }));

describe("bundling with Vite", () => {
  it("a production build ships both wasm builds and references them", () => {
    writeFileSync(join(app, "index.html"), '<!doctype html><script type="module" src="./main.js"></script>');
    writeFileSync(join(app, "main.js"), 'import { Vae } from "edgevae";\nwindow.load = (bytes) => Vae.load(bytes);\n');
    execFileSync(process.execPath, [join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "error"], {
      cwd: app, encoding: "utf8", timeout: 60_000,
    });
    const assets = readdirSync(join(app, "dist/assets"));
    const wasm = assets.filter((f) => f.endsWith(".wasm"));
    expect(wasm.some((f) => /^edgevae-[\w-]+\.wasm$/.test(f) && !f.startsWith("edgevae-relaxed"))).toBe(true);
    expect(wasm.some((f) => f.startsWith("edgevae-relaxed-"))).toBe(true);
    const js = assets.filter((f) => f.endsWith(".js")).map((f) => readFileSync(join(app, "dist/assets", f), "utf8")).join("\n");
    for (const file of wasm) expect(js).toContain(file);
    for (const file of wasm) expect([...readFileSync(join(app, "dist/assets", file)).subarray(0, 4)]).toEqual([0, 0x61, 0x73, 0x6d]);
  });
});
