"""LlamaIndexEmbedder: a LlamaIndex embedding model serving as memkit's embedder."""

from __future__ import annotations

import numpy as np
from llama_index.core.embeddings import MockEmbedding

from llamaindex_memkit import LlamaIndexEmbedder
from memkit import Memory


def test_satisfies_memkits_embedder_protocol():
    embedder = LlamaIndexEmbedder(MockEmbedding(embed_dim=8))
    assert embedder.name == "llamaindex:MockEmbedding:unknown"
    assert embedder.dims == 8
    vectors = embedder.embed(["likes tea", "lives in Paris"])
    assert vectors.shape == (2, 8) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    assert embedder.embed([]).shape == (0, 8)
    assert LlamaIndexEmbedder(MockEmbedding(embed_dim=4), name="mine", dims=4).name == "mine"


def test_memory_runs_on_a_llamaindex_embedding():
    memory = Memory(embedder=LlamaIndexEmbedder(MockEmbedding(embed_dim=16)))
    memory.add("I live in Paris", user_id="alex")
    memory.add("I live in Oslo", user_id="bob")
    hits = memory.search("where do I live?", user_id="alex").results
    assert [h.memory for h in hits] == ["Lives in Paris"]
    memory.close()
