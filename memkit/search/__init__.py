"""Search: candidates selected by scope and filters (exactly, from the record store, for one
small entity; else from Chroma), BM25 keyword scores, time cues and neighbouring context,
fused into one ranking over a cached per-scope view. Internal: ``Memory.search`` is the way in.
"""
