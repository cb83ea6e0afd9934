// A tiny ONNX writer: hand-encoded protobuf for ModelProto / GraphProto / NodeProto /
// TensorProto / ValueInfoProto (onnx.proto3 field numbers), and the benchmark's graphs
// (encode, decode, ELBO, importance-weighted log p(x)) built from a bench model's weights.
// Opset 17, IR version 8.

const enc = new TextEncoder();

// ---- protobuf wire format ----------------------------------------------------------------
class Pb {
  constructor() { this.parts = []; this.len = 0; }
  push(u8) { this.parts.push(u8); this.len += u8.length; return this; }
  varint(v) {
    let n = BigInt.asUintN(64, BigInt(v));
    const out = [];
    do { let b = Number(n & 0x7fn); n >>= 7n; if (n) b |= 0x80; out.push(b); } while (n);
    return this.push(Uint8Array.from(out));
  }
  key(field, wire) { return this.varint((field << 3) | wire); }
  int(field, v) { return this.key(field, 0).varint(v); }
  f32(field, v) { const b = new Uint8Array(4); new DataView(b.buffer).setFloat32(0, v, true); return this.key(field, 5).push(b); }
  bytes(field, u8) { return this.key(field, 2).varint(u8.length).push(u8); }
  str(field, s) { return this.bytes(field, enc.encode(s)); }
  msg(field, pb) { return this.bytes(field, pb.finish()); }
  finish() { const out = new Uint8Array(this.len); let o = 0; for (const p of this.parts) { out.set(p, o); o += p.length; } return out; }
}

const FLOAT = 1, INT64 = 7;

function tensorProto(name, dims, data) { // data: Float32Array or BigInt64Array
  const t = new Pb();
  for (const d of dims) t.int(1, d);
  t.int(2, data instanceof Float32Array ? FLOAT : INT64);
  t.str(8, name);
  t.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return t;
}

function valueInfo(name, dims) { // dims: numbers or strings (symbolic)
  const shape = new Pb();
  for (const d of dims) shape.msg(1, typeof d === "string" ? new Pb().str(2, d) : new Pb().int(1, d));
  const tensorType = new Pb().int(1, FLOAT).msg(2, shape);
  return new Pb().str(1, name).msg(2, new Pb().msg(1, tensorType));
}

function attribute(name, v) {
  const a = new Pb().str(1, name);
  if (Array.isArray(v)) { for (const x of v) a.int(8, x); a.int(20, 7); }
  else if (Number.isInteger(v)) a.int(3, v).int(20, 2);
  else a.f32(2, v).int(20, 1);
  return a;
}

/** A graph under construction: op() appends a node and returns its (fresh) output name. */
class Graph {
  constructor() { this.nodes = []; this.inits = []; this.inputs = []; this.outputs = []; this.n = 0; }
  input(name, dims) { this.inputs.push(valueInfo(name, dims)); return name; }
  output(name, dims) { this.outputs.push(valueInfo(name, dims)); }
  init(name, dims, data) { this.inits.push(tensorProto(name, dims, data)); return name; }
  ints(values) { return this.init(`c${this.n++}`, [values.length], BigInt64Array.from(values.map(BigInt))); }
  scalar(v) { return this.init(`c${this.n++}`, [], Float32Array.of(v)); }
  op(type, inputs, attrs = {}, outputs = [`t${this.n++}`]) {
    const node = new Pb();
    for (const i of inputs) node.str(1, i);
    for (const o of outputs) node.str(2, o);
    node.str(3, `n${this.nodes.length}`).str(4, type);
    for (const [k, v] of Object.entries(attrs)) node.msg(5, attribute(k, v));
    this.nodes.push(node);
    return outputs.length === 1 ? outputs[0] : outputs;
  }
  bytes() {
    const g = new Pb();
    for (const n of this.nodes) g.msg(1, n);
    g.str(2, "edgevae_bench");
    for (const t of this.inits) g.msg(5, t);
    for (const i of this.inputs) g.msg(11, i);
    for (const o of this.outputs) g.msg(12, o);
    const m = new Pb().int(1, 8).str(2, "edgevae-bench").str(3, "0.1").msg(7, g);
    m.msg(8, new Pb().str(1, "").int(2, 17));
    return m.finish();
  }
}

