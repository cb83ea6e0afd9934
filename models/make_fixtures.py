#!/usr/bin/env python3
"""Golden fixtures for edgevae, computed by real PyTorch in float64.

Run from the repository root (`npm run fixtures`):

    .venv/bin/python models/make_fixtures.py

(any Python with torch and numpy; Debian's /usr/bin/python3 has no torch here).

It builds small VAEs out of torch.nn layers, writes each one as an edgevae model file with
the project's one torch-to-edgevae mapping (models/edgevae_torch.py: FORMAT version 1 for the
three MLPs, version 2 for the convolutional ones and for the BF16 and int8 files, whose I8
weights and per-channel scales come from the mapping's quantiser, the SDK's quantize() rule),
and writes the expected outputs of encode,
decode, ELBO and importance-weighted log p(x) as JSON, to test/fixtures/. Everything is
deterministic (fixed seeds) and every file is rewritten from scratch.

Conventions of the JSON files (see test/fixtures/README.md):
- every array is flat, row-major, float64; an item is x.reshape(-1) of its NCHW / NCL tensor;
- noise is item-major: eps[b][s][j] is at index (b*S + s)*J + j;
- the inputs (x, z, eps) are float32-representable values, so a float32 SDK
  receives exactly the numbers PyTorch used;
- the weights of an F32 model are float32 values, those of an F16 model float16
  values, of a BF16 model bfloat16 values; an int8 model's linear / conv weights are
  q * scale (I8 q, per-output-channel scales, quantised by the mapping's rule, which is
  the SDK's quantize()); the expected outputs are computed from exactly the values in
  the file (dequantised: w = q * scale, exact in float64), in float64 (batch norm in
  eval mode, from its running statistics).
After writing each model, the script re-reads the file and checks that a small numpy float64
interpreter of the JSON architecture (below, independent of torch) reproduces the numbers.
"""

import copy
import json
import math
import os
import struct
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
from torch.distributions import Bernoulli, Normal, kl_divergence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from edgevae_torch import (Residual, architecture, dequantize, quantize_architecture, read_safetensors,  # noqa: E402
                           to_numpy, to_version2, write_safetensors)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures")

B = 5  # batch
S = 3  # ELBO samples
K = 7  # importance samples

torch.set_num_threads(1)
# PyTorch notes that padding="same" with an even kernel pads a copy of the input: expected here
warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")


# ---------------------------------------------------------------------------
# the VAE: torch modules, exported by the one mapping (models/edgevae_torch.py)
# ---------------------------------------------------------------------------

def omit_key(m):
    """Marks a module whose default-valued keys are left out of the JSON, so the reader's
    defaults (PyTorch's: leaky_relu 0.01, elu 1.0, ...) are exercised."""
    m._omit_key = True
    return m


class VAE(nn.Module):
    def __init__(self, input_shape, latent_dim, encoder, decoder, likelihood, prior=None,
                 latent_shape=None, flat_input=True, omit_defaults=False):
        super().__init__()
        self.input_shape = list(input_shape)
        self.latent_dim = latent_dim
        self.latent_shape = list(latent_shape) if latent_shape else [latent_dim]
        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)
        self.likelihood = likelihood
        self.prior = prior
        self.flat_input = flat_input  # an MLP takes x flattened; a conv net takes x shaped NCHW / NCL
        self.omit_defaults = omit_defaults

    @property
    def D(self):
        return int(np.prod(self.input_shape))

    def arch_and_tensors(self):
        if self.omit_defaults is True:
            omit = True
        else:
            omit = {f"{p}.{name}" for p, net in (("encoder", self.encoder), ("decoder", self.decoder))
                    for name, mod in net.named_modules() if getattr(mod, "_omit_key", False)}
        return architecture(self.encoder, self.decoder, self.input_shape, self.latent_dim, self.likelihood,
                            latent_shape=None if self.latent_shape == [self.latent_dim] else self.latent_shape,
                            prior=self.prior, omit_defaults=omit)

    # --- the maths of FORMAT.md, in whatever dtype the module is in (float64 here)
    def encode(self, x):
        B = x.shape[0]
        h = self.encoder(x.reshape(B, -1) if self.flat_input else x.reshape(B, *self.input_shape))
        h = h.reshape(B, -1)
        J = self.latent_dim
        return h[:, :J], h[:, J:]

    def decode_params(self, z):
        B = z.shape[0]
        return self.decoder(z.reshape(B, *self.latent_shape)).reshape(B, -1)

    def decode_mean(self, params):
        t = self.likelihood["type"]
        if t == "bernoulli":
            return torch.sigmoid(params)
        if t == "gaussian":
            return params
        if t == "gaussian_learned":
            return params[..., : self.D]
        raise ValueError(t)

    def log_px_given_z(self, x, params):
        """x (..., D), params (..., P) -> (...) log p(x|z), summed over the item."""
        t = self.likelihood["type"]
        if t == "bernoulli":
            lp = Bernoulli(logits=params, validate_args=False).log_prob(x)
        elif t == "gaussian":
            lp = Normal(params, torch.full_like(params, self.likelihood["sigma"])).log_prob(x)
        elif t == "gaussian_learned":
            mean, logvar = params[..., : self.D], params[..., self.D:]
            lp = Normal(mean, torch.exp(0.5 * logvar)).log_prob(x)
        else:
            raise ValueError(t)
        return lp.sum(-1)


# ---------------------------------------------------------------------------
# an independent float64 interpreter of the JSON architecture (self-check)
# ---------------------------------------------------------------------------

def _pads(L, nd, key="padding"):
    p = L.get(key, [0] * nd)
    if len(p) == nd:
        return list(p), list(p)
    return list(p[:nd]), list(p[nd:])


