#!/usr/bin/env python3
"""The one mapping from torch.nn modules to edgevae model files (FORMAT versions 1 and 2).

    from edgevae_torch import export_vae, Residual, ExportError

    arch = export_vae(encoder, decoder, "model.safetensors",
                      input_shape=[1, 28, 28], latent_dim=16,
                      likelihood={"type": "bernoulli"},
                      latent_shape=None,        # or e.g. [2, 3, 3] for a spatial latent
                      dtype="F32",              # or "F16", "BF16"
                      int8=False,               # True: linear / conv weights as I8 + scales
                      keep=(), scales="mse")    # int8 options (below)

`encoder` and `decoder` are nn.Sequential (nested Sequentials are flattened in; a single module
is taken as a Sequential of one). The encoder maps one item of `input_shape` (as a PyTorch
batch: NCHW for images, NCL for sequences, N x D for vectors) to `[mean | logvar]` (its first
axis twice latent_shape's first axis); the decoder maps z, shaped `latent_shape` (default
[latent_dim]), to the likelihood's parameters. The file is FORMAT version 1 when both networks
use only version 1 layers (linear and the activations), the latent is a vector and the tensors
are F32 or F16, version 2 otherwise (`version=2` forces version 2; BF16 and int8 are version 2).

Modules (all in eval semantics: the file holds the function the model computes in eval()):

  nn.Linear                              linear (on a vector; a Linear first in a network on a
                                         shaped input sees it flattened, as version 1 does)
  nn.Conv1d, nn.Conv2d                   conv1d, conv2d (padding_mode "zeros"; padding "same" /
                                         "valid" resolved to numbers, "same" may be asymmetric)
  nn.ConvTranspose1d, nn.ConvTranspose2d conv_transpose1d, conv_transpose2d (padding_mode "zeros")
  nn.ZeroPad1d/2d, nn.ConstantPad1d/2d   value 0, non-negative, directly before a Conv1d/Conv2d:
                                         folded into its padding ([top, left, bottom, right] /
                                         [left, right] when asymmetric)
  nn.BatchNorm1d, nn.BatchNorm2d         batch_norm from the running statistics (track_running_stats
                                         must be on); affine or not
  nn.GroupNorm                           group_norm (on [C, L] or [C, H, W]); affine or not
  nn.LayerNorm                           layer_norm (one normalized dimension, on a vector)
  nn.Upsample, nn.UpsamplingNearest2d    upsample (mode "nearest", integer scale_factor)
  nn.Flatten                             flatten (start_dim 1, end_dim -1)
  nn.Unflatten                           reshape (dim 1)
  nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU (approximate "none"), nn.SiLU, nn.Tanh, nn.Sigmoid,
  nn.Softplus (beta 1, threshold 20)     the activations
  nn.Identity, nn.Dropout, nn.Dropout1d/2d, nn.AlphaDropout
                                         nothing (identities in eval())
  Residual(body, shortcut=None)          residual (defined below): body(x) + shortcut(x),
                                         shortcut None = identity; nests

Anything else, or an unsupported setting, raises ExportError naming the module's path
("encoder.3: nn.MaxPool2d is not supported by edgevae; supported: ...").

Tensor names are the modules' state_dict names under the prefixes "encoder" and "decoder"
(encoder.0.weight, decoder.2.body.0.bias, ...): a model with .encoder and .decoder attributes
has exactly these names in its own state_dict.

int8 (FORMAT "Weights: int8 and BF16"): with int8=True every linear / conv / conv_transpose
weight is written as I8 with a per-output-channel F32 scale tensor "<weight name>_scale", named
in the layer's JSON as "weight_scale" (w = q * scale[out channel]); biases, norms and the layers
in `keep` stay in `dtype`. The rule is the SDK's quantize() (sdk/train/quantize.ts), step for
step: per channel, scale = float32(max|w| * r / 127) for r = 1.00, 0.99, ..., 0.80 ("mse": the one
with the least squared error, the first on a tie; "max": r = 1 only), q = clamp(round(w / scale),
-127, 127) with JavaScript's rounding (halves up), an all-zero channel gets scale 0. The search
runs in float64 on the float32 weights, with the errors summed in the same order as the SDK, so
the scales and q are bit-identical to quantize() of the F32 file of the same model (the tests
check it). With dtype F16 / BF16 the quantiser still starts from the float32 weights (the SDK's
quantize() of an F16 / BF16 file starts from the rounded ones, so q may differ there). A
version 1 architecture becomes version 2 (int8 is a version 2 feature), with a flatten first
when input_shape has several axes, as quantize() does. `keep` names layers to leave in float:
their place as the SDK names it ("decoder[4]", "encoder[1].body[0]": the place in the file the
same export writes without int8, as quantize()'s keep names places of its input file), their module path ("decoder.4") or their weight's name
("decoder.4.weight"), or encoder.first / encoder.last / decoder.first / decoder.last (as
`edgevae quantize --keep`); an unknown name is an ExportError.

Lower-level pieces (used by make_fixtures.py and export_pytorch.py):
  network_layers(net, prefix, input_shape, omit_defaults=False) -> Network(layers, tensors, shape, v2)
  architecture(encoder, decoder, input_shape, latent_dim, likelihood, ...) -> (arch, tensors)
  infer_shapes(layers, shape) -> output shape (the FORMAT rules, on the JSON)
  quantize_architecture(arch, tensors, keep=(), scales="mse", scale_dtype="F32", report=None)
      -> (int8 arch, tensors): the I8 weights (numpy int8) and scales (numpy) replace the weights
  quantize_weight(w, layer, scales="mse", scale_dtype="F32") -> (q int8, scale), one weight
  dequantize(arch, tensors) -> tensors with every I8 weight replaced by q * scale (float64)
  to_version2(arch): a version 1 architecture as version 2 (BF16 and I8 are version 2 dtypes)
  write_safetensors(path, tensors, metadata, dtype), read_safetensors(path, with_dtypes=False)
      F32, F16, BF16 and I8 tensors (numpy has no bfloat16: BF16 arrays are uint16 bit patterns
      of the dtype BF16_NP, as to_numpy(t, "BF16") gives; torch bfloat16 / int8 tensors work too)

`omit_defaults`: False writes every key; True leaves out every key whose value is the FORMAT
default (stride [1, 1], negative_slope 0.01, eps 1e-5, an empty shortcut, ...); a set of module
paths ({"encoder.5"}) leaves them out for those modules only. Used by the golden fixtures to
exercise a reader's defaults.
"""

import json
import math
import struct
from collections import OrderedDict, namedtuple

import numpy as np
import torch
import torch.nn as nn

__all__ = [
    "ExportError", "Residual", "export_vae", "architecture", "network_layers", "infer_shapes",
    "write_safetensors", "read_safetensors", "to_numpy", "quantize_architecture", "quantize_weight",
    "dequantize", "quantizable_layers", "to_version2", "BF16_NP", "SUPPORTED",
]


class ExportError(ValueError):
    """A module, setting or shape that edgevae's format cannot represent."""


class Residual(nn.Module):
    """y = body(x) + shortcut(x); shortcut None is the identity. Exported as
    {"type": "residual", "body": [...], "shortcut": [...]}."""

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x):
        return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


SUPPORTED = (
    "nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d, "
    "nn.ZeroPad1d/2d and nn.ConstantPad1d/2d (value 0, before a conv), nn.BatchNorm1d, "
    "nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, nn.Upsample / nn.UpsamplingNearest2d (nearest), "
    "nn.Flatten, nn.Unflatten, nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, "
    "nn.Sigmoid, nn.Softplus, nn.Identity, nn.Dropout*, nn.Sequential, edgevae_torch.Residual"
)

