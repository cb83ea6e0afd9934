// The edgevae command, run for real (node dist/cli.js ...) on the shipped models and the small
// data files in test/fixtures/cli/ (made by test/fixtures/cli/make.mjs): its numbers are checked
// against the SDK in this process, and every error path against its exit code and error code.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Vae } from "../sdk/index";
import { decodePng } from "../sdk/cli/png";
import { parseNpy } from "../sdk/cli/data";
import { parseImage } from "../sdk/image";
import { quantize } from "../sdk/train/quantize";

const ROOT = new URL("../", import.meta.url).pathname;
const CLI = join(ROOT, "dist/cli.js");
const F = join(ROOT, "test/fixtures/cli");
const M = (name: string) => join(ROOT, "models", `${name}.safetensors`);
const tmp = mkdtempSync(join(tmpdir(), "edgevae-cli-"));
const EMPTY = join(tmp, "empty");
mkdirSync(EMPTY);

function cli(...args: string[]): { status: number; stdout: string; stderr: string } {
  if (!existsSync(CLI)) throw new Error("dist/cli.js is missing: run npm run build");
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function ok(...args: string[]): string {
  const r = cli(...args);
  if (r.status !== 0) throw new Error(`edgevae ${args.join(" ")} exited with ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const json = (...args: string[]) => JSON.parse(ok(...args, "--json"));
const load = async (name: string) => Vae.load(readFileSync(M(name)), { simd: "baseline" });
const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
/** The fixture digits as the SDK reads them: mnist8.npy, float32 (8, 784). */
const mnist8 = () => parseNpy(new Uint8Array(readFileSync(join(F, "mnist8.npy"))), "mnist8.npy").values;

describe("edgevae --help, --version", () => {
  it("lists every subcommand; each has --help with its usage", () => {
    const top = ok("--help");
    for (const name of ["info", "evaluate", "sample", "train", "quantize", "image"]) {
      expect(top).toMatch(new RegExp(`^  ${name} +\\S`, "m"));
      expect(ok(name, "--help")).toMatch(new RegExp(`^usage: edgevae ${name} `));
      expect(ok(name, "-h")).toMatch(/\n  --/); // options are listed
    }
    expect(ok("--version")).toBe(`edgevae ${JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version}\n`);
  });
});

describe("edgevae info", () => {
  for (const name of ["mnist", "circle", "fashion-conv"]) {
    it(`${name}: shapes, layers, parameters, dtypes, size and memory agree with Vae.info`, async () => {
      const vae = await load(name);
      const j = json("info", M(name));
      expect(j.bytes).toBe(readFileSync(M(name)).length);
      expect(j.input_shape).toEqual(vae.info.inputShape);
      expect(j.latent_dim).toBe(vae.latentDim);
      expect(j.parameters).toBe(vae.info.parameterCount);
      expect(j.encoder).toEqual(vae.info.encoder);
      expect(j.decoder).toEqual(vae.info.decoder);
      expect(j.memory.bytes).toBe(vae.info.memoryBytes);
      expect(j.dtypes).toEqual({ F32: j.tensors.length });
      const text = ok("info", M(name));
      expect(text).toContain(`${vae.info.parameterCount.toLocaleString("en")} (weights: F32)`);
      expect(text).toContain(vae.info.encoder[0]);
      vae.dispose();
    });
  }
});

describe("edgevae evaluate", () => {
  it("MNIST: ELBO and log p(x) equal one SDK call on all items, across chunks (--iw 2000: chunks of 4)", async () => {
    const vae = await load("mnist");
    const x = mnist8();
    const j = json("evaluate", M("mnist"), join(F, "mnist8.npy"), "--iw", "2000", "--seed", "5");
    const e = vae.elbo(x, { seed: 5 });
    expect(j.items).toBe(8);
    expect(j.elbo.mean).toBe(mean(e.elbo));
    expect(j.kl.mean).toBe(mean(e.kl));
    expect(j.log_px.mean).toBe(mean(vae.logLikelihood(x, { k: 2000, seed: 5 })));
    expect(j.elbo.std).toBeGreaterThan(0);
    vae.dispose();
  });

  it("--samples, --beta and --items reach the ELBO", async () => {
    const vae = await load("mnist");
    const j = json("evaluate", M("mnist"), join(F, "mnist8.npy"), "--samples", "3", "--beta", "0.5", "--items", "5");
    expect(j.items).toBe(5);
    expect(j.elbo.mean).toBe(mean(vae.elbo(mnist8().subarray(0, 5 * 784), { samples: 3, beta: 0.5, seed: 0 }).elbo));
    vae.dispose();
  });

  it("JSON, CSV and float32 NPY give the same numbers; uint8 NPY equals PNGs in every colour type", () => {
    const e = (f: string) => json("evaluate", M("mnist"), join(F, f)).elbo.mean;
    const f32 = e("mnist8.npy");
    expect(e("mnist8.json")).toBe(f32);
    expect(e("mnist8.csv")).toBe(f32);
    const u8 = e("mnist8-u8.npy");
    expect(e("digits")).toBe(u8); // gray 8/16-bit, RGB, palette, gray+alpha, RGBA, all row filters
    expect(u8).not.toBe(f32); // the bytes are rounded pixels: a real difference, so the check above can fail
    expect(Math.abs(u8 - f32)).toBeLessThan(1);
  });

  it("the conv VAE on a folder of PNGs equals the same images as JSON", async () => {
    const a = json("evaluate", M("fashion-conv"), join(F, "fashion4"), "--iw", "16");
    const b = json("evaluate", M("fashion-conv"), join(F, "fashion4.json"), "--iw", "16");
    expect(a.items).toBe(4);
    expect(a.data_description).toBe("4 PNG images, 28x28 grayscale");
    expect(a.elbo).toEqual(b.elbo);
    expect(a.log_px).toEqual(b.log_px);
    const vae = await load("fashion-conv");
    const x = Float32Array.from(JSON.parse(readFileSync(join(F, "fashion4.json"), "utf8")).flat());
    expect(a.elbo.mean).toBe(mean(vae.elbo(x, { seed: 0 }).elbo));
    vae.dispose();
  });

  it("the circle on CSV: text output, --per-item and a progress bar with --progress", async () => {
    const per = join(tmp, "per-item.csv");
    const r = cli("evaluate", M("circle"), join(F, "circle.csv"), "--iw", "64", "--per-item", per, "--progress");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/300 items \(CSV, 300 rows of 2 values\)\n  ELBO +-?\d+\.\d{4} ± \d+\.\d{4}/);
    expect(r.stdout).toMatch(/log p\(x\) +-?\d+\.\d{4} .* k = 64/);
    expect(r.stderr).toMatch(/\[#{24}\] 300\/300 items \(ELBO\)/);
    const lines = readFileSync(per, "utf8").trim().split("\n");
    expect(lines[0]).toBe("item,elbo,recon,kl,log_px");
    expect(lines).toHaveLength(301);
    const vae = await load("circle");
    const first = Number(lines[1]!.split(",")[1]);
    const csv = readFileSync(join(F, "circle.csv"), "utf8").trim().split("\n").slice(1, 2).flatMap((l) => l.split(",").map(Number));
    expect(first).toBe(vae.elbo(csv, { seed: 0 }).elbo[0]); // item 0 uses the same noise alone or in the batch
    vae.dispose();
  });
});

describe("edgevae sample", () => {
  it("MNIST: a PNG grid of the SDK's samples (8 x 8 cells of 28 px, 2 px gaps)", async () => {
    const out = join(tmp, "mnist.png");
    const r = cli("sample", M("mnist"), "-n", "64", "-o", out, "--seed", "3");
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/wrote .*mnist\.png: 64 samples of 28x28 grayscale, 8 columns, seed 3/);
    const png = decodePng(new Uint8Array(readFileSync(out)), out);
    expect([png.width, png.height, png.channels]).toEqual([242, 242, 1]);
    const vae = await load("mnist");
    const s = vae.sample(64, { seed: 3 });
    for (const k of [0, 9, 63]) { // cell k, pixel (x, y) = (10, 14)
      const cx = 2 + (k % 8) * 30 + 10, cy = 2 + Math.floor(k / 8) * 30 + 14;
      expect(Math.round(png.pixels[cy * 242 + cx]! * 255)).toBe(Math.round(s[k * 784 + 14 * 28 + 10]! * 255));
    }
    expect(readFileSync(out).equals(readFileSync((cli("sample", M("mnist"), "-n", "64", "-o", join(tmp, "again.png"), "--seed", "3"), join(tmp, "again.png"))))).toBe(true);
    vae.dispose();
  });

  it("the conv VAE with --cols and --scale, into a folder it creates", () => {
    const out = join(tmp, "new", "folder", "fashion.png");
    ok("sample", M("fashion-conv"), "-n", "6", "--cols", "3", "--scale", "2", "-o", out);
    const png = decodePng(new Uint8Array(readFileSync(out)), out);
    expect([png.width, png.height]).toEqual([3 * 58 + 2, 2 * 58 + 2]);
  });

  it("the circle: CSV on stdout, shortest decimals that read back as the SDK's float32s", async () => {
    const lines = ok("sample", M("circle"), "-n", "5", "--seed", "9").trim().split("\n");
    expect(lines[0]).toBe("x0,x1");
    const vae = await load("circle");
    expect(Float32Array.from(lines.slice(1).flatMap((l) => l.split(",").map(Number)))).toEqual(vae.sample(5, { seed: 9 }));
    vae.dispose();
  });
});

describe("edgevae train", () => {
  it("trains on a CSV file: a line per epoch, a model Vae.load reads, a log beside it", async () => {
    const out = join(tmp, "circle-small.safetensors");
    const r = cli("train", join(F, "circle.csv"), "-o", out, "--epochs", "3", "--arch", "16,16", "--batch", "64", "--likelihood", "gaussian_learned", "--seed", "2");
    expect(r.status).toBe(0);
    expect(r.stdout.match(/^epoch +\d+\/3 .* held-out ELBO -?\d+\.\d{4}/gm)).toHaveLength(3);
    expect(r.stdout).toMatch(/^wrote .*circle-small\.safetensors \([\d,]+ bytes\) and .*circle-small\.log\.json$/m);
    const vae = await Vae.load(readFileSync(out));
    expect(vae.info.likelihood).toEqual({ type: "gaussian_learned" });
    expect(vae.info.encoder[0]).toBe("linear 2->16");
    vae.dispose();
    const log = JSON.parse(readFileSync(join(tmp, "circle-small.log.json"), "utf8"));
    expect(log.epochs).toHaveLength(3);
    expect(log.settings.train_items + log.settings.heldout_items).toBe(300);
  });

  it("trains on PNG images (items [1, 28, 28]) with a separate held-out set", async () => {
    const out = join(tmp, "digits.safetensors");
    ok("train", join(F, "digits"), "-o", out, "--epochs", "1", "--arch", "8", "--latent", "2", "--held-out-data", join(F, "mnist8-u8.npy"));
    const vae = await Vae.load(readFileSync(out));
    expect(vae.inputShape).toEqual([1, 28, 28]);
    vae.dispose();
  });
});

describe("edgevae quantize", () => {
  it("MNIST, the last decoder layer kept in float: the file quantize() writes, and the ELBO change on held-out data", async () => {
    const out = join(tmp, "mnist-int8.safetensors");
    const j = json("quantize", M("mnist"), "-o", out, "--keep", "decoder.last", "--data", join(F, "mnist8.npy"));
    expect(j.keep).toEqual(["decoder[4]"]);
    expect(j.layers.map((l: { at: string; result: string }) => `${l.at} ${l.result}`)).toEqual(
      ["encoder[0] int8", "encoder[2] int8", "encoder[4] int8", "decoder[0] int8", "decoder[2] int8", "decoder[4] kept"]);
    const want = quantize(new Uint8Array(readFileSync(M("mnist"))), { keep: ["decoder[4]"] }).bytes;
    expect(Buffer.from(readFileSync(out)).equals(Buffer.from(want))).toBe(true);
    expect(j.elbo_change.items).toBe(8);
    expect(Math.abs(j.elbo_change.meanChange)).toBeLessThan(1);
    const vae = await Vae.load(readFileSync(out));
    expect(vae.info.dtype).toBe("mixed");
    vae.dispose();
    expect(ok("quantize", M("fashion-conv"), "-o", join(tmp, "fc.safetensors"))).toMatch(/^  decoder\[7\] +conv_transpose2d +int8 /m);
  });
});

describe("edgevae image", () => {
  it("writes an image whose header names the baseline wasm and three programs", () => {
    const out = join(tmp, "circle.evimg");
    const text = ok("image", M("circle"), "-o", out, "--rows", "8", "--seed", "4");
    expect(text).toMatch(/checked: replaying the image gives the SDK's numbers bit for bit/);
    const { header } = parseImage(new Uint8Array(readFileSync(out)));
    expect(header.wasm.build).toBe("baseline");
    expect(header.rows).toBe(8);
    expect(Object.keys(header.programs)).toEqual(["encode", "decode", "elbo"]);
    expect(header.programs.elbo.options).toEqual({ seed: 4, samples: 1, beta: 1 });
  });
});

describe("errors: exit code 2 for usage, 1 otherwise, the code and the problem named", () => {
  const bad = (f: string) => join(F, "bad", f);
  const cases: [string, string[], number, string, RegExp][] = [
    ["no command", [], 2, "E_USAGE", /no command given\nrun "edgevae --help"/],
    ["unknown command", ["frobnicate"], 2, "E_USAGE", /unknown command "frobnicate"; the commands are info, evaluate/],
    ["missing model", ["info"], 2, "E_USAGE", /missing MODEL\nrun "edgevae info --help" for usage/],
    ["extra argument", ["info", M("mnist"), "x"], 2, "E_USAGE", /unexpected argument "x"/],
    ["unknown option", ["evaluate", M("mnist"), join(F, "mnist8.npy"), "--bogus"], 2, "E_USAGE", /Unknown option '--bogus'/],
    ["bad number", ["evaluate", M("mnist"), join(F, "mnist8.npy"), "--iw", "0"], 2, "E_USAGE", /--iw must be an integer from 1 to/],
    ["not an integer", ["sample", M("mnist"), "-n", "2.5"], 2, "E_USAGE", /--count must be an integer/],
    ["PNG of a non-image model", ["sample", M("circle"), "-o", join(tmp, "c.png")], 2, "E_USAGE", /its items are \[2\], not images.*-o samples\.csv/],
    ["unknown output type", ["sample", M("mnist"), "-o", "x.gif"], 2, "E_USAGE", /-o must name a \.png or \.csv file/],
    ["train without -o", ["train", join(F, "circle.csv")], 2, "E_USAGE", /missing -o MODEL\.safetensors/],
    ["bad likelihood", ["train", join(F, "circle.csv"), "-o", join(tmp, "t.safetensors"), "--likelihood", "poisson"], 2, "E_USAGE", /--likelihood must be bernoulli/],
    ["bad activation", ["train", join(F, "circle.csv"), "-o", join(tmp, "t.safetensors"), "--activation", "swish"], 2, "E_USAGE", /--activation must be tanh, relu/],
    ["image without -o", ["image", M("mnist")], 2, "E_USAGE", /missing -o MODEL\.evimg/],
    ["missing file", ["info", "nope.safetensors"], 1, "E_FILE", /cannot read nope\.safetensors: no such file or directory/],
    ["not a model", ["info", bad("not-a-model.safetensors")], 1, "E_HEADER_SIZE", /not-a-model\.safetensors: the header length field/],
    ["missing data", ["evaluate", M("mnist"), "nope.npy"], 1, "E_FILE", /cannot read nope\.npy/],
    ["NPY dtype", ["evaluate", M("mnist"), bad("int32.npy")], 1, "E_DATA_FORMAT", /int32\.npy: its dtype "<i4" is not read/],
    ["NPY Fortran order", ["evaluate", M("mnist"), bad("fortran.npy")], 1, "E_DATA_FORMAT", /Fortran order/],
    ["NPY 1-D", ["evaluate", M("mnist"), bad("vector.npy")], 1, "E_DATA_FORMAT", /a 1-D array of shape \(4\)/],
    ["wrong width", ["evaluate", M("circle"), bad("width3.csv")], 1, "E_INPUT_LENGTH", /its items hold 3 values .* the model reads 2/],
    ["wrong width (image data)", ["evaluate", M("mnist"), join(F, "circle.csv")], 1, "E_INPUT_LENGTH", /the model reads 784 \(input_shape \[1,28,28\]\)/],
    ["NaN in data", ["evaluate", M("circle"), bad("nan.csv")], 1, "E_INPUT_VALUE", /nan\.csv: row 1, column 1 is NaN/],
    ["damaged PNG", ["evaluate", M("mnist"), bad("broken.png")], 1, "E_DATA_FORMAT", /broken\.png: its IDAT chunk fails its CRC check/],
    ["colour PNG for a gray model", ["evaluate", M("mnist"), bad("colour")], 1, "E_DATA_FORMAT", /red\.png: a colour \(RGB\) image, but the model reads grayscale/],
    ["PNGs for a vector model", ["evaluate", M("circle"), join(F, "digits")], 1, "E_DATA_FORMAT", /the model reads items of shape \[2\], not images/],
    ["unknown data type", ["evaluate", M("mnist"), bad("data.xyz")], 1, "E_DATA_FORMAT", /unknown data file type "\.xyz"/],
    ["a missing folder", ["evaluate", M("mnist"), join(F, "no-such-folder")], 1, "E_FILE", /cannot read .*no-such-folder: no such file or directory/],
    ["a folder without PNGs", ["evaluate", M("mnist"), EMPTY], 1, "E_DATA_FORMAT", /a folder with no \.png files/],
    ["unknown layer to keep", ["quantize", M("mnist"), "-o", join(tmp, "q.safetensors"), "--keep", "decoder[9]"], 1, "E_ARGUMENT", /keep: "decoder\[9\]" is neither/],
    ["unwritable output", ["sample", M("mnist"), "-n", "1", "-o", join(ROOT, "README.md", "x.png")], 1, "E_FILE", /cannot write .*README\.md\/x\.png: a part of the path is not a folder/],
    ["output under /proc", ["sample", M("mnist"), "-n", "1", "-o", "/proc/no-such/x.png"], 1, "E_FILE", /cannot write \/proc\/no-such\/x\.png: /],
  ];
  for (const [what, args, status, code, message] of cases) {
    it(`${what}: exit ${status}, ${code}`, () => {
      const r = cli(...args);
      expect(r.status, r.stderr).toBe(status);
      expect(r.stderr).toMatch(new RegExp(`^edgevae( \\w+)?: ${code}: `));
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe("");
    });
  }
});
