// The safetensors container of a model file: an 8-byte header length, a JSON header (the
// tensor table and __metadata__), and the tensors' bytes. Everything here validates: a model
// file is untrusted input, so every violation is a FormatError with a stable code.

import { FormatError, type ErrorCode } from "./errors";
import { LIMITS } from "./limits";

/** A tensor's place in the file: byte offsets are absolute (from the file's first byte). */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

export function fail(code: ErrorCode, message: string, cause?: unknown): never {
  throw new FormatError(code, message, cause === undefined ? undefined : { cause });
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** Depth of nested arrays/objects; the parse below walks values of bounded depth only. */
function jsonDepth(text: string): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;               // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) { if (++depth > max) max = depth; }
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** Bytes per element of every safetensors dtype (to check sizes); edgevae reads F32, F16, BF16, and I8 weights with scales. */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, I64: 8, U64: 8, F64: 8,
};
/** Elements of a parsed tensor. */
export function elementsOf(t: TensorInfo): number {
  return (t.end - t.begin) / DTYPE_BYTES[t.dtype]!;
}

/** Floats a tensor takes when staged as f32 for loading: its values, then its raw bytes behind them when narrower. */
export function stageFloats(t: TensorInfo): number {
  return elementsOf(t) + (t.dtype === "F32" ? 0 : Math.ceil((t.end - t.begin) / 4));
}

/**
 * The dtypes each format version reads (F16 and BF16 widened exactly to f32). I8 is read only
 * as a linear / conv weight with a per-output-channel weight_scale (FORMAT.md); BF16 and I8
 * came with version 2.
 */
export const READABLE_DTYPES: Readonly<Record<1 | 2, readonly string[]>> = { 1: ["F32", "F16"], 2: ["F32", "F16", "BF16", "I8"] };

/**
 * The first key that some object in `text` (valid JSON) holds twice, else undefined.
 * JSON.parse silently keeps the last one, while other readers keep the first or refuse:
 * a file that means different things to different readers is refused. Keys are compared
 * after unescaping ("a" and "\u0061" are the same key).
 */
export function findDuplicateKey(text: string): string | undefined {
  const stack: (Set<string> | null)[] = []; // a Set per open object, null per open array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      let escaped = false;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) { escaped = true; i++; } else if (d === 0x22) break;
      }
      const keys = stack[stack.length - 1];
      if (expectKey && keys) {
        const key = escaped ? JSON.parse(text.slice(start, i + 1)) as string : text.slice(start + 1, i);
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
    } else if (c === 0x7b) { stack.push(new Set()); expectKey = true; }
    else if (c === 0x5b) { stack.push(null); expectKey = false; }
    else if (c === 0x7d || c === 0x5d) { stack.pop(); expectKey = false; }
    else if (c === 0x2c) expectKey = stack[stack.length - 1] != null;
  }
  return undefined;
}

