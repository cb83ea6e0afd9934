#!/usr/bin/env python3
"""Export a PyTorch VAE to an edgevae model file (safetensors + architecture JSON).

A thin front end of models/edgevae_torch.py, the one mapping from torch.nn modules to edgevae
layers (see its docstring and docs/pytorch.md for the supported modules). The VAE is two
nn.Sequential networks:
  encoder: x -> [mean | logvar] (2 * latent_dim values; for a spatial latent_shape [C, H, W],
           a [2C, H, W] tensor). An MLP may take x flattened (an nn.Flatten first is allowed);
           a conv network takes it shaped input_shape (NCHW / NCL).
  decoder: z (shaped latent_shape, default [latent_dim]) -> the likelihood's parameters: D logits
           (bernoulli), D means (gaussian, fixed sigma) or 2 * D values [mean | logvar]
           (gaussian_learned), as a vector or shaped input_shape (first axis doubled for
           gaussian_learned).
MLPs (nn.Linear and activations only) give a FORMAT version 1 file, anything else version 2.

As a library:
    from export_pytorch import export_vae        # the same function as edgevae_torch.export_vae
    export_vae(model.encoder, model.decoder, "model.safetensors", input_shape=[784], latent_dim=32,
               likelihood={"type": "bernoulli"})
From the command line, for a module saved with torch.save(model) that has .encoder and .decoder:
    .venv/bin/python models/export_pytorch.py model.pt model.safetensors --input-shape 784 \
        --latent 32 --likelihood bernoulli|gaussian:0.1|gaussian_learned [--latent-shape 2,4,4] \
        [--dtype F16]
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from edgevae_torch import ExportError, Residual, architecture, export_vae, write_safetensors  # noqa: E402,F401

__all__ = ["export_vae", "write_safetensors", "ExportError", "Residual", "architecture"]


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
    ap.add_argument("--latent-shape", default=None, help="e.g. 4,7,7 (default: [latent])")
    ap.add_argument("--likelihood", required=True)
    ap.add_argument("--dtype", default="F32", choices=["F32", "F16"])
    args = ap.parse_args()
    # a whole pickled module (not a state_dict), so weights_only must be off: only load files you trust
    model = torch.load(args.module, map_location="cpu", weights_only=False)
    shape = [int(v) for v in args.input_shape.split(",")]
    lshape = [int(v) for v in args.latent_shape.split(",")] if args.latent_shape else None
    try:
        arch = export_vae(model.encoder, model.decoder, args.out, shape, args.latent, _likelihood(args.likelihood),
                          args.dtype, latent_shape=lshape)
    except ExportError as e:
        sys.exit(f"export_pytorch: {e}")
    print(f"wrote {args.out} (FORMAT version {arch['version']})")


if __name__ == "__main__":
    main()
