#!/usr/bin/env bash
# The Python environment of the PyTorch scripts in models/ (fixtures, exporter, trainings):
# .venv/ with torch, numpy, safetensors, onnx and onnxruntime, installed offline from the
# machine's wheel folders (pip config's find-links and local indexes; see FIELD-NOTES).
# Does nothing when .venv already has them. Usage: bash models/venv.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ] && .venv/bin/python -c "import torch, numpy, safetensors" 2>/dev/null; then exit 0; fi
python3 -m venv .venv
links=()
for dir in /opt/wheels /opt/pypi/files /opt/pypi-more/files; do
  [ -d "$dir" ] && links+=(--find-links "$dir")
done
.venv/bin/pip install --quiet --no-index "${links[@]}" torch numpy safetensors onnx onnxruntime