export function parseJson(text: string, what: string, code: ErrorCode): unknown {
  if (jsonDepth(text) > LIMITS.maxJsonDepth) {
    fail(code, `${what} nests deeper than ${LIMITS.maxJsonDepth} levels`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return fail(code, `${what} is not valid JSON: ${(err as Error).message}`, err);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    fail("E_DUPLICATE_KEY", `${what} has the key ${JSON.stringify(duplicate.slice(0, 200))} twice in one object; JSON readers disagree on which one counts, so the file is refused (write each key once)`);
  }
  return value;
}

/** Reads the safetensors container: header, tensor table, metadata. Checks every offset. */
export function parseSafetensors(bytes: Uint8Array): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> } {
  if (bytes.length < 8) {
    fail("E_FILE_TRUNCATED", `a model file starts with an 8-byte header length, but this one has only ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true), hi = view.getUint32(4, true);
  const headerLength = hi * 2 ** 32 + lo;
  if (headerLength < 2 || headerLength > LIMITS.maxHeaderBytes) {
    fail("E_HEADER_SIZE", `the header length field says ${headerLength} bytes; it must be between 2 and ${LIMITS.maxHeaderBytes} (is this a safetensors file?)`);
  }
  if (8 + headerLength > bytes.length) {
    fail("E_FILE_TRUNCATED", `the header says it is ${headerLength} bytes, but the file has only ${bytes.length - 8} bytes after the length field (truncated download?)`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch (err) {
    return fail("E_HEADER_JSON", "the header is not valid UTF-8", err);
  }
  const header = parseJson(text, "the safetensors header", "E_HEADER_JSON");
  if (!isPlainObject(header)) fail("E_HEADER_JSON", "the safetensors header must be a JSON object");

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const names = Object.keys(header);
  if (names.length > LIMITS.maxTensors + 1) fail("E_LIMIT", `the header lists ${names.length} entries; at most ${LIMITS.maxTensors} tensors are read`);

  for (const name of names) {
    const entry = header[name];
    if (name === "__metadata__") {
      if (!isPlainObject(entry)) fail("E_HEADER_JSON", "__metadata__ must be an object of strings");
      const entries = Object.keys(entry).length;
      if (entries > LIMITS.maxMetadataEntries) fail("E_LIMIT", `__metadata__ has ${entries} entries; at most ${LIMITS.maxMetadataEntries} are read`);
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== "string") fail("E_HEADER_JSON", `__metadata__["${key}"] must be a string, got ${typeof value}`);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    tensors.set(name, parseTensorEntry(name, entry, dataStart, dataLength));
  }
  checkContiguous(tensors, dataStart, dataLength);
  return { tensors, metadata };
}

function parseTensorEntry(name: string, entry: unknown, dataStart: number, dataLength: number): TensorInfo {
  const where = `tensor "${name}"`;
  if (!isPlainObject(entry)) fail("E_TENSOR_ENTRY", `${where}: the entry must be an object with dtype, shape and data_offsets`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== "string") fail("E_TENSOR_ENTRY", `${where}: dtype must be a string`);
  // own properties only: a dtype named "toString" or "__proto__" must not find Object.prototype's
  const elementBytes = Object.hasOwn(DTYPE_BYTES, dtype) ? DTYPE_BYTES[dtype] : undefined;
  if (elementBytes === undefined) fail("E_DTYPE", `${where}: unknown dtype "${dtype}" (safetensors dtypes are ${Object.keys(DTYPE_BYTES).join(", ")})`);
  if (!Array.isArray(shape) || shape.length > LIMITS.maxRank || !shape.every(isCount)) {
    fail("E_TENSOR_ENTRY", `${where}: shape must be an array of at most ${LIMITS.maxRank} non-negative integers, got ${JSON.stringify(shape)}`);
  }
  // the product is checked after every factor, so it never leaves the safe integers
  let elements = (shape as number[]).includes(0) ? 0 : 1;
  for (const d of shape as number[]) {
    if (elements === 0) break;
    elements *= d;
    if (elements > LIMITS.maxParameters) fail("E_LIMIT", `${where}: shape ${JSON.stringify(shape)} has more than ${LIMITS.maxParameters} elements`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    fail("E_TENSOR_ENTRY", `${where}: data_offsets must be [begin, end] with non-negative integers, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) {
    fail("E_TENSOR_OFFSETS", `${where}: data_offsets [${begin}, ${end}] are outside the ${dataLength}-byte data buffer`);
  }
  if (end - begin !== elements * elementBytes) {
    fail("E_TENSOR_OFFSETS", `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, but ${dtype} shape ${JSON.stringify(shape)} needs ${elements * elementBytes}`);
  }
  return { name, dtype, shape: shape as number[], begin: dataStart + begin, end: dataStart + end };
}

/** safetensors requires the tensors to tile the data buffer: no overlap, no holes. */
function checkContiguous(tensors: Map<string, TensorInfo>, dataStart: number, dataLength: number): void {
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = dataStart;
  for (const t of sorted) {
    if (t.begin < at) fail("E_TENSOR_OFFSETS", `tensor "${t.name}" overlaps the tensor before it (bytes ${t.begin - dataStart}..${t.end - dataStart})`);
    if (t.begin > at) fail("E_TENSOR_OFFSETS", `the data buffer has a hole of ${t.begin - at} bytes before tensor "${t.name}"`);
    at = t.end;
  }
  if (at !== dataStart + dataLength) {
    fail("E_TENSOR_OFFSETS", `the data buffer has ${dataStart + dataLength - at} bytes after the last tensor (the file is longer than its header describes)`);
  }
}

