// A whole VAE from an edgevae file, evaluated in float64: the oracle that the
// SDK's encode / decode / ELBO / importance-weighted log p(x) are compared with.
//
// Shapes: D = prod(input_shape), J = latent_dim, P = decoder outputs per row
// (D, or 2*D for gaussian_learned). Noise and latent samples are item-major,
// [batch][samples][J], as FORMAT.md requires.

import { applyActivation, type ActivationLayer, type Numbers } from "./activations";
import { kl, logDiagNormal, logStdNormal, logSumExp, reparameterise } from "./gaussian";
import { likelihoodMean, likelihoodParamCount, logLikelihood, type Likelihood } from "./likelihoods";
import { linear } from "./linear";
import { runLayers } from "./ops";
import { parseModel } from "../../sdk/format";
import { allLayers } from "../../sdk/network";
import { f16BitsToF32 } from "../helpers/safetensors";

export interface LinearLayer {
  type: "linear";
  weight: string;
  bias: string | null;
}

export type Layer = LinearLayer | ActivationLayer;

/** The parsed `__metadata__["edgevae"]` object. */
export interface VaeArch {
  version: number;
  input_shape: number[];
  latent_dim: number;
  encoder: Layer[];
  decoder: Layer[];
  likelihood: Likelihood;
  prior?: { type: "standard_normal" };
}

export type TensorMap = Record<string, Float64Array | Float32Array>;

export interface Posterior {
  /** [batch, J] */
  mean: Float64Array;
  /** [batch, J] */
  logvar: Float64Array;
}

export interface ElboParts {
  /** [batch]: recon - beta * kl */
  elbo: Float64Array;
  /** [batch]: (1/S) sum_s log p(x | z_s) */
  recon: Float64Array;
  /** [batch]: closed-form KL(q(z|x) || N(0, I)) */
  kl: Float64Array;
}

// A linear layer with its widths resolved and its tensors widened to float64.
interface ResolvedLinear {
  type: "linear";
  weight: Float64Array;
  bias: Float64Array | null;
  inFeatures: number;
  outFeatures: number;
}
type ResolvedLayer = ResolvedLinear | { type: "activation"; layer: ActivationLayer };

function isLinear(layer: Layer): layer is LinearLayer {
  return layer.type === "linear";
}

/** q * scale[o], o the output channel of each element: [Cout, ...]; transposed convs [Cin, Cout/g, ...]. */
function dequantised(q: Int8Array, shape: readonly number[], layer: Layer, scale: Float64Array): Float64Array {
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  const transposed = layer.type.startsWith("conv_transpose");
  const groups = transposed ? (layer as unknown as { spec: { groups: number } }).spec.groups : 1;
  const coutG = shape[1]!, taps = per / (coutG || 1), cinG = shape[0]! / groups;
  return Float64Array.from(q, (v, i) => {
    const o = transposed ? Math.floor(Math.floor(i / per) / cinG) * coutG + Math.floor((i % per) / taps) : Math.floor(i / per);
    return v * scale[o]!;
  });
}

export class ReferenceVae {
  readonly arch: VaeArch;
  /** values per item, prod(input_shape) */
  readonly D: number;
  /** latent_dim */
  readonly J: number;
  /** decoder outputs per row */
  readonly P: number;
  private readonly encodeNet: (x: Numbers, rows: number) => Float64Array;
  private readonly decodeNet: (z: Numbers, rows: number) => Float64Array;

