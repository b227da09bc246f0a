"""``LangChainEmbedder``: any LangChain ``Embeddings`` as memkit's embedder."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

__all__ = ["LangChainEmbedder"]


class LangChainEmbedder:
    """memkit's ``Embedder`` protocol over a LangChain ``Embeddings``, so the model a user
    already configured embeds their memories.

    ``name`` identifies the vector space (memkit refuses to mix spaces in one store): by
    default the class and model name of the embeddings; pass ``name=`` when the model is
    not visible on the object. ``dims`` is measured on first use unless given.

    Instantiate (``OpenAIEmbeddings()`` or any other ``Embeddings`` in place of the fake):

    >>> from langchain_core.embeddings import DeterministicFakeEmbedding
    >>> from memkit import Memory
    >>> from langchain_memkit import LangChainEmbedder
    >>> embedder = LangChainEmbedder(DeterministicFakeEmbedding(size=64))
    >>> memory = Memory(embedder=embedder)
    >>> embedder.name, embedder.dims
    ('langchain:DeterministicFakeEmbedding:size=64', 64)

    Add / Search (memkit embeds through it):

    >>> _ = memory.add("Lives in Paris", user_id="alex", infer=False)
    >>> memory.search("Lives in Paris", user_id="alex").results[0].memory
    'Lives in Paris'
    """

    def __init__(
        self, embeddings: Embeddings, *, name: str | None = None, dims: int | None = None
    ) -> None:
        self.embeddings = embeddings
        model = next(
            (
                getattr(embeddings, a)
                for a in ("model", "model_name", "model_id")
                if isinstance(getattr(embeddings, a, None), str)
            ),
            None,
        )
        size = getattr(embeddings, "size", None)
        detail = model or (f"size={size}" if isinstance(size, int) else "default")
        self.name = name or f"langchain:{type(embeddings).__name__}:{detail}"
        self._dims = dims

    @property
    def dims(self) -> int:
        if self._dims is None:
            self._dims = int(self.embed(["dimension probe"]).shape[1])
        return self._dims

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per text (memkit's contract)."""
        if not texts:
            return np.zeros((0, self._dims or 0), dtype=np.float32)
        matrix = np.asarray(self.embeddings.embed_documents(list(texts)), dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(texts):
            raise ValueError(
                f"{type(self.embeddings).__name__} returned {matrix.shape[0]} vectors "
                f"for {len(texts)} texts"
            )
        self._dims = matrix.shape[1]
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        unit: np.ndarray = (matrix / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit
