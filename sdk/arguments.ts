// Checks of the public API's arguments, shared by the Vae and the VaePool: every bad argument is
// an ArgumentError with a stable code, never a RangeError or a silent conversion.

import { ArgumentError, RuntimeError } from "./errors";
import { LIMITS } from "./limits";

/** Numbers accepted as inputs: Float32Array is used as is; others are converted. */
export type Floats = Float32Array | Float64Array | readonly number[];

export function invalid(code: "E_INPUT_TYPE" | "E_INPUT_LENGTH" | "E_ARGUMENT" | "E_NOISE_LENGTH" | "E_INPUT_VALUE", message: string): never {
  throw new ArgumentError(code, message);
}

/** An options argument: undefined means {}; anything but a plain object is refused. */
export function optionsOf<T extends object>(options: T | undefined, what: string): T {
  if (options === undefined) return {} as T;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    invalid("E_ARGUMENT", `${what}: options must be an object, got ${typeName(options)}`);
  }
  return options;
}

/** A fresh f32 array of n values, bounded by LIMITS.maxResultValues (no RangeError, no OOM crash). */
export function newResult(n: number, what: string): Float32Array {
  if (n > LIMITS.maxResultValues) {
    invalid("E_ARGUMENT", `${what}: this call would need an array of ${n} values; at most ${LIMITS.maxResultValues} per call (split the call into smaller batches)`);
  }
  try {
    return new Float32Array(n);
  } catch (err) {
    throw new RuntimeError("E_MEMORY", `${what}: could not allocate ${n * 4} bytes for the result: ${(err as Error).message}`, { cause: err });
  }
}

export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}

export function toFloat32(x: Floats, what: string): Float32Array {
  if (x instanceof Float32Array) return x;
  if (x instanceof Float64Array) { const out = newResult(x.length, what); out.set(x); return out; }
  if (Array.isArray(x)) {
    const out = newResult(x.length, what);
    for (let i = 0; i < x.length; i++) {
      const v: unknown = x[i];
      if (typeof v !== "number") invalid("E_INPUT_TYPE", `${what}[${i}] is ${typeName(v)}; expected numbers`);
      out[i] = v;
    }
    return out;
  }
  return invalid("E_INPUT_TYPE", `${what}: expected a Float32Array (or Float64Array / number[]), got ${typeName(x)}`);
}

export function count(n: unknown, what: string, min: number, max: number): asserts n is number {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min || n > max) {
    invalid("E_ARGUMENT", `${what} must be an integer from ${min} to ${max}, got ${String(n)}`);
  }
}

export function seedOf(seed: number | undefined, what: string): number {
  if (seed === undefined) return randomSeed();
  if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0) {
    invalid("E_ARGUMENT", `${what}: seed must be an integer from 0 to 2^53 - 1, got ${String(seed)}`);
  }
  return seed;
}

export function randomSeed(): number {
  const c = (globalThis as { crypto?: { getRandomValues(a: Uint32Array): Uint32Array } }).crypto;
  if (c !== undefined) {
    const w = c.getRandomValues(new Uint32Array(2));
    return (w[0]! & 0x1fffff) * 2 ** 32 + w[1]!;
  }
  return Math.floor(Math.random() * 2 ** 53);
}