V1_TYPES = {"linear", "relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "softplus"}

# key -> default value, per layer type (FORMAT: "keys shown with a value may be omitted")
DEFAULTS = {
    "leaky_relu": {"negative_slope": 0.01},
    "elu": {"alpha": 1.0},
    "conv2d": {"stride": [1, 1], "padding": [0, 0], "dilation": [1, 1], "groups": 1},
    "conv1d": {"stride": [1], "padding": [0], "dilation": [1], "groups": 1},
    "conv_transpose2d": {"stride": [1, 1], "padding": [0, 0], "output_padding": [0, 0],
                         "dilation": [1, 1], "groups": 1},
    "conv_transpose1d": {"stride": [1], "padding": [0], "output_padding": [0], "dilation": [1],
                         "groups": 1},
    "upsample": {"mode": "nearest"},
    "batch_norm": {"eps": 1e-5},
    "group_norm": {"eps": 1e-5},
    "layer_norm": {"eps": 1e-5},
    "residual": {"shortcut": []},
}

Network = namedtuple("Network", "layers tensors shape v2")


def _err(path, msg):
    return ExportError(f"{path}: {msg}")


def _unsupported(path, m, why=None):
    name = f"nn.{type(m).__name__}" if type(m).__module__.startswith("torch.nn") else type(m).__name__
    if why:
        return _err(path, f"{name} {why}")
    return _err(path, f"{name} is not supported by edgevae; supported: {SUPPORTED}")


def _fmt(shape):
    return "[" + ", ".join(str(v) for v in shape) + "]"


def _ints(v, n):
    if isinstance(v, (tuple, list)):
        out = [int(a) for a in v]
    else:
        out = [int(v)] * n
    if len(out) == 1 and n > 1:
        out = out * n
    return out


# ---------------------------------------------------------------------------
# shapes: the FORMAT rules, on the JSON layers
# ---------------------------------------------------------------------------

def _conv_out(size, pad_total, k, s, d):
    num = size + pad_total - d * (k - 1) - 1
    return num // s + 1  # Python floor division (FORMAT: floor, not truncation)


def layer_shape(L, shape, weights=None, where="layer"):
    """Output shape of one JSON layer for an input `shape`; ExportError if it does not work.
    `weights` maps tensor names to shapes (optional: used to know kernel sizes/channels)."""
    t = L["type"]
    shape = list(shape)
    ws = (lambda n: list(weights[n])) if weights is not None else None
    if t in V1_TYPES - {"linear"}:
        return shape
    if t == "linear":
        if len(shape) != 1:
            raise _err(where, f"linear needs a vector input, it gets {_fmt(shape)} (put a flatten before it)")
        o, i = ws(L["weight"])
        if i != shape[0]:
            raise _err(where, f"linear expects {i} inputs, it gets {shape[0]}")
        return [o]
    if t in ("conv2d", "conv1d", "conv_transpose2d", "conv_transpose1d"):
        nd = 2 if t.endswith("2d") else 1
        if len(shape) != nd + 1:
            raise _err(where, f"{t} needs a {'[C, H, W]' if nd == 2 else '[C, L]'} input, it gets {_fmt(shape)}")
        D = DEFAULTS[t]
        s, d, g = L.get("stride", D["stride"]), L.get("dilation", D["dilation"]), L.get("groups", 1)
        p = L.get("padding", D["padding"])
        W = ws(L["weight"])
        ks = W[2:]
        cin = shape[0]
        if t.startswith("conv_transpose"):
            if W[0] != cin:
                raise _err(where, f"{t} weight expects {W[0]} input channels, it gets {cin}")
            if cin % g:
                raise _err(where, f"groups {g} does not divide {cin} input channels")
            cout = W[1] * g
            op = L.get("output_padding", D["output_padding"])
            out = [cout]
            for a in range(nd):
                if op[a] >= max(s[a], d[a]):
                    raise _err(where, f"output_padding {op[a]} must be < max(stride, dilation) = {max(s[a], d[a])}")
                out.append((shape[1 + a] - 1) * s[a] - 2 * p[a] + d[a] * (ks[a] - 1) + op[a] + 1)
        else:
            if W[1] * g != cin:
                raise _err(where, f"{t} weight expects {W[1] * g} input channels (groups {g}), it gets {cin}")
            cout = W[0]
            if cout % g:
                raise _err(where, f"groups {g} does not divide {cout} output channels")
            if len(p) == nd:
                pads = [2 * v for v in p]
            else:  # [top, left, bottom, right] or [left, right]
                pads = [p[a] + p[a + nd] for a in range(nd)]
            out = [cout] + [_conv_out(shape[1 + a], pads[a], ks[a], s[a], d[a]) for a in range(nd)]
        if min(out) < 1:
            raise _err(where, f"{t} on {_fmt(shape)} gives an empty output {_fmt(out)}")
        return out
    if t == "upsample":
        f = L["scale_factor"]
        if len(shape) == 1 or len(f) != len(shape) - 1:
            raise _err(where, f"upsample with {len(f)} factors cannot apply to {_fmt(shape)}")
        return [shape[0]] + [int(n * k) for n, k in zip(shape[1:], f)]
    if t == "flatten":
        return [int(np.prod(shape))]
    if t == "reshape":
        if int(np.prod(L["shape"])) != int(np.prod(shape)):
            raise _err(where, f"reshape to {_fmt(L['shape'])} from {_fmt(shape)}: different sizes")
        return list(L["shape"])
    if t in ("batch_norm", "group_norm"):
        if t == "group_norm" and len(shape) == 1:
            raise _err(where, "group_norm needs a [C, L] or [C, H, W] input, it gets a vector")
        for k in ("running_mean", "running_var", "weight", "bias"):
            if L.get(k) is not None and ws(L[k]) != [shape[0]]:
                raise _err(where, f"{t} {k} has shape {_fmt(ws(L[k]))}, the input has {shape[0]} channels")
        if t == "group_norm" and shape[0] % L["num_groups"]:
            raise _err(where, f"group_norm: {L['num_groups']} groups do not divide {shape[0]} channels")
        return shape
    if t == "layer_norm":
        if len(shape) != 1:
            raise _err(where, f"layer_norm needs a vector input, it gets {_fmt(shape)}")
        for k in ("weight", "bias"):
            if L.get(k) is not None and ws(L[k]) != shape:
                raise _err(where, f"layer_norm {k} has shape {_fmt(ws(L[k]))}, the input is {_fmt(shape)}")
        return shape
    if t == "residual":
        b = infer_shapes(L["body"], shape, weights, where + ".body")
        sc = infer_shapes(L.get("shortcut", []), shape, weights, where + ".shortcut")
        if b != sc:
            raise _err(where, f"residual body ends in {_fmt(b)}, its shortcut in {_fmt(sc)}")
        return b
    raise _err(where, f"unknown layer type {t!r}")


def infer_shapes(layers, shape, weights=None, where="network"):
    for i, L in enumerate(layers):
        shape = layer_shape(L, shape, weights, f"{where}[{i}]")
    return list(shape)


# ---------------------------------------------------------------------------
# torch modules -> layer JSON
# ---------------------------------------------------------------------------

_ACT = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid, nn.Softplus)
_SKIP = (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)
_PAD2 = (nn.ZeroPad2d, nn.ConstantPad2d)
_PAD1 = (nn.ConstantPad1d,) + ((nn.ZeroPad1d,) if hasattr(nn, "ZeroPad1d") else ())


def _flatten_modules(m, path):
    """(path, module) for the modules of a (nested) Sequential, in order."""
    if isinstance(m, nn.Sequential):
        # _modules, not named_children(): named_children() yields a module used twice only once
        # (the file would silently lose the second use); state_dict() names both uses
        for name, c in m._modules.items():
            if c is not None:
                yield from _flatten_modules(c, f"{path}.{name}")
    else:
        yield path, m


def _activation(path, m):
    if isinstance(m, nn.ReLU):
        return {"type": "relu"}
    if isinstance(m, nn.LeakyReLU):
        return {"type": "leaky_relu", "negative_slope": float(m.negative_slope)}
    if isinstance(m, nn.ELU):
        return {"type": "elu", "alpha": float(m.alpha)}
    if isinstance(m, nn.GELU):
        if getattr(m, "approximate", "none") != "none":
            raise _unsupported(path, m, f"(approximate={m.approximate!r}) is not supported: edgevae's gelu is the exact (erf) GELU")
        return {"type": "gelu"}
    if isinstance(m, nn.SiLU):
        return {"type": "silu"}
    if isinstance(m, nn.Tanh):
        return {"type": "tanh"}
    if isinstance(m, nn.Sigmoid):
        return {"type": "sigmoid"}
    if isinstance(m, nn.Softplus):
        if float(m.beta) != 1.0 or float(m.threshold) != 20.0:
            raise _unsupported(path, m, f"(beta={m.beta}, threshold={m.threshold}) is not supported: edgevae's softplus has beta 1, threshold 20")
        return {"type": "softplus"}
    raise AssertionError


