// Writing FORMAT v1 model files (safetensors with the architecture in __metadata__["edgevae"]).

export interface OutTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits of a float32 value, round to nearest even (overflow -> infinity). */
export function f32ToF16(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000, exp = (bits >>> 23) & 0xff, mant = bits & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  const e16 = exp - 112;
  if (e16 >= 0x1f) return sign | 0x7c00;
  if (e16 >= 1) {
    let h = (e16 << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
    return sign | h;
  }
  if (e16 < -10) return sign;
  const m = mant | 0x800000, shift = 14 - e16;
  let h = m >>> shift;
  const rest = m & ((1 << shift) - 1), half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) === 1)) h++;
  return sign | h;
}

/** A safetensors file (tensors in order, F32 or F16, little-endian) with string metadata. */
export function writeSafetensors(tensors: readonly OutTensor[], metadata: Record<string, string>,
                                 dtype: "F32" | "F16" = "F32"): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const width = dtype === "F32" ? 4 : 2;
  let offset = 0;
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`tensor ${t.name}: shape ${JSON.stringify(t.shape)} needs ${count} values, got ${t.data.length}`);
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + count * width] };
    offset += count * width;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - ((8 + json.length) % 8)) % 8; // keep the byte buffer 8-byte aligned
  if (pad > 0) json = new TextEncoder().encode(JSON.stringify(header) + " ".repeat(pad));
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors) {
    for (let i = 0; i < t.data.length; i++) {
      if (dtype === "F32") view.setFloat32(at + 4 * i, t.data[i]!, true);
      else view.setUint16(at + 2 * i, f32ToF16(t.data[i]!), true);
    }
    at += t.data.length * width;
  }
  return out;
}

/** A tensor written as the bytes it already has (any safetensors dtype). */
export interface RawTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/** A safetensors file of tensors given as raw little-endian bytes, in order, with string metadata. */
export function writeRawSafetensors(tensors: readonly RawTensor[], metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  const text = JSON.stringify(header);
  const length = new TextEncoder().encode(text).length;
  const json = new TextEncoder().encode(text + " ".repeat((8 - ((8 + length) % 8)) % 8)); // 8-byte aligned data
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors) { out.set(t.bytes, at); at += t.bytes.length; }
  return out;
}
