"""``LlamaIndexEmbedder``: a LlamaIndex embedding model as memkit's embedder.

It satisfies memkit's ``Embedder`` protocol (``name``, ``dims``, ``embed``), so the
embedding model a LlamaIndex app already configured serves memkit too (here LlamaIndex's
``MockEmbedding``; ``OpenAIEmbedding(model="text-embedding-3-small")`` works the same):

>>> from llama_index.core.embeddings import MockEmbedding
>>> from memkit import Memory
>>> from llamaindex_memkit import LlamaIndexEmbedder
>>> embedder = LlamaIndexEmbedder(MockEmbedding(embed_dim=16))
>>> memory = Memory(embedder=embedder)
>>> embedder.dims, embedder.embed(["Lives in Paris"]).shape
(16, (1, 16))

memkit embeds memories and queries the same way (symmetric search), so every
text goes through ``get_text_embedding_batch``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

__all__ = ["LlamaIndexEmbedder"]


class LlamaIndexEmbedder:
    """memkit ``Embedder`` over any LlamaIndex ``BaseEmbedding``.

    ``name`` identifies the vector space (memkit refuses to mix spaces in one
    store); it defaults to the model's class and ``model_name``. ``dims`` is asked
    of the model (one probe embedding) the first time it is needed, unless given.
    """

    def __init__(
        self, embed_model: BaseEmbedding, *, name: str | None = None, dims: int | None = None
    ) -> None:
        self.embed_model = embed_model
        self.name = name or f"llamaindex:{embed_model.class_name()}:{embed_model.model_name}"
        self._dims = dims

    @property
    def dims(self) -> int:
        if self._dims is None:
            self._dims = len(self.embed_model.get_text_embedding("dimension probe"))
        return self._dims

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per text."""
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        matrix = np.asarray(
            self.embed_model.get_text_embedding_batch(list(texts)), dtype=np.float32
        )
        self._dims = matrix.shape[1]
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        unit: np.ndarray = (matrix / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit
