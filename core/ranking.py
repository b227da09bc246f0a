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
from typing import Protocol

import numpy as np

__all__ = [
    "SESSION_GAP",
    "Placed",
    "Timeline",
    "Weights",
    "best_ids",
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


class Timeline:
    """Memories in order: by entity, then creation time, then write order (``seq``).

    Example::

        Timeline(docs).neighbours(["m1"]) == {"m1": ("m0", "m2")}
    """

    def __init__(self, docs: Mapping[str, Placed], gap: float = SESSION_GAP) -> None:
        self._ids = ids = list(docs)
        self._gap = gap
        codes: dict[tuple[str, ...], int] = {}
        self._entity = np.fromiter(
            (codes.setdefault(docs[i].entity, len(codes)) for i in ids), np.int64, len(ids)
        )
        self._created = np.fromiter((docs[i].created_at for i in ids), np.float64, len(ids))
        seq = np.fromiter((docs[i].seq for i in ids), np.int64, len(ids))
        self._order = np.lexsort((seq, self._created, self._entity))
        self._place = np.empty_like(self._order)
        self._place[self._order] = np.arange(len(ids))
        self._position = {memory_id: n for n, memory_id in enumerate(ids)}

    def neighbours(self, of: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """id -> the memories of the same entity just before and just after it, no more
        than ``gap`` seconds away (ids not in the timeline are left out)."""
        out: dict[str, tuple[str, ...]] = {}
        size = len(self._ids)
        for memory_id in of:
            n = self._position.get(memory_id)
            if n is None:
                continue
            found = []
            for at in (int(self._place[n]) - 1, int(self._place[n]) + 1):
                if 0 <= at < size:
                    other = int(self._order[at])
                    if (
                        self._entity[other] == self._entity[n]
                        and abs(self._created[other] - self._created[n]) <= self._gap
                    ):
                        found.append(self._ids[other])
            out[memory_id] = tuple(found)
        return out


def timeline_neighbours(
    docs: Mapping[str, Placed], of: Iterable[str] | None = None, gap: float = SESSION_GAP
) -> dict[str, tuple[str, ...]]:
    """``Timeline(docs, gap).neighbours(of)``, for every doc when ``of`` is None."""
    return Timeline(docs, gap).neighbours(docs if of is None else of)


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
