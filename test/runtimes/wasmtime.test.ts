// A host without JavaScript on the real wasmtime engine (its Python embedding, Cranelift):
// `edgevae image` compiles a model into an image (docs/image.md), examples/wasmtime/host.py
// replays it on build/edgevae.wasm, and its posterior means, log-variances and ELBOs must equal,
// bit for bit (float32 bit patterns), what the SDK itself prints (examples/wasmtime/sdk.mjs).
// The image format's own JavaScript host (ImageRunner) is checked here too, without Python.
import { describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Vae } from "../../sdk/index";
import { ImageRunner, compileImage, parseImage } from "../../sdk/image";
import { quantize } from "../../sdk/train/quantize";
import { ROOT } from "./harness";

const PYTHON = join(ROOT, ".venv/bin/python");
const probe = existsSync(PYTHON) ? spawnSync(PYTHON, ["-c", "import wasmtime"], { encoding: "utf8" }) : undefined;
const hasWasmtime = probe?.status === 0;
const why = !existsSync(PYTHON) ? ".venv/bin/python does not exist (bash models/venv.sh wasmtime creates it from the machine's wheels)"
  : `.venv/bin/python cannot import wasmtime (${probe?.stderr.trim().split("\n").pop()}); bash models/venv.sh wasmtime installs the wheel`;

const CLI = join(ROOT, "dist/cli.js");
const WASM = join(ROOT, "build/edgevae.wasm");
const tmp = mkdtempSync(join(tmpdir(), "edgevae-wasmtime-"));

/** The float32 bit patterns a host printed: { "item 3 elbo": [hex], "item 3 mean": [hex x J], ... }. */
function bits(out: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of out.split("\n")) {
    let r = /^item (\d+) elbo \S+ bits ([0-9a-f]{8})$/.exec(line);
    if (r) { m.set(`item ${r[1]} elbo`, [r[2]!]); continue; }
    r = /^item (\d+) (mean|logvar) bits ((?:[0-9a-f]{8} ?)+)$/.exec(line);
    if (r) m.set(`item ${r[1]} ${r[2]}`, r[3]!.trim().split(" "));
  }
  return m;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

function image(model: string, out: string, extra: string[]): string {
  if (!existsSync(CLI)) throw new Error("dist/cli.js is missing: run npm run build");
  run(process.execPath, [CLI, "image", model, "-o", out, ...extra]);
  return out;
}

