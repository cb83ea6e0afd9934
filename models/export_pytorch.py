#!/usr/bin/env python3
"""Export a PyTorch VAE to an edgevae model file (FORMAT v1: safetensors + architecture JSON).

The VAE is two nn.Sequential networks:
  encoder: x (flattened) -> 2 * latent_dim values, [mean | logvar]   (an nn.Flatten first is allowed)
  decoder: z -> the likelihood's parameters: D logits (bernoulli), D means (gaussian, fixed sigma)
           or 2 * D values [mean | logvar] (gaussian_learned)
made of nn.Linear, nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU (approximate="none"), nn.SiLU,
nn.Tanh, nn.Sigmoid, nn.Softplus (beta 1).

As a library:
    from export_pytorch import export_vae
    export_vae(model.encoder, model.decoder, "model.safetensors", input_shape=[784], latent_dim=32,
               likelihood={"type": "bernoulli"})
From the command line, for a module saved with torch.save(model) that has .encoder and .decoder:
    /usr/bin/python3 models/export_pytorch.py model.pt model.safetensors --input-shape 784 \
        --latent 32 --likelihood bernoulli|gaussian:0.1|gaussian_learned [--dtype F16]
"""

import argparse
import json
import struct

import numpy as np
import torch
import torch.nn as nn


def _activation_json(m):
    if isinstance(m, nn.ReLU):
        return {"type": "relu"}
    if isinstance(m, nn.LeakyReLU):
        return {"type": "leaky_relu", "negative_slope": float(m.negative_slope)}
    if isinstance(m, nn.ELU):
        return {"type": "elu", "alpha": float(m.alpha)}
    if isinstance(m, nn.GELU):
        if getattr(m, "approximate", "none") != "none":
            raise ValueError("edgevae's gelu is the exact (erf) GELU; nn.GELU(approximate='tanh') is not supported")
        return {"type": "gelu"}
    if isinstance(m, nn.SiLU):
        return {"type": "silu"}
    if isinstance(m, nn.Tanh):
        return {"type": "tanh"}
    if isinstance(m, nn.Sigmoid):
        return {"type": "sigmoid"}
    if isinstance(m, nn.Softplus):
        if float(m.beta) != 1.0:
            raise ValueError("edgevae's softplus has beta 1")
        return {"type": "softplus"}
    return None


def _network(prefix, seq, in_width):
    """Layers JSON, tensors {name: float32 array}, output width."""
    layers, tensors, width = [], {}, in_width
    for i, m in enumerate(seq):
        if isinstance(m, nn.Flatten):
            continue
        if isinstance(m, nn.Linear):
            if m.in_features != width:
                raise ValueError(f"{prefix}[{i}]: Linear expects {m.in_features} inputs, the previous layer gives {width}")
            wname, bname = f"{prefix}.{i}.weight", f"{prefix}.{i}.bias"
            tensors[wname] = m.weight.detach().cpu().float().numpy()
            if m.bias is not None:
                tensors[bname] = m.bias.detach().cpu().float().numpy()
            layers.append({"type": "linear", "weight": wname, "bias": bname if m.bias is not None else None})
            width = m.out_features
            continue
        act = _activation_json(m)
        if act is None:
            raise ValueError(f"{prefix}[{i}]: {type(m).__name__} has no edgevae layer (see FORMAT.md)")
        layers.append(act)
    return layers, tensors, width


def write_safetensors(path, tensors, metadata, dtype="F32"):
    np_dtype = {"F32": "<f4", "F16": "<f2"}[dtype]
    header = {"__metadata__": metadata}
    buf = bytearray()
    for name, a in tensors.items():
        data = np.ascontiguousarray(a, dtype=np_dtype).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [len(buf), len(buf) + len(data)]}
        buf += data
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((-(8 + len(hj))) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        f.write(bytes(buf))


def export_vae(encoder, decoder, path, input_shape, latent_dim, likelihood, dtype="F32", metadata=None):
    """Writes encoder/decoder (nn.Sequential) as an edgevae FORMAT v1 file; returns the architecture dict."""
    d = int(np.prod(input_shape))
    enc_layers, enc_t, enc_out = _network("encoder", encoder, d)
    if enc_out != 2 * latent_dim:
        raise ValueError(f"the encoder must end with 2 * latent_dim = {2 * latent_dim} outputs ([mean | logvar]), it gives {enc_out}")
    dec_layers, dec_t, dec_out = _network("decoder", decoder, latent_dim)
    want = 2 * d if likelihood["type"] == "gaussian_learned" else d
    if dec_out != want:
        raise ValueError(f"the decoder must end with {want} outputs for a {likelihood['type']} likelihood, it gives {dec_out}")
    if likelihood["type"] == "gaussian" and not likelihood.get("sigma", 0) > 0:
        raise ValueError("a gaussian likelihood needs sigma > 0")
    arch = {"version": 1, "input_shape": list(input_shape), "latent_dim": latent_dim, "encoder": enc_layers,
            "decoder": dec_layers, "likelihood": likelihood, "prior": {"type": "standard_normal"}}
    meta = {"format": "pt", "edgevae": json.dumps(arch)}
    meta.update(metadata or {})
    write_safetensors(path, {**enc_t, **dec_t}, meta, dtype)
    return arch


def _likelihood(s):
    if s in ("bernoulli", "gaussian_learned"):
        return {"type": s}
    if s.startswith("gaussian:"):
        return {"type": "gaussian", "sigma": float(s.split(":", 1)[1])}
    raise ValueError(f"unknown likelihood {s}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("module", help="a torch.save()d nn.Module with .encoder and .decoder (nn.Sequential)")
    ap.add_argument("out")
    ap.add_argument("--input-shape", required=True, help="e.g. 784 or 1,28,28")
    ap.add_argument("--latent", type=int, required=True)
    ap.add_argument("--likelihood", required=True)
    ap.add_argument("--dtype", default="F32", choices=["F32", "F16"])
    args = ap.parse_args()
    model = torch.load(args.module, map_location="cpu")
    shape = [int(v) for v in args.input_shape.split(",")]
    export_vae(model.encoder, model.decoder, args.out, shape, args.latent, _likelihood(args.likelihood), args.dtype)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
