// Quick GFLOP/s of the convolution engine (sdk/conv.ts over assembly/conv.ts), next to the
// machine's f32x4 mul+add peak (bench/peak.mjs). Single thread, median of a few runs.
//   node bench/conv-kernels.mjs            (baseline build)
//   node --experimental-wasm-relaxed-simd bench/conv-kernels.mjs relaxed
// Options: --quick (batch 16 only), --only=<name substring>, --runs=<samples, default 7>,
// --wasm=<path> (another build of the same ABI, for A/B comparisons).
// Counts 2 flops per multiply-add the kernels execute (taps in the zero padding included,
// as every im2col/indirect-GEMM implementation executes them).
import { readFileSync } from "node:fs";
import * as esbuild from "esbuild";
import { measurePeak } from "./peak.mjs";

const relaxed = process.argv[2] === "relaxed";
const RUNS = Number(process.argv.find((a) => a.startsWith("--runs="))?.slice(7) ?? 7);
const root = new URL("..", import.meta.url);
const { outputFiles } = await esbuild.build({
  stdin: { contents: 'export * from "./sdk/conv.ts"; export { Arena } from "./sdk/memory.ts";', resolveDir: root.pathname, loader: "ts" },
  bundle: true, format: "esm", write: false, platform: "neutral",
});
const { prepareConv, runConv, Arena } = await import("data:text/javascript;base64," + Buffer.from(outputFiles[0].text).toString("base64"));

const wasmArg = process.argv.find((a) => a.startsWith("--wasm="))?.slice(7);
const wasm = readFileSync(wasmArg ?? new URL(relaxed ? "build/edgevae-relaxed.wasm" : "build/edgevae.wasm", root));
const k = new WebAssembly.Instance(new WebAssembly.Module(wasm), {}).exports;
const arena = new Arena(k.memory, k.heap_base(), 2 ** 31);

function spec(o) {
  return { transposed: false, groups: 1, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, outPadH: 0, outPadW: 0, ...o };
}

const cases = [
  ["conv 3x3 32->32 28x28 p1", spec({ cin: 32, cout: 32, inH: 28, inW: 28, kh: 3, kw: 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, outH: 28, outW: 28 })],
  ["conv 3x3 32->32 14x14 p1", spec({ cin: 32, cout: 32, inH: 14, inW: 14, kh: 3, kw: 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, outH: 14, outW: 14 })],
  ["conv 3x3 64->64 7x7 p1", spec({ cin: 64, cout: 64, inH: 7, inW: 7, kh: 3, kw: 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, outH: 7, outW: 7 })],
  ["convT 4x4 s2 p1 32->32 14x14->28x28", spec({ transposed: true, cin: 32, cout: 32, inH: 14, inW: 14, kh: 4, kw: 4, strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, outH: 28, outW: 28 })],
  // a decoder's last layer: 1 output channel (dot kernel); the same with 8 channels costs what
  // the 4x8 kernel would spend on 1 (its panel is 8 wide)
  ["convT 4x4 s2 p1 32->1 14x14->28x28", spec({ transposed: true, cin: 32, cout: 1, inH: 14, inW: 14, kh: 4, kw: 4, strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, outH: 28, outW: 28 })],
  ["convT 4x4 s2 p1 32->8 14x14->28x28", spec({ transposed: true, cin: 32, cout: 8, inH: 14, inW: 14, kh: 4, kw: 4, strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, outH: 28, outW: 28 })],
  // an encoder's first layer: 1 input channel
  ["conv 4x4 s2 p1 1->32 28x28->14x14", spec({ cin: 1, cout: 32, inH: 28, inW: 28, kh: 4, kw: 4, strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, outH: 14, outW: 14 })],
  // DCGAN's first decoder layer: a 1x1 latent image to 4x4 (passes split by in-bounds taps)
  ["convT 4x4 s1 p0 128->64 1x1->4x4", spec({ transposed: true, cin: 128, cout: 64, inH: 1, inW: 1, kh: 4, kw: 4, outH: 4, outW: 4 })],
  ["depthwise 3x3 c32 28x28 p1", spec({ cin: 32, cout: 32, groups: 32, inH: 28, inW: 28, kh: 3, kw: 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, outH: 28, outW: 28 })],
];

const peak = measurePeak(relaxed, 5);
console.log(`${relaxed ? "relaxed" : "baseline"} build; f32x4 ${relaxed ? "relaxed_madd" : "mul+add"} peak ${peak[2].toFixed(1)} GFLOP/s (bench/peak.mjs, median of 5)`);
for (const items of process.argv.includes("--quick") ? [16] : [1, 16]) {
  for (const [name, s] of cases) {
    const only = process.argv.find((a) => a.startsWith("--only="));
    if (only && !name.includes(only.slice(7))) continue;
    const mark = arena.mark();
    const w = new Float32Array(s.transposed ? s.cin * (s.cout / s.groups) * s.kh * s.kw : s.cout * (s.cin / s.groups) * s.kh * s.kw).map((_, i) => Math.sin(i));
    const p = prepareConv(k, arena, s, w, new Float32Array(s.cout).fill(0.1));
    const x = arena.allocF32(items * s.inH * s.inW * s.cin);
    arena.heapF32().fill(0.5, x >>> 2, (x >>> 2) + items * s.inH * s.inW * s.cin);
    const y = arena.allocF32(items * s.outH * s.outW * s.cout);
    let macs = 0;
    for (const pass of p.passes) macs += items * pass.pixels * pass.taps * p.cinG * p.coutG * (p.kind === "depthwise" ? s.cin : s.groups);
    const reps = Math.max(1, Math.round(2e8 / (2 * macs)));
    for (let i = 0; i < 3; i++) runConv(k, p, x, y, items, 0, 0);
    // peak samples interleaved with the conv's, so a busy machine slows both alike
    const rates = [], peaks = [];
    for (let r = 0; r < RUNS; r++) {
      peaks.push(measurePeak(relaxed, 1)[0]);
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) runConv(k, p, x, y, items, 0, 0);
      rates.push((2 * macs * reps) / ((performance.now() - t0) * 1e6));
    }
    const ratios = rates.map((v, i) => v / peaks[i]).sort((a, b) => a - b);
    rates.sort((a, b) => a - b); peaks.sort((a, b) => a - b);
    console.log(`${name.padEnd(36)} items ${String(items).padStart(2)} (${p.kind}): median ${rates[RUNS >> 1].toFixed(1)} GFLOP/s, best ${rates[RUNS - 1].toFixed(1)}; ` +
      `${(100 * ratios[RUNS >> 1]).toFixed(0)}% of the interleaved peak (median ${peaks[RUNS >> 1].toFixed(1)}), best ${(100 * ratios[RUNS - 1]).toFixed(0)}%`);
    arena.release(mark);
  }
}
