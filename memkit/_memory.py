"""``Memory``: the synchronous engine. ``AsyncMemory`` runs this same code in a thread.

Every method validates its whole input first (typed usage errors, nothing written),
then works against the backend: the SQL record store as the system of record and
Chroma as the derived vector and filter index.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from memkit._embedder import Embedder, build_embedder
from memkit._inputs import (
    Scope,
    admit_operations,
    check_batch,
    check_categories,
    check_id,
    check_metadata,
    check_paging,
    check_text,
    normalize_messages,
    parse_timestamp,
)
from memkit._lookup import StoreLookup, matching_ids, scope_node
from memkit._monitoring import current_outcome, monitored
from memkit._planning import AddRequest, NewFact, event_for, new_memory, plan_writes, text_hash
from memkit.bounds import json_problem
from memkit.config import MemoryConfig, load_config
from memkit.errors import (
    ConfigError,
    ExtractionError,
    InvalidInputError,
    MemoryNotFoundError,
)
from memkit.extract._categories import normalize_categories
from memkit.extract._interface import Extractor, Side
from memkit.filters._chroma import ChromaFilter, to_chroma
from memkit.filters._language import FilterNode, all_of, parse_filter
from memkit.models import (
    AddResult,
    BatchResult,
    EntityInfo,
    HistoryEntry,
    MemoryRecord,
    MessageResult,
    Page,
    SearchHit,
    SearchResult,
    StoreHealth,
    TranscriptMessage,
    UsersResult,
)
from memkit.search._exact import candidates as exact_candidates
from memkit.search._hybrid import hybrid_search
from memkit.search._ranking import Weights
from memkit.store._backend import Backend, open_backend, release_backend
from memkit.store._records import (
    ENTITY_FIELDS,
    HistoryRow,
    StoredMemory,
    WriteSet,
    epoch_to_datetime,
)

__all__ = ["Memory"]

_EMBEDDERS: dict[str, Embedder] = {}

# More messages than any transcript holds: ``get_messages(last=...)`` beyond it reads them all.
MAX_TRANSCRIPT_READ = 2**62

# Plans made without the write lock before an add plans holding it: each is wasted only
# when the same entity was written while it was made.
PLAN_TRIES = 2


def _shared_embedder(config: MemoryConfig) -> Embedder:
    """Loading the ONNX model costs a few hundred ms; every Memory in a process shares it."""
    key = config.embedder.model_dump_json()
    if key not in _EMBEDDERS:
        _EMBEDDERS[key] = build_embedder(config.embedder)
    return _EMBEDDERS[key]


class Memory:
    """Long-term memory for agents, on this machine by default.

    Example::

        memory = Memory()
        memory.add("I'm a vegetarian and allergic to nuts", user_id="alex")
        memory.search("what can alex eat?", user_id="alex")

    ``Memory(path=DIR)`` keeps the data in DIR instead of ``$MEMKIT_HOME``;
    ``Memory.from_config({...})`` takes the full configuration (see DESIGN.md).
    """

    def __init__(
        self,
        path: str | None = None,
        *,
        config: MemoryConfig | dict[str, Any] | None = None,
        embedder: Embedder | None = None,
        extractor: Extractor | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        # ``clock`` (epoch seconds) dates writes and anchors search's time cues ("last
        # week"); tests pass a fixed one instead of sleeping.
        self._clock = clock or time.time
        self._replays_lock = threading.Lock()
        self._replaying: set[str] = set()  # pending ids whose replay is running
        self.config = load_config(config)
        if path is not None:
            if not isinstance(path, str | os.PathLike):
                raise ConfigError(f"path must be a directory path, not {type(path).__name__}")
            self.config = self.config.model_copy(update={"path": os.fspath(path)})
        self.categories = normalize_categories(self.config.categories)
        self.embedder = embedder or _shared_embedder(self.config)
        self.extractor = extractor or self._default_extractor()
        self._backend: Backend | None = open_backend(
            self.config, self.embedder.name, exact=exact_candidates
        )
        self._activity = self._backend.activity

    @classmethod
    def from_config(cls, config: MemoryConfig | dict[str, Any]) -> Memory:
        return cls(config=config)

    def _default_extractor(self) -> Extractor:
        if self.config.llm is not None:
            from memkit.extract._llm import LlmExtractor

            return LlmExtractor(
                self.config.llm.config,
                categories=self.categories,
                custom_instructions=self.config.custom_instructions,
            )
        from memkit.extract._rules import RuleExtractor

        return RuleExtractor(self.categories)

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            raise InvalidInputError("this Memory is closed")
        return self._backend

    def close(self) -> None:
        """Release the store; the last Memory on a store closes it cleanly."""
        if self._backend is not None:
            release_backend(self._backend)
            self._backend = None

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- add ------------------------------------------------------------------------------

    @monitored("add")
    def add(
        self,
        messages: str | Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        infer: bool = True,
        categories: Sequence[str] | None = None,
        timestamp: float | str | Any | None = None,
        **platform_options: Any,
    ) -> AddResult:
        """Remember what the messages say about the user (and/or agent).

        Returns the events caused: ADD, UPDATE (with ``previous_memory``), DELETE
        (natural-language deletes) and NONE (already known).
        """
        scope = _required_scope("add", user_id, agent_id, app_id, run_id)
        _check_platform_options(platform_options, {"version", "output_format", "async_mode"})
        parsed = normalize_messages(messages, scope)
        now = self._clock()
        request = AddRequest(
            scope=scope,
            metadata=check_metadata(metadata),
            categories=None if categories is None else check_categories(categories),
            created_at=now if timestamp is None else parse_timestamp(timestamp),
            now=now,
        )
        if infer:
            events = self._add_inferred(parsed, scope, request, timestamp)
        else:
            with self.backend.write_lock:
                writes, events = self._verbatim(parsed, scope, request)
                self.backend.write(writes)
        current_outcome().counts.update(
            {e: sum(1 for x in events if x.event == e) for e in ("ADD", "UPDATE", "DELETE", "NONE")}
        )
        return AddResult(results=events)

    def _verbatim(
        self, messages: Sequence[Any], scope: Scope, request: AddRequest
    ) -> tuple[WriteSet, list[Any]]:
        sides = scope.sides()
        facts = [
            NewFact(m.content.strip(), m.role)
            for m in messages
            if m.role in sides and m.content.strip()
        ]
        facts = list({(f.text, f.side): f for f in facts}.values())
        known = self._known_hashes(facts, scope, request.metadata)
        fresh = [f for f in facts if (text_hash(f.text), f.side) not in known]
        vectors = self.embedder.embed([f.text for f in fresh])
        writes, events = WriteSet(), []
        for fact in facts:
            duplicate = known.get((text_hash(fact.text), fact.side))
            if duplicate is not None:
                events.append(event_for(duplicate, "NONE"))
        for fact, vector in zip(fresh, vectors, strict=True):
            memory = new_memory(fact, vector, request)
            writes.inserts.append(memory)
            writes.history.append(
                HistoryRow(memory.id, "ADD", None, memory.memory, memory, request.now)
            )
            events.append(event_for(memory, "ADD"))
        return writes, events

    def _known_hashes(
        self, facts: Sequence[NewFact], scope: Scope, metadata: Mapping[str, Any]
    ) -> dict[tuple[str, Side], StoredMemory]:
        """Existing memories of the same entity with the same text and metadata.

        Adding one again is a NONE; the same text under other metadata (another LangGraph
        store key, say) is a memory of its own.
        """
        found: dict[tuple[str, Side], StoredMemory] = {}
        for side in {f.side for f in facts}:
            hashes = [text_hash(f.text) for f in facts if f.side == side]
            for memory in self.backend.records.find_by_hash(
                hashes, scope.for_side(side).as_full_dict()
            ):
                if memory.metadata == metadata:
                    found[(memory.hash, side)] = memory
        return found

    def _add_inferred(
        self,
        messages: Sequence[Any],
        scope: Scope,
        request: AddRequest,
        timestamp: Any,
    ) -> list[Any]:
        """Plan without the store's write lock, so that a slow model (one LLM call per add)
        does not hold up every other write; write the plan only if no memory of the scope
        was written while it was made. Otherwise plan again from what is there now, and
        after PLAN_TRIES plans, plan holding the lock."""

        def state() -> list[tuple[int, ...]]:
            return [self.backend.writes_to(scope.for_side(s).as_dict()) for s in scope.sides()]

        for _ in range(PLAN_TRIES):
            seen = state()
            writes, events = self._infer(messages, scope, request, timestamp)
            with self.backend.write_lock:
                if state() == seen:
                    self.backend.write(writes)
                    return events
        with self.backend.write_lock:
            writes, events = self._infer(messages, scope, request, timestamp)
            self.backend.write(writes)
            return events

    def _infer(
        self,
        messages: Sequence[Any],
        scope: Scope,
        request: AddRequest,
        timestamp: Any = None,
    ) -> tuple[WriteSet, list[Any]]:
        """Plan with the extractor and turn the plan into writes. When extraction fails for
        good nothing is written: the messages and the add's options are kept in the
        ``pending_extractions`` table and the ExtractionError carries their ``pending_id``
        (see ``pending()`` / ``replay()``). The extractor's cost goes to the activity log."""
        lookup = StoreLookup(self.backend, self.embedder, scope)
        try:
            plan = self.extractor.plan(messages, scope.sides(), lookup)
            _add_counts(current_outcome().counts, plan.usage)
            operations = admit_operations(plan.operations)
            texts = [op.text for op in operations if op.event in ("ADD", "UPDATE") and op.text]
            vectors = lookup.vectors_for(texts)
            return plan_writes(operations, lookup.shown, vectors, request)
        except ExtractionError as exc:
            _add_counts(current_outcome().counts, exc.usage)
            options = {
                **scope.as_dict(),
                "metadata": dict(request.metadata),
                "categories": None if request.categories is None else list(request.categories),
                "timestamp": None if timestamp is None else request.created_at,
            }
            exc.pending_id = self.backend.records.pending.keep(
                [m.model_dump(exclude_none=True) for m in messages], options, str(exc)
            )
            raise

    # ---- search and listing ---------------------------------------------------------------

    @monitored("search")
    def search(
        self,
        query: str,
        *,
        filters: Mapping[str, Any] | None = None,
        top_k: int = 10,
        threshold: float | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        **platform_options: Any,
    ) -> SearchResult:
        """The memories most relevant to ``query``, highest score first.

        ``filters`` is the v2 filter language; the id keywords are ANDed with it, and
        both select the candidates before anything is ranked.

        ``score`` is in [0, 1]. By default (``search.mode`` "hybrid") it fuses the
        cosine similarity and the BM25 keyword score (over its maximum for the query),
        equally weighted, then lifts it towards 1 by time cues (a memory written in
        the period the query names; one that says when, for a "when" question) and by
        the score of the memory written just before or after it. With mode "dense" it
        is the cosine similarity alone. ``threshold`` drops results scoring below it.
        """
        _check_platform_options(platform_options, {"version", "limit", "rerank", "output_format"})
        top_k = platform_options.get("limit", top_k)
        check_text(query, "query")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= 1000:
            raise InvalidInputError(f"top_k must be an integer from 1 to 1000, got {top_k!r}")
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not math.isfinite(threshold)
        ):
            raise InvalidInputError(f"threshold must be a finite number, got {threshold!r}")
        scope = Scope.of(user_id=user_id, agent_id=agent_id, app_id=app_id, run_id=run_id)
        current_outcome().scope = scope.as_dict()
        chroma = to_chroma(all_of([parse_filter(filters), scope_node(scope)]))
        vector = self.embedder.embed([query])[0]
        hits = self._nearest(query, vector, chroma, top_k)
        found = self.backend.records.get_many([memory_id for memory_id, _ in hits])
        # The threshold compares the score as returned, so threshold=hit.score keeps hit.
        scored = [(memory_id, round(score, 6)) for memory_id, score in hits]
        results = [
            SearchHit(**found[memory_id].public_fields(), score=score)
            for memory_id, score in scored
            if memory_id in found and (threshold is None or score >= threshold)
        ]
        current_outcome().counts = {"results": len(results)}
        return SearchResult(results=results)

    def _nearest(
        self,
        query: str,
        vector: np.ndarray,
        chroma: ChromaFilter,
        top_k: int,
    ) -> list[tuple[str, float]]:
        settings = self.config.search
        if settings.mode == "hybrid":
            weights = Weights(
                keyword=settings.keyword_weight,
                context=settings.context_weight,
                time=settings.time_weight,
            )
            return hybrid_search(self.backend, query, vector, chroma, top_k, weights, self._clock())
        index = self.backend.index
        if chroma.residual is None:
            return index.query(vector, chroma, top_k)
        # Chroma narrowed the candidates; the rest of the filter is evaluated here, exactly.
        candidates = list(matching_ids(self.backend, chroma))
        return index.query(vector, ChromaFilter(None, None, None), top_k, ids=candidates)

    @monitored("get_all")
    def get_all(
        self,
        *,
        filters: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        categories: Sequence[str] | None = None,
        keywords: str | None = None,
        page: int = 1,
        page_size: int = 100,
        **platform_options: Any,
    ) -> Page:
        """One page of the matching memories, most recently updated first."""
        _check_platform_options(platform_options, {"version", "output_format"})
        page, page_size = check_paging(page, page_size)
        scope = Scope.of(user_id=user_id, agent_id=agent_id, app_id=app_id, run_id=run_id)
        current_outcome().scope = scope.as_dict()
        extra: list[FilterNode | None] = [parse_filter(filters), scope_node(scope)]
        if categories is not None:
            extra.append(parse_filter({"categories": {"in": check_categories(categories)}}))
        if keywords is not None:
            if not isinstance(keywords, str) or not keywords.strip():
                raise InvalidInputError("keywords must be a non-empty string")
            extra.append(parse_filter({"keywords": {"icontains": keywords}}))
        node = all_of(extra)
        offset = (page - 1) * page_size
        records = self.backend.records
        if node is None:
            total = records.count()
            rows = records.page(offset, page_size)
        else:
            stamps = matching_ids(self.backend, to_chroma(node))
            ordered = sorted(stamps, key=lambda i: (-stamps[i], i))
            total = len(ordered)
            wanted = ordered[offset : offset + page_size]
            found = records.get_many(wanted)
            rows = [found[i] for i in wanted if i in found]
        last_page = max(1, -(-total // page_size))
        current_outcome().counts = {"count": total, "results": len(rows)}
        return Page(
            count=total,
            page=page,
            page_size=page_size,
            next=page + 1 if page < last_page else None,
            previous=page - 1 if page > 1 and total else None,
            results=[r.to_model() for r in rows],
        )

    @monitored("get")
    def get(self, memory_id: str) -> MemoryRecord:
        return self._load([memory_id])[memory_id].to_model()

    def _load(self, ids: Sequence[Any]) -> dict[str, StoredMemory]:
        for memory_id in ids:
            check_id(memory_id, "memory_id")
        found = self.backend.records.get_many(list(ids))
        for memory_id in ids:
            if memory_id not in found:
                raise MemoryNotFoundError(memory_id)
        return found

    @monitored("history")
    def history(self, memory_id: str) -> list[HistoryEntry]:
        """Every change to the memory, oldest first; still there after it was deleted."""
        check_id(memory_id, "memory_id")
        entries = self.backend.records.history(memory_id)
        if not entries:
            raise MemoryNotFoundError(memory_id)
        current_outcome().counts = {"entries": len(entries)}
        return entries

    @monitored("users")
    def users(self) -> UsersResult:
        """Every user, agent, app and run that has memories."""
        entities = [
            EntityInfo(
                id=entity_id,
                name=entity_id,
                type=kind,
                total_memories=total,
                created_at=epoch_to_datetime(first),
                updated_at=epoch_to_datetime(last),
            )
            for kind, entity_id, total, first, last in self.backend.records.entities()
        ]
        current_outcome().counts = {"entities": len(entities)}
        return UsersResult(count=len(entities), results=entities)

    # ---- updates and deletes --------------------------------------------------------------

    @monitored("update")
    def update(
        self,
        memory_id: str,
        text: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        data: str | None = None,
    ) -> MemoryRecord:
        """Change the text (re-embedded), the metadata (replaced), or both; recorded in history.

        ``data=`` is accepted as mem0's name for ``text``.
        """
        item = {"memory_id": memory_id, "text": text if text is not None else data}
        if metadata is not None:
            item["metadata"] = metadata
        (updated,) = self._update_many([item], "update")
        current_outcome().counts = {"UPDATE": 1}
        return updated.to_model()

    @monitored("batch_update")
    def batch_update(self, memories: Sequence[Mapping[str, Any]]) -> BatchResult:
        """Up to 1000 ``{"memory_id", "text"?, "metadata"?}`` in one transaction, all or nothing."""
        items = check_batch(memories, "batch_update")
        updated = self._update_many(items, "batch_update")
        current_outcome().counts = {"UPDATE": len(updated)}
        return BatchResult(
            message=f"Successfully updated {len(updated)} memories", count=len(updated)
        )

    def _update_many(self, items: Sequence[Mapping[str, Any]], name: str) -> list[StoredMemory]:
        changes: list[tuple[str, str | None, dict[str, Any] | None]] = []
        for i, item in enumerate(items):
            check_id(
                item.get("memory_id"), f"{name}[{i}].memory_id" if len(items) > 1 else "memory_id"
            )
            unknown = set(item) - {"memory_id", "text", "metadata"}
            if unknown:
                raise InvalidInputError(f"{name}[{i}]: unknown keys {sorted(unknown)}")
            text, metadata = item.get("text"), item.get("metadata")
            if text is not None:
                check_text(text, f"{name}[{i}].text")
            if text is None and metadata is None:
                raise InvalidInputError(f"{name}[{i}] changes nothing: give text and/or metadata")
            clean = None if metadata is None else check_metadata(metadata)
            changes.append((item["memory_id"], None if text is None else text.strip(), clean))
        ids = [memory_id for memory_id, _, _ in changes]
        if len(set(ids)) != len(ids):
            raise InvalidInputError(f"{name} names the same memory_id more than once")
        with self.backend.write_lock:
            current = self._load(ids)
            new_texts = [t for memory_id, t, _ in changes if t and t != current[memory_id].memory]
            vectors = dict(zip(new_texts, self.embedder.embed(new_texts), strict=True))
            now = self._clock()
            writes = WriteSet()
            for memory_id, text, metadata in changes:
                old = current[memory_id]
                new = old.evolve(updated_at=max(now, old.created_at))
                if text is not None and text in vectors:
                    new = new.evolve(memory=text, hash=text_hash(text), embedding=vectors[text])
                if metadata is not None:
                    new = new.evolve(metadata=metadata)
                writes.updates.append(new)
                writes.history.append(
                    HistoryRow(memory_id, "UPDATE", old.memory, new.memory, new, now)
                )
            self.backend.write(writes)
        return writes.updates

    @monitored("delete")
    def delete(self, memory_id: str) -> MessageResult:
        count = self._delete_ids([memory_id], strict=True)
        current_outcome().counts = {"DELETE": count}
        return MessageResult(message="Memory deleted successfully!", count=count)

    @monitored("batch_delete")
    def batch_delete(self, memories: Sequence[Mapping[str, Any]]) -> BatchResult:
        """Up to 1000 ``{"memory_id"}`` in one transaction; an unknown id deletes nothing."""
        items = check_batch(memories, "batch_delete")
        for i, item in enumerate(items):
            if set(item) != {"memory_id"}:
                raise InvalidInputError(f"batch_delete[{i}] takes only 'memory_id'")
        ids = [item["memory_id"] for item in items]
        if len(set(ids)) != len(ids):
            raise InvalidInputError("batch_delete names the same memory_id more than once")
        count = self._delete_ids(ids, strict=True)
        current_outcome().counts = {"DELETE": count}
        return BatchResult(message=f"Successfully deleted {count} memories", count=count)

    def _delete_ids(self, ids: Sequence[str], strict: bool) -> int:
        with self.backend.write_lock:
            found = self._load(ids) if strict else self.backend.records.get_many(ids)
            now = self._clock()
            writes = WriteSet(deletes=list(found.values()))
            writes.history = [
                HistoryRow(m.id, "DELETE", m.memory, None, m, now) for m in writes.deletes
            ]
            self.backend.write(writes)
        return len(found)

    @monitored("delete_all")
    def delete_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
    ) -> MessageResult:
        """Delete every memory carrying all the given ids (at least one is required)."""
        scope = _required_scope("delete_all", user_id, agent_id, app_id, run_id)
        with self.backend.write_lock:
            ids = list(matching_ids(self.backend, to_chroma(scope_node(scope))))
            count = self._delete_ids(ids, strict=False)
        current_outcome().counts = {"DELETE": count}
        return MessageResult(message="Memories deleted successfully!", count=count)

    @monitored("delete_users")
    def delete_users(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
    ) -> MessageResult:
        """Remove each named entity with all its memories."""
        scope = _required_scope("delete_users", user_id, agent_id, app_id, run_id)
        with self.backend.write_lock:
            ids: list[str] = []
            for kind, column in ENTITY_FIELDS.items():
                value = scope.as_dict().get(column)
                if value is not None:
                    ids.extend(self.backend.records.ids_of_entity(kind, value))
            count = self._delete_ids(list(dict.fromkeys(ids)), strict=False)
        current_outcome().counts = {"DELETE": count}
        return MessageResult(message="Entity deleted successfully!", count=count)

    @monitored("reset")
    def reset(self) -> MessageResult:
        """Delete every memory, its history and the activity log of this store."""
        self.backend.activity.flush()
        self.backend.reset()
        return MessageResult(message="Memory store reset successfully!")

    # ---- session transcripts (short-term memory for the framework adapters) ---------------

    def append_messages(self, session_id: str, messages: Any) -> None:
        """Keep messages in a session's transcript. Long-term memory is written by ``add``."""
        session_id = _check_session(session_id)
        parsed = normalize_messages(messages, Scope(user_id=session_id))
        extras = messages if isinstance(messages, list) else [messages]
        rows = []
        for message, extra in zip(parsed, extras, strict=True):
            row = message.model_dump(exclude_none=True)
            if isinstance(extra, Mapping) and extra.get("metadata") is not None:
                row["metadata"] = _json_metadata(extra["metadata"])
            rows.append(row)
        self.backend.records.transcripts.append(session_id, rows)

    def get_messages(self, session_id: str, last: int | None = None) -> list[TranscriptMessage]:
        """A session's transcript, oldest first; ``last`` keeps only the newest messages."""
        session_id = _check_session(session_id)
        if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 0):
            raise InvalidInputError(f"last must be a non-negative integer, got {last!r}")
        if last is not None:
            last = min(last, MAX_TRANSCRIPT_READ)  # past any transcript; SQL's LIMIT is 64-bit
        rows = self.backend.records.transcripts.read(session_id, last)
        return [
            TranscriptMessage(**{**row, "created_at": epoch_to_datetime(row["created_at"])})
            for row in rows
        ]

    def clear_messages(self, session_id: str) -> None:
        self.backend.records.transcripts.clear(_check_session(session_id))

    # ---- monitoring -----------------------------------------------------------------------

    def activity(self, limit: int = 100, kind: str | None = None) -> list[dict[str, Any]]:
        """The most recent operations, newest first: kind, scope, counts, latency, error."""
        return self.backend.activity.recent(limit=limit, kind=kind)

    def check(self, repair: bool = True) -> StoreHealth:
        """The store's health: memories in the record store and in the index, journal
        rows pending, quarantined memories (the index refused them) with the error, the
        file locks held.

        With ``repair`` (the default: a check is run when something looks wrong), it first
        applies queued index writes, replays the journal, offers each quarantined memory
        to the index again and reconciles the index with the record store; ``repaired``
        says what that changed. ``check(repair=False)`` only reads.
        """
        return self.backend.check(repair=repair)

    # ---- extractions kept for replay, and LLM usage ---------------------------------------

    def pending(self) -> list[dict[str, Any]]:
        """Adds whose extraction failed for good (``ExtractionError``), oldest first.

        Each is ``{"id", "messages", "options", "error", "created_at"}``: the messages as
        given to ``add`` and its keyword arguments. Replay one with ``replay(id)``.
        """
        return [
            {**row, "created_at": epoch_to_datetime(row["created_at"])}
            for row in self.backend.records.pending.list()
        ]

    def replay(self, pending_id: str) -> AddResult:
        """Run a kept add again (once the model is reachable); on success its row is dropped.

        If extraction fails again nothing is written, the row stays, and the
        ``ExtractionError`` names the same ``pending_id``.
        """
        check_id(pending_id, "pending_id")
        # Only this replay of the row runs; the store's write lock is not held while the
        # model is called (add plans without it), so a slow model stalls no other write.
        with self._replays_lock:
            if pending_id in self._replaying:
                raise InvalidInputError(f"pending extraction {pending_id!r} is being replayed")
            self._replaying.add(pending_id)
        try:
            pending = self.backend.records.pending
            row = next((r for r in pending.list() if r["id"] == pending_id), None)
            if row is None:
                raise InvalidInputError(f"no pending extraction with id {pending_id!r}")
            options = {k: v for k, v in row["options"].items() if v is not None}
            try:
                result = self.add(row["messages"], **options)
            except ExtractionError as exc:
                if exc.pending_id is not None and exc.pending_id != pending_id:
                    pending.drop(exc.pending_id)  # the original row already keeps them
                exc.pending_id = pending_id
                raise
            pending.drop(pending_id)
            return result
        finally:
            with self._replays_lock:
                self._replaying.discard(pending_id)

    def usage(self) -> dict[str, int]:
        """LLM totals over this store's activity log: adds, llm_calls, prompt_tokens,
        completion_tokens and llm_ms (time spent waiting on the model), failed adds included."""
        totals = dict.fromkeys(
            ("adds", "llm_calls", "prompt_tokens", "completion_tokens", "llm_ms"), 0
        )
        for entry in self.backend.activity.recent(limit=2**31, kind="add"):
            totals["adds"] += 1
            for key in ("llm_calls", "prompt_tokens", "completion_tokens", "llm_ms"):
                totals[key] += int(entry["counts"].get(key, 0))
        return totals


