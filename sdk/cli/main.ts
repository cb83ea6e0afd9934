/// <reference types="node" />
// The edgevae command (package.json "bin"; bundled into dist/cli.js by sdk/build.mjs, Node only).
// Exit codes: 0 done, 2 a usage error (E_USAGE), 1 anything else; errors print their code.

import { readFileSync } from "node:fs";
import { EdgeVaeError } from "../errors";
import { UsageError, parse } from "./args";
import type { Command } from "./command";
import { evaluate } from "./evaluate";
import { image } from "./image";
import { info } from "./info";
import { quantize } from "./quantize";
import { sample } from "./sample";
import { trainCommand } from "./train";

const COMMANDS: readonly Command[] = [info, evaluate, sample, trainCommand, quantize, image];

declare const EDGEVAE_WASM_DIR: string | undefined;

function version(): string {
  // dist/cli.js sits in dist/ of the package; from source this file is sdk/cli/main.ts
  const url = new URL(typeof EDGEVAE_WASM_DIR === "string" ? "../package.json" : "../../package.json", import.meta.url);
  try {
    return (JSON.parse(readFileSync(url, "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `usage: edgevae COMMAND [options]     (edgevae COMMAND --help for its options)

Run, score, sample, train, quantise Variational Autoencoders stored as edgevae model files
(.safetensors with the architecture in the metadata; docs/FORMAT.md).

${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

  --version    print the version
Exit codes: 0 done, 1 failed (the message names the problem and its code), 2 usage error.
`;
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(topHelp());
    return;
  }
  if (name === "--version" || name === "-v") {
    process.stdout.write(`edgevae ${version()}\n`);
    return;
  }
  if (name === undefined) throw new UsageError("no command given");
  const cmd = COMMANDS.find((c) => c.name === name);
  if (cmd === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}; the commands are ${COMMANDS.map((c) => c.name).join(", ")}`);
  current = cmd.name;
  const p = parse(rest, cmd.options, cmd.positionals);
  if (p.values.help === true) {
    process.stdout.write(`usage: ${cmd.usage}\n\n${cmd.help}\n`);
    return;
  }
  await cmd.run(p);
}

let current: string | undefined;

main(process.argv.slice(2)).catch((err: unknown) => {
  const who = current === undefined ? "edgevae" : `edgevae ${current}`;
  if (err instanceof UsageError) {
    process.stderr.write(`${who}: ${err.code}: ${err.message}\nrun "${current === undefined ? "edgevae --help" : `edgevae ${current} --help`}" for usage\n`);
    process.exitCode = 2;
  } else if (err instanceof EdgeVaeError) {
    process.stderr.write(`${who}: ${err.code}: ${err.message}\n`);
    process.exitCode = 1;
  } else {
    const e = err instanceof Error ? err : new Error(String(err));
    process.stderr.write(`${who}: E_INTERNAL: ${e.name}: ${e.message}; this is a bug in edgevae, please report it\n${process.env.EDGEVAE_DEBUG ? `${e.stack}\n` : ""}`);
    process.exitCode = 1;
  }
});