// ---- the VAE's graphs ----------------------------------------------------------------------

// matmul: MatMul + Add with W^T as the initializer instead of Gemm (what
// onnxruntime.quantization.quantize_dynamic turns into MatMulInteger: bench/int8.mjs)
function mlp(g, x, layers, prefix, matmul = false) {
  let h = x;
  layers.forEach((l, i) => {
    const b = g.init(`${prefix}${i}.b`, [l.outF], l.b);
    if (matmul) {
      const wt = new Float32Array(l.inF * l.outF);
      for (let o = 0; o < l.outF; o++) for (let k = 0; k < l.inF; k++) wt[k * l.outF + o] = l.w[o * l.inF + k];
      h = g.op("Add", [g.op("MatMul", [h, g.init(`${prefix}${i}.wt`, [l.inF, l.outF], wt)]), b]);
    } else {
      h = g.op("Gemm", [h, g.init(`${prefix}${i}.w`, [l.outF, l.inF], l.w), b], { transB: 1 });
    }
    if (l.relu) h = g.op("Relu", [h]);
  });
  return h;
}

function encoder(g, model, x, matmul = false) {
  const h = mlp(g, x, model.layers.encoder, "e", matmul);
  return g.op("Split", [h, g.ints([model.J, model.J])], { axis: 1 }, ["mean", "logvar"]);
}

/** sum over `axis` of x*l - softplus(l): the Bernoulli log-likelihood from logits. */
function bernoulli(g, x, logits, axis) {
  const t = g.op("Sub", [g.op("Mul", [x, logits]), g.op("Softplus", [logits])]);
  return g.op("ReduceSum", [t, g.ints([axis])], { keepdims: 0 });
}

export function encodeGraph(model) {
  const g = new Graph();
  const x = g.input("x", ["B", model.D]);
  encoder(g, model, x);
  g.output("mean", ["B", model.J]); g.output("logvar", ["B", model.J]);
  return g.bytes();
}

export function decodeGraph(model) {
  const g = new Graph();
  const z = g.input("z", ["N", model.J]);
  g.op("Sigmoid", [mlp(g, z, model.layers.decoder, "d")], {}, ["mean"]);
  g.output("mean", ["N", model.D]);
  return g.bytes();
}

/** ELBO with one sample per item; eps (B, J) is an input. Outputs elbo, recon, kl (B). */
export function elboGraph(model, { matmul = false } = {}) {
  const g = new Graph();
  const x = g.input("x", ["B", model.D]), eps = g.input("eps", ["B", model.J]);
  const [mean, logvar] = encoder(g, model, x, matmul);
  const std = g.op("Exp", [g.op("Mul", [logvar, g.scalar(0.5)])]);
  const z = g.op("Add", [mean, g.op("Mul", [std, eps])]);
  const logits = mlp(g, z, model.layers.decoder, "d", matmul);
  g.op("Identity", [bernoulli(g, x, logits, 1)], {}, ["recon"]);
  const klTerms = g.op("Sub", [g.op("Add", [g.op("Mul", [mean, mean]), g.op("Exp", [logvar])]), g.op("Add", [logvar, g.scalar(1)])]);
  g.op("Mul", [g.op("ReduceSum", [klTerms, g.ints([1])], { keepdims: 0 }), g.scalar(0.5)], {}, ["kl"]);
  g.op("Sub", ["recon", "kl"], {}, ["elbo"]);
  for (const o of ["elbo", "recon", "kl"]) g.output(o, ["B"]);
  return g.bytes();
}