def _add_counts(counts: dict[str, int], more: Mapping[str, int]) -> None:
    """Sum into ``counts``: an add that planned twice spent both plans' tokens."""
    for key, value in more.items():
        counts[key] = counts.get(key, 0) + value


def _required_scope(
    call: str,
    user_id: str | None,
    agent_id: str | None,
    app_id: str | None,
    run_id: str | None,
) -> Scope:
    """The call's entity ids, at least one of them; a delete with none would wipe everything."""
    scope = Scope.of(user_id=user_id, agent_id=agent_id, app_id=app_id, run_id=run_id)
    current_outcome().scope = scope.as_dict()
    if not scope:
        hint = "" if call == "add" else "; use reset() to delete everything"
        raise InvalidInputError(
            f"{call} needs at least one of user_id, agent_id, app_id, run_id{hint}"
        )
    return scope


def _json_metadata(metadata: Any) -> dict[str, Any]:
    """Transcript metadata (e.g. tool-call ids) is stored as JSON, not indexed."""
    if not isinstance(metadata, Mapping):
        raise InvalidInputError("a message's metadata must be a dict")
    try:
        json.dumps(metadata)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInputError(f"a message's metadata must be JSON-serialisable: {exc}") from exc
    problem = json_problem(metadata)
    if problem is not None:
        raise InvalidInputError(f"a message's metadata {problem}")
    return dict(metadata)


def _check_session(session_id: Any) -> str:
    return check_id(session_id, "session_id")


def _check_platform_options(options: Mapping[str, Any], accepted: set[str]) -> None:
    """Platform-only keywords (``version="v2"``) are accepted; anything else is a typo."""
    unknown = set(options) - accepted
    if unknown:
        raise InvalidInputError(f"unexpected keyword arguments: {sorted(unknown)}")
