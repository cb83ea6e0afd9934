/// <reference types="node" />
// Argument parsing for the edgevae command: Node's util.parseArgs, with its errors turned into
// UsageError (exit code 2) and checked conversions of option values.

import { parseArgs, type ParseArgsConfig } from "node:util";
import { EdgeVaeError, type ErrorCode } from "../errors";

/** A bad command line: exit code 2, and a pointer to the subcommand's --help. */
export class UsageError extends EdgeVaeError {
  constructor(message: string) {
    super("E_USAGE", message);
    this.name = "UsageError";
  }
}

/** A problem with the command's files or data (exit code 1). */
export class CliError extends EdgeVaeError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "CliError";
  }
}

export type Options = NonNullable<ParseArgsConfig["options"]>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parses argv for a subcommand; `positionals` names the required positional arguments, in order. */
export function parse(argv: readonly string[], options: Options, positionals: readonly string[]): Parsed {
  let out: Parsed;
  try {
    const r = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    out = { values: r.values as Parsed["values"], positionals: r.positionals };
  } catch (err) {
    const e = err as { code?: string; message: string };
    if (typeof e.code === "string" && e.code.startsWith("ERR_PARSE_ARGS")) throw new UsageError(e.message.replace(/\. To specify a positional argument.*$/s, ""));
    throw err;
  }
  if (out.values.help === true) return out;
  if (out.positionals.length < positionals.length) {
    throw new UsageError(`missing ${positionals.slice(out.positionals.length).join(" and ")}`);
  }
  if (out.positionals.length > positionals.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(out.positionals[positionals.length])}`);
  }
  return out;
}

/** An integer option in [min, max], or `def` when absent. */
export function intOption(p: Parsed, name: string, def: number, min: number, max: number): number;
export function intOption(p: Parsed, name: string, def: undefined, min: number, max: number): number | undefined;
export function intOption(p: Parsed, name: string, def: number | undefined, min: number, max: number): number | undefined {
  const raw = p.values[name];
  if (raw === undefined) return def;
  const v = Number(raw);
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return v;
}

/** A finite number option (> 0 when `positive`), or `def` when absent. */
export function numOption(p: Parsed, name: string, def: number, positive?: boolean): number;
export function numOption(p: Parsed, name: string, def: undefined, positive?: boolean): number | undefined;
export function numOption(p: Parsed, name: string, def: number | undefined, positive = false): number | undefined {
  const raw = p.values[name];
  if (raw === undefined) return def;
  const v = Number(raw);
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(v) || (positive && !(v > 0))) {
    throw new UsageError(`--${name} must be a ${positive ? "positive" : "finite"} number, got ${JSON.stringify(raw)}`);
  }
  return v;
}

/** A string option that must be one of `choices`. */
export function choice<T extends string>(p: Parsed, name: string, choices: readonly T[], def: T): T {
  const raw = p.values[name];
  if (raw === undefined) return def;
  if (!choices.includes(raw as T)) throw new UsageError(`--${name} must be ${choices.join(", ")}, got ${JSON.stringify(raw)}`);
  return raw as T;
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === "string" ? v : undefined;
}

export function flag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

/** The options every subcommand has. */
export const COMMON: Options = { help: { type: "boolean", short: "h" } };

/** For subcommands that load a model: which wasm build runs it. */
export const SIMD: Options = { simd: { type: "string" } };
export const SIMD_HELP = "  --simd B          wasm build: baseline (default: bit-identical on every host), relaxed, auto";
