"""Pure ranking of hybrid search: score fusion, lifts for cues, neighbouring context.

Every score here is in [0, 1] and keeps that scale through each step, so ``threshold``
means the same for every query:

- :func:`fuse`: a weighted mean of the dense similarity (cosine, clipped at 0) and the
  keyword score (BM25 over its upper bound for the query, see ``memkit.search._bm25``);
- :func:`lift`: ``s + amount * (1 - s)``, a cue closes part of the gap to 1 and never
  pushes past it (a time cue in ``memkit.search._temporal``);
- :meth:`Timeline.with_context`: a memory inherits a share of its best neighbour's score, the
  memories its entity wrote just before and after it (the turn that asked the question
  next to the turn that answers it; a fact next to the one it qualifies).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = [
    "SESSION_GAP",
    "Placed",
    "Timeline",
    "Weights",
    "fuse",
    "lift",
    "rank",
    "top",
]

# Memories further apart than this are not each other's context: the idle time after
# which web analytics count a new visit. It bounds a "session" of writing.
SESSION_GAP = 30 * 60.0

Score = float | np.ndarray


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


def fuse(dense: Score, keyword: Score, keyword_weight: float) -> Score:
    """Weighted mean of the two calibrated scores, in [0, 1] (numbers or arrays alike)."""
    dense = np.clip(dense, 0.0, 1.0)
    return (1.0 - keyword_weight) * dense + keyword_weight * np.clip(keyword, 0.0, 1.0)


def lift(score: Score, amount: Score) -> Score:
    """Close ``amount`` of the gap between ``score`` and 1."""
    return score + amount * (1.0 - score)


class Timeline:
    """Memories in order: by entity, then creation time, then write order (``seq``).

    Positions are those of ``docs``' iteration order; :attr:`before` and :attr:`after`
    give, for each position, the position of the memory just before and just after it
    in its entity's timeline, or -1 (none, or further than ``gap`` seconds away).

    Example (m0, m1, m2 written by one user a minute apart)::

        t = Timeline(docs)
        t.ids[t.before[t.ids.index("m1")]] == "m0"
    """

    def __init__(self, docs: Mapping[str, Placed], gap: float = SESSION_GAP) -> None:
        self.ids = ids = list(docs)
        size = len(ids)
        codes: dict[tuple[str, ...], int] = {}
        entity = np.fromiter(
            (codes.setdefault(docs[i].entity, len(codes)) for i in ids), np.int64, size
        )
        self.created = created = np.fromiter((docs[i].created_at for i in ids), np.float64, size)
        seq = np.fromiter((docs[i].seq for i in ids), np.int64, size)
        order = np.lexsort((seq, created, entity))
        # Consecutive in that order, same entity, close enough in time: neighbours.
        linked = (entity[order[1:]] == entity[order[:-1]]) & (
            np.abs(created[order[1:]] - created[order[:-1]]) <= gap
        )
        self.before = np.full(size, -1, np.int64)
        self.after = np.full(size, -1, np.int64)
        self.before[order[1:]] = np.where(linked, order[:-1], -1)
        self.after[order[:-1]] = np.where(linked, order[1:], -1)

    def with_context(self, scores: np.ndarray, weight: float) -> np.ndarray:
        """Each score (by position) lifted by ``weight`` times its best neighbour's; NaN
        marks a memory that was not scored, and counts as 0 for its neighbours."""
        known = np.nan_to_num(scores, nan=0.0)
        padded = np.append(known, 0.0)  # position -1 reads the 0 at the end
        best = np.maximum(padded[self.before], padded[self.after])
        return np.asarray(lift(scores, weight * best))


def rank(scores: Mapping[str, float], top_k: int) -> list[tuple[str, float]]:
    """The ``top_k`` best, highest first; ties by id so the order is stable."""
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:top_k]


def top(ids: Sequence[str], scores: np.ndarray, n: int) -> list[tuple[str, float]]:
    """:func:`rank` of scores given by position, NaN for unscored; only the ``n`` best
    (and whatever ties the n-th) are sorted in Python."""
    at = np.flatnonzero(~np.isnan(scores))
    if len(at) > n:
        nth = np.partition(scores[at], len(at) - n)[len(at) - n]
        at = at[scores[at] >= nth]
    return rank({ids[int(i)]: float(scores[i]) for i in at}, n)
