/// <reference types="node" />
// PNG reading and writing with node:zlib only. Reads what image data sets hold: grayscale,
// RGB, palette, with or without alpha (alpha is ignored), bit depths 1 to 16, not interlaced.
// Writes 8-bit grayscale or RGB. Format: https://www.w3.org/TR/png-3/ (chunks: length, type,
// data, CRC-32; IDAT holds zlib of filtered scanlines).

import { deflateSync, inflateSync } from "node:zlib";
import { CliError } from "./args";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A decoded image: `channels` (1 gray, 3 RGB) values per pixel in [0, 1], row-major from the top, interleaved. */
export interface Image { width: number; height: number; channels: 1 | 3; pixels: Float32Array }

export function decodePng(bytes: Uint8Array, name: string): Image {
  const bad = (what: string): never => { throw new CliError("E_DATA_FORMAT", `${name}: ${what}`); };
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) bad("not a PNG file (no PNG signature)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8, width = 0, height = 0, depth = 0, color = -1, palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  for (;;) {
    if (at + 12 > bytes.length) bad("truncated (no IEND chunk)");
    const length = view.getUint32(at), type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (at + 12 + length > bytes.length) bad(`truncated in its ${type} chunk`);
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== view.getUint32(at + 8 + length)) bad(`its ${type} chunk fails its CRC check (a damaged file)`);
    at += 12 + length;
    if (type === "IHDR") {
      if (length !== 13) bad("its IHDR chunk is not 13 bytes");
      const h = new DataView(data.buffer, data.byteOffset, 13);
      width = h.getUint32(0); height = h.getUint32(4); depth = data[8]!; color = data[9]!;
      if (data[10] !== 0 || data[11] !== 0) bad("unknown compression or filter method");
      if (data[12] !== 0) bad("it is interlaced (Adam7), which is not read; save it without interlacing");
      const depths: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
      if (!depths[color]?.includes(depth)) bad(`colour type ${color} with bit depth ${depth} is not a valid PNG combination`);
      if (width === 0 || height === 0 || width * height > 1 << 26) bad(`its size ${width}x${height} is out of range`);
    } else if (type === "PLTE") {
      palette = data;
    } else if (type === "IDAT") {
      idat.push(data);
    } else if (type === "IEND") {
      break;
    }
  }
  if (color < 0) bad("no IHDR chunk");
  if (color === 3 && palette === undefined) bad("a palette image without a PLTE chunk");
  let raw: Uint8Array;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch (err) {
    return bad(`its image data does not inflate (${(err as Error).message})`);
  }
  const samples = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[color as 0 | 2 | 3 | 4 | 6];
  const bitsPerPixel = samples * depth, stride = Math.ceil((width * bitsPerPixel) / 8), bpp = Math.max(1, bitsPerPixel >> 3);
  if (raw.length < height * (stride + 1)) bad(`its image data holds ${raw.length} bytes, ${height} rows of ${stride + 1} are needed`);
  const lines = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!, src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = lines.subarray(y * stride, (y + 1) * stride), prev = y > 0 ? lines.subarray((y - 1) * stride, y * stride) : undefined;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0, b = prev ? prev[i]! : 0, c = prev && i >= bpp ? prev[i - bpp]! : 0;
      let v = src[i]!;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) bad(`row ${y} has unknown filter type ${filter}`);
      cur[i] = v & 0xff;
    }
  }
  const max = 2 ** depth - 1;
  const sample = (y: number, x: number, s: number): number => {
    const row = lines.subarray(y * stride, (y + 1) * stride);
    if (depth === 16) { const o = (x * samples + s) * 2; return (row[o]! << 8) | row[o + 1]!; }
    if (depth === 8) return row[x * samples + s]!;
    const bit = x * depth, perByte = 8 / depth; // sub-byte: gray or palette, one sample per pixel
    return (row[bit >> 3]! >> ((perByte - 1 - (x % perByte)) * depth)) & max;
  };
  const rgb = color === 2 || color === 6 || color === 3;
  const channels: 1 | 3 = rgb ? 3 : 1;
  const pixels = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (color === 3) {
        const i = sample(y, x, 0);
        if (3 * i + 2 >= palette!.length) bad(`pixel (${x}, ${y}) names palette entry ${i}, past the palette's end`);
        for (let c = 0; c < 3; c++) pixels[o + c] = palette![3 * i + c]! / 255;
      } else {
        for (let c = 0; c < channels; c++) pixels[o + c] = sample(y, x, c) / max; // alpha (the last sample of 4 and 6) is ignored
      }
    }
  }
  return { width, height, channels, pixels };
}

/** PNG bytes of an 8-bit image: `channels` 1 (gray) or 3 (RGB) bytes per pixel, row-major from the top. */
export function encodePng(width: number, height: number, channels: 1 | 3, data: Uint8Array): Uint8Array {
  const chunk = (type: string, body: Uint8Array): Buffer => {
    const out = Buffer.alloc(12 + body.length);
    out.writeUInt32BE(body.length, 0);
    out.write(type, 4, "ascii");
    out.set(body, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = channels === 1 ? 0 : 2; // 8-bit gray or truecolour, deflate, no filter choice, no interlace
  const stride = width * channels;
  const raw = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) raw.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1); // filter 0
  return Buffer.concat([Buffer.from(SIGNATURE), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", new Uint8Array(0))]);
}
