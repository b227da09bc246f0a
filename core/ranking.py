"""Pure ranking of hybrid search: score fusion, lifts for cues, neighbouring context.

Every score here is in [0, 1] and keeps that scale through each step, so ``threshold``
means the same for every query:

- :func:`fuse`: a weighted mean of the dense similarity (cosine, clipped at 0) and the
  keyword score (BM25 over its upper bound for the query, see ``memkit.keywords``);
- :func:`lift`: ``s + amount * (1 - s)``, a cue closes part of the gap to 1 and never
  pushes past it (a time cue in ``memkit.temporal``);
- :func:`with_context`: a memory inherits a share of its best neighbour's score, the
  memories its entity wrote just before and after it (the turn that asked the question
  next to the turn that answers it; a fact next to the one it qualifies).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Protocol

__all__ = [
    "SESSION_GAP",
    "Placed",
    "Weights",
    "fuse",
    "lift",
    "rank",
    "timeline_neighbours",
    "with_context",
]

# Memories further apart than this are not each other's context: the idle time after
# which web analytics count a new visit. It bounds a "session" of writing.
SESSION_GAP = 30 * 60.0


@dataclass(frozen=True)
class Weights:
    """How much each signal counts; each is a share in [0, 1].

    ``keyword``: the keyword score's share of the fused score (the dense score has the
    rest); ``context``: the share of a neighbour's score a memory inherits; ``time``: how
    far a time cue lifts a score towards 1.
    """

    keyword: float = 0.5
    context: float = 0.3
    time: float = 0.1


class Placed(Protocol):
    """A memory's place in its entity's timeline."""

    @property
    def entity(self) -> tuple[str, ...]: ...

    @property
    def created_at(self) -> float: ...

    @property
    def seq(self) -> int: ...


def fuse(dense: float, keyword: float, keyword_weight: float) -> float:
    """Weighted mean of the two calibrated scores, in [0, 1]."""
    dense = min(max(dense, 0.0), 1.0)
    return (1.0 - keyword_weight) * dense + keyword_weight * min(max(keyword, 0.0), 1.0)


def lift(score: float, amount: float) -> float:
    """Close ``amount`` of the gap between ``score`` and 1."""
    return score + amount * (1.0 - score)


def timeline_neighbours(
    docs: Mapping[str, Placed], gap: float = SESSION_GAP
) -> dict[str, tuple[str, ...]]:
    """id -> the memories of the same entity written just before and just after it.

    Order is creation time, then write order (``seq``); neighbours more than ``gap``
    seconds apart are not neighbours.
    """
    ordered = sorted(docs, key=lambda i: (docs[i].entity, docs[i].created_at, docs[i].seq))
    out: dict[str, list[str]] = {i: [] for i in ordered}
    for before, after in pairwise(ordered):
        a, b = docs[before], docs[after]
        if a.entity == b.entity and b.created_at - a.created_at <= gap:
            out[before].append(after)
            out[after].append(before)
    return {i: tuple(n) for i, n in out.items()}


def with_context(
    scores: Mapping[str, float], neighbours: Mapping[str, Sequence[str]], weight: float
) -> dict[str, float]:
    """Each score lifted by ``weight`` times its best neighbour's (unknown counts as 0)."""
    out: dict[str, float] = {}
    for memory_id, score in scores.items():
        best = max((scores.get(j, 0.0) for j in neighbours.get(memory_id, ())), default=0.0)
        out[memory_id] = lift(score, weight * best)
    return out


def rank(scores: Mapping[str, float], top_k: int) -> list[tuple[str, float]]:
    """The ``top_k`` best, highest first; ties by id so the order is stable."""
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:top_k]


def best_ids(scores: Mapping[str, float], n: int) -> Iterable[str]:
    return (memory_id for memory_id, _ in rank(scores, n))