/** Runs host.py and sdk.mjs on the same model and items; expects equal bits for every item. */
function compare(model: string, items: string, imageArgs: string[], seed: number, n: number, latent: number) {
  const img = image(model, join(tmp, `${Math.random().toString(36).slice(2)}.evimg`), [...imageArgs, "--seed", String(seed)]);
  const py = run(PYTHON, [join(ROOT, "examples/wasmtime/host.py"), img, "--wasm", WASM, "--items", items]);
  const js = run(process.execPath, [join(ROOT, "examples/wasmtime/sdk.mjs"), model, "--items", items, "--seed", String(seed)]);
  expect(py).toMatch(/^# wasmtime 49\.\d+\.\d+ \(Python, no JavaScript\), baseline build/);
  expect(js).toMatch(/^# edgevae SDK on Node v\d+.*baseline build/);
  const a = bits(py), b = bits(js);
  expect(a.size).toBe(3 * n); // elbo, mean, logvar per item
  for (let i = 0; i < n; i++) {
    expect(a.get(`item ${i} mean`)).toHaveLength(latent);
    expect(a.get(`item ${i} elbo`), `item ${i} elbo`).toEqual(b.get(`item ${i} elbo`));
    expect(a.get(`item ${i} mean`), `item ${i} mean`).toEqual(b.get(`item ${i} mean`));
    expect(a.get(`item ${i} logvar`), `item ${i} logvar`).toEqual(b.get(`item ${i} logvar`));
  }
  // not all one value: the items differ, so a stuck host would show
  expect(new Set([...a.entries()].filter(([k]) => k.endsWith("elbo")).map(([, v]) => v[0])).size).toBe(n);
  return { py, js };
}

const MNIST = join(ROOT, "models/mnist.safetensors");
const MNIST16 = join(ROOT, "examples/wasmtime/mnist16.json");

describe.skipIf(!hasWasmtime)("wasmtime (Python embedding): an image replayed without JavaScript", () => {
  it("MNIST MLP, 16 items in one chunk of 16: equal to the SDK bit for bit", () => {
    const { py } = compare(MNIST, MNIST16, ["--rows", "16"], 7, 16, 32);
    expect(py).toMatch(/16 items, latent 32, ELBO seed 7 samples 1 beta 1/);
  });

  it("MNIST MLP in chunks of 6 (6 + 6 + a padded 4; the noise index advances per chunk)", () => {
    compare(MNIST, MNIST16, ["--rows", "6"], 123456789012, 16, 32);
  });

  it("the Fashion-MNIST conv VAE (indirect-GEMM convolutions, transposed convolutions)", () => {
    const fashion = JSON.parse(readFileSync(join(ROOT, "models/fashion-test16.json"), "utf8")) as { x: number[][] };
    const items = join(tmp, "fashion16.json");
    writeFileSync(items, JSON.stringify(fashion.x));
    compare(join(ROOT, "models/fashion-conv.safetensors"), items, ["--rows", "16"], 3, 16, 16);
  });

  it("an int8 copy of the MNIST model (the int8 GEMM)", () => {
    const q = join(tmp, "mnist-int8.safetensors");
    writeFileSync(q, quantize(readFileSync(MNIST)).bytes);
    compare(q, MNIST16, ["--rows", "16"], 1, 16, 32);
  });

  it("refuses a wasm other than the one the image names", () => {
    const img = image(MNIST, join(tmp, "m.evimg"), []);
    const r = spawnSync(PYTHON, [join(ROOT, "examples/wasmtime/host.py"), img, "--wasm", join(ROOT, "build/edgevae-relaxed.wasm")], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/built for the baseline wasm with SHA-256 [0-9a-f]{64}; .*edgevae-relaxed\.wasm has [0-9a-f]{64}/);
  });
});

if (!hasWasmtime) {
  it.skip(`wasmtime: SKIPPED because ${why}`, () => {});
}

describe("the image format's JavaScript host (ImageRunner)", () => {
  const wasm = new Uint8Array(readFileSync(WASM));

  it("replays encode, decode and elbo of a conv VAE over a partial last chunk, equal to the Vae", async () => {
    const model = new Uint8Array(readFileSync(join(ROOT, "models/fashion-conv.safetensors")));
    const { bytes, header } = await compileImage(model, { wasm, rows: 5, seed: 11, samples: 2 });
    expect(header.programs.elbo.items).toBe(2); // floor(5 rows / 2 samples)
    expect(header.programs.elbo.per_chunk.length).toBeGreaterThan(0); // the noise's first index
    const runner = await ImageRunner.create(bytes, wasm);
    const x = Float32Array.from((JSON.parse(readFileSync(join(ROOT, "models/fashion-test16.json"), "utf8")) as { x: number[][] }).x.slice(0, 7).flat());
    const z = Float32Array.from({ length: 7 * 16 }, (_, i) => Math.sin(i));
    const vae = await Vae.load(model, { simd: "baseline" });
    const same = (a: Float32Array, b: Float32Array) => expect(Array.from(new Uint32Array(a.buffer))).toEqual(Array.from(new Uint32Array(b.buffer)));
    const enc = runner.run("encode", { x }), e = vae.encode(x);
    same(enc.mean!, e.mean); same(enc.logvar!, e.logvar);
    same(runner.run("decode", { z }).mean!, vae.decode(z));
    const el = runner.run("elbo", { x }), ve = vae.elbo(x, { seed: 11, samples: 2 });
    same(el.elbo!, ve.elbo); same(el.recon!, ve.recon); same(el.kl!, ve.kl);
    vae.dispose();
  });

  it("refuses damaged images and other wasm builds with E_IMAGE", async () => {
    const { bytes } = await compileImage(new Uint8Array(readFileSync(join(ROOT, "models/circle.safetensors"))), { wasm });
    expect(() => parseImage(bytes.slice(0, 10))).toThrow(expect.objectContaining({ code: "E_IMAGE" }));
    const wrongMagic = bytes.slice(); wrongMagic[0] = 0x41;
    expect(() => parseImage(wrongMagic)).toThrow(/does not start with "EVIMAGE\\0"/);
    const truncated = bytes.slice(0, bytes.length - 100);
    expect(() => parseImage(truncated)).toThrow(/past the data section/);
    const other = new Uint8Array(readFileSync(join(ROOT, "build/edgevae-relaxed.wasm")));
    await expect(ImageRunner.create(bytes, other)).rejects.toMatchObject({ code: "E_IMAGE", message: expect.stringMatching(/built for the baseline wasm/) });
    await expect(compileImage(new Uint8Array(8), { wasm })).rejects.toMatchObject({ code: "E_HEADER_SIZE" });
  });
});

it("the Python host needs nothing but the standard library and wasmtime", () => {
  const src = readFileSync(join(ROOT, "examples/wasmtime/host.py"), "utf8");
  const imports = [...src.matchAll(/^import (\S+)|^from (\S+) import/gm)].map((m) => (m[1] ?? m[2])!.split(".")[0]);
  expect(new Set(imports)).toEqual(new Set(["argparse", "hashlib", "importlib", "json", "struct", "sys", "wasmtime"]));
  expect(execFileSync("git", ["-C", ROOT, "check-ignore", "-q", ".venv"], { encoding: "utf8" })).toBe(""); // .venv stays out of git
});
