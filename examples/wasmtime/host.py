#!/usr/bin/env python3
"""A host without JavaScript: runs an edgevae model on wasmtime (Python embedding, Cranelift).

    python examples/wasmtime/host.py model.evimg [--wasm build/edgevae.wasm] [--items items.json]

The image (made by `edgevae image model.safetensors -o model.evimg`, format in docs/image.md)
holds the wasm memory the SDK left after loading the model, and the kernel calls it makes per
chunk of items. This host instantiates the wasm, restores that memory, writes the items,
replays the encode and elbo programs chunk by chunk and prints, per item, the posterior means
and log-variances and the ELBO, each float32 also as its bit pattern (hex): on the baseline build
they equal, bit for bit, what the JavaScript SDK prints (examples/wasmtime/sdk.mjs).
Needs only the standard library and the `wasmtime` wheel.
"""
import argparse
import hashlib
import importlib.metadata
import json
import struct
import sys

import wasmtime

MAGIC = b"EVIMAGE\0"
PAGE = 65536


class ImageError(Exception):
    pass


def read_image(path):
    """The header (a dict) and the data section (bytes) of an image file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 16 or raw[:8] != MAGIC:
        raise ImageError(f"{path} is not an edgevae image (no EVIMAGE magic)")
    version, size = struct.unpack_from("<II", raw, 8)
    if version != 1:
        raise ImageError(f"{path} is image format version {version}; this host reads version 1")
    header = json.loads(raw[16:16 + size].decode("utf-8"))
    return header, raw[16 + size:]


def number(v):
    # JSON has no Infinity / NaN: the image spells them as strings
    return float(v) if isinstance(v, str) else v


class Host:
    def __init__(self, header, data, wasm_path):
        self.header = header
        with open(wasm_path, "rb") as f:
            wasm = f.read()
        digest = hashlib.sha256(wasm).hexdigest()
        if digest != header["wasm"]["sha256"]:
            raise ImageError(f"the image was built for the {header['wasm']['build']} wasm with SHA-256 "
                             f"{header['wasm']['sha256']}; {wasm_path} has {digest}")
        config = wasmtime.Config()
        config.wasm_simd = True  # edgevae's kernels are SIMD (f32x4)
        self.store = wasmtime.Store(wasmtime.Engine(config))
        module = wasmtime.Module(self.store.engine, wasm)
        self.instance = wasmtime.Instance(self.store, module, self.imports(module))
        self.exports = self.instance.exports(self.store)
        memory = self.exports["memory"]
        have = memory.size(self.store)
        want = header["memory"]["pages"]
        if have > want:
            raise ImageError(f"the wasm starts with {have} pages, more than the image's {want}")
        memory.grow(self.store, want - have)
        for seg in header["memory"]["segments"]:
            memory.write(self.store, data[seg["offset"]:seg["offset"] + seg["length"]], seg["address"])
        self.memory = memory
        # argument types per export, from the header (wasmtime wants int for i32, float for f32/f64)
        self.kinds = {name: [float if t in ("f32", "f64") else int for t in sig["params"]]
                      for name, sig in header["kernels"].items()}

    def imports(self, module):
        """What the module imports. edgevae's builds import nothing; a debug build may import env.abort."""
        out = []
        for imp in module.imports:
            if imp.module == "env" and imp.name == "abort":
                def abort(msg, file, line, col):
                    raise RuntimeError(f"wasm abort at line {line}, column {col}")
                ty = wasmtime.FuncType([wasmtime.ValType.i32()] * 4, [])
                out.append(wasmtime.Func(self.store, ty, abort))
            else:
                raise ImageError(f"the wasm imports {imp.module}.{imp.name}, which this host does not provide")
        return out

    def run(self, name, inputs):
        """Runs program `name` over all items of `inputs` (name -> list of float rows); returns name -> bytes of f32."""
        p = self.header["programs"][name]
        first = p["inputs"][0]
        n = len(inputs[first["name"]])
        outputs = {r["name"]: bytearray() for r in p["outputs"]}
        funcs = [self.exports[call[0]] for call in p["calls"]]
        for c in range((n + p["items"] - 1) // p["items"]):
            items = min(p["items"], n - c * p["items"])
            for r in p["inputs"]:
                rows = inputs[r["name"]][c * p["items"]:c * p["items"] + items]
                flat = [v for row in rows for v in row]
                if len(flat) != items * r["per_item"]:
                    raise ImageError(f"{name}: each item of {r['name']} must hold {r['per_item']} values")
                flat += [0.0] * (r["floats"] - len(flat))  # the last chunk is padded; its results are dropped
                self.memory.write(self.store, struct.pack(f"<{len(flat)}f", *flat), r["address"])
            args = [[number(v) for v in call[1:]] for call in p["calls"]]
            for i, j, delta in p["per_chunk"]:
                args[i][j] += c * delta
            for call, fn, a in zip(p["calls"], funcs, args):
                fn(self.store, *[kind(v) for kind, v in zip(self.kinds[call[0]], a)])
            for r in p["outputs"]:
                outputs[r["name"]] += self.memory.read(self.store, r["address"], r["address"] + 4 * items * r["per_item"])
        return outputs


def floats(raw):
    return struct.unpack(f"<{len(raw) // 4}f", raw)


def bits(raw):
    return [f"{w:08x}" for w in struct.unpack(f"<{len(raw) // 4}I", raw)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("image", help="an image made by `edgevae image` (docs/image.md)")
    ap.add_argument("--wasm", default="build/edgevae.wasm", help="the wasm build the image names (default build/edgevae.wasm)")
    ap.add_argument("--items", default="examples/wasmtime/mnist16.json", help="a JSON array of items (rows of input_size numbers)")
    a = ap.parse_args()
    try:
        header, data = read_image(a.image)
        host = Host(header, data, a.wasm)
        with open(a.items) as f:
            items = json.load(f)
        D, J = header["model"]["input_size"], header["model"]["latent_dim"]
        if not items or any(len(row) != D for row in items):
            raise ImageError(f"{a.items}: every item must hold {D} values (input_shape {header['model']['input_shape']})")
        enc = host.run("encode", {"x": items})
        elbo = host.run("elbo", {"x": items})
    except (ImageError, OSError, ValueError, wasmtime.WasmtimeError) as err:
        print(f"host.py: {err}", file=sys.stderr)
        sys.exit(1)
    opts = header["programs"]["elbo"]["options"]
    print(f"# wasmtime {importlib.metadata.version('wasmtime')} (Python, no JavaScript), "
          f"{header['wasm']['build']} build: {len(items)} items, latent {J}, "
          f"ELBO seed {opts['seed']} samples {opts['samples']} beta {opts['beta']}")
    mean, logvar, e = enc["mean"], enc["logvar"], elbo["elbo"]
    for i in range(len(items)):
        row = slice(4 * J * i, 4 * J * (i + 1))
        print(f"item {i} elbo {floats(e[4 * i:4 * i + 4])[0]:.6f} bits {bits(e[4 * i:4 * i + 4])[0]}")
        print(f"item {i} mean " + " ".join(f"{v:.6f}" for v in floats(mean[row])))
        print(f"item {i} mean bits " + " ".join(bits(mean[row])))
        print(f"item {i} logvar bits " + " ".join(bits(logvar[row])))


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:  # e.g. piped into head
        sys.exit(0)