/** log p(x) ~ logsumexp_k [log p(x|z_k) + log N(z_k) - log q(z_k|x)] - log K; eps (B, K, J). */
export function logLikelihoodGraph(model, K) {
  const g = new Graph();
  const { D, J } = model;
  const x = g.input("x", ["B", D]), eps = g.input("eps", ["B", K, J]);
  const [mean, logvar] = encoder(g, model, x);
  const axis1 = g.ints([1]);
  const std = g.op("Exp", [g.op("Mul", [logvar, g.scalar(0.5)])]);
  const z3 = g.op("Add", [g.op("Unsqueeze", [mean, axis1]), g.op("Mul", [g.op("Unsqueeze", [std, axis1]), eps])]); // (B, K, J)
  const logits = mlp(g, g.op("Reshape", [z3, g.ints([-1, J])]), model.layers.decoder, "d");   // (B*K, D)
  const l3 = g.op("Reshape", [logits, g.ints([-1, K, D])]);
  const logp = bernoulli(g, g.op("Unsqueeze", [x, axis1]), l3, 2);                             // (B, K)
  // log N(z; 0, I) - log q(z|x) = -0.5 sum z^2 + 0.5 sum (logvar + eps^2)
  const zz = g.op("ReduceSum", [g.op("Mul", [z3, z3]), g.ints([2])], { keepdims: 0 });
  const ee = g.op("ReduceSum", [g.op("Mul", [eps, eps]), g.ints([2])], { keepdims: 0 });
  const lv = g.op("ReduceSum", [logvar, axis1], { keepdims: 1 });                              // (B, 1)
  const w = g.op("Add", [logp, g.op("Mul", [g.op("Add", [g.op("Sub", [ee, zz]), lv]), g.scalar(0.5)])]);
  const m = g.op("ReduceMax", [w], { axes: [1], keepdims: 1 });
  const s = g.op("ReduceSum", [g.op("Exp", [g.op("Sub", [w, m])]), axis1], { keepdims: 0 });
  const lse = g.op("Add", [g.op("Log", [s]), g.op("Squeeze", [m, axis1])]);
  g.op("Sub", [lse, g.scalar(Math.log(K))], {}, ["logpx"]);
  g.output("logpx", ["B"]);
  return g.bytes();
}

// ---- conv VAEs (bench/conv-models.mjs layer specs, NCHW, PyTorch semantics) -----------------
// Items come in flat ([B, D], as edgevae takes them) and are reshaped to [B, C, H, W] inside the
// graph; decoder outputs are flattened back to [B, D].

function convNet(g, x, layers, prefix) {
  let h = x;
  layers.forEach((l, i) => {
    const w = (dims) => g.init(`${prefix}${i}.w`, dims, l.w), b = () => g.init(`${prefix}${i}.b`, [l.b.length], l.b);
    switch (l.type) {
      case "conv2d":
        h = g.op("Conv", [h, w([l.cout, l.cin, l.k, l.k]), b()], { kernel_shape: [l.k, l.k], strides: [l.stride, l.stride], pads: l.pad });
        break;
      case "convT": {
        const attrs = { kernel_shape: [l.k, l.k], strides: [l.stride, l.stride], pads: [l.pad, l.pad, l.pad, l.pad] };
        if (l.outPad) attrs.output_padding = [l.outPad, l.outPad];
        h = g.op("ConvTranspose", [h, w([l.cin, l.cout, l.k, l.k]), b()], attrs);
        break;
      }
      case "linear": h = g.op("Gemm", [h, w([l.outF, l.inF]), b()], { transB: 1 }); break;
      case "relu": h = g.op("Relu", [h]); break;
      case "leaky": h = g.op("LeakyRelu", [h], { alpha: l.slope }); break;
      case "flatten": h = g.op("Flatten", [h], { axis: 1 }); break;
      case "reshape": h = g.op("Reshape", [h, g.ints([-1, ...l.shape])]); break;
      default: throw new Error(`onnx: unknown layer ${l.type}`);
    }
  });
  return h;
}

const toItems = (g, x, shape) => (shape.length > 1 ? g.op("Reshape", [x, g.ints([-1, ...shape])]) : x);
const flat = (g, h, shape) => (shape.length > 1 ? g.op("Flatten", [h], { axis: 1 }) : h);

function convEncoder(g, model, x) {
  const h = flat(g, convNet(g, toItems(g, x, model.inShape), model.conv.encoder, "e"), model.conv.encoder.at(-1).outShape);
  return g.op("Split", [h, g.ints([model.J, model.J])], { axis: 1 }, ["mean", "logvar"]);
}
const convDecoder = (g, model, z) =>
  flat(g, convNet(g, toItems(g, z, model.latentShape), model.conv.decoder, "d"), model.conv.decoder.at(-1).outShape);

