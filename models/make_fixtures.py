#!/usr/bin/env python3
"""Golden fixtures for edgevae, computed by real PyTorch in float64.

Run from the repository root:

    /usr/bin/python3 models/make_fixtures.py

It builds three small VAEs out of torch.nn layers, writes each one as an edgevae
FORMAT v1 model file (safetensors, written by hand below), and writes the expected
outputs of encode, decode, ELBO and importance-weighted log p(x) as JSON, to
test/fixtures/. Everything is deterministic (fixed seeds) and every file is
rewritten from scratch.

Conventions of the JSON files (see test/fixtures/README.md):
- every array is flat, row-major, float64;
- noise is item-major: eps[b][s][j] is at index (b*S + s)*J + j;
- the inputs (x, z, eps) are float32-representable values, so a float32 SDK
  receives exactly the numbers PyTorch used;
- the weights of an F32 model are float32 values, those of the F16 model float16
  values; the expected outputs are computed from exactly those values, in float64.
"""

import copy
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
from torch.distributions import Bernoulli, Normal, kl_divergence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures")

B = 5  # batch
S = 3  # ELBO samples
K = 7  # importance samples

torch.set_num_threads(1)


# ---------------------------------------------------------------------------
# torch module <-> FORMAT v1 layer JSON
# ---------------------------------------------------------------------------

class Omit:
    """Marks an activation whose parameter key is left out of the JSON, so the
    reader's default (PyTorch's: leaky_relu 0.01, elu 1.0) is exercised."""


def layer_json(prefix, idx, m):
    if isinstance(m, nn.Linear):
        return {
            "type": "linear",
            "weight": f"{prefix}.{idx}.weight",
            "bias": f"{prefix}.{idx}.bias" if m.bias is not None else None,
        }
    if isinstance(m, nn.ReLU):
        return {"type": "relu"}
    if isinstance(m, nn.LeakyReLU):
        if getattr(m, "_omit_key", False):
            assert m.negative_slope == 0.01
            return {"type": "leaky_relu"}
        return {"type": "leaky_relu", "negative_slope": m.negative_slope}
    if isinstance(m, nn.ELU):
        if getattr(m, "_omit_key", False):
            assert m.alpha == 1.0
            return {"type": "elu"}
        return {"type": "elu", "alpha": m.alpha}
    if isinstance(m, nn.GELU):
        assert m.approximate == "none"
        return {"type": "gelu"}
    if isinstance(m, nn.SiLU):
        return {"type": "silu"}
    if isinstance(m, nn.Tanh):
        return {"type": "tanh"}
    if isinstance(m, nn.Sigmoid):
        return {"type": "sigmoid"}
    if isinstance(m, nn.Softplus):
        assert m.beta == 1 and m.threshold == 20
        return {"type": "softplus"}
    raise TypeError(f"no FORMAT v1 layer for {m!r}")


def omit_key(m):
    m._omit_key = True
    return m


class VAE(nn.Module):
    def __init__(self, input_shape, latent_dim, encoder, decoder, likelihood, prior=None):
        super().__init__()
        self.input_shape = list(input_shape)
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)
        self.likelihood = likelihood
        self.prior = prior

    @property
    def D(self):
        return int(np.prod(self.input_shape))

    def arch(self):
        a = {
            "version": 1,
            "input_shape": self.input_shape,
            "latent_dim": self.latent_dim,
            "encoder": [layer_json("encoder", i, m) for i, m in enumerate(self.encoder)],
            "decoder": [layer_json("decoder", i, m) for i, m in enumerate(self.decoder)],
            "likelihood": self.likelihood,
        }
        if self.prior is not None:
            a["prior"] = self.prior
        return a

    # --- the maths of FORMAT.md, in whatever dtype the module is in (float64 here)
    def encode(self, x):
        h = self.encoder(x.reshape(x.shape[0], -1))
        J = self.latent_dim
        return h[:, :J], h[:, J:]

    def decode_params(self, z):
        return self.decoder(z)

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
# safetensors, by hand
# ---------------------------------------------------------------------------

DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2")}


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, np.ndarray) in file order; metadata: {str: str}."""
    header = {"__metadata__": metadata}
    buf = bytearray()
    for name, arr in tensors:
        dt = {np.dtype("float32"): "F32", np.dtype("float16"): "F16"}[arr.dtype]
        data = np.ascontiguousarray(arr, dtype=DTYPES[dt]).tobytes()
        header[name] = {
            "dtype": dt,
            "shape": list(arr.shape),
            "data_offsets": [len(buf), len(buf) + len(data)],
        }
        buf += data
    hj = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    hj += b" " * ((-(8 + len(hj))) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        f.write(bytes(buf))


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    end_max = 0
    for name, info in header.items():
        b, e = info["data_offsets"]
        dt = DTYPES[info["dtype"]]
        arr = np.frombuffer(raw[base + b : base + e], dtype=dt).reshape(info["shape"])
        out[name] = arr.astype(np.float64)
        end_max = max(end_max, e)
    assert base + end_max == len(raw), "trailing bytes or holes"
    return out, meta


# ---------------------------------------------------------------------------
# an independent float64 interpreter of the JSON architecture (self-check)
# ---------------------------------------------------------------------------

def np_forward(layers, tensors, h):
    from math import erf

    verf = np.vectorize(erf)
    for L in layers:
        t = L["type"]
        if t == "linear":
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
        else:
            raise ValueError(t)
    return h


# ---------------------------------------------------------------------------
# the three models
# ---------------------------------------------------------------------------

def scale_linears(model, gain):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.weight.mul_(gain)
                if m.bias is not None:
                    m.bias.mul_(gain)


def build_models():
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


def compute(spec):
    name, m = spec["name"], spec["model"]
    D, J = m.D, m.latent_dim

    # the weights exactly as stored, then float64 (on a copy: .half() is in place)
    m = copy.deepcopy(m)
    if spec["dtype"] == "F16":
        m = m.half().double()
    else:
        m = m.float().double()
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
        "weights_dtype": spec["dtype"],
        "batch": B,
        "input_shape": m.input_shape,
        "input_size": D,
        "latent_dim": J,
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


def tensors_for_file(spec):
    m = spec["model"]
    sd = m.state_dict()
    out = []
    for k, v in sd.items():
        a = v.detach().float().numpy()
        if spec["dtype"] == "F16":
            a = v.detach().half().numpy()
        out.append((k, a))
    return out


def check_file(path, fx, m64):
    """Re-read the written file, run the JSON architecture with numpy, compare."""
    tensors, meta = read_safetensors(path)
    arch = json.loads(meta["edgevae"])
    J = arch["latent_dim"]
    x = np.array(fx["x"]).reshape(fx["batch"], -1)
    h = np_forward(arch["encoder"], tensors, x)
    np.testing.assert_allclose(h[:, :J].reshape(-1), fx["encode"]["mean"], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h[:, J:].reshape(-1), fx["encode"]["logvar"], rtol=1e-12, atol=1e-13)
    z = np.array(fx["decode"]["z"]).reshape(fx["batch"], J)
    p = np_forward(arch["decoder"], tensors, z)
    np.testing.assert_allclose(p.reshape(-1), fx["decode"]["params"], rtol=1e-12, atol=1e-13)
    # every weight in the file equals the one the expected outputs were computed with
    for k, v in m64.state_dict().items():
        assert np.array_equal(tensors[k], v.numpy()), k
    # the layout rules of the container
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert (8 + n) % 8 == 0


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for spec in build_models():
        name = spec["name"]
        fx, m64, stats = compute(spec)
        arch = spec["model"].arch()
        meta = {"format": "pt", "edgevae": json.dumps(arch)}
        path = os.path.join(OUT_DIR, f"{name}.safetensors")
        write_safetensors(path, tensors_for_file(spec), meta)
        with open(os.path.join(OUT_DIR, f"{name}.json"), "w") as f:
            json.dump(fx, f, indent=1)
            f.write("\n")
        check_file(path, fx, m64)
        print(f"{name}: {os.path.getsize(path)} B model, "
              f"mean {stats['mean'][0]:+.3f}..{stats['mean'][1]:+.3f}, "
              f"logvar {stats['logvar'][0]:+.3f}..{stats['logvar'][1]:+.3f}, "
              f"params {stats['params'][0]:+.3f}..{stats['params'][1]:+.3f}")
        print(f"   elbo {fx['elbo']['elbo']}")
        print(f"   kl   {fx['elbo']['kl']}")
        print(f"   ll   {fx['log_likelihood']['value']}")
        if name == "gaussian_learned":
            lv = np.array(fx["decode"]["params"]).reshape(B, -1)[:, 2:]
            print(f"   decoder logvar {lv.min():+.3f}..{lv.max():+.3f}")


if __name__ == "__main__":
    sys.exit(main())
