"""What the extractor's model calls cost: per add, and summed over the activity log.

An add records its LLM calls, tokens and waiting time in its activity entry (so a failed
add still shows what it spent); ``Memory.usage()`` totals those entries rather than
keeping counters of its own, so the numbers survive restarts and agree with the log.
"""

from __future__ import annotations

from collections.abc import Mapping

from memkit.store._backend import Backend

__all__ = ["add_counts", "usage_totals"]

USAGE_KEYS = ("llm_calls", "prompt_tokens", "completion_tokens", "llm_ms")


def add_counts(counts: dict[str, int], more: Mapping[str, int]) -> None:
    """Sum into ``counts``: an add that planned twice spent both plans' tokens."""
    for key, value in more.items():
        counts[key] = counts.get(key, 0) + value


def usage_totals(backend: Backend) -> dict[str, int]:
    """adds, llm_calls, prompt_tokens, completion_tokens and llm_ms over every logged add."""
    totals = dict.fromkeys(("adds", *USAGE_KEYS), 0)
    for entry in backend.activity.recent(limit=2**31, kind="add"):
        totals["adds"] += 1
        for key in USAGE_KEYS:
            totals[key] += int(entry["counts"].get(key, 0))
    return totals
