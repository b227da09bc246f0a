"""What hybrid search promises, pinned end to end: each ranking feature changes the top hit.

Every test asserts the top hit twice through the public ``Memory.search``: with the
feature on, and with it switched off (the function computing it monkeypatched to
contribute nothing), where another memory must win. So a feature that silently stops
working fails a test here, not only its unit tests.

The store's clock is injected (``Memory(clock=...)``) and memories are dated with
``add(timestamp=...)``: relative cues ("last week") are anchored at ``NOW``, and no test
sleeps or reads the wall clock. Memories that are not meant to be each other's context are
written days apart (neighbours are memories within ``ranking.SESSION_GAP``).

Only the keyword test depends on what texts mean and uses the default embedder; the others
use ``HashEmbedder`` (bags of hashed words), whose scores the texts here were chosen for.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from memkit import Memory
from memkit.search import _hybrid as hybrid
from memkit.search._ranking import SESSION_GAP, Timeline
from memkit.testing import HashEmbedder

NOW = datetime(2025, 3, 12, 15, tzinfo=UTC)  # a Wednesday afternoon


def at(year: int, month: int, day: int) -> float:
    return datetime(year, month, day, 12, tzinfo=UTC).timestamp()


def ago(**delta: float) -> float:
    return (NOW - timedelta(**delta)).timestamp()


def store(path: Path, *, semantic: bool = False) -> Memory:
    """A store whose clock stands still at NOW; ``semantic`` for the default embedder."""
    embedder = None if semantic else HashEmbedder()
    return Memory(path / "store", embedder=embedder, clock=lambda: NOW.timestamp())


def write(memory: Memory, dated: Iterable[tuple[str, float]], user_id: str = "u") -> None:
    for text, timestamp in dated:
        memory.add(text, user_id=user_id, infer=False, timestamp=timestamp)


def top(memory: Memory, query: str, user_id: str = "u") -> str:
    return memory.search(query, user_id=user_id).results[0].memory


# Each feature switched off where hybrid search computes it.
def no_keywords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hybrid, "bm25", lambda terms, held, lengths: np.zeros(len(lengths)))


def no_named_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hybrid, "named_periods", lambda query, now: [])


def no_when_cue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hybrid, "asks_when", lambda query: False)


def no_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Timeline, "with_context", lambda self, scores, weight: scores)


# ---- keywords: BM25 ---------------------------------------------------------------------


def test_a_rare_exact_keyword_beats_a_semantically_closer_memory(tmp_path, monkeypatch):
    keyword = "Migraines run in my family"
    closer = "For headaches the doctor prescribed pills that work well"  # to the embedder
    others = ["Plays the cello on Sundays", "Lives near the harbour", "Has two cats"]
    with store(tmp_path, semantic=True) as memory:
        write(memory, [(t, ago(days=30 + 3 * n)) for n, t in enumerate([keyword, closer, *others])])
        query = "What do I take for migraines?"
        assert top(memory, query) == keyword
        no_keywords(monkeypatch)
        assert top(memory, query) == closer


# ---- time cues: the period a query names ------------------------------------------------

# The memory written in the named period is lifted past one that matches a little better
# by itself (shorter: BM25 and the hashed words both favour it) but was written outside.
IN_PERIOD, OUTSIDE = "Went to a concert again", "Went to a concert"


NAMED_PERIODS = [
    # every pattern of memkit.search._temporal, each relative one counted back from NOW
    ("on 2023-07-07", at(2023, 7, 7), at(2023, 7, 9)),
    ("on 7 July, 2023", at(2023, 7, 7), at(2023, 7, 9)),
    ("on July 7th 2023", at(2023, 7, 7), at(2023, 7, 9)),
    ("in July 2023", at(2023, 7, 20), at(2023, 8, 3)),
    ("in July", at(2019, 7, 10), at(2019, 8, 10)),  # that month of any year
    ("in 2023", at(2023, 5, 1), at(2024, 5, 1)),
    ("3 weeks ago", ago(days=21), ago(days=50)),
    ("two months ago", ago(days=60), ago(days=120)),
    ("last week", ago(days=9), ago(days=20)),
    ("previous week", ago(days=9), ago(days=20)),
    ("last weekend", ago(days=9), ago(days=20)),
    ("this week", ago(days=3), ago(days=10)),
    ("past week", ago(days=3), ago(days=10)),
    ("past month", ago(days=25), ago(days=40)),
    ("past year", ago(days=300), ago(days=400)),
    ("last month", at(2025, 2, 10), at(2025, 1, 20)),
    ("this month", at(2025, 3, 2), at(2025, 2, 25)),
    ("last year", at(2024, 6, 1), at(2023, 6, 1)),
    ("this year", at(2025, 1, 10), at(2024, 12, 20)),
    ("yesterday", ago(days=1), ago(days=3)),
    ("last night", ago(days=1), ago(days=3)),
    ("today", ago(hours=3), ago(days=2)),
    ("tonight", ago(hours=3), ago(days=2)),
    ("this morning", ago(hours=3), ago(days=2)),
    ("this evening", ago(hours=3), ago(days=2)),
]


@pytest.mark.parametrize(
    ("phrase", "inside", "outside"), NAMED_PERIODS, ids=[p for p, _, _ in NAMED_PERIODS]
)
def test_a_memory_written_in_the_named_period_ranks_first(
    tmp_path, monkeypatch, phrase, inside, outside
):
    with store(tmp_path) as memory:
        write(memory, [(OUTSIDE, outside), (IN_PERIOD, inside)])
        query = f"Which concert did I go to {phrase}?"
        assert top(memory, query) == IN_PERIOD
        no_named_periods(monkeypatch)
        assert top(memory, query) == OUTSIDE


# ---- time cues: a "when" question -------------------------------------------------------

SAYS_WHEN, SAYS_NOTHING = "Went to a concert yesterday", "Went to a concert"


@pytest.mark.parametrize(
    "question",
    [
        # every form memkit.search._temporal.asks_when knows; none names a period
        "When did I go to a concert?",
        "So when did I go to a concert?",
        "Since when do I go to concerts?",
        "Until when did I go to concerts?",
        "How long ago did I go to a concert?",
        *(f"How many {unit} ago did I go to a concert?" for unit in ("years", "months")),
        *(f"How many {unit} ago did I go to a concert?" for unit in ("weeks", "days")),
        "How old was I at the concert?",
        *(f"What {unit} did I go to a concert?" for unit in ("year", "month", "day")),
        *(f"What {unit} did I go to a concert?" for unit in ("date", "time", "season")),
        *(f"Which {unit} did I go to a concert?" for unit in ("year", "month", "day", "date")),
    ],
)
def test_a_memory_that_says_when_answers_a_when_question(tmp_path, monkeypatch, question):
    with store(tmp_path) as memory:
        # Neither memory was written in a period the question could name.
        write(memory, [(SAYS_NOTHING, ago(days=30)), (SAYS_WHEN, ago(days=40))])
        assert top(memory, question) == SAYS_WHEN
        no_when_cue(monkeypatch)
        assert top(memory, question) == SAYS_NOTHING


def test_both_time_cues_add_up(tmp_path, monkeypatch):
    """A memory with both cues beats better matches that have one each; without either
    cue, the memory with the other one wins."""
    both = "Went to a concert again yesterday"
    says_when, in_period = "Went to a concert yesterday", "Went to a concert again"
    query = "When did I go to a concert last week?"
    with store(tmp_path) as memory:
        write(memory, [(says_when, ago(days=40)), (in_period, ago(days=9, hours=5))])
        write(memory, [(both, ago(days=8))])
        assert top(memory, query) == both
        with monkeypatch.context() as patch:
            no_when_cue(patch)
            assert top(memory, query) == in_period
        no_named_periods(monkeypatch)
        assert top(memory, query) == says_when


# ---- neighbouring context ---------------------------------------------------------------

TRIP, COMPANION, PLANS = "Went on a hiking trip", "Sam came along", "Planning a hiking trip"


@pytest.mark.parametrize("after", [60.0, -60.0], ids=["written-after", "written-before"])
def test_a_memory_next_to_another_match_beats_a_slightly_better_lone_one(
    tmp_path, monkeypatch, after
):
    """The trip matches the query a little worse than the plans by itself, but the memory
    written next to it (a minute after, or before) matches too, and lifts it."""
    query = "hiking trip with Sam"
    with store(tmp_path) as memory:
        write(memory, [(PLANS, ago(days=15)), (TRIP, ago(days=10))])
        write(memory, [(COMPANION, ago(days=10) + after)])
        assert top(memory, query) == TRIP
        no_context(monkeypatch)
        assert top(memory, query) == PLANS


@pytest.mark.parametrize(
    ("apart", "run_id"),
    [(SESSION_GAP + 60.0, None), (60.0, "another-run")],
    ids=["a-session-apart", "another-entity"],
)
def test_only_the_same_entity_s_session_is_context(tmp_path, apart, run_id):
    """The same memories as above, but the companion is not the trip's neighbour."""
    with store(tmp_path) as memory:
        write(memory, [(PLANS, ago(days=15)), (TRIP, ago(days=10))])
        timestamp = ago(days=10) + apart
        memory.add(COMPANION, user_id="u", run_id=run_id, infer=False, timestamp=timestamp)
        assert top(memory, "hiking trip with Sam") == PLANS


def test_the_answer_written_after_the_best_match_is_lifted_past_a_better_lone_match(
    tmp_path, monkeypatch
):
    """The turn that answers is written right after the turn the query matches best."""
    query = "Who came on the hiking trip?"
    lone = "Came on the bus"
    with store(tmp_path) as memory:
        write(memory, [(lone, ago(days=15)), (TRIP, ago(days=10)), (COMPANION, ago(days=10) + 60)])
        hits = [h.memory for h in memory.search(query, user_id="u").results]
        assert hits[:2] == [TRIP, COMPANION]
        no_context(monkeypatch)
        hits = [h.memory for h in memory.search(query, user_id="u").results]
        assert hits[:2] == [TRIP, lone]
