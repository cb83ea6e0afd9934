#!/usr/bin/env python3
"""Fashion-MNIST VAEs trained in PyTorch and exported with models/edgevae_torch.py.

    .venv/bin/python models/train_fashion_pytorch.py --model conv --epochs N [--seed 0 --batch 128 --lr 1e-3]
    .venv/bin/python models/train_fashion_pytorch.py --model mlp  --epochs N
    .venv/bin/python models/train_fashion_pytorch.py --model conv --time-epoch   # measure one epoch, write nothing
    .venv/bin/python models/train_fashion_pytorch.py --test16                    # models/fashion-test16.json only

Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist): the 60,000 training
images train, the 10,000 test images are held out (never trained on). Pixels are byte/255 in
[0, 1], not binarised; Bernoulli likelihood on those intensities (binary cross-entropy with
logits, summed over the 784 pixels). Loss: -ELBO (one sample per item), mean over the batch;
Adam; PyTorch's default initialisation; float32; 2 threads; reshuffled each epoch from a seeded
generator.

Models (latent 16):
  conv  the Keras "Variational AutoEncoder" example's architecture with latent 16:
        encoder Conv2d(1,32,3,s2,"same") ReLU Conv2d(32,64,3,s2,"same") ReLU Flatten
        Linear(3136,16) ReLU Linear(16,32); decoder Linear(16,3136) ReLU Unflatten(64,7,7)
        ConvTranspose2d(64,64,3,s2,p1,op1) ReLU ConvTranspose2d(64,32,3,s2,p1,op1) ReLU
        ConvTranspose2d(32,1,3,p1) -> logits. Keras's "same" with stride 2 on 28 (and 14) pads
        [top 0, left 0, bottom 1, right 1]: written as nn.ZeroPad2d((0, 1, 0, 1)) before an
        unpadded Conv2d, which the exporter folds into the conv's 4-value padding. The decoder's
        transposed convolutions use PyTorch's alignment (padding 1, output_padding 1), which
        is one pixel shifted from Keras's Conv2DTranspose(3, 2, "same").
  mlp   784-512-256-(2x16) / 16-256-512-784, ReLU.

Writes models/fashion-<model>.safetensors and models/fashion-<model>.log.json (command, seed,
epochs, per-epoch train and held-out ELBO, time, and a PyTorch evaluation on all 10,000 test
images: ELBO with 1 and 10 samples, importance-weighted log p(x) with k = 1000). The trained
weights are also kept as a state_dict checkpoint (--checkpoint) so --from-checkpoint can
re-export and re-evaluate without training again.
"""

import argparse
import gzip
import json
import math
import os
import shlex
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from edgevae_torch import export_vae, read_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/usr/share/datasets/fashion-mnist"
J = 16
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load():
    xtr = read_idx("train-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    xte = read_idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    yte = read_idx("t10k-labels-idx1-ubyte.gz")
    return torch.from_numpy(xtr.reshape(-1, 1, 28, 28)), torch.from_numpy(xte.reshape(-1, 1, 28, 28)), yte


class VAE(nn.Module):
    def __init__(self, encoder, decoder, flat_input):
        super().__init__()
        self.encoder, self.decoder, self.flat_input = encoder, decoder, flat_input

    def encode(self, x):
        h = self.encoder(x.reshape(x.shape[0], -1) if self.flat_input else x)
        return h[:, :J], h[:, J:]

    def logits(self, z):
        return self.decoder(z).reshape(z.shape[0], -1)


def build(kind, hidden=16):
    if kind == "conv":
        # hidden: the Keras example's Dense(16) between the flattened features and the latent
        # heads; 0 drops it (Linear(3136, 2J) directly), which the 16-wide bottleneck otherwise limits
        head = [nn.Linear(3136, hidden), nn.ReLU(), nn.Linear(hidden, 2 * J)] if hidden > 0 else [nn.Linear(3136, 2 * J)]
        enc = nn.Sequential(
            nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(1, 32, 3, stride=2), nn.ReLU(),
            nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(32, 64, 3, stride=2), nn.ReLU(),
            nn.Flatten(), *head)
        dec = nn.Sequential(
            nn.Linear(J, 7 * 7 * 64), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
            nn.ConvTranspose2d(64, 64, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(32, 1, 3, padding=1))
        return VAE(enc, dec, flat_input=False)
    enc = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 2 * J))
    dec = nn.Sequential(nn.Linear(J, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 784))
    return VAE(enc, dec, flat_input=True)