export function convEncodeGraph(model) {
  const g = new Graph();
  convEncoder(g, model, g.input("x", ["B", model.D]));
  g.output("mean", ["B", model.J]); g.output("logvar", ["B", model.J]);
  return g.bytes();
}

/** decode: z (N, J) -> sigmoid(logits) (N, D); with { logits: true } the raw logits instead. */
export function convDecodeGraph(model, { logits = false } = {}) {
  const g = new Graph();
  const l = convDecoder(g, model, g.input("z", ["N", model.J]));
  g.op(logits ? "Identity" : "Sigmoid", [l], {}, ["mean"]);
  g.output("mean", ["N", model.D]);
  return g.bytes();
}

/** ELBO (Bernoulli) with one sample per item; eps (B, J) is an input. Outputs elbo, recon, kl (B). */
export function convElboGraph(model) {
  const g = new Graph();
  const x = g.input("x", ["B", model.D]), eps = g.input("eps", ["B", model.J]);
  const [mean, logvar] = convEncoder(g, model, x);
  const std = g.op("Exp", [g.op("Mul", [logvar, g.scalar(0.5)])]);
  const z = g.op("Add", [mean, g.op("Mul", [std, eps])]);
  g.op("Identity", [bernoulli(g, x, convDecoder(g, model, z), 1)], {}, ["recon"]);
  const klTerms = g.op("Sub", [g.op("Add", [g.op("Mul", [mean, mean]), g.op("Exp", [logvar])]), g.op("Add", [logvar, g.scalar(1)])]);
  g.op("Mul", [g.op("ReduceSum", [klTerms, g.ints([1])], { keepdims: 0 }), g.scalar(0.5)], {}, ["kl"]);
  g.op("Sub", ["recon", "kl"], {}, ["elbo"]);
  for (const o of ["elbo", "recon", "kl"]) g.output(o, ["B"]);
  return g.bytes();
}

/** One conv / conv_transpose layer alone: x (B, ...inShape) -> y (B, ...outShape). */
export function convLayerGraph(layer) {
  const g = new Graph();
  g.op("Identity", [convNet(g, g.input("x", ["B", ...layer.inShape]), [layer], "l")], {}, ["y"]);
  g.output("y", ["B", ...layer.outShape]);
  return g.bytes();
}

/** Conv log p(x) (Bernoulli), as logLikelihoodGraph: eps (B, K, J) is an input; K decoder rows per item. Output logpx (B). */
export function convLogLikelihoodGraph(model, K) {
  const g = new Graph();
  const { D, J } = model;
  const x = g.input("x", ["B", D]), eps = g.input("eps", ["B", K, J]);
  const [mean, logvar] = convEncoder(g, model, x);
  const axis1 = g.ints([1]);
  const std = g.op("Exp", [g.op("Mul", [logvar, g.scalar(0.5)])]);
  const z3 = g.op("Add", [g.op("Unsqueeze", [mean, axis1]), g.op("Mul", [g.op("Unsqueeze", [std, axis1]), eps])]); // (B, K, J)
  const logits = convDecoder(g, model, g.op("Reshape", [z3, g.ints([-1, J])]));                 // (B*K, D)
  const logp = bernoulli(g, g.op("Unsqueeze", [x, axis1]), g.op("Reshape", [logits, g.ints([-1, K, D])]), 2); // (B, K)
  const zz = g.op("ReduceSum", [g.op("Mul", [z3, z3]), g.ints([2])], { keepdims: 0 });
  const ee = g.op("ReduceSum", [g.op("Mul", [eps, eps]), g.ints([2])], { keepdims: 0 });
  const lv = g.op("ReduceSum", [logvar, axis1], { keepdims: 1 });
  const w = g.op("Add", [logp, g.op("Mul", [g.op("Add", [g.op("Sub", [ee, zz]), lv]), g.scalar(0.5)])]);
  const m = g.op("ReduceMax", [w], { axes: [1], keepdims: 1 });
  const s = g.op("ReduceSum", [g.op("Exp", [g.op("Sub", [w, m])]), axis1], { keepdims: 0 });
  g.op("Sub", [g.op("Add", [g.op("Log", [s]), g.op("Squeeze", [m, axis1])]), g.scalar(Math.log(K))], {}, ["logpx"]);
  g.output("logpx", ["B"]);
  return g.bytes();
}