def _pad_of(path, m):
    """A zero-padding module -> per-axis (before, after) pairs, axis order (H, W) or (L,)."""
    value = float(getattr(m, "value", 0.0))
    if value != 0.0:
        raise _unsupported(path, m, f"with value {value} is not supported: only zero padding folds into a conv")
    p = tuple(int(v) for v in m.padding)
    if min(p) < 0:
        raise _unsupported(path, m, "with negative padding (cropping) is not supported")
    if isinstance(m, _PAD2):
        left, right, top, bottom = p
        return [(top, bottom), (left, right)]
    return [(p[0], p[1])]


class _Walker:
    def __init__(self, omit_defaults):
        self.omit = omit_defaults
        self.tensors = OrderedDict()

    def _omitting(self, path):
        if self.omit is True:
            return True
        if not self.omit:
            return False
        return path in self.omit

    def _finish(self, path, L):
        if self._omitting(path):
            for k, v in DEFAULTS.get(L["type"], {}).items():
                if k in L and L[k] == v:
                    del L[k]
        return L

    def _tensor(self, path, m, attr):
        t = getattr(m, attr, None)
        if t is None:
            return None
        name = f"{path}.{attr}"
        self.tensors[name] = t.detach()
        return name

    def walk(self, net, path, shape, top=True):
        """-> (layers, output shape, uses version 2)."""
        layers, v2 = [], False
        shape = list(shape)
        at_input = top
        pending_pad = None  # (pad path, per-axis pairs) waiting for the next conv
        mods = list(_flatten_modules(net, path)) if isinstance(net, nn.Sequential) else [(path, net)]
        for mpath, m in mods:
            if pending_pad is not None and not isinstance(m, (nn.Conv1d, nn.Conv2d)):
                raise _err(pending_pad[0], f"a zero padding must be directly followed by an nn.Conv1d / nn.Conv2d to fold into "
                                           f"(it is followed by {type(m).__name__})")
            if isinstance(m, _SKIP):
                continue
            if isinstance(m, _PAD2 + _PAD1):
                pairs = _pad_of(mpath, m)
                if pending_pad is not None:
                    pairs = [(a + c, b + d) for (a, b), (c, d) in zip(pending_pad[1], pairs)]
                pending_pad = (mpath, pairs)
                continue
            if isinstance(m, _ACT):
                layers.append(self._finish(mpath, _activation(mpath, m)))
                continue
            if isinstance(m, nn.Linear):
                if len(shape) != 1:
                    if at_input:
                        layers.append({"type": "flatten", "_implicit": True})
                        shape = [int(np.prod(shape))]
                    else:
                        raise _err(mpath, f"nn.Linear needs a vector input, it gets {_fmt(shape)}: put an nn.Flatten before it")
                if m.in_features != shape[0]:
                    raise _err(mpath, f"nn.Linear expects {m.in_features} inputs, the previous layer gives {shape[0]}")
                w = self._tensor(mpath, m, "weight")
                b = self._tensor(mpath, m, "bias")
                layers.append({"type": "linear", "weight": w, "bias": b})
                shape = [m.out_features]
                at_input = False
                continue
            if isinstance(m, nn.Flatten):  # version 1 too (there every value is flat)
                if m.start_dim != 1 or m.end_dim != -1:
                    raise _unsupported(mpath, m, f"(start_dim={m.start_dim}, end_dim={m.end_dim}) is not supported: only nn.Flatten() (1, -1)")
                layers.append({"type": "flatten"})
                if len(shape) != 1 and not at_input:
                    v2 = True
                shape = [int(np.prod(shape))]
                continue
            at_input = False
            v2 = True
            if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d)):
                L, shape = self._conv(mpath, m, shape, pending_pad)
                pending_pad = None
                layers.append(L)
                continue
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                nd = 2 if isinstance(m, nn.BatchNorm2d) else None
                if not m.track_running_stats or m.running_mean is None:
                    raise _unsupported(mpath, m, "without running statistics (track_running_stats=False) is not supported: "
                                                 "edgevae's batch_norm is the eval() one, from running_mean / running_var")
                if (nd == 2 and len(shape) != 3) or (nd is None and len(shape) == 3):
                    raise _err(mpath, f"nn.{type(m).__name__} cannot apply to an item of shape {_fmt(shape)}")
                if m.num_features != shape[0]:
                    raise _err(mpath, f"nn.{type(m).__name__}({m.num_features}) on {shape[0]} channels / features")
                L = {"type": "batch_norm",
                     "running_mean": self._tensor(mpath, m, "running_mean"),
                     "running_var": self._tensor(mpath, m, "running_var"),
                     "weight": self._tensor(mpath, m, "weight") if m.affine else None,
                     "bias": self._tensor(mpath, m, "bias") if m.affine else None,
                     "eps": float(m.eps)}
                # state_dict order: weight, bias, running_mean, running_var
                if m.affine:
                    for k in ("running_mean", "running_var"):
                        self.tensors.move_to_end(f"{mpath}.{k}")
                layers.append(self._finish(mpath, L))
                continue
            if isinstance(m, nn.GroupNorm):
                if len(shape) == 1:
                    raise _err(mpath, "nn.GroupNorm needs a [C, L] or [C, H, W] input in edgevae, it gets a vector")
                if m.num_channels != shape[0]:
                    raise _err(mpath, f"nn.GroupNorm({m.num_groups}, {m.num_channels}) on {shape[0]} channels")
                L = {"type": "group_norm", "num_groups": int(m.num_groups),
                     "weight": self._tensor(mpath, m, "weight") if m.affine else None,
                     "bias": self._tensor(mpath, m, "bias") if m.affine else None,
                     "eps": float(m.eps)}
                layers.append(self._finish(mpath, L))
                continue
            if isinstance(m, nn.LayerNorm):
                ns = list(m.normalized_shape)
                if len(ns) != 1:
                    raise _unsupported(mpath, m, f"over {ns} is not supported: only a 1-D normalized_shape (a vector) is")
                if shape != ns:
                    raise _err(mpath, f"nn.LayerNorm({ns[0]}) on an item of shape {_fmt(shape)}: edgevae's layer_norm is over a whole vector")
                L = {"type": "layer_norm",
                     "weight": self._tensor(mpath, m, "weight") if m.elementwise_affine else None,
                     "bias": self._tensor(mpath, m, "bias") if m.elementwise_affine else None,
                     "eps": float(m.eps)}
                layers.append(self._finish(mpath, L))
                continue
            if isinstance(m, nn.Upsample):
                if m.mode not in ("nearest", "nearest-exact"):
                    raise _unsupported(mpath, m, f"(mode={m.mode!r}) is not supported: edgevae's upsample is nearest only")
                if m.size is not None or m.scale_factor is None:
                    raise _unsupported(mpath, m, "with size= is not supported: give an integer scale_factor")
                if len(shape) == 1:
                    raise _err(mpath, "nn.Upsample cannot apply to a vector")
                f = m.scale_factor if isinstance(m.scale_factor, (tuple, list)) else [m.scale_factor] * (len(shape) - 1)
                if len(f) != len(shape) - 1 or any(float(v) != int(v) or int(v) < 1 for v in f):
                    raise _unsupported(mpath, m, f"(scale_factor={m.scale_factor}) is not supported: integer factors >= 1, "
                                                 f"one per spatial axis of {_fmt(shape)}")
                L = {"type": "upsample", "mode": "nearest", "scale_factor": [int(v) for v in f]}
                shape = layer_shape(L, shape, where=mpath)
                layers.append(self._finish(mpath, L))
                continue
            if isinstance(m, nn.Unflatten):
                if not (m.dim == 1 or (m.dim == -1 and len(shape) == 1)):
                    raise _unsupported(mpath, m, f"(dim={m.dim}) is not supported: only dim 1")
                sizes = [int(v) for v in m.unflattened_size]
                if sizes.count(-1) == 1:
                    rest = int(np.prod([v for v in sizes if v != -1]))
                    sizes[sizes.index(-1)] = shape[0] // max(rest, 1)
                new = sizes + shape[1:]
                if int(np.prod(sizes)) != shape[0] or not 1 <= len(new) <= 3:
                    raise _err(mpath, f"nn.Unflatten(1, {tuple(m.unflattened_size)}) cannot apply to {_fmt(shape)}")
                layers.append({"type": "reshape", "shape": new})
                shape = new
                continue
            if isinstance(m, Residual):
                body, sb, _ = self.walk(m.body, f"{mpath}.body", shape, top=False)
                if not body:
                    raise _err(mpath, "Residual body has no layers")
                if m.shortcut is None:
                    sc, ss = [], shape
                else:
                    sc, ss, _ = self.walk(m.shortcut, f"{mpath}.shortcut", shape, top=False)
                if sb != ss:
                    raise _err(mpath, f"Residual body ends in {_fmt(sb)}, its shortcut in {_fmt(ss)}")
                layers.append(self._finish(mpath, {"type": "residual", "body": body, "shortcut": sc}))
                shape = sb
                continue
            if isinstance(m, nn.Sequential):  # only reached for a top-level single module
                raise AssertionError
            raise _unsupported(mpath, m)
        if pending_pad is not None:
            raise _err(pending_pad[0], "a zero padding must be directly followed by an nn.Conv1d / nn.Conv2d to fold into")
        return layers, shape, v2

    def _conv(self, path, m, shape, pad):
        transposed = isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose2d))
        nd = 2 if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) else 1
        t = ("conv_transpose" if transposed else "conv") + f"{nd}d"
        if m.padding_mode != "zeros":
            raise _unsupported(path, m, f"(padding_mode={m.padding_mode!r}) is not supported: zero padding only")
        if len(shape) != nd + 1:
            raise _err(path, f"nn.{type(m).__name__} needs an item of shape {'[C, H, W]' if nd == 2 else '[C, L]'}, "
                             f"it gets {_fmt(shape)}")
        if m.in_channels != shape[0]:
            raise _err(path, f"nn.{type(m).__name__} expects {m.in_channels} input channels, it gets {shape[0]}")
        k = _ints(m.kernel_size, nd)
        s, d = _ints(m.stride, nd), _ints(m.dilation, nd)
        if isinstance(m.padding, str):
            if m.padding == "valid":
                pairs = [(0, 0)] * nd
            elif m.padding == "same":
                pairs = []
                for a in range(nd):
                    total = d[a] * (k[a] - 1)
                    pairs.append((total // 2, total - total // 2))
            else:
                raise _unsupported(path, m, f"(padding={m.padding!r}) is not supported")
        else:
            p = _ints(m.padding, nd)
            pairs = [(v, v) for v in p]
        if pad is not None:
            if transposed:
                raise _err(pad[0], "a zero padding cannot fold into a transposed convolution")
            pairs = [(a + c, b + e) for (a, b), (c, e) in zip(pairs, pad[1])]
        if transposed:
            padding = [a for a, _ in pairs]
        elif all(a == b for a, b in pairs):
            padding = [a for a, _ in pairs]
        else:
            padding = [a for a, _ in pairs] + [b for _, b in pairs]
        L = {"type": t, "weight": self._tensor(path, m, "weight"), "bias": self._tensor(path, m, "bias"),
             "stride": s, "padding": padding}
        if transposed:
            L["output_padding"] = _ints(m.output_padding, nd)
        L["dilation"] = d
        L["groups"] = int(m.groups)
        wshapes = {n: list(v.shape) for n, v in self.tensors.items()}
        out = layer_shape(L, shape, wshapes, where=path)
        return self._finish(path, L), out


def _strip_flatten(layers):
    """For a version 1 file: every value is flat, so flatten layers are dropped."""
    out = []
    for L in layers:
        if L["type"] == "flatten":
            continue
        out.append(L)
    return out


def _clean(layers):
    for L in layers:
        L.pop("_implicit", None)
        if L["type"] == "residual":
            _clean(L["body"])
            _clean(L.get("shortcut", []))
    return layers


def network_layers(net, prefix, input_shape, omit_defaults=False):
    """One network -> Network(layers (version 2 JSON, flatten layers included), tensors
    OrderedDict {name: torch tensor}, output shape, whether it needs version 2)."""
    w = _Walker(omit_defaults)
    layers, shape, v2 = w.walk(net, prefix, list(input_shape))
    return Network(layers, w.tensors, shape, v2)


def _check_torch(net, prefix, in_shape, first_is_implicit_flatten, want):
    """Run the torch network on a batch of 2 (eval mode, then restored) and compare shapes."""
    modes = [(m, m.training) for m in net.modules()]
    p = next(iter(net.parameters()), None)
    dt = p.dtype if p is not None and p.is_floating_point() else torch.float32
    x = torch.randn(2, *in_shape, dtype=dt, device=p.device if p is not None else "cpu")
    if first_is_implicit_flatten:
        x = x.reshape(2, -1)
    try:
        net.eval()
        with torch.no_grad():
            y = net(x)
    except Exception as e:  # noqa: BLE001 - reported with the context
        raise ExportError(f"{prefix}: PyTorch cannot run this network on a batch of items of shape {_fmt(list(x.shape[1:]))}: {e}")
    finally:
        for m, tr in modes:
            m.train(tr)
    got = list(y.shape[1:])
    if got != list(want):
        raise ExportError(f"{prefix}: PyTorch gives items of shape {_fmt(got)}, the edgevae layers {_fmt(want)} "
                          "(a module's semantics differ from edgevae's)")


def architecture(encoder, decoder, input_shape, latent_dim, likelihood, latent_shape=None,
                 prior={"type": "standard_normal"}, omit_defaults=False, version=None,
                 prefixes=("encoder", "decoder"), check=True):
    """-> (architecture dict, OrderedDict of tensors {state_dict name: torch tensor}).
    prior None leaves the key out. check runs the torch networks once to confirm the shapes."""
    input_shape = [int(v) for v in input_shape]
    latent_dim = int(latent_dim)
    lshape = [latent_dim] if latent_shape is None else [int(v) for v in latent_shape]
    if int(np.prod(lshape)) != latent_dim:
        raise ExportError(f"latent_shape {_fmt(lshape)} does not hold latent_dim = {latent_dim} values")
    if not 1 <= len(input_shape) <= 3 or not 1 <= len(lshape) <= 3:
        raise ExportError("input_shape and latent_shape have 1 to 3 axes")
    lt = likelihood.get("type")
    if lt not in ("bernoulli", "gaussian", "gaussian_learned"):
        raise ExportError(f"unknown likelihood {likelihood!r}")
    if lt == "gaussian" and not (isinstance(likelihood.get("sigma"), (int, float)) and likelihood["sigma"] > 0
                                 and math.isfinite(likelihood["sigma"])):
        raise ExportError("a gaussian likelihood needs a finite sigma > 0")
    enc = network_layers(encoder, prefixes[0], input_shape, omit_defaults)
    dec = network_layers(decoder, prefixes[1], lshape, omit_defaults)
    v = version or (2 if enc.v2 or dec.v2 or len(lshape) != 1 else 1)
    if v == 1 and (enc.v2 or dec.v2 or len(lshape) != 1):
        raise ExportError("version 1 was asked for, but the networks need version 2")

    # the shape rules of FORMAT
    D = int(np.prod(input_shape))
    want_enc = [2 * lshape[0]] + lshape[1:]
    if v == 1:
        if int(np.prod(enc.shape)) != 2 * latent_dim or len(enc.shape) != 1:
            raise ExportError(f"the encoder must end with 2 * latent_dim = {2 * latent_dim} outputs ([mean | logvar]), "
                              f"it gives {_fmt(enc.shape)}")
    elif enc.shape != want_enc:
        raise ExportError(f"the encoder must end in {_fmt(want_enc)} ([mean | logvar] of latent_shape {_fmt(lshape)}), "
                          f"it ends in {_fmt(enc.shape)}")
    two = 2 if lt == "gaussian_learned" else 1
    ok = [[two * D]] + ([[two * input_shape[0]] + input_shape[1:]] if v == 2 else [])
    if v == 1:
        ok = [[two * D]]
        dec_out = [int(np.prod(dec.shape))] if len(dec.shape) == 1 else dec.shape
    else:
        dec_out = dec.shape
    if dec_out not in ok:
        raise ExportError(f"the decoder must end in {' or '.join(_fmt(s) for s in ok)} for a {lt} likelihood "
                          f"with input_shape {_fmt(input_shape)}, it ends in {_fmt(dec.shape)}")
    if check:
        for net, prefix, shp, n in ((encoder, prefixes[0], input_shape, enc), (decoder, prefixes[1], lshape, dec)):
            implicit = any(L.get("_implicit", False) for L in n.layers)
            _check_torch(net, prefix, shp, implicit, n.shape)

    enc_layers, dec_layers = _clean(enc.layers), _clean(dec.layers)
    if v == 1:
        enc_layers, dec_layers = _strip_flatten(enc_layers), _strip_flatten(dec_layers)
    arch = {"version": v, "input_shape": input_shape, "latent_dim": latent_dim}
    if lshape != [latent_dim]:
        arch["latent_shape"] = lshape
    arch.update({"encoder": enc_layers, "decoder": dec_layers, "likelihood": dict(likelihood)})
    if prior is not None:
        arch["prior"] = dict(prior)
    tensors = OrderedDict(list(enc.tensors.items()) + list(dec.tensors.items()))
    if v == 2:  # our own inference, on the JSON alone, must agree
        wshapes = {k: list(t.shape) for k, t in tensors.items()}
        assert infer_shapes(enc_layers, input_shape, wshapes) == enc.shape
        assert infer_shapes(dec_layers, lshape, wshapes) == dec.shape
    return arch, tensors


# ---------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------

# numpy has no bfloat16: a BF16 array is its uint16 bit patterns, tagged by this dtype's metadata
BF16_NP = np.dtype("<u2", metadata={"safetensors": "BF16"})
NP_DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "BF16": BF16_NP, "I8": np.dtype("i1")}
FLOAT_DTYPES = ("F32", "F16", "BF16")
_TORCH_FLOAT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def to_numpy(t, dtype):
    """A torch tensor -> a numpy array in the file's dtype ("F32" | "F16" | "BF16"; rounded to
    nearest even by torch). A BF16 array holds the bit patterns, dtype BF16_NP."""
    if dtype not in FLOAT_DTYPES:
        raise ExportError(f"dtype {dtype!r}: F32, F16 or BF16")
    t = t.detach().cpu().to(_TORCH_FLOAT[dtype]).contiguous()
    if dtype == "BF16":
        return t.view(torch.int16).numpy().view(BF16_NP)
    return np.ascontiguousarray(t.numpy(), dtype=NP_DTYPES[dtype])


def _file_dtype(arr, name):
    if arr.dtype.metadata and arr.dtype.metadata.get("safetensors") == "BF16":
        return "BF16"
    for k in ("F32", "F16", "I8"):
        if arr.dtype == NP_DTYPES[k]:
            return k
    raise ExportError(f"{name}: numpy dtype {arr.dtype} cannot be written (float32, float16, int8 or BF16_NP)")


def _bf16_to_f64(bits):
    return (np.asarray(bits, dtype="<u2").astype("<u4") << 16).view("<f4").astype(np.float64)


def write_safetensors(path, tensors, metadata, dtype=None):
    """tensors: {name: numpy array (float32 / float16 / int8 / BF16_NP) or torch tensor} in file
    order, tightly packed; a floating torch tensor is converted to `dtype` (default F32; a
    torch.bfloat16 one is written as BF16, a torch.int8 one as I8). metadata: {str: str}.
    The header is padded with spaces to a multiple of 8 bytes (as the safetensors library does)."""
    header = {"__metadata__": metadata}
    buf = bytearray()
    items = tensors.items() if hasattr(tensors, "items") else tensors
    for name, arr in items:
        if isinstance(arr, torch.Tensor):
            if arr.dtype == torch.int8:
                arr = arr.detach().cpu().contiguous().numpy()
            elif arr.dtype == torch.bfloat16 and dtype is None:
                arr = to_numpy(arr, "BF16")
            else:
                arr = to_numpy(arr, dtype or "F32")
        dt = _file_dtype(arr, name)
        data = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [len(buf), len(buf) + len(data)]}
        buf += data
    hj = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    hj += b" " * ((-(8 + len(hj))) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        f.write(bytes(buf))


def read_safetensors(path, with_dtypes=False):
    """-> ({name: float64 numpy array}, metadata) (and {name: dtype} with with_dtypes); checks
    the buffer is tightly packed. F32 / F16 / BF16 values are widened exactly; an I8 tensor comes
    back as its integers q (see dequantize() for q * scale)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out, spans, dtypes = {}, [], {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        dt = info["dtype"]
        arr = np.frombuffer(raw[base + b:base + e], dtype=NP_DTYPES[dt]).reshape(info["shape"])
        out[name] = _bf16_to_f64(arr) if dt == "BF16" else arr.astype(np.float64)
        dtypes[name] = dt
        spans.append((b, e))
    pos = 0
    for b, e in sorted(spans):
        assert b == pos, "holes or overlaps in the byte buffer"
        pos = e
    assert base + pos == len(raw), "trailing bytes"
    return (out, meta, dtypes) if with_dtypes else (out, meta)


# ---------------------------------------------------------------------------
# int8 weights: the SDK's quantize() rule (sdk/train/quantize.ts), in numpy
# ---------------------------------------------------------------------------

QUANTIZABLE = ("linear", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d")


def _places(layers, at):
    """(place, layer) of every layer, residual branches included, in the SDK's order and naming."""
    for i, L in enumerate(layers):
        p = f"{at}[{i}]"
        yield p, L
        if L["type"] == "residual":
            yield from _places(L["body"], p + ".body")
            yield from _places(L.get("shortcut", []), p + ".shortcut")


def quantizable_layers(arch):
    """[(place, layer JSON)] of the linear / conv / conv_transpose layers ("encoder[0]", ...)."""
    return [(p, L) for net in ("encoder", "decoder") for p, L in _places(arch[net], net) if L["type"] in QUANTIZABLE]


def _by_channel(w, layer):
    """w (PyTorch layout) -> (rows [Cout, n], back): row o holds output channel o's weights in
    increasing flat-index order (the SDK's summation order); back(rows) restores the layout.
    conv_transpose: W[ci, j] feeds output channel (ci div (Cin/g)) * (Cout/g) + j (FORMAT)."""
    shape = w.shape
    if layer["type"].startswith("conv_transpose"):
        g = int(layer.get("groups", 1))
        cin, cog = shape[0], shape[1]
        taps = int(np.prod(shape[2:]))
        rows = w.reshape(g, cin // g, cog, taps).transpose(0, 2, 1, 3).reshape(g * cog, (cin // g) * taps)
        return rows, lambda r: r.reshape(g, cog, cin // g, taps).transpose(0, 2, 1, 3).reshape(shape)
    return w.reshape(shape[0], -1), lambda r: r.reshape(shape)


def _js_round(x):
    """JavaScript's Math.round: to the nearest integer, halves toward +infinity (not numpy's
    halves-to-even). x - floor(x) is exact in float64."""
    f = np.floor(x)
    return np.where(x - f >= 0.5, f + 1, f)


def _round_scale(x, scale_dtype):
    """float64 values -> the nearest float32 values, then (F16 / BF16) the nearest of that dtype."""
    f = x.astype(np.float32)
    if scale_dtype == "F32":
        return f.astype(np.float64)
    return torch.from_numpy(f).to(_TORCH_FLOAT[scale_dtype]).double().numpy()


def quantize_weight(w, layer, scales="mse", scale_dtype="F32"):
    """One weight (torch tensor or array, PyTorch layout; taken as float32) of the layer JSON
    `layer` -> (q: numpy int8 of w's shape, scale: numpy [Cout] in scale_dtype (BF16 as BF16_NP
    bits)). The SDK's rule, operation for operation in float64 (see the module docstring), so
    with scale_dtype F32 it is bit-identical to quantize(). With F16 / BF16 the candidate scales
    are rounded to that dtype before their error is measured."""
    if scales not in ("mse", "max"):
        raise ExportError(f'scales must be "mse" or "max", got {scales!r}')
    if scale_dtype not in FLOAT_DTYPES:
        raise ExportError(f"scale_dtype {scale_dtype!r}: F32, F16 or BF16")
    if isinstance(w, torch.Tensor):
        w = w.detach().cpu().float().numpy()
    w32 = np.ascontiguousarray(w, dtype=np.float32)
    if not np.all(np.isfinite(w32)):
        raise ExportError(f"{layer.get('weight')}: not finite in float32, cannot be quantised")
    rows32, back = _by_channel(w32, layer)
    rows = rows32.astype(np.float64)
    C = rows.shape[0]
    mx = np.abs(rows).max(axis=1) if rows.shape[1] else np.zeros(C)
    best, best_s = np.full(C, np.inf), np.zeros(C)
    ratios = [1.0] if scales == "max" else [1 - j * 0.01 for j in range(21)]  # as the SDK: 1 - j*0.01
    with np.errstate(all="ignore"):
        for r in ratios:
            s = _round_scale(mx * r / 127, scale_dtype)          # Math.fround((max * r) / 127)
            v = np.clip(_js_round(rows / s[:, None]), -127, 127)
            d = rows - v * s[:, None]
            err = np.cumsum(d * d, axis=1)[:, -1] if rows.shape[1] else np.zeros(C)  # sequential, as the SDK's loop
            better = (mx != 0) & (s != 0) & (err < best)          # strict: the first (largest r) wins a tie
            best = np.where(better, err, best)
            best_s = np.where(better, s, best_s)
        # a channel whose every candidate scale underflowed keeps scale 0 (JS: w/0 -> +-127, 0/0 -> 0)
        q = np.nan_to_num(np.clip(_js_round(rows / best_s[:, None]), -127, 127), nan=0.0)
    q[mx == 0] = 0
    if not np.all(np.isfinite(best_s)):
        raise ExportError(f"{layer.get('weight')}: a scale overflows {scale_dtype}")
    q8 = np.ascontiguousarray(back(q.astype(np.int8)))
    if scale_dtype == "BF16":
        sc = to_numpy(torch.from_numpy(best_s), "BF16")
    else:
        sc = best_s.astype(NP_DTYPES[scale_dtype])
    return q8, sc


def _values(a):
    """A numpy array as float64 values (a BF16_NP array is decoded)."""
    if a.dtype.metadata and a.dtype.metadata.get("safetensors") == "BF16":
        return _bf16_to_f64(a)
    return np.asarray(a, dtype=np.float64)


def quantize_architecture(arch, tensors, keep=(), scales="mse", scale_dtype="F32", report=None):
    """The int8 file of a float architecture: -> (new arch dict, OrderedDict of tensors). Every
    linear / conv / conv_transpose weight not in `keep` is replaced by its I8 q (numpy int8),
    followed by its scale (numpy, scale_dtype) named "<weight>_scale" (a "_" appended while the
    name is taken), and the layer gets "weight_scale"; every other tensor is passed through as
    it is (torch tensors stay torch tensors, for the caller to convert). A version 1 arch becomes
    version 2, with a flatten first when input_shape has several axes. `keep`: places
    ("decoder[4]"), module paths ("decoder.4"), weight names ("decoder.4.weight") or
    encoder.first / encoder.last / decoder.first / decoder.last (its first / last linear or
    conv layer, nested ones included, as `edgevae quantize --keep` has them). `report`,
    a list, receives one dict per layer (at, type, weight, weights, result "int8" | "kept",
    relative_rms_error, max_abs_error)."""
    arch = json.loads(json.dumps(arch))  # a deep copy, key order kept
    layers = quantizable_layers(arch)
    keep = set(keep)
    known = set()
    for p, L in layers:
        known |= {p, L["weight"]}
        if L["weight"].endswith(".weight"):
            known.add(L["weight"][:-len(".weight")])
    for k in list(keep):  # encoder.first / encoder.last / decoder.first / decoder.last, as `edgevae quantize --keep`
        net, _, which = k.partition(".")
        if k not in known and net in ("encoder", "decoder") and which in ("first", "last"):
            mine = [p for p, _ in layers if p.startswith(net + "[")]
            if not mine:
                raise ExportError(f"keep: {k!r}: the {net} has no linear or conv layer")
            keep.discard(k)
            keep.add(mine[0] if which == "first" else mine[-1])
    unknown = sorted(keep - known)
    if unknown:
        raise ExportError(f"keep: {', '.join(repr(k) for k in unknown)} is neither a linear / conv layer's place "
                          f"({', '.join(p for p, _ in layers)}), its module path nor its weight's name")
    names = set(tensors)

    def kept(p, wname):
        return p in keep or wname in keep or (wname.endswith(".weight") and wname[:-len(".weight")] in keep)

    # a tensor under several layers (not from export_vae, whose names are per module) is one
    # tensor: kept for all of them if any of them is kept, else quantised once and named by all
    kept_weights = {L["weight"] for p, L in layers if kept(p, L["weight"])}
    replaced = OrderedDict()  # weight name -> (q, scale name, scale)
    for p, L in layers:
        wname = L["weight"]
        entry = {"at": p, "type": L["type"], "weight": wname, "weights": int(np.prod(tensors[wname].shape))}
        if wname in kept_weights:
            if report is not None:
                report.append({**entry, "result": "kept", "relative_rms_error": 0.0, "max_abs_error": 0.0})
            continue
        if wname in replaced:  # one tensor under two layers: quantised once, both name its scale
            L["weight_scale"] = replaced[wname][1]
            continue
        w = tensors[wname]
        q, sc = quantize_weight(w, L, scales, scale_dtype)
        sname = wname + "_scale"
        while sname in names:
            sname += "_"
        names.add(sname)
        L["weight_scale"] = sname
        replaced[wname] = (q, sname, sc)
        if report is not None:
            w64 = (w.detach().cpu().float().numpy() if isinstance(w, torch.Tensor) else np.asarray(w, np.float32)).astype(np.float64)
            rows, back = _by_channel(q.astype(np.float64), L)
            dq = back(rows * _values(sc)[:, None])
            d = w64 - dq
            ss = float(np.sum(w64 * w64))
            report.append({**entry, "result": "int8",
                           "relative_rms_error": 0.0 if ss == 0 else math.sqrt(float(np.sum(d * d)) / ss),
                           "max_abs_error": float(np.max(np.abs(d))) if d.size else 0.0})
    arch = to_version2(arch)
    out = OrderedDict()
    for name, t in tensors.items():
        if name in replaced:
            q, sname, sc = replaced[name]
            out[name] = q
            out[sname] = sc
        else:
            out[name] = t
    return arch, out


def to_version2(arch):
    """A version 1 architecture as version 2, computing the same function (the SDK's quantize()
    rule): "version": 2, and a flatten first in the encoder when input_shape has several axes.
    A version 2 one is returned as it is."""
    if arch["version"] != 1:
        return arch
    arch = json.loads(json.dumps(arch))
    arch["version"] = 2
    if len(arch["input_shape"]) > 1:
        arch["encoder"].insert(0, {"type": "flatten"})
    return arch


def dequantize(arch, tensors):
    """{name: float64 array} as read_safetensors gives them (I8 weights as q) -> a copy in which
    every weight with a weight_scale is q * scale[out channel] (float64, exact) and the scale
    tensors are gone: the weights the file's numbers are defined on."""
    out = dict(tensors)
    for _, L in quantizable_layers(arch):
        if L.get("weight_scale") is None:
            continue
        q = np.asarray(tensors[L["weight"]], dtype=np.float64)
        rows, back = _by_channel(q, L)
        out[L["weight"]] = back(rows * np.asarray(tensors[L["weight_scale"]], dtype=np.float64)[:, None])
    for _, L in quantizable_layers(arch):
        if L.get("weight_scale") is not None:
            out.pop(L["weight_scale"], None)
    return out


def export_vae(encoder, decoder, path, input_shape, latent_dim, likelihood, dtype="F32", metadata=None,
               latent_shape=None, prior={"type": "standard_normal"}, omit_defaults=False, version=None,
               prefixes=("encoder", "decoder"), check=True, int8=False, keep=(), scales="mse", report=None):
    """Writes an edgevae model file; returns the architecture dict. See the module docstring.
    dtype: the floating-point tensors' dtype, "F32" | "F16" | "BF16". int8=True: linear / conv
    weights as I8 with F32 per-channel scales (keep, scales: see quantize_architecture; report,
    a list, receives per-layer quantisation errors)."""
    if dtype not in FLOAT_DTYPES:
        raise ExportError(f"dtype {dtype!r}: F32, F16 or BF16")
    if not int8 and (keep or scales != "mse" or report is not None):
        raise ExportError("keep, scales and report are options of int8=True")
    if (int8 or dtype == "BF16") and version == 1:
        raise ExportError(f"{'int8' if int8 else 'BF16'} weights need FORMAT version 2 (version=1 was asked for)")
    arch, tensors = architecture(encoder, decoder, input_shape, latent_dim, likelihood, latent_shape, prior,
                                 omit_defaults, version, prefixes, check)
    if dtype == "BF16":  # a version 2 dtype
        arch = to_version2(arch)
    for name, t in tensors.items():
        if not bool(torch.isfinite(t.detach().to(_TORCH_FLOAT[dtype])).all()):
            raise ExportError(f"{name}: not finite in {dtype} (|value| > 65504 overflows F16)")
    if int8:
        arch, tensors = quantize_architecture(arch, tensors, keep, scales, "F32", report)
    arrays = OrderedDict((name, to_numpy(t, dtype) if isinstance(t, torch.Tensor) else t) for name, t in tensors.items())
    meta = {"format": "pt", "edgevae": json.dumps(arch)}
    meta.update(metadata or {})
    write_safetensors(path, arrays, meta)
    return arch


# ---------------------------------------------------------------------------
# self-test: python models/edgevae_torch.py  (the numbers are checked by make_fixtures.py)
# ---------------------------------------------------------------------------

def _self_test():
    J = 4
    dec = nn.Sequential(nn.Linear(J, 36))

    def arch(enc, d=dec, shape=(1, 6, 6), **kw):
        return architecture(enc, d, list(shape), J, {"type": "bernoulli"}, **kw)[0]

    def refused(enc, needle, d=dec, shape=(1, 6, 6), **kw):
        try:
            arch(enc, d, shape, **kw)
        except ExportError as e:
            assert needle in str(e), (needle, str(e))
            return str(e)
        raise AssertionError(f"not refused: {needle}")

    conv = lambda *a, **k: nn.Conv2d(*a, **k)  # noqa: E731
    head = [nn.Flatten(), nn.Linear(2 * 36, 2 * J)]
    # versions
    assert arch(nn.Sequential(nn.Linear(36, 8)))["version"] == 1
    assert arch(nn.Sequential(nn.Flatten(), nn.Linear(36, 8), nn.ReLU(), nn.Linear(8, 8)))["version"] == 1
    assert "flatten" not in json.dumps(arch(nn.Sequential(nn.Flatten(), nn.Linear(36, 8))))
    a = arch(nn.Sequential(conv(1, 2, 3, padding=1), *head))
    assert a["version"] == 2 and "latent_shape" not in a
    assert arch(nn.Sequential(nn.Linear(36, 8)), version=2)["encoder"][0] == {"type": "flatten"}
    # padding folding, "same", defaults
    a = arch(nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), conv(1, 2, 3, stride=2), nn.Flatten(), nn.Linear(18, 8)))
    assert a["encoder"][0]["padding"] == [0, 0, 1, 1] and a["encoder"][0]["weight"] == "encoder.1.weight", a
    a = arch(nn.Sequential(conv(1, 2, (2, 3), padding="same"), *head), omit_defaults=True)
    assert a["encoder"][0] == {"type": "conv2d", "weight": "encoder.0.weight", "bias": "encoder.0.bias",
                               "padding": [0, 1, 1, 1]}, a["encoder"][0]
    # refusals, each naming the module
    refused(nn.Sequential(conv(1, 2, 3, padding=1), nn.ReLU(), nn.Identity(), nn.MaxPool2d(2), *head),
            "encoder.3: nn.MaxPool2d is not supported by edgevae; supported: nn.Linear")
    refused(nn.Sequential(conv(1, 2, 3, padding=1, padding_mode="reflect"), *head), "encoder.0: nn.Conv2d (padding_mode='reflect')")
    refused(nn.Sequential(conv(1, 2, 3, padding=1), nn.Upsample(scale_factor=2, mode="bilinear"), *head), "encoder.1: nn.Upsample (mode='bilinear')")
    refused(nn.Sequential(conv(1, 2, 3, padding=1), nn.Upsample(scale_factor=1.5), *head), "scale_factor=1.5")
    refused(nn.Sequential(conv(1, 2, 3, padding=1), nn.LayerNorm([2, 6, 6]), *head), "encoder.1: nn.LayerNorm over [2, 6, 6]")
    refused(nn.Sequential(nn.ZeroPad2d(1), nn.ReLU(), conv(1, 2, 3), *head), "encoder.0: a zero padding must be directly followed")
    refused(nn.Sequential(nn.ConstantPad2d(1, 0.5), conv(1, 2, 3), *head), "encoder.0: nn.ConstantPad2d with value 0.5")
    refused(nn.Sequential(conv(1, 2, 3, padding=1), nn.Flatten(2), *head), "encoder.1: nn.Flatten (start_dim=2")
    refused(nn.Sequential(conv(1, 2, 3, padding=1), nn.BatchNorm2d(2, track_running_stats=False), *head), "encoder.1: nn.BatchNorm2d without running")
    refused(nn.Sequential(conv(1, 2, 3, padding=1), nn.Linear(72, 8)), "encoder.1: nn.Linear needs a vector input")
    refused(nn.Sequential(conv(1, 2, 3, padding=1), nn.Flatten(), nn.Linear(50, 8)), "encoder.2: nn.Linear expects 50 inputs")
    refused(nn.Sequential(conv(2, 2, 3)), "encoder.0: nn.Conv2d expects 2 input channels, it gets 1")
    refused(nn.Sequential(conv(1, 2, 7), *head), "gives an empty output")
    refused(nn.Sequential(nn.Flatten(), nn.Linear(36, 6)), "the encoder must end with 2 * latent_dim = 8")
    refused(nn.Sequential(conv(1, 2, 3, padding=1), *head), "the decoder must end in [36] or [1, 6, 6]",
            d=nn.Sequential(nn.Linear(J, 36), nn.Unflatten(1, (1, 4, 9))))
    refused(nn.Sequential(nn.Linear(36, 8)), "latent_shape [3] does not hold", latent_shape=[3])
    refused(nn.Sequential(nn.Linear(36, 8), nn.Softplus(beta=2)), "encoder.1: nn.Softplus (beta=2")
    refused(nn.Sequential(nn.Linear(36, 8), nn.GELU(approximate="tanh")), "encoder.1: nn.GELU (approximate='tanh')")
    refused(nn.Sequential(Residual(nn.Sequential(conv(1, 2, 3, padding=1))), *head), "encoder.0: Residual body ends in [2, 6, 6], its shortcut in [1, 6, 6]")
    refused(nn.Sequential(conv(1, 2, 3, padding=1), Residual(nn.Sequential(nn.ReLU(), nn.AvgPool2d(2))), *head), "encoder.1.body.1: nn.AvgPool2d is not supported")
    # nested Sequentials flatten in; names stay the state_dict's
    enc = nn.Sequential(nn.Sequential(conv(1, 2, 3, padding=1), nn.Sequential(nn.ReLU())), nn.Dropout(0.3), *head)
    a, t = architecture(enc, dec, [1, 6, 6], J, {"type": "bernoulli"})
    assert [L["type"] for L in a["encoder"]] == ["conv2d", "relu", "flatten", "linear"], a["encoder"]
    assert list(t) == [k for k in nn.ModuleDict({"encoder": enc, "decoder": dec}).state_dict()], list(t)
    # batch norm: state_dict names and order, no num_batches_tracked
    enc = nn.Sequential(conv(1, 2, 3, padding=1), nn.BatchNorm2d(2), *head)
    assert list(architecture(enc, dec, [1, 6, 6], J, {"type": "bernoulli"})[1])[2:6] == [
        "encoder.1.weight", "encoder.1.bias", "encoder.1.running_mean", "encoder.1.running_var"]
    # a spatial latent
    enc = nn.Sequential(conv(1, 4, 3, stride=2, padding=1))                       # -> [4, 3, 3]
    d2 = nn.Sequential(nn.ConvTranspose2d(2, 1, 3, stride=2, padding=1, output_padding=1))  # [2,3,3] -> [1,6,6]
    a = architecture(enc, d2, [1, 6, 6], 18, {"type": "bernoulli"}, latent_shape=[2, 3, 3])[0]
    assert a["latent_shape"] == [2, 3, 3] and a["version"] == 2
    # a module used twice is exported twice, under both state_dict names
    lin = nn.Linear(8, 8)
    a, t = architecture(nn.Sequential(nn.Linear(36, 8), lin, nn.ReLU(), lin), dec, [1, 6, 6], J, {"type": "bernoulli"})
    assert [L["type"] for L in a["encoder"]] == ["linear", "linear", "relu", "linear"], a["encoder"]
    assert "encoder.3.weight" in t
    _self_test_int8()
    print("edgevae_torch self-test: ok")


def _self_test_int8():
    import os
    import tempfile

    def rows(*r):
        return np.array(r, dtype=np.float32)

    lin = {"type": "linear", "weight": "w"}
    # JavaScript rounding (halves up), the clamp, a zero channel (scale 0, q 0)
    q, sc = quantize_weight(rows([127, 2.5, -2.5, 0.5, -0.5], [0, 0, 0, 0, 0], [-1, 0.25, 0, 0, 0]), lin, "max")
    assert sc.dtype == np.float32 and list(sc) == [1.0, 0.0, np.float32(1 / 127)], sc
    assert q.tolist() == [[127, 3, -2, 1, 0], [0] * 5, [-127, 32, 0, 0, 0]], q
    # the largest r wins ties (a channel of equal values: r = 1); "mse" is never worse than "max"
    q, sc = quantize_weight(rows([1, 1, 1, 1]), lin, "mse")
    assert sc[0] == np.float32(1 / 127) and q[0].tolist() == [127] * 4, (q, sc)
    w = np.random.default_rng(0).standard_normal((6, 300)).astype(np.float32)
    err = {}
    for mode in ("mse", "max"):
        q, sc = quantize_weight(w, lin, mode)
        err[mode] = ((w - q * sc[:, None].astype(np.float64)) ** 2).sum(1)
    assert np.all(err["mse"] <= err["max"]) and np.any(err["mse"] < err["max"]), err
    # conv_transpose: W [Cin, Cout/g, k], output channel (ci div (Cin/g)) * (Cout/g) + j
    ct = {"type": "conv_transpose1d", "weight": "w", "groups": 2}
    w = np.array([[[1.0]], [[2.0]], [[10.0]], [[-20.0]]], dtype=np.float32)   # Cin 4, Cout 2
    q, sc = quantize_weight(w, ct, "max")
    assert list(sc) == [np.float32(2 / 127), np.float32(20 / 127)] and q.reshape(-1).tolist() == [64, 127, 64, -127], (q, sc)
    back = dequantize({"encoder": [dict(ct, weight_scale="s")], "decoder": []}, {"w": q.astype(np.float64), "s": sc.astype(np.float64)})
    assert set(back) == {"w"} and np.allclose(back["w"], w, rtol=0.01)
    # BF16 scales are searched as rounded to BF16
    q, sc = quantize_weight(rows([0.3, -0.1, 0.05]), lin, "mse", "BF16")
    assert sc.dtype == BF16_NP and abs(_bf16_to_f64(sc)[0] * 127 / 0.3 - 1) < 0.2
    # architecture level: v1 -> v2 with a flatten, keep by place / module path / weight name, refusals
    enc = nn.Sequential(nn.Linear(36, 8))
    d = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 36))
    a0, t0 = architecture(enc, d, [1, 6, 6], 4, {"type": "bernoulli"})
    assert a0["version"] == 1
    for k in ("decoder[2]", "decoder.2", "decoder.2.weight", "decoder.last"):
        rep = []
        a, t = quantize_architecture(a0, t0, keep=[k], report=rep)
        assert a["version"] == 2 and a["encoder"][0] == {"type": "flatten"} and a0["encoder"][0]["type"] == "linear"
        assert [r["result"] for r in rep] == ["int8", "int8", "kept"] and "weight_scale" not in a["decoder"][2]
        assert list(t) == ["encoder.0.weight", "encoder.0.weight_scale", "encoder.0.bias", "decoder.0.weight",
                           "decoder.0.weight_scale", "decoder.0.bias", "decoder.2.weight", "decoder.2.bias"], list(t)
        assert t["encoder.0.weight"].dtype == np.int8 and a["encoder"][1]["weight_scale"] == "encoder.0.weight_scale"
        assert 0 < rep[0]["relative_rms_error"] < 0.02
    shared = {"version": 2, "input_shape": [4], "latent_dim": 2, "decoder": [],
              "encoder": [{"type": "linear", "weight": "w", "bias": None}, {"type": "linear", "weight": "w", "bias": None}]}
    w = OrderedDict([("w", np.eye(4, dtype=np.float32))])
    assert [L.get("weight_scale") for L in quantize_architecture(shared, w)[0]["encoder"]] == ["w_scale", "w_scale"]
    a, t = quantize_architecture(shared, w, keep=["encoder[1]"])
    assert "weight_scale" not in json.dumps(a) and list(t) == ["w"]
    try:
        quantize_architecture(a0, t0, keep=["decoder[1]"])
        raise AssertionError("not refused")
    except ExportError as e:
        assert "keep: 'decoder[1]' is neither" in str(e), str(e)
    # the container: I8, BF16 (numpy bit patterns and torch bfloat16), F16, F32 round trips
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.safetensors")
        x = torch.tensor([[1.0, -2.5, 3.14159, 1e-3]])
        write_safetensors(path, OrderedDict([("a", np.array([-128, 0, 127], np.int8)), ("b", to_numpy(x, "BF16")),
                                             ("c", x.to(torch.bfloat16)), ("d", to_numpy(x, "F16")), ("e", x)]), {})
        got, _, dts = read_safetensors(path, with_dtypes=True)
        assert dts == {"a": "I8", "b": "BF16", "c": "BF16", "d": "F16", "e": "F32"}, dts
        assert got["a"].tolist() == [-128, 0, 127]
        assert np.array_equal(got["b"], x.to(torch.bfloat16).double().numpy()) and np.array_equal(got["b"], got["c"])
        try:  # the safetensors library, when installed, reads the same
            from safetensors.torch import load_file
        except ImportError:
            load_file = None
        if load_file is not None:
            lt = load_file(path)
            assert lt["a"].dtype == torch.int8 and lt["b"].dtype == torch.bfloat16 and torch.equal(lt["b"], x.to(torch.bfloat16))
        # BF16 is a version 2 dtype: an MLP in BF16 is written as version 2 (flatten first, as quantize())
        a = export_vae(enc, d, path, [1, 6, 6], 4, {"type": "bernoulli"}, dtype="BF16")
        assert a["version"] == 2 and a["encoder"][0] == {"type": "flatten"} and read_safetensors(path, True)[2]["decoder.2.bias"] == "BF16"
        # export_vae with int8 and BF16 writes a file that reads back to the quantised weights
        rep = []
        a = export_vae(enc, d, path, [1, 6, 6], 4, {"type": "bernoulli"}, dtype="BF16", int8=True, keep=["decoder[2]"], report=rep)
        got, meta, dts = read_safetensors(path, with_dtypes=True)
        assert json.loads(meta["edgevae"]) == a and dts["encoder.0.weight"] == "I8" and dts["encoder.0.weight_scale"] == "F32"
        assert dts["encoder.0.bias"] == "BF16" and dts["decoder.2.weight"] == "BF16"
        w = dequantize(a, got)["encoder.0.weight"]
        assert np.abs(w - enc[0].weight.detach().double().numpy()).max() <= 0.5 * got["encoder.0.weight_scale"].max() + 1e-12


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")
    _self_test()
