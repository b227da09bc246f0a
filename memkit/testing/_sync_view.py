"""Driving an ``AsyncMemory`` through the sync API, so one test body checks both classes.

memkit's own suite runs most behaviour tests on ``Memory`` and ``AsyncMemory`` alike; a
user's tests of code that takes either can do the same.
"""

from __future__ import annotations

import asyncio
from typing import Any

from memkit._async_memory import AsyncMemory

__all__ = ["SyncView"]


class SyncView:
    """Each awaited method of ``memory`` as a plain call (``asyncio.run`` per call);
    ``sync`` is the wrapped ``Memory``.

        >>> view = SyncView(AsyncMemory(path=":memory:"))  # doctest: +SKIP
        >>> view.add("I like tea", user_id="alex", infer=False)  # doctest: +SKIP
    """

    def __init__(self, memory: AsyncMemory) -> None:
        self._memory = memory
        self.sync = memory.sync

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._memory, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return asyncio.run(method(*args, **kwargs))

        return call
