/// <reference types="node" />
// edgevae quantize IN -o OUT: int8 weights with per-output-channel scales (sdk/train/quantize.ts),
// some layers kept in float, and with --data the effect on held-out ELBOs.

import { parseModel } from "../format";
import { allLayers } from "../network";
import { elboChange, quantize as quantizeModel } from "../train/quantize";
import { COMMON, SIMD, SIMD_HELP, UsageError, choice, flag, intOption, str, type Parsed } from "./args";
import type { Command } from "./command";
import { readData } from "./data";
import { readBytes, writeBytes } from "./files";
import { about } from "./model";

/** --keep values: layer places ("decoder[5]"), weight names, or encoder.first / encoder.last / decoder.first / decoder.last. */
function keepList(p: Parsed, bytes: Uint8Array, path: string): string[] {
  const raw = p.values.keep as unknown as string[] | undefined;
  const items = (raw ?? []).flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  const arch = about(path, () => parseModel(bytes)).architecture;
  return items.map((k) => {
    const m = /^(encoder|decoder)\.(first|last)$/.exec(k);
    if (m === null) return k;
    const layers = allLayers(m[1] === "encoder" ? arch.encoder : arch.decoder).filter((l) => l.type === "linear" || l.type.startsWith("conv"));
    if (layers.length === 0) throw new UsageError(`--keep ${k}: the ${m[1]} has no linear or conv layer`);
    return (m[2] === "first" ? layers[0]! : layers[layers.length - 1]!).at;
  });
}

export const quantize: Command = {
  name: "quantize",
  summary: "int8 weights (per-channel scales), some layers kept in float",
  usage: "edgevae quantize IN.safetensors -o OUT.safetensors [--keep decoder.last] [--data HELD-OUT] [--json]",
  help: `Writes a copy of the model with its linear and conv weights as int8 with one scale per output
channel (format version 2), and prints each layer's quantisation error. With --data, scores the
held-out items with both files (the same noise) and prints the change in ELBO.

  -o, --out FILE    the int8 model file to write
  --keep L          keep layer L in float: its place ("decoder[5]", "encoder[1].body[0]"), its
                    weight's name, or encoder.first, encoder.last, decoder.first, decoder.last;
                    repeat it or separate with commas
  --scales M        mse (default: the clipping of each channel with the least squared error) or max
  --data FILE       held-out data (see edgevae evaluate --help for the formats)
  --items N         use only the first N items of --data
  --seed N          noise seed of the ELBO comparison (default 0); --samples S (default 1)
  --json            print one JSON object instead of text
${SIMD_HELP}`,
  options: {
    ...COMMON, ...SIMD, out: { type: "string", short: "o" }, keep: { type: "string", multiple: true }, scales: { type: "string" },
    data: { type: "string" }, items: { type: "string" }, seed: { type: "string" }, samples: { type: "string" }, json: { type: "boolean" },
  },
  positionals: ["IN"],
  async run(p: Parsed) {
    const inPath = p.positionals[0]!;
    const out = str(p, "out") ?? (() => { throw new UsageError("missing -o OUT.safetensors (where to write the int8 model)"); })();
    const scales = choice(p, "scales", ["mse", "max"] as const, "mse");
    const seed = intOption(p, "seed", 0, 0, Number.MAX_SAFE_INTEGER), samples = intOption(p, "samples", 1, 1, 1 << 20);
    const limit = intOption(p, "items", undefined, 1, 2 ** 31);
    const simd = choice(p, "simd", ["baseline", "relaxed", "auto"] as const, "baseline");
    const bytes = await readBytes(inPath);
    const keep = keepList(p, bytes, inPath);
    const result = about(inPath, () => quantizeModel(bytes, { keep, scales }));
    await writeBytes(out, result.bytes);
    let change;
    const dataPath = str(p, "data");
    if (dataPath !== undefined) {
      const arch = parseModel(bytes).architecture;
      const d = await readData(dataPath, arch);
      const n = Math.min(d.rows, limit ?? d.rows);
      change = await about(dataPath, () => elboChange(bytes, result.bytes, d.values.subarray(0, n * d.width), { seed, samples, load: { simd } }));
    }
    if (flag(p, "json")) {
      process.stdout.write(JSON.stringify({ in: inPath, out, keep, scales, bytes_before: result.bytesBefore, bytes_after: result.bytesAfter, layers: result.layers, ...(change ? { data: dataPath, elbo_change: change } : {}) }, null, 2) + "\n");
      return;
    }
    const lines = [`${inPath} -> ${out}: ${result.bytesBefore.toLocaleString("en")} -> ${result.bytesAfter.toLocaleString("en")} bytes (${(result.bytesAfter / result.bytesBefore * 100).toFixed(1)}%)`];
    for (const l of result.layers) {
      lines.push(`  ${l.at.padEnd(20)} ${l.type.padEnd(18)} ${l.result.padEnd(12)} ${l.weights.toLocaleString("en").padStart(10)} weights${l.result === "int8" ? `  relative RMS error ${l.relativeRmsError.toExponential(2)}, max |error| ${l.maxAbsError.toExponential(2)}` : ""}`);
    }
    if (change) {
      lines.push(`  held-out ELBO on ${dataPath} (${change.items.toLocaleString("en")} items, seed ${seed}): ${change.meanElboBefore.toFixed(4)} -> ${change.meanElboAfter.toFixed(4)} ` +
        `(mean change ${change.meanChange.toFixed(4)}, mean |change| ${change.meanAbsChange.toFixed(4)}, max |change| ${change.maxAbsChange.toFixed(4)} nats)`);
    }
    process.stdout.write(lines.join("\n") + "\n");
  },
};