def np_conv(h, W, b, stride, before, after, dilation, groups):
    """h (B, C, *S) with S of 1 or 2 axes; W (Cout, Cin/g, *k). Zero padding before/after per axis."""
    nd = h.ndim - 2
    if nd == 1:  # as a 2-D convolution of height 1
        y = np_conv(h[:, :, None, :], W[:, :, None, :], b, [1] + stride, [0] + before, [0] + after, [1] + dilation, groups)
        return y[:, :, 0, :]
    B, C, H, Wd = h.shape
    Cout, cig, kh, kw = W.shape
    hp = np.zeros((B, C, H + before[0] + after[0], Wd + before[1] + after[1]))
    hp[:, :, before[0]:before[0] + H, before[1]:before[1] + Wd] = h
    Ho = (hp.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    Wo = (hp.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    assert Ho >= 1 and Wo >= 1
    cog = Cout // groups
    y = np.zeros((B, Cout, Ho, Wo))
    for g in range(groups):
        xs = hp[:, g * cig:(g + 1) * cig]
        for i in range(kh):
            for j in range(kw):
                r0, c0 = i * dilation[0], j * dilation[1]
                patch = xs[:, :, r0:r0 + stride[0] * (Ho - 1) + 1:stride[0], c0:c0 + stride[1] * (Wo - 1) + 1:stride[1]]
                y[:, g * cog:(g + 1) * cog] += np.einsum("bchw,oc->bohw", patch, W[g * cog:(g + 1) * cog, :, i, j])
    if b is not None:
        y += b[None, :, None, None]
    return y


def np_conv_transpose(h, W, b, stride, padding, output_padding, dilation, groups):
    """h (B, Cin, *S); W (Cin, Cout/g, *k): scatter every input value through the kernel."""
    nd = h.ndim - 2
    if nd == 1:
        y = np_conv_transpose(h[:, :, None, :], W[:, :, None, :], b, [1] + stride, [0] + padding,
                              [0] + output_padding, [1] + dilation, groups)
        return y[:, :, 0, :]
    B, Cin, H, Wd = h.shape
    _, cog, kh, kw = W.shape
    cig = Cin // groups
    Cout = cog * groups
    FH = (H - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + output_padding[0]
    FW = (Wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + output_padding[1]
    full = np.zeros((B, Cout, FH, FW))
    for g in range(groups):
        xs = h[:, g * cig:(g + 1) * cig]
        for i in range(kh):
            for j in range(kw):
                r0, c0 = i * dilation[0], j * dilation[1]
                full[:, g * cog:(g + 1) * cog, r0:r0 + stride[0] * (H - 1) + 1:stride[0],
                     c0:c0 + stride[1] * (Wd - 1) + 1:stride[1]] += np.einsum("bchw,co->bohw", xs, W[g * cig:(g + 1) * cig, :, i, j])
    Ho = (H - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + output_padding[0] + 1
    Wo = (Wd - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + output_padding[1] + 1
    y = full[:, :, padding[0]:padding[0] + Ho, padding[1]:padding[1] + Wo]
    assert y.shape[2:] == (Ho, Wo)
    if b is not None:
        y = y + b[None, :, None, None]
    return y


def np_dequantize(arch, tensors):
    """The file's tensors -> the weights its numbers are defined on: every weight with a
    weight_scale is q * scale[out channel] (FORMAT: conv_transpose W[ci, j] feeds output channel
    (ci div (Cin/g)) * (Cout/g) + j); the scale tensors are dropped. Element by element, written
    apart from the mapping's vectorised edgevae_torch.dequantize."""
    out, scales = dict(tensors), set()

    def walk(layers):
        for L in layers:
            if L["type"] == "residual":
                walk(L["body"])
                walk(L.get("shortcut", []))
                continue
            if L.get("weight_scale") is None:
                continue
            q, sc = tensors[L["weight"]], tensors[L["weight_scale"]]
            assert np.all(q == np.round(q)) and q.min() >= -128 and q.max() <= 127
            w = np.empty_like(q)
            if L["type"].startswith("conv_transpose"):
                g = L.get("groups", 1)
                cin, cog = q.shape[:2]
                assert sc.shape == (g * cog,)
                for ci in range(cin):
                    for j in range(cog):
                        w[ci, j] = q[ci, j] * sc[(ci // (cin // g)) * cog + j]
            else:
                assert sc.shape == (q.shape[0],)
                for o in range(q.shape[0]):
                    w[o] = q[o] * sc[o]
            out[L["weight"]] = w
            scales.add(L["weight_scale"])

    walk(arch["encoder"])
    walk(arch["decoder"])
    for k in scales:
        del out[k]
    return out


def np_forward(layers, tensors, h):
    """h: (B, *shape) float64 (a version 1 file: (B, N), everything flat)."""
    from math import erf

    verf = np.vectorize(erf)
    T = lambda name: None if name is None else tensors[name]  # noqa: E731
    for L in layers:
        t = L["type"]
        chan = lambda v: v.reshape((1, -1) + (1,) * (h.ndim - 2))  # noqa: E731
        if t == "linear":
            assert h.ndim == 2
            h = h @ tensors[L["weight"]].T
            if L["bias"] is not None:
                h = h + tensors[L["bias"]]
        elif t == "relu":
            h = np.maximum(h, 0)
        elif t == "leaky_relu":
            a = L.get("negative_slope", 0.01)
            h = np.where(h >= 0, h, a * h)
        elif t == "elu":
            a = L.get("alpha", 1.0)
            h = np.where(h > 0, h, a * np.expm1(np.minimum(h, 0)))
        elif t == "gelu":
            h = 0.5 * h * (1 + verf(h / math.sqrt(2)))
        elif t == "silu":
            h = h / (1 + np.exp(-h))
        elif t == "tanh":
            h = np.tanh(h)
        elif t == "sigmoid":
            h = 1 / (1 + np.exp(-h))
        elif t == "softplus":
            h = np.logaddexp(0, h)
        elif t in ("conv1d", "conv2d"):
            nd = int(t[4])
            before, after = _pads(L, nd)
            h = np_conv(h, tensors[L["weight"]], T(L["bias"]), L.get("stride", [1] * nd), before, after,
                        L.get("dilation", [1] * nd), L.get("groups", 1))
        elif t in ("conv_transpose1d", "conv_transpose2d"):
            nd = int(t[-2])
            h = np_conv_transpose(h, tensors[L["weight"]], T(L["bias"]), L.get("stride", [1] * nd),
                                  L.get("padding", [0] * nd), L.get("output_padding", [0] * nd),
                                  L.get("dilation", [1] * nd), L.get("groups", 1))
        elif t == "upsample":
            assert L.get("mode", "nearest") == "nearest"
            for a, f in enumerate(L["scale_factor"]):
                h = np.repeat(h, f, axis=2 + a)
        elif t == "flatten":
            h = h.reshape(h.shape[0], -1)
        elif t == "reshape":
            h = h.reshape(h.shape[0], *L["shape"])
        elif t == "batch_norm":
            eps = L.get("eps", 1e-5)
            h = (h - chan(tensors[L["running_mean"]])) / np.sqrt(chan(tensors[L["running_var"]]) + eps)
            if L["weight"] is not None:
                h = h * chan(tensors[L["weight"]])
            if L["bias"] is not None:
                h = h + chan(tensors[L["bias"]])
        elif t == "group_norm":
            eps = L.get("eps", 1e-5)
            G = L["num_groups"]
            shp = h.shape
            hg = h.reshape(shp[0], G, -1)
            mu = hg.mean(-1, keepdims=True)
            var = ((hg - mu) ** 2).mean(-1, keepdims=True)
            h = ((hg - mu) / np.sqrt(var + eps)).reshape(shp)
            if L["weight"] is not None:
                h = h * chan(tensors[L["weight"]])
            if L["bias"] is not None:
                h = h + chan(tensors[L["bias"]])
        elif t == "layer_norm":
            assert h.ndim == 2
            eps = L.get("eps", 1e-5)
            mu = h.mean(-1, keepdims=True)
            var = ((h - mu) ** 2).mean(-1, keepdims=True)
            h = (h - mu) / np.sqrt(var + eps)
            if L["weight"] is not None:
                h = h * tensors[L["weight"]]
            if L["bias"] is not None:
                h = h + tensors[L["bias"]]
        elif t == "residual":
            h = np_forward(L["body"], tensors, h) + np_forward(L.get("shortcut", []), tensors, h)
        else:
            raise ValueError(t)
    return h


# ---------------------------------------------------------------------------
# the models: three of version 1 (MLPs), five of version 2 (convolutional)
# ---------------------------------------------------------------------------

def scale_linears(model, gain):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.weight.mul_(gain)
                if m.bias is not None:
                    m.bias.mul_(gain)


def scale_weights(model, gain):
    """Linear and convolution weights and biases times gain (PyTorch's default init is small)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d)):
                m.weight.mul_(gain)
                if m.bias is not None:
                    m.bias.mul_(gain)


def randomize_norms(model, g):
    """Non-trivial running statistics and affine parameters for every normalisation layer."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                n = m.num_features
                m.running_mean.copy_(0.6 * torch.randn(n, generator=g))
                m.running_var.copy_(0.3 + 1.5 * torch.rand(n, generator=g))
                m.num_batches_tracked.fill_(17)
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)):
                if getattr(m, "weight", None) is not None:
                    m.weight.copy_(1 + 0.4 * torch.randn(m.weight.shape, generator=g))
                if getattr(m, "bias", None) is not None:
                    m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=g))


def v2_spec(name, seed, model, dtype, x, beta, description, gain, logvar_shift=(), flat_x=False):
    """Common set-up of a version 2 model: gains, random norm statistics, logvar offsets."""
    scale_weights(model, gain)
    randomize_norms(model, torch.Generator().manual_seed(seed + 50))
    with torch.no_grad():
        for mod, sl, delta in logvar_shift:
            mod.bias[sl] += delta
    return dict(name=name, model=model, dtype=dtype, x=x, beta=beta, seed=seed, description=description, v2=True)


def build_v2_models():
    specs = []

    # 4. conv2d_bernoulli ------------------------------------------------------
    torch.manual_seed(1004)
    enc = [
        nn.BatchNorm2d(3),                                              # at the network's start
        nn.ZeroPad2d((1, 2, 0, 1)),                                     # (left, right, top, bottom)
        nn.Conv2d(3, 6, (2, 5), stride=(1, 2), dilation=(2, 1), bias=False),   # -> [6, 12, 5]
        nn.BatchNorm2d(6, affine=False),                                # after a conv, affine off
        nn.ReLU(),
        nn.Conv2d(6, 9, 3, stride=(2, 1), padding=(1, 0), groups=3),   # -> [9, 6, 3]
        nn.ELU(alpha=0.5),
        nn.Conv2d(9, 9, (3, 2), padding="same", groups=9),             # depthwise, asymmetric "same"
        nn.GELU(),
        nn.Flatten(),                                                   # 162
        nn.Linear(162, 7),
        nn.BatchNorm1d(7),                                              # after a linear
        nn.Tanh(),
        nn.Linear(7, 10),
    ]
    dec = [
        nn.Linear(5, 24), nn.SiLU(),
        nn.Unflatten(1, (2, 4, 3)),                                     # reshape to [C, H, W]
        nn.ConvTranspose2d(2, 4, (3, 2), stride=(3, 2), padding=(1, 0), output_padding=(1, 1), groups=2),  # -> [4, 11, 7]
        nn.LeakyReLU(0.1),
        nn.ConvTranspose2d(4, 3, 3, dilation=(1, 2)),                  # -> [3, 13, 11]
    ]
    m = VAE([3, 13, 11], 5, enc, dec, {"type": "bernoulli"}, flat_input=False)
    g = torch.Generator().manual_seed(2004)
    x = torch.rand(B, 3 * 13 * 11, generator=g, dtype=torch.float64)
    specs.append(v2_spec(
        "conv2d_bernoulli", 2004, m, "F32", x, 1.0,
        "FORMAT v2, F32; input_shape [3,13,11] (odd sizes), latent 5, every key written. Encoder: batch_norm "
        "at the network's start (affine); conv2d 3->6 kernel [2,5], stride [1,2], dilation [2,1], bias null, "
        "4-value padding [0,1,1,2] (an nn.ZeroPad2d folded in); batch_norm after it (affine off); relu; conv2d "
        "6->9 k3 stride [2,1] padding [1,0] groups 3; elu 0.5; depthwise conv2d 9->9 kernel [3,2] groups 9 with "
        "PyTorch padding='same' (asymmetric [1,0,1,1]); gelu; flatten; linear 162->7; batch_norm after the "
        "linear; tanh; linear 7->10. Decoder: linear 5->24; silu; reshape [2,4,3]; conv_transpose2d 2->4 kernel "
        "[3,2] stride [3,2] padding [1,0] output_padding [1,1] groups 2; leaky_relu 0.1; conv_transpose2d 4->3 "
        "k3 dilation [1,2] -> [3,13,11] logits. Bernoulli on image outputs, x in [0,1).",
        gain=1.5, logvar_shift=[(m.encoder[13], slice(5, None), -0.8)]))

    # 5. conv_residual_gaussian_learned --------------------------------------------
    torch.manual_seed(1005)
    enc = [
        nn.Conv2d(2, 6, 3, padding=1, groups=2),                        # -> [6, 12, 9], groups 2
        Residual(nn.Sequential(nn.GroupNorm(1, 6), nn.SiLU(), nn.Conv2d(6, 6, 3, padding=1))),  # identity shortcut
        nn.Conv2d(6, 6, 3, stride=2, padding=1),                        # -> [6, 6, 5]
        Residual(nn.Sequential(nn.Conv2d(6, 9, 3, padding=1), nn.GroupNorm(3, 9),
                               Residual(nn.Sequential(nn.ReLU(), nn.Conv2d(9, 9, 1)))),   # nested two deep
                 shortcut=nn.Conv2d(6, 9, 1)),                          # conv shortcut
        nn.GroupNorm(3, 9, affine=False),
        nn.Conv2d(9, 4, (2, 3), stride=(2, 1)),                         # -> [4, 3, 3] = [2*2, 3, 3]
    ]
    dec = [
        nn.ConvTranspose2d(2, 6, 3, stride=2, padding=1, output_padding=1),   # [2,3,3] -> [6, 6, 6]
        nn.BatchNorm2d(6),
        nn.Softplus(),
        nn.Upsample(scale_factor=(2, 1), mode="nearest"),               # -> [6, 12, 6]
        nn.ConvTranspose2d(6, 4, (1, 2), dilation=(1, 3), groups=2),    # -> [4, 12, 9] = [2C, H, W]
    ]
    m = VAE([2, 12, 9], 18, enc, dec, {"type": "gaussian_learned"}, latent_shape=[2, 3, 3],
            flat_input=False, omit_defaults=True)
    g = torch.Generator().manual_seed(2005)
    x = torch.randn(B, 2 * 12 * 9, generator=g, dtype=torch.float64)
    specs.append(v2_spec(
        "conv_residual_gaussian_learned", 2005, m, "F32", x, 1.0,
        "FORMAT v2, F32, every default-valued key OMITTED (stride, padding, dilation, groups, output_padding, "
        "eps, mode, empty shortcut: the reader's defaults). input_shape [2,12,9], spatial latent_shape [2,3,3] "
        "(latent_dim 18). Encoder: conv2d 2->6 k3 padding 1 groups 2; residual (identity shortcut) of "
        "[group_norm 1 group, silu, conv2d 6->6 k3 p1]; conv2d 6->6 k3 stride 2 p1; residual with a conv2d 1x1 "
        "shortcut 6->9 and body [conv2d 6->9 k3 p1, group_norm 3 groups, residual [relu, conv2d 9->9 1x1]] "
        "(nested two deep); group_norm 3 groups affine off; conv2d 9->4 kernel [2,3] stride [2,1] -> [4,3,3]. "
        "Decoder on z as [2,3,3]: conv_transpose2d 2->6 k3 stride 2 p1 output_padding 1; batch_norm; softplus; "
        "upsample nearest [2,1]; conv_transpose2d 6->4 kernel [1,2] dilation [1,3] groups 2 -> [4,12,9] = "
        "[2C,H,W] ([mean | logvar] by channel). Gaussian with learned variance on image outputs.",
        gain=1.3, logvar_shift=[(m.encoder[5], slice(2, None), -0.8), (m.decoder[4], slice(2, None), -1.0)]))

    # 6. conv1d_gaussian_f16 ---------------------------------------------------------
    torch.manual_seed(1006)
    enc = [
        nn.ZeroPad1d((2, 1)),
        nn.Conv1d(3, 4, 4, stride=2),                                   # [3,17] -> [4, 9], padding [2, 1]
        nn.GroupNorm(2, 4),
        nn.ReLU(),
        nn.Conv1d(4, 6, 3, dilation=2, padding=1, groups=2),            # -> [6, 7]
        nn.BatchNorm1d(6),                                              # on a sequence, after a conv
        nn.Flatten(),
        nn.Linear(42, 8),
    ]
    dec = [
        nn.Linear(4, 10), nn.ELU(),
        nn.Unflatten(1, (2, 5)),                                        # reshape to [C, L]
        nn.Upsample(scale_factor=2),                                    # 1-D nearest -> [2, 10]
        nn.ConvTranspose1d(2, 3, 4, stride=2, padding=3, output_padding=1),  # -> [3, 17]
    ]
    m = VAE([3, 17], 4, enc, dec, {"type": "gaussian", "sigma": 0.4}, flat_input=False)
    g = torch.Generator().manual_seed(2006)
    x = torch.randn(B, 3 * 17, generator=g, dtype=torch.float64)
    specs.append(v2_spec(
        "conv1d_gaussian_f16", 2006, m, "F16", x, 0.7,
        "FORMAT v2, F16 weights (float16 values; expected outputs from them in float64); input_shape [3,17] "
        "(a sequence), latent 4. Encoder: conv1d 3->4 k4 stride 2 with 2-value padding [2,1] (an nn.ZeroPad1d "
        "folded in); group_norm 2 groups on [C,L]; relu; conv1d 4->6 k3 dilation 2 padding 1 groups 2; "
        "batch_norm on [C,L]; flatten; linear 42->8. Decoder: linear 4->10; elu 1.0; reshape [2,5]; upsample "
        "nearest [2] -> [2,10]; conv_transpose1d 2->3 k4 stride 2 padding 3 output_padding 1 -> [3,17]. "
        "Gaussian with fixed sigma 0.4 on [C,L] outputs; ELBO with beta 0.7.",
        gain=1.5, logvar_shift=[(m.encoder[7], slice(4, None), -0.7)]))

    # 7. conv_gaussian_image -------------------------------------------------------
    torch.manual_seed(1007)
    enc = [
        nn.Conv2d(1, 5, 3, stride=(2, 1), dilation=(1, 2), padding=(1, 2)),  # [1,10,7] -> [5, 5, 7]
        nn.ReLU(),
        nn.BatchNorm2d(5),                                              # after an activation
        nn.Flatten(),
        nn.Linear(175, 9),
        nn.LayerNorm(9),
        nn.SiLU(),
        nn.Linear(9, 6),
    ]
    dec = [
        nn.Linear(3, 12),
        nn.LayerNorm(12, elementwise_affine=False),
        nn.ReLU(),
        nn.BatchNorm1d(12, affine=False),                               # after an activation, affine off
        nn.Unflatten(1, (3, 2, 2)),
        nn.Upsample(scale_factor=(5, 3)),                               # -> [3, 10, 6]
        nn.Conv2d(3, 1, (1, 2), padding=(0, 1)),                        # -> [1, 10, 7]
    ]
    m = VAE([1, 10, 7], 3, enc, dec, {"type": "gaussian", "sigma": 0.25}, flat_input=False)
    g = torch.Generator().manual_seed(2007)
    x = torch.randn(B, 70, generator=g, dtype=torch.float64)
    specs.append(v2_spec(
        "conv_gaussian_image", 2007, m, "F32", x, 1.0,
        "FORMAT v2, F32; input_shape [1,10,7], latent 3. Encoder: conv2d 1->5 k3 stride [2,1] dilation [1,2] "
        "padding [1,2]; relu; batch_norm after the activation (affine); flatten; linear 175->9; layer_norm "
        "(affine); silu; linear 9->6. Decoder: linear 3->12; layer_norm affine off (weight and bias null); relu; "
        "batch_norm after the activation, affine off; reshape [3,2,2]; upsample nearest [5,3] -> [3,10,6]; "
        "conv2d 3->1 kernel [1,2] padding [0,1] -> [1,10,7]. Gaussian with fixed sigma 0.25 on image outputs.",
        gain=1.4, logvar_shift=[(m.encoder[7], slice(3, None), -0.6)]))

    # 8. conv_vector_out ---------------------------------------------------------
    torch.manual_seed(1008)
    enc = [
        Residual(nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.Sigmoid())),   # identity shortcut
        nn.ConstantPad2d((0, 1, 1, 0), 0.0),                            # (left, right, top, bottom)
        nn.Conv2d(2, 4, (3, 2), bias=False),                            # [2,6,5] -> [4, 5, 5], padding [1,0,0,1]
        nn.Softplus(),
        nn.Flatten(),
        nn.Linear(100, 8),
    ]
    dec = [
        nn.Linear(4, 30), nn.Tanh(),
        nn.Unflatten(1, (5, 6)),                                        # reshape to [C, L]
        nn.Conv1d(5, 20, 3, padding=1),                                 # -> [20, 6]
        nn.Flatten(),                                                   # -> [120] = 2D, a vector
    ]
    m = VAE([2, 6, 5], 4, enc, dec, {"type": "gaussian_learned"}, flat_input=False)
    g = torch.Generator().manual_seed(2008)
    x = torch.randn(B, 60, generator=g, dtype=torch.float64)
    specs.append(v2_spec(
        "conv_vector_out", 2008, m, "F32", x, 1.0,
        "FORMAT v2, F32; input_shape [2,6,5], latent 4. Encoder: residual (identity shortcut) of [conv2d 2->2 "
        "k3 padding 1, sigmoid]; conv2d 2->4 kernel [3,2] bias null with 4-value padding [1,0,0,1] (an "
        "nn.ConstantPad2d(value 0) folded in); softplus; flatten; linear 100->8. Decoder: linear 4->30; tanh; "
        "reshape [5,6]; conv1d 5->20 k3 padding 1 -> [20,6]; flatten -> a VECTOR of 120 = 2D values (FORMAT "
        "allows a decoder to end in a vector). Gaussian with learned variance.",
        gain=1.3, logvar_shift=[(m.encoder[5], slice(4, None), -0.8), (m.decoder[3], slice(10, None), -1.0)]))
    return specs


def build_models():
    v1, v2 = build_v1_models(), build_v2_models()
    return v1 + v2 + build_int8_bf16_models({sp["name"]: sp for sp in v1 + v2})


def heavy_tailed(model, seed):
    """Linear / conv weights redrawn from a Gaussian scale mixture (heavier tails than PyTorch's
    uniform init, like trained weights), each tensor at its former standard deviation: so the int8
    search's clipping (scales "mse", r < 1) wins for many channels."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d)):
                w = mod.weight
                r = torch.randn(w.shape, generator=g) * torch.exp(0.6 * torch.randn(w.shape, generator=g))
                w.copy_(r * (w.std() / r.std()))


def int8_of(spec, name, description, keep=(), scales="mse", scale_dtype="F32", dtype=None):
    """The int8 file of a float spec's model (the same torch model, the same inputs and noise).
    When both files keep F32 tensors and F32 scales, the SDK's quantize() of the float fixture
    must give this file's tensors exactly (test/pytorch.test.ts checks it): quantized_from."""
    dtype = dtype or spec["dtype"]
    same = dtype == spec["dtype"] == "F32" and scale_dtype == "F32"
    return dict(spec, name=name, dtype=dtype, v2=True, description=description,
                int8={"keep": list(keep), "scales": scales, "scale_dtype": scale_dtype},
                quantized_from=spec["name"] if same else None)


def build_int8_bf16_models(floats):
    """Version 2 dtypes: I8 weights with per-channel scales (F32, F16, BF16 scales) and BF16."""
    specs = []

    # 9. mlp_odd (F32) and mlp_odd_int8 ---------------------------------------------
    torch.manual_seed(1009)
    enc = [nn.Linear(19, 33), nn.BatchNorm1d(33), nn.ReLU(), nn.Linear(33, 40), nn.GELU(), nn.Linear(40, 14)]
    dec = [nn.Linear(7, 40), nn.Tanh(), nn.Linear(40, 33, bias=False), nn.SiLU(), nn.Linear(33, 38)]
    m = VAE([19], 7, enc, dec, {"type": "gaussian_learned"})
    heavy_tailed(m, 3009)
    g = torch.Generator().manual_seed(2009)
    x = torch.randn(B, 19, generator=g, dtype=torch.float64)
    mlp = v2_spec(
        "mlp_odd", 2009, m, "F32", x, 1.0,
        "FORMAT v2 (a batch_norm), F32; widths not multiples of 4 or 8: input_shape [19], latent 7. Encoder: "
        "linear 19->33; batch_norm after the linear; relu; linear 33->40; gelu; linear 40->14. Decoder: linear "
        "7->40; tanh; linear 40->33 bias null, one output row all zero; silu; linear 33->38. Gaussian with "
        "learned variance. Weights heavy-tailed (a Gaussian scale mixture, as trained weights are). The float "
        "source of mlp_odd_int8.",
        gain=1.5, logvar_shift=[(m.encoder[5], slice(7, None), -0.8), (m.decoder[4], slice(19, None), -1.0)])
    with torch.no_grad():
        m.decoder[2].weight[5].zero_()                                  # an all-zero output channel: scale 0
    specs.append(mlp)
    specs.append(int8_of(
        mlp, "mlp_odd_int8",
        "mlp_odd with I8 weights (FORMAT 'Weights: int8 and BF16'), per-output-channel F32 scales chosen by "
        "the least-squared-error search (scales 'mse'), the last decoder layer (decoder[4], linear 33->38) "
        "kept in F32 (keep), biases and batch_norm F32. Widths 19, 33, 40, 7 (odd GEMV/GEMM tails); decoder[2] "
        "has an all-zero output row (scale 0). Expected outputs from the dequantised weights q * scale.",
        keep=["decoder[4]"]))

    # 10. conv_mixed (F32) and conv_mixed_int8 ---------------------------------------
    torch.manual_seed(1010)
    enc = [
        nn.Conv2d(3, 10, 3, padding=1),                                 # [3,11,9] -> [10, 11, 9]
        nn.ReLU(),
        nn.Conv2d(10, 10, 3, padding=1, groups=10),                     # depthwise
        nn.SiLU(),
        nn.Conv2d(10, 25, (3, 2), padding=(1, 0), groups=5),            # grouped -> [25, 11, 8]
        nn.BatchNorm2d(25),
        nn.ELU(),
        Residual(nn.Sequential(nn.Conv2d(25, 25, 1, bias=False), nn.Tanh())),   # a 1x1 conv in a residual
        nn.Flatten(),                                                   # 2200
        nn.Linear(2200, 12),            # fan-in 2200: there the "mse" search clips (r < 1)
    ]
    dec = [
        nn.Linear(6, 36), nn.ReLU(),
        nn.Unflatten(1, (4, 9)),                                        # [C, L]
        nn.ConvTranspose1d(4, 6, 3, stride=2, output_padding=1, groups=2),   # -> [6, 20]
        nn.LeakyReLU(0.1),
        nn.Conv1d(6, 6, 3, padding=1, groups=3),                        # -> [6, 20]
        nn.Flatten(),
        nn.Unflatten(1, (6, 4, 5)),                                     # [C, H, W]
        nn.ConvTranspose2d(6, 6, 3, stride=2, padding=(0, 1), groups=3),     # -> [6, 9, 9]
        nn.SiLU(),
        nn.ConvTranspose2d(6, 3, (3, 1), groups=3),                     # -> [3, 11, 9]
    ]
    m = VAE([3, 11, 9], 6, enc, dec, {"type": "bernoulli"}, flat_input=False)
    heavy_tailed(m, 3010)
    g = torch.Generator().manual_seed(2010)
    x = torch.rand(B, 3 * 11 * 9, generator=g, dtype=torch.float64)
    conv = v2_spec(
        "conv_mixed", 2010, m, "F32", x, 1.0,
        "FORMAT v2, F32; input_shape [3,11,9], latent 6. Encoder: conv2d 3->10 k3 padding 1; relu; "
        "depthwise conv2d 10->10 k3 p1 groups 10; silu; grouped conv2d 10->25 kernel [3,2] padding [1,0] groups "
        "5; batch_norm; elu; residual (identity shortcut) of [conv2d 25->25 1x1 bias null, tanh]; flatten; "
        "linear 2200->12 (a fan-in large enough for the int8 'mse' search to clip). Decoder: linear 6->36; relu; reshape [4,9]; conv_transpose1d 4->6 k3 stride 2 "
        "output_padding 1 groups 2 -> [6,20]; leaky_relu 0.1; conv1d 6->6 k3 p1 groups 3; flatten; reshape "
        "[6,4,5]; conv_transpose2d 6->6 k3 stride 2 padding [0,1] groups 3 -> [6,9,9] (its output channel 1 "
        "all zero); silu; conv_transpose2d 6->3 kernel [3,1] groups 3 -> [3,11,9] logits. Bernoulli. Weights "
        "heavy-tailed (a Gaussian scale mixture). The float source of conv_mixed_int8.",
        gain=1.5, logvar_shift=[(m.encoder[9], slice(6, None), -0.8)])
    with torch.no_grad():
        m.decoder[8].weight[0:2, 1].zero_()   # W[ci, j] of group 0, j = 1: output channel 1 (0 * 2 + 1)
    specs.append(conv)
    specs.append(int8_of(
        conv, "conv_mixed_int8",
        "conv_mixed with I8 weights and F32 per-output-channel scales ('mse') in every conv2d (strided, "
        "depthwise, grouped, 1x1 in a residual), conv1d (grouped), conv_transpose1d (groups 2), "
        "conv_transpose2d (groups 3, with an all-zero output channel: scale 0, and groups 3 with Cout/g = 1) "
        "and linear layer, except encoder[0] (the first conv2d), kept in F32 by its weight's name "
        "(keep: encoder.0.weight). Expected outputs from the dequantised weights.",
        keep=["encoder.0.weight"]))

    # 11. bernoulli_mlp_int8_max: a version 1 file quantised --------------------------
    specs.append(int8_of(
        floats["bernoulli_mlp"], "bernoulli_mlp_int8_max",
        "bernoulli_mlp (a FORMAT v1 MLP, input_shape [1,7,9]) with I8 weights and F32 scales max|w|/127 "
        "(scales 'max'), every layer quantised: written as version 2 with a flatten first in the encoder "
        "(as the SDK's quantize() converts a version 1 file). Expected outputs from the dequantised weights.",
        scales="max"))

    # 12. conv1d_gaussian_f16_int8: F16 scales and tensors ----------------------------
    specs.append(int8_of(
        floats["conv1d_gaussian_f16"], "conv1d_gaussian_f16_int8",
        "conv1d_gaussian_f16 with I8 weights (conv1d stride 2, conv1d groups 2 with dilation, linear 42->8, "
        "linear 4->10, conv_transpose1d stride 2) and F16 per-output-channel scales (the candidate scales "
        "rounded to float16 before their error is measured; 'max'), the other tensors F16 as in "
        "conv1d_gaussian_f16. Expected outputs from q * (float16 scale).",
        scales="max", scale_dtype="F16"))

    # 13. conv_gaussian_image_int8_bf16: BF16 scales and tensors, a kept layer in BF16 --
    specs.append(int8_of(
        floats["conv_gaussian_image"], "conv_gaussian_image_int8_bf16",
        "conv_gaussian_image with I8 weights and BF16 per-output-channel scales ('mse', candidates rounded to "
        "bfloat16), every other tensor (biases, batch_norm, layer_norm) BF16, the decoder's last conv2d "
        "kept as BF16 by its module path (keep: decoder.6). Expected outputs from q * (bfloat16 scale) and "
        "the bfloat16 values.",
        keep=["decoder.6"], scale_dtype="BF16", dtype="BF16"))

    # 14-15. every tensor BF16 ---------------------------------------------------------
    for base, name in (("conv2d_bernoulli", "conv2d_bernoulli_bf16"),
                       ("conv_residual_gaussian_learned", "conv_residual_bf16")):
        sp = floats[base]
        specs.append(dict(sp, name=name, dtype="BF16", description=(
            f"{base} with EVERY tensor BF16 (weights, biases, batch_norm running statistics and affine "
            f"parameters, group_norm; bfloat16 values, round to nearest even from float32; expected outputs "
            f"from them in float64). As {base}: " + sp["description"])))
    bf = floats["gaussian_learned"]
    specs.append(dict(bf, name="gaussian_learned_bf16", dtype="BF16", v2=True, description=(
        "gaussian_learned (a FORMAT v1 MLP) with every tensor BF16: written as version 2 (BF16 is a version 2 "
        "dtype), input_shape [2] so no flatten. As gaussian_learned: " + bf["description"])))
    return specs


def build_v1_models():
    specs = []

    # 1. bernoulli_mlp -------------------------------------------------------
    torch.manual_seed(1001)
    m = VAE(
        [1, 7, 9], 5,
        [nn.Linear(63, 13), nn.ReLU(), nn.Linear(13, 11), nn.LeakyReLU(0.2), nn.Linear(11, 10)],
        [nn.Linear(5, 13, bias=False), nn.ELU(alpha=0.7), nn.Linear(13, 63)],
        {"type": "bernoulli"},
    )
    scale_linears(m, 1.6)
    with torch.no_grad():
        m.encoder[4].bias[5:] -= 0.8  # logvar around -1
    g = torch.Generator().manual_seed(2001)
    x = torch.rand(B, 63, generator=g, dtype=torch.float64)
    specs.append(dict(
        name="bernoulli_mlp", model=m, dtype="F32", x=x, beta=1.0, seed=2001,
        description=(
            "F32 weights; input_shape [1,7,9] (D=63, a 3-D shape), latent 5. "
            "Encoder linear 63->13, relu, linear 13->11, leaky_relu (negative_slope 0.2), "
            "linear 11->10. Decoder linear 5->13 with bias null, elu (alpha 0.7), "
            "linear 13->63. Bernoulli likelihood on non-binary x in [0,1). beta 1."
        ),
    ))

    # 2. gaussian_fixed_f16 --------------------------------------------------
    torch.manual_seed(1002)
    m = VAE(
        [6], 3,
        [nn.Linear(6, 9), nn.GELU(), nn.Linear(9, 7), nn.SiLU(), nn.Linear(7, 6)],
        [nn.Linear(3, 9), nn.Tanh(), nn.Linear(9, 6)],
        {"type": "gaussian", "sigma": 0.3},
        prior={"type": "standard_normal"},
    )
    scale_linears(m, 1.8)
    with torch.no_grad():
        m.encoder[4].bias[3:] -= 0.7
    g = torch.Generator().manual_seed(2002)
    x = torch.randn(B, 6, generator=g, dtype=torch.float64)
    specs.append(dict(
        name="gaussian_fixed_f16", model=m, dtype="F16", x=x, beta=0.5, seed=2002,
        description=(
            "F16 weights (float16 values; expected outputs computed from them in float64); "
            "input_shape [6], latent 3. Encoder linear 6->9, gelu (exact erf), linear 9->7, "
            "silu, linear 7->6. Decoder linear 3->9, tanh, linear 9->6. Gaussian likelihood "
            "with fixed sigma 0.3; metadata has prior standard_normal. ELBO with beta 0.5."
        ),
    ))

    # 3. gaussian_learned ----------------------------------------------------
    torch.manual_seed(1003)
    m = VAE(
        [2], 2,
        [nn.Linear(2, 17), nn.Sigmoid(), nn.Linear(17, 5), nn.Softplus(),
         nn.Linear(5, 7), omit_key(nn.LeakyReLU()), nn.Linear(7, 4)],
        [nn.Linear(2, 17), nn.Softplus(), nn.Linear(17, 11), omit_key(nn.ELU()),
         nn.Linear(11, 6), nn.Sigmoid(), nn.Linear(6, 4)],
        {"type": "gaussian_learned"},
    )
    scale_linears(m, 1.7)
    with torch.no_grad():
        m.encoder[6].bias[2:] -= 0.8
        m.decoder[6].bias[2:] -= 1.2
    g = torch.Generator().manual_seed(2003)
    x = torch.randn(B, 2, generator=g, dtype=torch.float64)
    specs.append(dict(
        name="gaussian_learned", model=m, dtype="F32", x=x, beta=1.0, seed=2003,
        description=(
            "F32 weights; input_shape [2], latent 2. Encoder linear 2->17, sigmoid, "
            "linear 17->5, softplus, linear 5->7, leaky_relu WITHOUT a negative_slope key "
            "(reader default 0.01), linear 7->4. Decoder linear 2->17, softplus, "
            "linear 17->11, elu WITHOUT an alpha key (reader default 1.0), linear 11->6, "
            "sigmoid, linear 6->4 ([mean | logvar], 4 = 2*D). Gaussian likelihood with "
            "learned variance (std = exp(logvar/2)). beta 1."
        ),
    ))
    return specs


# ---------------------------------------------------------------------------
# expected outputs
# ---------------------------------------------------------------------------

def f32(t):
    """Round to float32-representable values, kept in float64."""
    return t.float().double()


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def compute(spec, path):
    name, m = spec["name"], spec["model"]
    D, J = m.D, m.latent_dim

    # the weights exactly as stored in the file (F16 / BF16 values widened, I8 ones dequantised
    # by the mapping: q * scale), in float64, on a copy of the model. (For F32 and F16 files the
    # same values as m.float().double() / m.half().double().)
    tensors, meta = read_safetensors(path)
    stored = dequantize(json.loads(meta["edgevae"]), tensors)
    m = copy.deepcopy(m).double()
    with torch.no_grad():
        sd = {k: v for k, v in m.state_dict().items() if v.is_floating_point()}
        assert set(sd) == set(stored), (sorted(sd), sorted(stored))
        for k, v in sd.items():
            v.copy_(torch.from_numpy(np.asarray(stored[k], dtype=np.float64)).reshape(v.shape))
    m.eval()

    g = torch.Generator().manual_seed(spec["seed"] + 100)
    x = f32(spec["x"])
    z_dec = f32(torch.randn(B, J, generator=g, dtype=torch.float64))
    eps_elbo = f32(torch.randn(B, S, J, generator=g, dtype=torch.float64))
    eps_ll = f32(torch.randn(B, K, J, generator=g, dtype=torch.float64))

    with torch.no_grad():
        mean, logvar = m.encode(x)
        params = m.decode_params(z_dec)
        P = params.shape[1]
        dmean = m.decode_mean(params)

        std = torch.exp(0.5 * logvar)
        q = Normal(mean, std)
        kl = kl_divergence(q, Normal(torch.zeros_like(mean), torch.ones_like(std))).sum(-1)
        kl_closed = 0.5 * (mean ** 2 + torch.exp(logvar) - 1 - logvar).sum(-1)
        assert torch.allclose(kl, kl_closed, rtol=1e-12, atol=1e-12), (kl, kl_closed)

        # ELBO
        z = mean[:, None, :] + std[:, None, :] * eps_elbo            # (B,S,J)
        p = m.decode_params(z.reshape(B * S, J)).reshape(B, S, P)
        lpx = m.log_px_given_z(x[:, None, :].expand(B, S, D), p)   # (B,S)
        recon = lpx.mean(1)
        beta = spec["beta"]
        elbo = recon - beta * kl

        # importance-weighted log p(x)
        zk = mean[:, None, :] + std[:, None, :] * eps_ll             # (B,K,J)
        pk = m.decode_params(zk.reshape(B * K, J)).reshape(B, K, P)
        lpxz = m.log_px_given_z(x[:, None, :].expand(B, K, D), pk)
        lpz = Normal(0.0, 1.0).log_prob(zk).sum(-1)
        lqz = Normal(mean[:, None, :], std[:, None, :]).log_prob(zk).sum(-1)
        ll = torch.logsumexp(lpxz + lpz - lqz, dim=1) - math.log(K)

    fx = {
        "name": name,
        "model": f"{name}.safetensors",
        "description": spec["description"],
        "generator": "models/make_fixtures.py",
        "torch_version": torch.__version__,
        "weights_dtype": "I8" if spec.get("int8") else spec["dtype"],
        **({"int8": {**spec["int8"], "float_dtype": spec["dtype"]}} if spec.get("int8") else {}),
        **({"quantized_from": spec["quantized_from"]} if spec.get("quantized_from") else {}),
        "batch": B,
        "input_shape": m.input_shape,
        "input_size": D,
        "latent_dim": J,
        **({"latent_shape": m.latent_shape, "format_version": 2} if spec.get("v2") else {}),
        "param_size": P,
        "likelihood": m.likelihood,
        "x": flat(x),
        "encode": {"mean": flat(mean), "logvar": flat(logvar)},
        "decode": {"z": flat(z_dec), "params": flat(params), "mean": flat(dmean)},
        "elbo": {
            "samples": S, "beta": beta, "eps": flat(eps_elbo),
            "elbo": flat(elbo), "recon": flat(recon), "kl": flat(kl),
        },
        "log_likelihood": {"k": K, "eps": flat(eps_ll), "value": flat(ll)},
    }
    stats = dict(
        logvar=(logvar.min().item(), logvar.max().item()),
        mean=(mean.min().item(), mean.max().item()),
        params=(params.min().item(), params.max().item()),
    )
    return fx, m, stats


def tensors_for_file(tensors, dtype):
    """torch tensors -> the file's dtype; numpy ones (an int8 file's q and scales) as they are."""
    return [(k, to_numpy(v, dtype) if isinstance(v, torch.Tensor) else v) for k, v in tensors.items()]


def check_file(path, fx, m64, spec):
    """Re-read the written file, run the JSON architecture with numpy, compare."""
    raw, meta, dtypes = read_safetensors(path, with_dtypes=True)
    arch = json.loads(meta["edgevae"])
    tensors = np_dequantize(arch, raw)
    # the dtypes are the spec's: I8 weights exactly where a weight_scale is, scales in scale_dtype
    q = spec.get("int8")
    scale_of = {L["weight"]: L["weight_scale"] for L in _all_layers(arch) if L.get("weight_scale")}
    for k, dt in dtypes.items():
        want = ("I8" if k in scale_of else
                q["scale_dtype"] if q and k in scale_of.values() else spec["dtype"])
        assert dt == want, (k, dt, want)
    if q:
        assert scale_of and len(scale_of) == len([L for L in _all_layers(arch) if L["type"] in (
            "linear", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d")]) - len(q["keep"]), scale_of
    J = arch["latent_dim"]
    Bn = fx["batch"]
    v2 = arch["version"] == 2
    assert v2 == bool(spec.get("v2")), (arch["version"], spec.get("v2"))
    x = np.array(fx["x"]).reshape(Bn, *(arch["input_shape"] if v2 else [-1]))
    h = np_forward(arch["encoder"], tensors, x).reshape(Bn, -1)
    np.testing.assert_allclose(h[:, :J].reshape(-1), fx["encode"]["mean"], rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(h[:, J:].reshape(-1), fx["encode"]["logvar"], rtol=1e-11, atol=1e-12)
    z = np.array(fx["decode"]["z"]).reshape(Bn, *(arch.get("latent_shape", [J]) if v2 else [J]))
    p = np_forward(arch["decoder"], tensors, z).reshape(Bn, -1)
    np.testing.assert_allclose(p.reshape(-1), fx["decode"]["params"], rtol=1e-11, atol=1e-12)
    # every tensor in the file equals the one the expected outputs were computed with, and
    # every floating-point parameter / buffer of the model is in the file
    sd = {k: v for k, v in m64.state_dict().items() if v.is_floating_point()}
    assert set(sd) == set(tensors), (sorted(sd), sorted(tensors))
    for k, v in sd.items():
        assert np.array_equal(tensors[k], v.numpy()), k
    # the layout rules of the container (read_safetensors checks the packing)
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert (8 + n) % 8 == 0
    return arch


def _all_layers(arch):
    def walk(layers):
        for L in layers:
            yield L
            if L["type"] == "residual":
                yield from walk(L["body"])
                yield from walk(L.get("shortcut", []))
    yield from walk(arch["encoder"])
    yield from walk(arch["decoder"])


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for spec in build_models():
        name = spec["name"]
        arch, tensors = spec["model"].arch_and_tensors()
        if spec["dtype"] == "BF16":
            arch = to_version2(arch)
        if spec.get("int8"):
            q = spec["int8"]
            arch, tensors = quantize_architecture(arch, tensors, q["keep"], q["scales"], q["scale_dtype"])
        meta = {"format": "pt", "edgevae": json.dumps(arch)}
        path = os.path.join(OUT_DIR, f"{name}.safetensors")
        write_safetensors(path, tensors_for_file(tensors, spec["dtype"]), meta)
        fx, m64, stats = compute(spec, path)
        with open(os.path.join(OUT_DIR, f"{name}.json"), "w") as f:
            json.dump(fx, f, indent=1)
            f.write("\n")
        check_file(path, fx, m64, spec)
        print(f"{name}: v{arch['version']}, {os.path.getsize(path)} B model, "
              f"mean {stats['mean'][0]:+.3f}..{stats['mean'][1]:+.3f}, "
              f"logvar {stats['logvar'][0]:+.3f}..{stats['logvar'][1]:+.3f}, "
              f"params {stats['params'][0]:+.3f}..{stats['params'][1]:+.3f}")
        print(f"   elbo {fx['elbo']['elbo']}")
        print(f"   kl   {fx['elbo']['kl']}")
        print(f"   ll   {fx['log_likelihood']['value']}")
        if spec["model"].likelihood["type"] == "gaussian_learned":
            lv = np.array(fx["decode"]["params"]).reshape(B, -1)[:, fx["input_size"]:]
            print(f"   decoder logvar {lv.min():+.3f}..{lv.max():+.3f}")


if __name__ == "__main__":
    sys.exit(main())