def log_px_z(logits, x):
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


def elbo_terms(m, x, eps):
    """x (B,1,28,28), eps (B,S,J) -> per item recon (mean over S), kl."""
    mean, logvar = m.encode(x)
    B, S, _ = eps.shape
    z = mean[:, None] + torch.exp(0.5 * logvar)[:, None] * eps
    lg = m.logits(z.reshape(B * S, J)).reshape(B, S, -1)
    recon = log_px_z(lg, x.reshape(B, 1, -1).expand(B, S, 784)).mean(1)
    kl = 0.5 * (mean ** 2 + torch.exp(logvar) - 1 - logvar).sum(1)
    return recon, kl


def heldout_elbo(m, xte, S, seed, chunk=500):
    g = torch.Generator().manual_seed(seed)
    rs, ks = [], []
    with torch.no_grad():
        for i in range(0, xte.shape[0], chunk):
            xb = xte[i:i + chunk]
            r, k = elbo_terms(m, xb, torch.randn(xb.shape[0], S, J, generator=g))
            rs.append(r)
            ks.append(k)
    r, k = torch.cat(rs).double(), torch.cat(ks).double()
    return r - k, r, k


def iw_log_px(m, xte, k, seed, rows=4000, log_every=1000):
    """Importance-weighted log p(x), k samples per item, `rows` decoder rows per call."""
    g = torch.Generator().manual_seed(seed)
    per = max(1, rows // k)
    out = []
    t0 = time.time()
    c = 0.5 * math.log(2 * math.pi)
    with torch.no_grad():
        for i in range(0, xte.shape[0], per):
            xb = xte[i:i + per]
            B = xb.shape[0]
            mean, logvar = m.encode(xb)
            std = torch.exp(0.5 * logvar)
            eps = torch.randn(B, k, J, generator=g)
            z = mean[:, None] + std[:, None] * eps
            lg = m.logits(z.reshape(B * k, J)).reshape(B, k, 784)
            lpxz = log_px_z(lg, xb.reshape(B, 1, 784).expand(B, k, 784)).double()
            lpz = (-0.5 * z.double() ** 2 - c).sum(-1)
            lqz = (-0.5 * eps.double() ** 2 - c - 0.5 * logvar.double()[:, None]).sum(-1)
            out.append(torch.logsumexp(lpxz + lpz - lqz, 1) - math.log(k))
            if log_every and (i + per) % log_every < per:
                print(f"   iw k={k}: {i + B} items, {time.time() - t0:.0f}s", flush=True)
    return torch.cat(out)


def write_test16():
    xte = read_idx("t10k-images-idx3-ubyte.gz")[:16]
    yte = read_idx("t10k-labels-idx1-ubyte.gz")[:16]
    doc = {
        "description": "The first 16 images of the Fashion-MNIST test set (t10k, held out from training of "
                       "models/fashion-*.safetensors), pixel byte / 255, one item = 784 values in row-major "
                       "[1, 28, 28] order. Source: Debian dataset-fashion-mnist, "
                       "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz.",
        "generator": "models/train_fashion_pytorch.py --test16",
        "shape": [1, 28, 28], "count": 16,
        "labels": [int(v) for v in yte], "label_names": [LABELS[int(v)] for v in yte],
        "bytes": [[int(v) for v in img.reshape(-1)] for img in xte],
        "x": [[float(np.float32(v) / np.float32(255.0)) for v in img.reshape(-1)] for img in xte],
    }
    path = os.path.join(ROOT, "models", "fashion-test16.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["conv", "mlp"], default="conv")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--hidden", type=int, default=16, help="conv: width of the dense layer before the latent heads (Keras: 16); 0: none")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--eval-items", type=int, default=10000)
    ap.add_argument("--out", default=None)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--from-checkpoint", action="store_true")
    ap.add_argument("--time-epoch", action="store_true")
    ap.add_argument("--export-only", action="store_true", help="with --from-checkpoint: re-export the file, no evaluation")
    ap.add_argument("--test16", action="store_true")
    ap.add_argument("--note", default="", help="recorded in the log (e.g. the measured epoch time behind --epochs)")
    args = ap.parse_args()
    if args.test16:
        return write_test16()
    torch.set_num_threads(2)
    out = args.out or os.path.join(ROOT, "models", f"fashion-{args.model}.safetensors")
    ckpt = args.checkpoint or f"/tmp/edgevae-fashion-{args.model}.pt"
    cmd = shlex.join([".venv/bin/python", "models/train_fashion_pytorch.py"] +
                     [a for a in sys.argv[1:] if a not in ("--from-checkpoint", "--export-only")])
    torch.manual_seed(args.seed)
    m = build(args.model, args.hidden)
    xtr, xte, _ = load()
    print(f"# {cmd}\n# torch {torch.__version__}, {torch.get_num_threads()} threads, train {xtr.shape[0]}, "
          f"held-out {xte.shape[0]}, params {sum(p.numel() for p in m.parameters())}", flush=True)

    if args.from_checkpoint:
        saved = torch.load(ckpt, map_location="cpu")
        m.load_state_dict(saved["state_dict"])
        log = saved["log"]
        train_seconds = saved["train_seconds"]
    else:
        opt = torch.optim.Adam(m.parameters(), lr=args.lr)
        gen = torch.Generator().manual_seed(args.seed)
        log = []
        t0 = time.time()
        epochs = 1 if args.time_epoch else args.epochs
        for epoch in range(1, epochs + 1):
            m.train()
            perm = torch.randperm(xtr.shape[0], generator=gen)
            tot, n = 0.0, 0
            te = time.time()
            for i in range(0, xtr.shape[0], args.batch):
                xb = xtr[perm[i:i + args.batch]]
                r, k = elbo_terms(m, xb, torch.randn(xb.shape[0], 1, J, generator=gen))
                e = r - k
                loss = -e.mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                tot += e.sum().item()
                n += xb.shape[0]
            train_s = time.time() - te
            m.eval()
            he, hr, hk = heldout_elbo(m, xte, 1, seed=12345)
            entry = {"epoch": epoch, "train_elbo": tot / n, "heldout_elbo": he.mean().item(),
                     "heldout_recon": hr.mean().item(), "heldout_kl": hk.mean().item(),
                     "epoch_train_seconds": round(train_s, 2), "seconds": round(time.time() - t0, 2)}
            log.append(entry)
            print(f"epoch {epoch:3d}/{epochs}  train ELBO {entry['train_elbo']:.3f}  held-out ELBO {entry['heldout_elbo']:.3f} "
                  f"(recon {entry['heldout_recon']:.3f}, KL {entry['heldout_kl']:.3f})  epoch {train_s:.1f}s  t {entry['seconds']:.0f}s",
                  flush=True)
        train_seconds = time.time() - t0
        if args.time_epoch:
            print(f"one epoch: {log[0]['epoch_train_seconds']}s of training (+ held-out ELBO)")
            return
        torch.save({"state_dict": m.state_dict(), "log": log, "train_seconds": train_seconds}, ckpt)

    # export with the one mapping, and check the file holds exactly the trained weights
    m.eval()
    meta = {"edgevae_training": json.dumps({
        "command": cmd, "framework": f"pytorch {torch.__version__}", "data": "fashion-mnist (Debian), 60000 train / 10000 test held out",
        "epochs": args.epochs, "batch": args.batch, "lr": args.lr, "seed": args.seed,
        "final_heldout_elbo": round(log[-1]["heldout_elbo"], 4)})}
    arch = export_vae(m.encoder, m.decoder, out, [1, 28, 28], J, {"type": "bernoulli"}, metadata=meta)
    tensors, _ = read_safetensors(out)
    sd = m.state_dict()
    assert set(tensors) == {k for k in sd if sd[k].is_floating_point()}, (sorted(tensors), sorted(sd))
    for k, v in tensors.items():
        assert np.array_equal(v, sd[k].double().numpy()), k
    print(f"wrote {out} (FORMAT version {arch['version']}, {os.path.getsize(out)} bytes)", flush=True)
    if args.export_only:
        return
    if args.model == "conv":  # the same function; PyTorch's CPU convolutions are faster in NHWC
        m = m.to(memory_format=torch.channels_last)

    # evaluation on the held-out test images
    xe = xte[:args.eval_items]
    ev = {"items": int(xe.shape[0]), "noise": "torch.randn, generator seeds 1 (S=1), 10 (S=10), 1000 (iw)"}
    t = time.time()
    e1, r1, k1 = heldout_elbo(m, xe, 1, seed=1)
    ev.update({"elbo_S1": e1.mean().item(), "recon_S1": r1.mean().item(), "kl": k1.mean().item(),
               "elbo_S1_stderr": (e1.std() / math.sqrt(len(e1))).item()})
    e10, r10, _ = heldout_elbo(m, xe, 10, seed=10, chunk=200)
    ev.update({"elbo_S10": e10.mean().item(), "recon_S10": r10.mean().item(), "elbo_seconds": round(time.time() - t, 2)})
    print(f"held-out ELBO S=1 {ev['elbo_S1']:.3f}, S=10 {ev['elbo_S10']:.3f} (KL {ev['kl']:.3f})", flush=True)
    write_log(args, cmd, m, arch, out, train_seconds, log, ev, None)
    t = time.time()
    ll = iw_log_px(m, xe, args.k, seed=1000)
    ev.update({f"log_px_iw_k{args.k}": ll.mean().item(), f"log_px_iw_k{args.k}_stderr": (ll.std() / math.sqrt(len(ll))).item(),
               "iw_seconds": round(time.time() - t, 1)})
    first16 = {"elbo_S10": [round(v, 4) for v in e10[:16].tolist()], f"log_px_iw_k{args.k}": [round(v, 4) for v in ll[:16].tolist()]}
    print(f"held-out log p(x) (iw, k={args.k}) {ev[f'log_px_iw_k{args.k}']:.3f} in {ev['iw_seconds']}s", flush=True)
    write_log(args, cmd, m, arch, out, train_seconds, log, ev, first16)


def write_log(args, cmd, m, arch, out, train_seconds, log, ev, first16):

    doc = {
        "command": cmd,
        "framework": f"pytorch {torch.__version__} (CPU, {torch.get_num_threads()} threads), float32",
        "data": "Fashion-MNIST (Debian dataset-fashion-mnist): 60,000 train images; the 10,000 test images held out. "
                "Pixels byte/255 in [0,1], Bernoulli likelihood on the intensities.",
        "model": args.model,
        "architecture": (("Keras VAE example, latent 16" if args.hidden == 16 else
                          f"Keras VAE example, latent 16, with {'no dense layer' if args.hidden == 0 else f'a {args.hidden}-wide dense layer'} between the flattened conv features and the latent heads (Keras: 16)")
                         + "; encoder 'same' stride-2 padding as Keras's [top 0, left 0, bottom 1, "
                         "right 1] via nn.ZeroPad2d((0,1,0,1)) folded into the conv; decoder ConvTranspose2d(k3, s2, "
                         "padding 1, output_padding 1) (PyTorch alignment, not Keras's Conv2DTranspose 'same')"
                         if args.model == "conv" else "MLP 784-512-256-(2x16) / 16-256-512-784, ReLU"),
        "parameters": int(sum(p.numel() for p in m.parameters())),
        "seed": args.seed, "epochs": args.epochs, "batch": args.batch, "lr": args.lr,
        "optimizer": "Adam(0.9, 0.999, eps 1e-8), constant lr, one sample per item, loss = -mean ELBO",
        "init": "PyTorch default",
        "epoch_choice": "epochs picked from a measured epoch time so that training stays within about 15 minutes of wall time. "
                        + args.note,
        "train_seconds": round(train_seconds, 1),
        "epoch_log": log,
        "pytorch_evaluation": ev,
        "first16_test_images": first16 if first16 is not None else "pending: importance-weighted evaluation still running",
        "file": os.path.relpath(out, ROOT),
        "format_version": arch["version"],
    }
    with open(os.path.splitext(out)[0] + ".log.json", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.splitext(out)[0]}.log.json")


if __name__ == "__main__":
    main()
