"""Hybrid search: the pure ranking parts, the keyword index's consistency with the
memories through every write path, and filters that select before anything is ranked."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np
import pytest
from sqlalchemy.exc import OperationalError

from memkit import Memory
from memkit._planning import text_hash
from memkit.errors import RecordStoreError, VectorStoreError
from memkit.filters._language import parse_filter
from memkit.search import _hybrid as hybrid
from memkit.search._bm25 import bm25, postings, query_terms, term_counts, tokenize
from memkit.search._hybrid import scope_equalities
from memkit.search._ranking import Timeline, fuse, lift, rank, top
from memkit.search._temporal import TIME_TERMS, asks_when, named_periods
from memkit.store import _records as records_module
from memkit.store._index import generation_dir
from memkit.testing import HashEmbedder, corrupt_index

# ---- keywords ---------------------------------------------------------------------------


def test_tokenize_stems_and_drops_stop_words():
    assert tokenize("Caroline's running clubs") == ["carolin", "run", "club"]
    assert tokenize("I didn't go, did you?") == ["go"]
    assert tokenize("When did she paint the sunrise?") == ["paint", "sunris"]
    assert tokenize("Painted SUNRISES in May 2023") == ["paint", "sunris", "may", "2023"]
    assert tokenize("café naïve 東京") == ["café", "naïv", "東京"]
    assert tokenize("") == [] and tokenize("the and of") == []


def test_query_terms_are_distinct_in_order():
    assert query_terms("paint, painting and painted a sunrise") == ["paint", "sunris"]


def _bm25(query: str, texts: dict[str, str]) -> dict[str, float]:
    counts = [term_counts(t) for t in texts.values()]
    terms = query_terms(query)
    lengths = np.array([sum(c.values()) for c in counts], np.float64)
    scores = bm25(terms, postings(terms, counts), lengths)
    return {i: float(s) for i, s in zip(texts, scores, strict=True) if s > 0}


def test_bm25_is_a_share_of_the_query_weight():
    texts = {
        "rare": "went kayaking on the lake",
        "common": "went to the shop",
        "both": "went kayaking, then went to the shop",
        "none": "stayed home",
    }
    scores = _bm25("kayaking shop", texts)
    assert set(scores) == {"rare", "common", "both"}  # no term, no keyword score
    assert all(0.0 < s < 1.0 for s in scores.values())
    assert scores["both"] > scores["rare"] and scores["both"] > scores["common"]
    # "went" is in nearly every memory: it weighs little next to a rarer term.
    weak = _bm25("went kayaking", texts)
    assert weak["rare"] > 2 * weak["common"]


def test_bm25_prefers_the_shorter_memory_for_the_same_match():
    texts = {"short": "loves jazz", "long": "loves jazz and also many other things too"}
    scores = _bm25("jazz", texts)
    assert scores["short"] > scores["long"]


def test_bm25_without_candidates_or_terms_is_empty():
    assert len(bm25(["x"], {}, np.zeros(0))) == 0
    assert _bm25("the of and", {"a": "the cat"}) == {}


# ---- ranking ----------------------------------------------------------------------------


def test_fuse_and_lift_stay_in_unit_range():
    assert fuse(0.8, 0.4, 0.5) == pytest.approx(0.6)
    assert fuse(-0.2, 0.0, 0.5) == 0.0 and fuse(1.5, 2.0, 0.5) == 1.0
    assert fuse(0.7, 0.9, 0.0) == pytest.approx(0.7)
    assert lift(0.5, 0.2) == pytest.approx(0.6) and lift(1.0, 0.9) == 1.0 and lift(0.3, 0) == 0.3


def _doc(entity: str, created_at: float, seq: int) -> SimpleNamespace:
    return SimpleNamespace(entity=(entity, "", "", ""), created_at=created_at, seq=seq)


def test_timeline_neighbours_follow_time_then_write_order_within_an_entity():
    docs = {
        "a1": _doc("a", 100.0, 1),
        "a2": _doc("a", 100.0, 2),  # same moment: write order decides
        "a3": _doc("a", 200.0, 0),  # written earlier, but created later
        "a4": _doc("a", 100_000.0, 5),  # a day later: another session
        "b1": _doc("b", 150.0, 3),  # another user
    }
    timeline = Timeline(docs, gap=1800)
    ids = timeline.ids

    def near(memory_id: str) -> tuple[str | None, str | None]:
        n = ids.index(memory_id)
        before, after = int(timeline.before[n]), int(timeline.after[n])
        return (ids[before] if before >= 0 else None, ids[after] if after >= 0 else None)

    assert near("a1") == (None, "a2")
    assert near("a2") == ("a1", "a3")
    assert near("a3") == ("a2", None)
    assert near("a4") == (None, None) and near("b1") == (None, None)


def test_context_lifts_a_memory_by_its_best_neighbour():
    docs = {
        "q": _doc("a", 100.0, 1),
        "a": _doc("a", 200.0, 2),
        "unscored": _doc("a", 300.0, 3),
        "far": _doc("a", 100_000.0, 4),
    }
    timeline = Timeline(docs, 1800)
    lifted = timeline.with_context(np.array([0.8, 0.3, np.nan, 0.3]), 0.5)
    out = dict(zip(docs, lifted, strict=True))
    assert out["a"] == pytest.approx(0.3 + 0.5 * 0.8 * 0.7)  # q is its best neighbour
    assert out["far"] == 0.3 and out["q"] == pytest.approx(0.8 + 0.5 * 0.3 * 0.2)
    assert np.isnan(out["unscored"])  # stays unscored; counted as 0 by "a"
    assert all(0 <= s <= 1 for s in out.values() if not np.isnan(s))


def test_top_ranks_by_score_then_id_and_leaves_out_the_unscored():
    scores = np.array([0.5, np.nan, 0.9, 0.5, 0.5])
    ids = ["d", "x", "c", "b", "a"]
    assert top(ids, scores, 3) == [("c", 0.9), ("a", 0.5), ("b", 0.5)]
    assert top(ids, scores, 10) == [("c", 0.9), ("a", 0.5), ("b", 0.5), ("d", 0.5)]


def test_rank_is_by_score_then_id():
    assert rank({"b": 0.5, "a": 0.5, "c": 0.9}, 2) == [("c", 0.9), ("a", 0.5)]


# ---- temporal ---------------------------------------------------------------------------

NOW = datetime(2025, 3, 15, 12, tzinfo=UTC).timestamp()


def _day(year: int, month: int, day: int) -> float:
    return datetime(year, month, day, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("query", "inside", "outside"),
    [
        ("What happened on 7 July, 2023?", _day(2023, 7, 7) + 3600, _day(2023, 7, 8) + 1),
        ("What happened on July 7th 2023?", _day(2023, 7, 7), _day(2023, 7, 6)),
        ("What did she donate in December 2023?", _day(2023, 12, 31), _day(2024, 1, 1)),
        ("Where did we go in 2022?", _day(2022, 6, 1), _day(2023, 1, 2)),
        ("notes from 2024-02-29", _day(2024, 2, 29), _day(2024, 3, 1)),
        ("When did they go camping in June?", _day(2019, 6, 10), _day(2019, 7, 10)),
        ("what did I eat yesterday", _day(2025, 3, 14) + 60, _day(2025, 3, 15) + 60),
        ("my trip last year", _day(2024, 8, 1), _day(2025, 1, 2)),
        ("the talk last month", _day(2025, 2, 10), _day(2025, 3, 2)),
        ("the gig 3 weeks ago", _day(2025, 2, 22), _day(2025, 3, 14)),
    ],
)
def test_named_periods(query, inside, outside):
    periods = named_periods(query, NOW)
    assert any(p.contains(inside) for p in periods), periods
    assert not any(p.contains(outside) for p in periods), periods


def test_no_period_where_none_is_named():
    assert named_periods("What may Caroline like?", NOW) == []
    assert named_periods("He scored 2023 points", NOW) == []
    (month,) = named_periods("on 31 February, 2023", NOW)  # no such day: the month stays
    assert month.contains(_day(2023, 2, 10)) and not month.contains(_day(2023, 3, 1))


def test_asks_when():
    for question in ("When did Mel run?", "How long ago was her birthday?", "What year was it?"):
        assert asks_when(question)
    for question in (
        "What did Mel run?",
        "Where does she live?",
        "What did she do when it rained?",
    ):
        assert not asks_when(question)
    assert {"yesterday", "ago", "week"} <= TIME_TERMS


# ---- filters select the candidates ------------------------------------------------------


def test_scope_equalities_recognises_entity_scopes_only():
    assert scope_equalities(None) == {}
    assert scope_equalities(parse_filter({"user_id": "u"})) == {"user_id": "u"}
    both = parse_filter({"AND": [{"user_id": "u"}, {"run_id": "r"}]})
    assert scope_equalities(both) == {"user_id": "u", "run_id": "r"}
    for other in (
        {"user_id": "*"},
        {"user_id": {"in": ["u"]}},
        {"OR": [{"user_id": "u"}, {"agent_id": "a"}]},
        {"AND": [{"user_id": "u"}, {"categories": {"contains": "x"}}]},
        {"AND": [{"user_id": "u"}, {"user_id": "v"}]},
    ):
        assert scope_equalities(parse_filter(other)) is None, other


@pytest.fixture
def people(memory):
    memory.add("Zorblax the hamster eats kale", user_id="bob", infer=False)
    memory.add("Likes quiet evenings", user_id="alex", infer=False, metadata={"mood": "calm"})
    memory.add(
        "Has a hamster called Pip",
        user_id="alex",
        run_id="r1",
        infer=False,
        categories=["pets"],
        metadata={"mood": "happy"},
    )
    memory.add("Plays the cello", user_id="alex", infer=False, categories=["hobbies"])
    return memory


def test_a_keyword_perfect_memory_of_another_user_never_appears(people):
    hits = people.search("Zorblax the hamster eats kale", user_id="alex", top_k=100).results
    assert hits and all(h.user_id == "alex" for h in hits)
    assert "Zorblax" not in " ".join(h.memory for h in hits)
    assert people.search("Zorblax", user_id="bob").results[0].memory.startswith("Zorblax")


@pytest.mark.parametrize(
    "filters",
    [
        {"user_id": "alex"},
        {"AND": [{"user_id": "alex"}, {"run_id": "*"}]},
        {"OR": [{"user_id": "bob"}, {"categories": {"contains": "hobbies"}}]},
        {"metadata": {"mood": {"icontains": "CALM"}}},
        {"NOT": [{"text": {"icontains": "hamster"}}]},
        {"AND": [{"user_id": "alex"}, {"created_at": {"gte": "2999-01-01"}}]},
    ],
)
@pytest.mark.parametrize("path", ["exact", "chroma"])
def test_search_ranks_exactly_the_memories_the_filter_matches(people, filters, path, monkeypatch):
    if path == "chroma":  # the path of candidate sets too large to score exactly
        monkeypatch.setattr(hybrid, "FULL_SCORING_LIMIT", 0)
    expected = {m.id for m in people.get_all(filters=filters).results}
    hits = people.search("hamster zorblax kale cello", filters=filters, top_k=100).results
    assert {h.id for h in hits} == expected


def test_both_dense_paths_rank_alike(people, monkeypatch):
    exact = people.search("a pet hamster", top_k=100).results
    monkeypatch.setattr(hybrid, "FULL_SCORING_LIMIT", 0)
    approximate = people.search("a pet hamster", top_k=100).results
    assert [h.id for h in exact] == [h.id for h in approximate]
    assert [h.score for h in exact] == pytest.approx([h.score for h in approximate], abs=1e-4)


def test_scores_are_in_unit_range_sorted_and_threshold_cuts_the_fused_score(people):
    hits = people.search("hamster", top_k=100).results
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    cut = people.search("hamster", top_k=100, threshold=scores[1]).results
    assert [h.id for h in cut] == [h.id for h in hits if h.score >= scores[1]]


def test_keyword_evidence_outranks_a_vaguer_dense_match(memory):
    memory.add(
        ["Went to the Kilimanjaro base camp in 2019", "Enjoys hiking in the mountains"],
        user_id="u",
        infer=False,
    )
    assert "Kilimanjaro" in memory.search("Kilimanjaro", user_id="u").results[0].memory


def test_a_memory_from_the_named_period_ranks_first(memory):
    memory.add("Went to a concert", user_id="u", infer=False, timestamp="2023-03-10T10:00:00")
    memory.add("Went to a concert", user_id="u", run_id="x", infer=False, timestamp="2023-08-10")
    hits = memory.search("Which concert did I go to in March 2023?", user_id="u").results
    assert hits[0].created_at.month == 3 and hits[0].score > hits[1].score


def test_dense_mode_scores_are_cosine_similarities():
    with Memory.from_config({"search": {"mode": "dense"}}) as memory:
        memory.add("Plays the cello", user_id="u", infer=False)
        hit = memory.search("Plays the cello", user_id="u").results[0]
        assert hit.score == pytest.approx(1.0, abs=1e-4)


def test_search_config_is_validated():
    from memkit.errors import ConfigError

    with pytest.raises(ConfigError, match="search"):
        Memory.from_config({"search": {"mode": "bm25"}})
    with pytest.raises(ConfigError, match="search"):
        Memory.from_config({"search": {"keyword_weight": 2}})


# ---- the keyword index stays consistent with the memories ------------------------------


def _open(path) -> Memory:
    return Memory(path=str(path), embedder=HashEmbedder())


def _check(memory: Memory) -> None:
    records = memory.backend.records
    assert records.keywords.drift() == []
    for m in memory.get_all(page_size=1000).results:
        assert records.keywords.terms_of(m.id) == dict(term_counts(m.memory))


def _seq(memory: Memory, memory_id: str) -> int:
    hashes = memory.backend.records.hashes([memory_id])
    return memory.backend.records.keywords.docs(hashes)[memory_id].seq


def test_keyword_rows_follow_every_write(tmp_path):
    with _open(tmp_path) as memory:
        ids = [
            e.id
            for e in memory.add(
                ["Owns a cat", "Plays chess", "Bakes bread"], user_id="u", infer=False
            ).results
        ]
        memory.add("Collects stamps", user_id="v", infer=False)
        _check(memory)
        assert _seq(memory, ids[0]) < _seq(memory, ids[1]) < _seq(memory, ids[2])

        before = _seq(memory, ids[0])
        memory.update(ids[0], text="Owns two cats and a dog")
        assert memory.search("dog", user_id="u").results[0].id == ids[0]
        assert _seq(memory, ids[0]) == before  # an update keeps its place in the timeline
        memory.update(ids[1], metadata={"level": "club"})
        memory.batch_update([{"memory_id": ids[2], "text": "Bakes sourdough"}])
        _check(memory)

        memory.delete(ids[1])
        _check(memory)
        assert all(h.id != ids[1] for h in memory.search("chess", user_id="u").results)
        memory.batch_delete([{"memory_id": ids[2]}])
        memory.delete_all(user_id="u")
        _check(memory)
        memory.add("Grows tomatoes", user_id="w", infer=False)
        memory.delete_users(user_id="v")
        _check(memory)
        memory.reset()
        _check(memory)
        assert memory.search("tomatoes").results == []


def test_keyword_rows_commit_or_roll_back_with_the_memory(tmp_path, monkeypatch):
    with _open(tmp_path) as memory:
        memory.add("Owns a cat", user_id="u", infer=False)

        def broken(conn, writes):
            raise OperationalError("INSERT", {}, sqlite3.OperationalError("disk I/O error"))

        monkeypatch.setattr(records_module, "write_keywords", broken)
        with pytest.raises(RecordStoreError):
            memory.add("Plays chess", user_id="u", infer=False)
        monkeypatch.undo()
        assert [m.memory for m in memory.get_all().results] == ["Owns a cat"]
        _check(memory)


def test_keyword_rows_persist_and_survive_index_rebuilds(tmp_path):
    with _open(tmp_path) as memory:
        memory.add(["Owns a cat", "Plays chess"], user_id="u", infer=False)
        directory = generation_dir(memory.backend.index_base)
    corrupt_index(directory)
    with _open(tmp_path) as memory:
        assert memory.backend.last_repair.rebuilt
        _check(memory)
        assert memory.search("chess", user_id="u").results[0].memory == "Plays chess"


def test_keyword_rows_are_rederived_for_a_new_tokenizer_or_an_older_store(tmp_path):
    texts = ["Owns a cat", "Plays chess", "Bakes bread", "Grows tomatoes"]
    with _open(tmp_path) as memory:
        ids = [e.id for e in memory.add(texts, user_id="u", infer=False, timestamp=1e9).results]
    db = sqlite3.connect(tmp_path / "memkit.db")
    db.execute("UPDATE keyword_docs SET terms = '{\"stale\": 1}'")
    db.execute("UPDATE store_meta SET value = 'older-tokenizer' WHERE key = 'keywords'")
    db.commit()
    with _open(tmp_path) as memory:
        _check(memory)
    # A store from before the keyword index: the migration adds it, the open fills it.
    db.execute("DROP TABLE keyword_docs")
    db.execute("DELETE FROM schema_migrations WHERE version = 4")
    db.execute("DELETE FROM store_meta WHERE key = 'keywords'")
    db.commit()
    db.close()
    with _open(tmp_path) as memory:
        _check(memory)
        assert memory.search("chess", user_id="u").results[0].memory == "Plays chess"
        # Same creation time: the write order is recovered from the history.
        seqs = [_seq(memory, i) for i in ids]
        assert seqs == sorted(seqs)


def test_the_search_cache_never_serves_an_old_text(tmp_path):
    with _open(tmp_path) as memory:
        memory_id = memory.add("Owns a cat", user_id="u", infer=False).results[0].id
        assert memory.search("cat", user_id="u").results[0].id == memory_id  # now cached
        # Another process rewrites the memory behind this one's cache.
        db = sqlite3.connect(tmp_path / "memkit.db")
        db.execute(
            "UPDATE memories SET memory = 'Plays chess', hash = ? WHERE id = ?",
            (text_hash("Plays chess"), memory_id),
        )
        db.execute('UPDATE keyword_docs SET terms = \'{"chess": 1, "play": 1}\'')
        db.commit()
        db.close()
        hits = memory.search("chess", user_id="u").results
        assert hits[0].id == memory_id and hits[0].memory == "Plays chess"
        docs = memory.backend.records.keywords.docs(memory.backend.records.hashes([memory_id]))
        assert dict(docs[memory_id].terms) == {"chess": 1, "play": 1}


def test_a_write_the_index_missed_is_searchable_and_consistent(tmp_path, monkeypatch):
    memory = _open(tmp_path)
    memory.add("Owns a cat", user_id="u", infer=False)

    def broken(*args, **kwargs):
        raise VectorStoreError("simulated index failure")

    monkeypatch.setattr(memory.backend.index, "upsert", broken)
    memory.add("Plays chess", user_id="u", infer=False)
    with pytest.raises(VectorStoreError):
        memory.backend.sync_index()
    monkeypatch.undo()
    # The record store (memory and keyword row, one transaction) is the truth.
    _check(memory)
    assert memory.search("chess", user_id="u").results[0].memory == "Plays chess"
    memory.close()
    with _open(tmp_path) as reopened:  # the journal repairs the index
        _check(reopened)
        assert reopened.search("chess", user_id="u").results[0].memory == "Plays chess"
