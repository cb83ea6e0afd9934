/// <reference types="node" />
// File access for the edgevae command: every failure is a CliError E_FILE naming the path.

import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { CliError } from "./args";

export function fileError(path: string, err: unknown): CliError {
  const e = err as NodeJS.ErrnoException;
  const reason = { ENOENT: "no such file or directory", EACCES: "permission denied", EISDIR: "it is a directory", ENOTDIR: "a part of the path is not a directory" }[e.code ?? ""] ?? e.message;
  return new CliError("E_FILE", `cannot read ${path}: ${reason}`, { cause: err });
}

export async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw fileError(path, err);
  }
}

export async function writeBytes(path: string, bytes: Uint8Array | string): Promise<void> {
  try {
    await makeFolders(dirname(path));
    await writeFile(path, bytes);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = e.code === "EACCES" ? "permission denied" : e.code === "EISDIR" ? "it is a directory" : e.code === "ENOTDIR" ? "a part of the path is not a folder" : e.message;
    throw new CliError("E_FILE", `cannot write ${path}: ${reason}`, { cause: err });
  }
}

/**
 * mkdir -p, one level at a time: Node 20's mkdir({ recursive: true }) can loop forever on
 * paths it cannot create (seen here with /proc/x/y).
 */
async function makeFolders(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    try {
      if ((await stat(d)).isDirectory()) break;
      throw Object.assign(new Error(`${d} is not a folder`), { code: "ENOTDIR" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || dirname(d) === d) throw err;
      missing.unshift(d);
    }
  }
  for (const d of missing) await mkdir(d);
}

// sdk/build.mjs defines it in the bundle (dist/cli.js, beside the wasm files); from source the builds are in build/.
declare const EDGEVAE_WASM_DIR: string | undefined;

/** The path of a packaged wasm build (dist/edgevae.wasm beside dist/cli.js). */
export function wasmPath(file: "edgevae.wasm" | "edgevae-relaxed.wasm"): string {
  const dir = typeof EDGEVAE_WASM_DIR === "string" ? EDGEVAE_WASM_DIR : "../../build/";
  return fileURLToPath(new URL(dir + file, import.meta.url));
}
