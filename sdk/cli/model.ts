/// <reference types="node" />
// Loading a model file for a subcommand: errors keep their class and code and gain the path.

import { EdgeVaeError } from "../errors";
import { Vae } from "../vae";
import { choice, type Parsed } from "./args";
import { readBytes } from "./files";

/** Prefixes an EdgeVaeError's message with the file it is about (class and code unchanged). */
export function about<T>(path: string, run: () => T): T {
  try {
    const out = run();
    if (out instanceof Promise) return out.catch((err: unknown) => { throw withPath(path, err); }) as T;
    return out;
  } catch (err) {
    throw withPath(path, err);
  }
}

function withPath(path: string, err: unknown): unknown {
  if (err instanceof EdgeVaeError && !err.message.startsWith(path)) err.message = `${path}: ${err.message}`;
  return err;
}

export async function loadVae(path: string, p: Parsed, maxBatchRows?: number): Promise<{ vae: Vae; bytes: Uint8Array }> {
  const bytes = await readBytes(path);
  const simd = choice(p, "simd", ["baseline", "relaxed", "auto"] as const, "baseline");
  const vae = await about(path, () => Vae.load(bytes, { simd, ...(maxBatchRows !== undefined ? { maxBatchRows } : {}) }));
  return { vae, bytes };
}
