"""Test doubles that ship with memkit, for its own tests and for users' tests.

:class:`HashEmbedder` embeds with no model; :class:`SyncView` drives an ``AsyncMemory``
through the sync API; :mod:`memkit.testing.openai_server` is a scripted
OpenAI-compatible server on 127.0.0.1, so the LLM path runs for real without a model. The
fake chat models of the frameworks live in ``langchain_memkit.testing`` and
``llamaindex_memkit.testing``.
"""

from memkit.testing._doubles import HashEmbedder, corrupt_index
from memkit.testing._sync_view import SyncView

__all__ = ["HashEmbedder", "SyncView", "corrupt_index"]