  /**
   * Any model file (versions 1 and 2): its structure and geometry as the SDK parses them, every
   * layer computed by the float64 reference of its type (./ops.ts).
   */
  static fromFile(bytes: Uint8Array): ReferenceVae {
    const parsed = parseModel(bytes);
    // I8 weights are read as FORMAT.md defines them: w = q * scale[output channel], in float64
    const scaleOf = new Map<string, { scale: string; layer: Layer }>();
    for (const layer of allLayers([...parsed.architecture.encoder, ...parsed.architecture.decoder])) {
      const l = layer as { weight?: { name: string }; scale?: { name: string } | null };
      if (l.scale) scaleOf.set(l.weight!.name, { scale: l.scale.name, layer });
    }
    const cache = new Map<string, Float64Array>();
    const tensor = (name: string): Float64Array => {
      let t = cache.get(name);
      if (t === undefined) {
        const info = parsed.tensors.get(name)!;
        const raw = bytes.slice(info.begin, info.end);
        if (info.dtype === "F16") t = Float64Array.from(new Uint16Array(raw.buffer), (h) => f16BitsToF32(h));
        else if (info.dtype === "BF16") t = Float64Array.from(new Uint16Array(raw.buffer), (h) => new Float32Array(new Uint32Array([h << 16]).buffer)[0]!);
        else if (info.dtype === "I8") t = dequantised(new Int8Array(raw.buffer), info.shape, scaleOf.get(name)!.layer, tensor(scaleOf.get(name)!.scale));
        else t = Float64Array.from(new Float32Array(raw.buffer));
        cache.set(name, t);
      }
      return t;
    };
    const a = parsed.architecture;
    const json = JSON.parse(parsed.metadata["edgevae"]!) as VaeArch;
    return new ReferenceVae(json, {}, {
      encode: (x, rows) => runLayers(a.encoder, Float64Array.from(x), rows, tensor),
      decode: (z, rows) => runLayers(a.decoder, Float64Array.from(z), rows, tensor),
    });
  }

  constructor(arch: VaeArch, tensors: TensorMap,
              nets?: { encode: (x: Numbers, rows: number) => Float64Array; decode: (z: Numbers, rows: number) => Float64Array }) {
    this.arch = arch;
    this.D = arch.input_shape.reduce((a, b) => a * b, 1);
    this.J = arch.latent_dim;
    this.P = likelihoodParamCount(arch.likelihood, this.D);
    if (arch.likelihood.type === "gaussian" && !(arch.likelihood.sigma > 0)) {
      throw new Error(`ReferenceVae: gaussian likelihood needs sigma > 0, got ${arch.likelihood.sigma}`);
    }
    // The tensors carry no shapes here, so each linear layer's out width is
    // weight.length / in, with `in` carried along from the previous linear.
    if (nets !== undefined) {
      this.encodeNet = nets.encode;
      this.decodeNet = nets.decode;
    } else {
      const encoder = resolveStack("encoder", arch.encoder, tensors, this.D, 2 * this.J);
      const decoder = resolveStack("decoder", arch.decoder, tensors, this.J, this.P);
      this.encodeNet = (x, rows) => runStack(encoder, x, rows, this.D);
      this.decodeNet = (z, rows) => runStack(decoder, z, rows, this.J);
    }
  }

