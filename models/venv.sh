#!/usr/bin/env bash
# The Python environment of the scripts in models/ (fixtures, exporter, trainings) and of the
# wasmtime host (examples/wasmtime/host.py): .venv/ with torch, numpy, safetensors, onnx,
# onnxruntime and wasmtime, installed offline from the machine's wheel folders (pip config's
# find-links and local indexes; see FIELD-NOTES). Does nothing when .venv already has them.
#   bash models/venv.sh            everything
#   bash models/venv.sh wasmtime   only the wasmtime wheel (what npm test's wasmtime host needs; .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "wasmtime" ]; then packages=(wasmtime); check="import wasmtime"
else packages=(torch numpy safetensors onnx onnxruntime wasmtime); check="import torch, numpy, safetensors, wasmtime"; fi
if [ -x .venv/bin/python ] && .venv/bin/python -c "$check" 2>/dev/null; then exit 0; fi
[ -x .venv/bin/python ] || python3 -m venv .venv
links=()
for dir in /opt/wheels /opt/pypi/files /opt/pypi-more/files; do
  [ -d "$dir" ] && links+=(--find-links "$dir")
done
.venv/bin/pip install --quiet --no-index "${links[@]}" "${packages[@]}"
