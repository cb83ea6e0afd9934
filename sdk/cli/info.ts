/// <reference types="node" />
// edgevae info MODEL: what a model file holds and what loading it takes.

import { parseModel } from "../format";
import { COMMON, SIMD, SIMD_HELP, flag, intOption, type Parsed } from "./args";
import type { Command } from "./command";
import { about, loadVae } from "./model";

const fmt = (n: number): string => n.toLocaleString("en");
const shape = (s: readonly number[]): string => `[${s.join(", ")}]`;

export const info: Command = {
  name: "info",
  summary: "shapes, layers, parameters, dtypes, size and memory of a model file",
  usage: "edgevae info MODEL.safetensors [--json] [--rows N] [--simd B]",
  help: `Loads the model (checking it as Vae.load does) and prints its input and latent shapes, likelihood,
each layer, the parameter count, the tensors' dtypes, the file size and the wasm memory it takes.

  --json            print one JSON object instead of text
  --rows N          rows of the memory plan (Vae.load's maxBatchRows; default 256)
${SIMD_HELP}`,
  options: { ...COMMON, ...SIMD, json: { type: "boolean" }, rows: { type: "string" } },
  positionals: ["MODEL"],
  async run(p: Parsed) {
    const path = p.positionals[0]!;
    const rows = intOption(p, "rows", 256, 1, 1 << 16);
    const { vae, bytes } = await loadVae(path, p, rows);
    const parsed = about(path, () => parseModel(bytes));
    const i = vae.info;
    const tensors = [...parsed.tensors.values()].map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape], bytes: t.end - t.begin }));
    const dtypes: Record<string, number> = {};
    for (const t of tensors) dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
    const out = {
      file: path, bytes: bytes.length, version: i.version,
      input_shape: i.inputShape, input_size: i.inputSize, latent_dim: i.latentDim, latent_shape: i.latentShape,
      likelihood: i.likelihood, parameters: i.parameterCount, dtype: i.dtype, dtypes,
      encoder: i.encoder, decoder: i.decoder,
      memory: { bytes: i.memoryBytes, model_bytes: i.modelBytes, rows: i.maxBatchRows, simd: i.simd },
      tensors, metadata: i.metadata,
    };
    vae.dispose();
    if (flag(p, "json")) {
      process.stdout.write(JSON.stringify(out, null, 2) + "\n");
      return;
    }
    const lik = i.likelihood.type === "gaussian" ? `gaussian, sigma ${i.likelihood.sigma}` : i.likelihood.type;
    const lines = [
      `${path}: ${fmt(bytes.length)} bytes, edgevae format version ${i.version}`,
      `  input       ${shape(i.inputShape)} (${fmt(i.inputSize)} values per item)`,
      `  latent      ${i.latentDim}${i.latentShape.length > 1 ? ` (decoder input ${shape(i.latentShape)})` : ""}`,
      `  likelihood  ${lik}`,
      `  parameters  ${fmt(i.parameterCount)} (weights: ${i.dtype})`,
      `  tensors     ${tensors.length}: ${Object.entries(dtypes).map(([d, n]) => `${n} ${d}`).join(", ")}`,
      `  encoder     ${i.encoder.join("\n              ")}`,
      `  decoder     ${i.decoder.join("\n              ")}`,
      `  memory      ${fmt(i.memoryBytes)} bytes of wasm memory: ${fmt(i.modelBytes)} for packed weights and tables, the rest for ${i.maxBatchRows} rows per call (${i.simd} build)`,
    ];
    const meta = Object.keys(i.metadata);
    if (meta.length > 0) lines.push(`  metadata    ${meta.join(", ")}`);
    process.stdout.write(lines.join("\n") + "\n");
  },
};