  /** x: [batch, D] -> mean, logvar: [batch, J] each (the encoder output split [mean | logvar]). */
  encode(x: Numbers, batch: number): Posterior {
    const { J } = this;
    const h = this.encodeNet(x, batch);
    const mean = new Float64Array(batch * J);
    const logvar = new Float64Array(batch * J);
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < J; j++) {
        mean[b * J + j] = h[b * 2 * J + j];
        logvar[b * J + j] = h[b * 2 * J + J + j];
      }
    }
    return { mean, logvar };
  }

  /** z: [rows, J] -> the likelihood's parameters: [rows, P]. */
  decodeParams(z: Numbers, rows: number): Float64Array {
    return this.decodeNet(z, rows);
  }

  /** z: [rows, J] -> E[x|z]: [rows, D]. */
  decodeMean(z: Numbers, rows: number): Float64Array {
    return likelihoodMean(this.arch.likelihood, this.decodeParams(z, rows), rows, this.D);
  }

  /**
   * ELBO per item with S = samples reparameterised samples:
   * recon = (1/S) sum_s log p(x|z_s), elbo = recon - beta * KL.
   * x: [batch, D]; eps: [batch, samples, J]. Returns [batch] each.
   */
  elbo(x: Numbers, batch: number, eps: Numbers, samples: number, beta = 1): ElboParts {
    const { D, J } = this;
    const { mean, logvar } = this.encode(x, batch);
    const z = reparameterise(mean, logvar, eps, batch, samples, J);
    const params = this.decodeParams(z, batch * samples);
    const ll = logLikelihood(this.arch.likelihood, x, params, batch * samples, D, samples);

    const recon = new Float64Array(batch);
    for (let b = 0; b < batch; b++) {
      let acc = 0;
      for (let s = 0; s < samples; s++) acc += ll[b * samples + s];
      recon[b] = acc / samples;
    }
    const klv = kl(mean, logvar, batch, J);
    const elbo = new Float64Array(batch);
    for (let b = 0; b < batch; b++) elbo[b] = recon[b] - beta * klv[b];
    return { elbo, recon, kl: klv };
  }

  /**
   * Importance-weighted log p(x) per item (Burda et al. 2015) with K = k samples:
   * logsumexp_k [log p(x|z_k) + log N(z_k; 0, I) - log q(z_k|x)] - log K.
   * x: [batch, D]; eps: [batch, k, J]. Returns [batch].
   */
  logLikelihood(x: Numbers, batch: number, eps: Numbers, k: number): Float64Array {
    const { D, J } = this;
    const { mean, logvar } = this.encode(x, batch);
    const z = reparameterise(mean, logvar, eps, batch, k, J);
    const params = this.decodeParams(z, batch * k);
    const logPxz = logLikelihood(this.arch.likelihood, x, params, batch * k, D, k);
    const logPz = logStdNormal(z, batch * k, J);
    const logQz = logDiagNormal(z, mean, logvar, batch * k, J, k);

    const out = new Float64Array(batch);
    const w = new Float64Array(k);
    for (let b = 0; b < batch; b++) {
      for (let s = 0; s < k; s++) {
        const r = b * k + s;
        w[s] = logPxz[r] + logPz[r] - logQz[r];
      }
      out[b] = logSumExp(w) - Math.log(k);
    }
    return out;
  }
}

/** Checks one stack's layers against the tensors and resolves every width; the stack maps inWidth -> outWidth. */
function resolveStack(
  name: string,
  layers: Layer[],
  tensors: TensorMap,
  inWidth: number,
  outWidth: number,
): ResolvedLayer[] {
  const tensor = (key: string): Float64Array => {
    const t = tensors[key];
    if (t === undefined) throw new Error(`ReferenceVae: ${name} refers to missing tensor ${JSON.stringify(key)}`);
    return Float64Array.from(t);
  };
  let width = inWidth;
  const resolved: ResolvedLayer[] = [];
  layers.forEach((layer, i) => {
    if (!isLinear(layer)) {
      // Validate the type now rather than on the first forward pass.
      applyActivation(layer, []);
      resolved.push({ type: "activation", layer });
      return;
    }
    const weight = tensor(layer.weight);
    const outFeatures = weight.length / width;
    if (!Number.isInteger(outFeatures) || outFeatures < 1) {
      throw new Error(`ReferenceVae: ${name}[${i}] weight has ${weight.length} values, not a multiple of in = ${width}`);
    }
    const bias = layer.bias === null ? null : tensor(layer.bias);
    if (bias !== null && bias.length !== outFeatures) {
      throw new Error(`ReferenceVae: ${name}[${i}] bias has ${bias.length} values, expected ${outFeatures}`);
    }
    resolved.push({ type: "linear", weight, bias, inFeatures: width, outFeatures });
    width = outFeatures;
  });
  if (width !== outWidth) {
    throw new Error(`ReferenceVae: ${name} outputs ${width} values per row, expected ${outWidth}`);
  }
  return resolved;
}

/** Runs a resolved stack on x: [rows, inWidth]; returns [rows, outWidth]. */
function runStack(layers: ResolvedLayer[], x: Numbers, rows: number, inWidth: number): Float64Array {
  if (x.length !== rows * inWidth) {
    throw new Error(`ReferenceVae: input has ${x.length} values, expected rows*width = ${rows}*${inWidth}`);
  }
  let h: Float64Array = Float64Array.from(x);
  let width = inWidth;
  for (const layer of layers) {
    if (layer.type === "linear") {
      h = linear(h, rows, width, layer.weight, layer.bias, layer.outFeatures);
      width = layer.outFeatures;
    } else {
      h = applyActivation(layer.layer, h);
    }
  }
  return h;
}
