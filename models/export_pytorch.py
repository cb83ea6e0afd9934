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
        [--dtype F16 | --bf16] [--int8 [--keep decoder[4] ...] [--scales mse|max]]

int8 (--int8): every nn.Linear / nn.Conv* / nn.ConvTranspose* weight is written as I8 with a
per-output-channel F32 scale (FORMAT.md "Weights: int8 and BF16", w = q * scale), by the same
rule as the SDK's quantize() / `edgevae quantize` (bit-identical to quantizing the F32 file);
biases, norms and kept layers stay in --dtype. --keep (repeatable) leaves a layer in float: its
place in the file ("decoder[4]", "encoder[1].body[0]"), its module path ("decoder.4"), its
weight's name ("decoder.4.weight") or encoder.first / encoder.last / decoder.first /
decoder.last (as `edgevae quantize --keep`); "--keep decoder.last" is a common choice; a
comma-separated list works too. --scales max
uses max|w| / 127 per channel instead of the least-squared-error clipping search. The file is
FORMAT version 2 (an MLP's too). Each layer's relative RMS weight error is printed.
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
    ap.add_argument("--dtype", default=None, choices=["F32", "F16", "BF16"],
                    help="the floating-point tensors' dtype (default F32)")
    ap.add_argument("--bf16", action="store_true", help="the same as --dtype BF16")
    ap.add_argument("--int8", action="store_true",
                    help="linear / conv / conv_transpose weights as I8 with per-output-channel F32 scales")
    ap.add_argument("--keep", action="append", default=[], metavar="LAYER",
                    help="with --int8: a layer kept in float (place decoder[4], module path decoder.4, "
                         "weight name decoder.4.weight, or decoder.last, encoder.first, ...); repeatable, "
                         "or comma-separated")
    ap.add_argument("--scales", default="mse", choices=["mse", "max"],
                    help='with --int8: "mse" (default) picks each channel\'s scale among max|w|*r/127, '
                         'r = 1.00, 0.99, ..., 0.80, by least squared error; "max": r = 1')
    args = ap.parse_args()
    if args.bf16 and args.dtype not in (None, "BF16"):
        ap.error(f"--bf16 and --dtype {args.dtype} disagree")
    dtype = "BF16" if args.bf16 else (args.dtype or "F32")
    if not args.int8 and (args.keep or args.scales != "mse"):
        ap.error("--keep and --scales are options of --int8")
    # a whole pickled module (not a state_dict), so weights_only must be off: only load files you trust
    model = torch.load(args.module, map_location="cpu", weights_only=False)
    shape = [int(v) for v in args.input_shape.split(",")]
    lshape = [int(v) for v in args.latent_shape.split(",")] if args.latent_shape else None
    report = [] if args.int8 else None
    try:
        arch = export_vae(model.encoder, model.decoder, args.out, shape, args.latent, _likelihood(args.likelihood),
                          dtype, latent_shape=lshape, int8=args.int8,
                          keep=[k.strip() for v in args.keep for k in v.split(",") if k.strip()], scales=args.scales,
                          report=report)
    except ExportError as e:
        sys.exit(f"export_pytorch: {e}")
    for r in report or []:
        err = f"relative RMS error {r['relative_rms_error']:.2e}, max {r['max_abs_error']:.2e}" if r["result"] == "int8" else "kept in " + dtype
        print(f"  {r['at']:<22} {r['type']:<17} {r['weight']:<28} {r['weights']:>9} weights  {r['result']:<5} {err}")
    print(f"wrote {args.out} (FORMAT version {arch['version']}, {os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
