/// <reference types="node" />
// edgevae image MODEL -o MODEL.evimg: a self-contained image of the model for hosts without
// JavaScript (sdk/image.ts; the format is docs/image.md; examples/wasmtime/host.py runs it).

import { relative } from "node:path";
import { RuntimeError } from "../errors";
import { compileImage } from "../image";
import { hasRelaxedSimd } from "../runtime";
import { COMMON, UsageError, choice, flag, intOption, numOption, str, type Parsed } from "./args";
import type { Command } from "./command";
import { readBytes, wasmPath, writeBytes } from "./files";
import { about } from "./model";

export const image: Command = {
  name: "image",
  summary: "compile a model into an image for wasm hosts without JavaScript (wasmtime)",
  usage: "edgevae image MODEL.safetensors -o MODEL.evimg [--rows 16] [--seed N] [--samples S] [--beta B]",
  help: `Loads the model into the wasm build a host will run and writes an image (docs/image.md): the
wasm memory after loading (packed weights and tables) and the kernel calls of three programs,
encode and decode (ROWS items per chunk) and elbo (floor(ROWS / S) items per chunk, with the
seed), with where their inputs and outputs live. A host with only a wasm engine replays them
(examples/wasmtime/host.py) and gets the SDK's numbers bit for bit. The image is checked by
replaying it before it is written.

  -o, --out FILE    the image to write
  --rows N          rows per chunk (default 16)
  --seed N          the elbo program's noise seed (default 0)
  --samples S       the elbo program's samples per item (default 1)
  --beta B          the elbo program's KL weight (default 1)
  --simd B          the build the host will run: baseline (default; dist/edgevae.wasm) or relaxed
  --json            print the image's header as JSON`,
  options: {
    ...COMMON, out: { type: "string", short: "o" }, rows: { type: "string" }, seed: { type: "string" }, samples: { type: "string" },
    beta: { type: "string" }, simd: { type: "string" }, json: { type: "boolean" },
  },
  positionals: ["MODEL"],
  async run(p: Parsed) {
    const path = p.positionals[0]!;
    const out = str(p, "out") ?? (() => { throw new UsageError("missing -o MODEL.evimg (where to write the image)"); })();
    const rows = intOption(p, "rows", 16, 1, 1 << 16);
    const seed = intOption(p, "seed", 0, 0, Number.MAX_SAFE_INTEGER);
    const samples = intOption(p, "samples", 1, 1, 1 << 20);
    const beta = numOption(p, "beta", 1);
    const build = choice(p, "simd", ["baseline", "relaxed"] as const, "baseline");
    if (build === "relaxed" && !hasRelaxedSimd()) {
      throw new RuntimeError("E_WASM_UNSUPPORTED", `--simd relaxed: this Node ${process.version} cannot run relaxed SIMD, which compiling the image needs (Node 20: node --experimental-wasm-relaxed-simd; Node 22+ has it)`);
    }
    const wasmFile = wasmPath(build === "relaxed" ? "edgevae-relaxed.wasm" : "edgevae.wasm");
    const [model, wasm] = await Promise.all([readBytes(path), readBytes(wasmFile)]);
    const { bytes, header } = await about(path, () => compileImage(model, { wasm, rows, seed, samples, beta }));
    await writeBytes(out, bytes);
    if (flag(p, "json")) {
      process.stdout.write(JSON.stringify(header, null, 2) + "\n");
      return;
    }
    const m = header.memory;
    const lines = [
      `${path} -> ${out}: ${bytes.length.toLocaleString("en")} bytes, for ${relative(process.cwd(), wasmFile)} (${header.wasm.build} build, ABI ${header.wasm.abi_version}, sha256 ${header.wasm.sha256.slice(0, 16)}...)`,
      `  memory    ${m.pages} pages; ${m.segments.length} segment(s), ${m.data_bytes.toLocaleString("en")} bytes that differ from a fresh instance (heap_base ${m.heap_base}, ${m.used_bytes.toLocaleString("en")} bytes used)`,
    ];
    for (const [name, prog] of Object.entries(header.programs)) {
      const io = (rs: typeof prog.inputs) => rs.map((r) => `${r.name} @${r.address} (${r.per_item}/item)`).join(", ");
      const opts = Object.entries(prog.options).map(([k, v]) => `${k} ${v}`).join(", ");
      lines.push(`  ${name.padEnd(9)} ${prog.items} items per chunk, ${prog.calls.length} kernel calls${opts ? ` (${opts})` : ""}; in: ${io(prog.inputs)}; out: ${io(prog.outputs)}`);
    }
    lines.push("  checked: replaying the image gives the SDK's numbers bit for bit");
    process.stdout.write(lines.join("\n") + "\n");
  },
};
