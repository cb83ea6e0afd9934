// The machine's single-core SIMD ceilings, measured with hand-assembled wasm (no compiler in
// between, so the loop is exactly what it says):
//   peak(iters):   12 independent f32x4 chains acc = acc * m + a, registers only
//                  (12 x 4 lanes x 2 flops = 96 flop per iteration); the relaxed variant uses
//                  f32x4.relaxed_madd (one fused op) instead of mul then add.
//   stream(p, bytes, reps): sums a buffer with 16 v128 loads (integer adds, 1-cycle latency) per step: the read
//                  bandwidth a batch-1 GEMV (which reads every weight once) can hope for.

const V128 = 0x7b, F32 = 0x7d, I32 = 0x7f;
const uleb = (n) => { const o = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; o.push(b); } while (n); return o; };
const sleb = (n) => { const o = []; for (;;) { const b = n & 0x7f; n >>= 7; if ((n === 0 && !(b & 0x40)) || (n === -1 && (b & 0x40))) { o.push(b); return o; } o.push(b | 0x80); } };
const section = (id, bytes) => [id, ...uleb(bytes.length), ...bytes];
const vec = (items) => [...uleb(items.length), ...items.flat()];
const str = (s) => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
const simd = (op, ...imm) => [0xfd, ...uleb(op), ...imm];
const f32const = (v) => { const b = new Uint8Array(4); new DataView(b.buffer).setFloat32(0, v, true); return [0x43, ...b]; };
const OP = { add: 0xe4, mul: 0xe6, splat: 0x13, extract: 0x1f, load: 0x00, madd: 0x105, iadd: 0xae };

function peakBody(relaxed, chains) {
  const m = chains, a = chains + 1; // locals after the param: chains accumulators, m, a
  const code = [];
  for (let i = 0; i < chains; i++) code.push(...f32const(1 + i / 64), ...simd(OP.splat), 0x21, 1 + i);
  code.push(...f32const(0.999999), ...simd(OP.splat), 0x21, 1 + m, ...f32const(1e-7), ...simd(OP.splat), 0x21, 1 + a);
  code.push(0x03, 0x40); // loop
  for (let i = 0; i < chains; i++) {
    if (relaxed) code.push(0x20, 1 + i, 0x20, 1 + m, 0x20, 1 + a, ...simd(OP.madd), 0x21, 1 + i);
    else code.push(0x20, 1 + i, 0x20, 1 + m, ...simd(OP.mul), 0x20, 1 + a, ...simd(OP.add), 0x21, 1 + i);
  }
  code.push(0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b); // iters -= 1; br_if loop; end
  code.push(0x20, 1);
  for (let i = 1; i < chains; i++) code.push(0x20, 1 + i, ...simd(OP.add));
  code.push(...simd(OP.extract, 0), 0x0b);
  return [...vec([[...uleb(chains + 2), V128]]), ...code];
}

function streamBody() {
  // params: p, bytes, reps; locals: i (i32) 3, end (i32) 4, acc0..7 (v128) 5..12
  const code = [0x20, 0, 0x20, 1, 0x6a, 0x21, 4]; // end = p + bytes
  code.push(0x03, 0x40); // loop reps
  code.push(0x20, 0, 0x21, 3); // i = p
  code.push(0x03, 0x40); // loop i
  for (let j = 0; j < 16; j++) code.push(0x20, 5 + (j & 7), 0x20, 3, ...simd(OP.load, 4, ...uleb(16 * j)), ...simd(OP.iadd), 0x21, 5 + (j & 7));
  code.push(0x20, 3, 0x41, ...sleb(256), 0x6a, 0x22, 3, 0x20, 4, 0x49, 0x0d, 0, 0x0b); // i += 128; br_if i < end
  code.push(0x20, 2, 0x41, 1, 0x6b, 0x22, 2, 0x0d, 0, 0x0b); // reps -= 1; br_if
  code.push(0x20, 5);
  for (let j = 1; j < 8; j++) code.push(0x20, 5 + j, ...simd(OP.add));
  code.push(...simd(OP.extract, 0), 0x0b);
  return [...vec([[2, I32], [8, V128]]), ...code];
}

export function peakModuleBytes(relaxed, chains = 12) {
  const bodies = [peakBody(relaxed, chains), streamBody()];
  return Uint8Array.from([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vec([[0x60, 1, I32, 1, F32], [0x60, 3, I32, I32, I32, 1, F32]])),
    ...section(3, vec([[0], [1]])),
    ...section(5, vec([[0, 1]])),
    ...section(7, vec([[...str("peak"), 0, 0], [...str("stream"), 0, 1], [...str("memory"), 2, 0]])),
    ...section(10, vec(bodies.map((b) => [...uleb(b.length), ...b]))),
  ]);
}

/** GFLOP/s of the register-only loop (median of `runs`), or null if the host cannot run it. */
export function measurePeak(relaxed = false, runs = 9) {
  const bytes = peakModuleBytes(relaxed);
  if (!WebAssembly.validate(bytes)) return null;
  const { peak } = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
  const iters = 2_000_000;
  peak(iters); peak(iters); // tier up
  const rates = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now(); peak(iters); const ms = performance.now() - t0;
    rates.push((iters * 96) / ms / 1e6);
  }
  return rates.sort((a, b) => a - b);
}

/** Read bandwidth (GB/s) over a buffer of `bytes` (kept hot in whichever cache holds it). */
export function measureStream(bytes, runs = 9) {
  const { stream, memory } = new WebAssembly.Instance(new WebAssembly.Module(peakModuleBytes(false))).exports;
  memory.grow(Math.ceil(bytes / 65536) + 1);
  new Float32Array(memory.buffer).fill(1);
  const reps = Math.max(1, Math.round(256e6 / bytes));
  stream(64, bytes, reps);
  const rates = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now(); stream(64, bytes, reps); const ms = performance.now() - t0;
    rates.push((bytes * reps) / ms / 1e6);
  }
  return rates.sort((a, b) => a - b);
}
