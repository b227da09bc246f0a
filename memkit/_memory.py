"""``Memory``: the synchronous engine. ``AsyncMemory`` runs this same code in a thread.

Every method validates its whole input first (typed usage errors, nothing written),
then works against the backend: the SQL record store as the system of record and
Chroma as the derived vector and filter index. This module is the public surface
(signatures, docstrings, monitoring); the work is done by the facade's private modules:
``_adding`` (add), ``_reading`` (search, listing), ``_changes`` (updates, deletes),
``_transcripts``, ``_pending`` (replay) and ``_usage``.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import IO, Any, overload

import numpy as np
from pydantic import BaseModel

from memkit._adding import add_inferred, add_verbatim
from memkit._arguments import call_scope, check_platform_options, required_scope
from memkit._changes import (
    batch_delete_ids,
    delete_entities,
    delete_filtered,
    delete_ids,
    delete_scope,
    update_many,
)
from memkit._content import check_readable
from memkit._domain import epoch_to_datetime
from memkit._embedder import Embedder, build_embedder
from memkit._export import ConflictPolicy, check_destination, export_memories, import_memories
from memkit._inputs import (
    check_activity_query,
    check_batch,
    check_categories,
    check_id,
    check_metadata,
    check_paging,
    check_text,
    normalize_messages,
    parse_timestamp,
)
from memkit._monitoring import current_outcome, monitored
from memkit._options import (
    KEEP,
    V10,
    V11,
    Keep,
    OutputFormat,
    check_expiration_date,
    check_fields,
    check_flag,
    check_output_format,
    check_version,
    extraction_options,
    only_fields,
)
from memkit._pending import Replays, pending_rows, replay_row
from memkit._planning import AddRequest
from memkit._reading import (
    Ranking,
    check_search_limits,
    hidden_ids,
    listing_filter,
    listing_page,
    load,
    nearest,
    ranking_of,
    search_filter,
    search_hits,
)
from memkit._structured_export import (
    ExportJobs,
    fill_schema,
    json_schema_of,
    llm_of,
    selected_memories,
)
from memkit._transcripts import (
    check_last,
    check_session,
    transcript_messages,
    transcript_rows,
)
from memkit._usage import usage_totals
from memkit.config import MemoryConfig, load_config
from memkit.errors import ConfigError, InvalidInputError, MemoryNotFoundError
from memkit.extract._categories import Categorizer, Embed, normalize_categories
from memkit.extract._interface import Extractor
from memkit.filters._chroma import ChromaFilter
from memkit.models import (
    AddEvent,
    AddResult,
    BatchResult,
    EntityInfo,
    ExportResult,
    FieldsPage,
    FieldsResult,
    HistoryEntry,
    ImportResult,
    MemoryExportJob,
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
from memkit.search._scope_words import query_without_scope
from memkit.store._backend import Backend, open_backend, release_backend

__all__ = ["Memory"]

_EMBEDDERS: dict[str, Embedder] = {}


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
        self._replays = Replays()
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

        return RuleExtractor(
            self.categories, self.config.custom_instructions, self._category_embed()
        )

    def _category_embed(self) -> Embed | None:
        """The offline categoriser's embedder: similarity only for custom topics."""
        custom = self.config.categories is not None or bool(self.config.custom_instructions)
        return self.embedder.embed if custom else None

    @functools.cached_property
    def _categorizer(self) -> Categorizer:
        """Categories for a text changed by ``update``: the offline categoriser the rule
        extractor tags its memories with (that very one when it runs), whichever extractor
        is configured. An update by id makes no LLM call: it is a plain edit, cheap, and
        never fails on a model."""
        categorizer = getattr(self.extractor, "categorizer", None)
        if isinstance(categorizer, Categorizer):
            return categorizer
        return Categorizer(self.categories, self._category_embed())

    def _categorize(self, text: str) -> tuple[str, ...]:
        return self._categorizer.categorize(text)

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

    @overload
    def add(
        self,
        messages: str | Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        output_format: V10,
        **options: Any,
    ) -> list[AddEvent]: ...
    @overload
    def add(
        self, messages: str | Mapping[str, Any] | Sequence[Mapping[str, Any]], **options: Any
    ) -> AddResult: ...
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
        includes: str | None = None,
        excludes: str | None = None,
        custom_instructions: str | None = None,
        custom_categories: Sequence[Mapping[str, str] | str] | Mapping[str, str] | None = None,
        expiration_date: str | date | None = None,
        immutable: bool = False,
        version: str | None = None,
        output_format: OutputFormat | None = None,
        async_mode: bool | None = None,
        **platform_options: Any,
    ) -> AddResult | list[AddEvent]:
        """Remember what the messages say about the user (and/or agent).

        Returns the events caused: ADD, UPDATE (with ``previous_memory``), DELETE
        (natural-language deletes) and NONE (already known); a bare list of them with
        ``output_format="v1.0"``.

        The platform's options (README.md, "Platform options"): ``includes`` / ``excludes``
        say what to keep and what never to store, ``custom_instructions`` and
        ``custom_categories`` replace the configured ones for this call (all four need
        ``infer=True``); ``expiration_date`` ("YYYY-MM-DD", UTC, inclusive) hides the
        memories written from search and get_all after that day; ``immutable=True``
        memories are never updated (``update`` raises ImmutableMemoryError; an extractor
        adds a new memory instead) nor deleted by a spoken delete. ``async_mode=True`` (the
        platform's queued add) is refused: an add here returns its results, and
        ``AsyncMemory`` is the non-blocking way.
        """
        scope = required_scope("add", user_id, agent_id, app_id, run_id)
        check_platform_options(platform_options, set())
        check_version(version)
        fmt = check_output_format(output_format)
        if async_mode is not None and check_flag(async_mode, "async_mode"):
            raise InvalidInputError(
                "async_mode=True queues an add on the platform; memkit's add returns its "
                "results when done (use AsyncMemory not to block), so pass async_mode=False"
            )
        immutable = check_flag(immutable, "immutable")
        expires = check_expiration_date(expiration_date)
        options = extraction_options(includes, excludes, custom_instructions, custom_categories)
        if options and not infer:
            raise InvalidInputError(
                f"{', '.join(options.given())}: these steer extraction, and infer=False "
                "stores the messages verbatim"
            )
        extractor = options.apply(self.extractor)
        parsed = normalize_messages(messages, scope)
        check_readable(parsed, self.extractor if infer else None)  # images: refused, not dropped
        now = self._clock()
        request = AddRequest(
            scope=scope,
            metadata=check_metadata(metadata),
            categories=None if categories is None else check_categories(categories),
            created_at=now if timestamp is None else parse_timestamp(timestamp),
            now=now,
            immutable=immutable,
            expiration_date=expires,
            replay_options={
                "includes": options.includes,
                "excludes": options.excludes,
                "custom_instructions": options.custom_instructions,
                "custom_categories": options.categories,
                "expiration_date": expires,
                "immutable": immutable or None,
            },
        )
        if infer:
            events = add_inferred(
                self.backend, self.embedder, extractor, parsed, scope, request, timestamp
            )
        else:
            events = add_verbatim(self.backend, self.embedder, parsed, scope, request)
        current_outcome().counts.update(
            {e: sum(1 for x in events if x.event == e) for e in ("ADD", "UPDATE", "DELETE", "NONE")}
        )
        return events if fmt == "v1.0" else AddResult(results=events)

    @overload
    def search(
        self, query: str, *, fields: Sequence[str], output_format: V10, **options: Any
    ) -> list[dict[str, Any]]: ...
    @overload
    def search(
        self, query: str, *, fields: None = None, output_format: V10, **options: Any
    ) -> list[SearchHit]: ...
    @overload
    def search(
        self, query: str, *, fields: Sequence[str], output_format: V11 = None, **options: Any
    ) -> FieldsResult: ...
    @overload
    def search(self, query: str, **options: Any) -> SearchResult: ...

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
        fields: Sequence[str] | None = None,
        keyword_search: bool = False,
        rerank: bool | None = None,
        limit: int | None = None,
        version: str | None = None,
        output_format: OutputFormat | None = None,
        **platform_options: Any,
    ) -> SearchResult | FieldsResult | list[SearchHit] | list[dict[str, Any]]:
        """The memories most relevant to ``query``, highest score first.

        ``filters`` is the v2 filter language; the id keywords are ANDed with it, and
        both select the candidates before anything is ranked.

        ``score`` is in [0, 1]. By default (``search.mode`` "hybrid") it fuses the
        cosine similarity and the BM25 keyword score (over its maximum for the query),
        equally weighted, then lifts it towards 1 by time cues (a memory written in
        the period the query names; one that says when, for a "when" question) and by
        the score of the memory written just before or after it. With mode "dense" it
        is the cosine similarity alone. ``threshold`` drops results scoring below it.

        Within a scope, the words of its own ``user_id``/``agent_id``/``run_id`` ("Alex"
        in "What does Alex eat?" for ``user_id="alex"``) are left out of the query: every
        memory there is Alex's, so the name would only favour "Name is Alex".

        The platform's options: ``fields`` returns only those fields of each result (as
        dicts); ``keyword_search=True`` ranks by the query's words alone (BM25), so only
        memories holding one are returned; ``rerank=True`` re-scores by the hybrid scorer's
        full features and ``rerank=False`` keeps the vector similarity alone, whatever
        ``search.mode`` is (None: ``search.mode``); ``limit`` is the old name of
        ``top_k``; ``output_format="v1.0"`` returns the bare list. Memories past their
        ``expiration_date`` are never returned.
        """
        check_platform_options(platform_options, set())
        check_version(version)
        fmt = check_output_format(output_format)
        top_k = top_k if limit is None else limit
        check_text(query, "query")
        check_search_limits(top_k, threshold)
        wanted = check_fields(fields, SearchHit)
        ranking = ranking_of(
            self.config.search,
            check_flag(keyword_search, "keyword_search"),
            None if rerank is None else check_flag(rerank, "rerank"),
        )
        scope = call_scope(user_id, agent_id, app_id, run_id)
        chroma = search_filter(filters, scope)
        # The scope's own name is no clue to the answer (memkit.search._scope_words).
        vector = self.embedder.embed([query_without_scope(query, chroma.source)])[0]
        hits = self._nearest(query, vector, chroma, top_k, ranking)
        results = search_hits(self.backend, hits, threshold)
        current_outcome().counts = {"results": len(results)}
        if wanted is not None:
            rows = only_fields(results, wanted)
            return rows if fmt == "v1.0" else FieldsResult(results=rows)
        return results if fmt == "v1.0" else SearchResult(results=results)

    def _nearest(
        self,
        query: str,
        vector: np.ndarray,
        chroma: ChromaFilter,
        top_k: int,
        ranking: Ranking | None = None,
    ) -> list[tuple[str, float]]:
        """Search's ranking without its embedding call and result rows."""
        return nearest(
            self.backend, self.config.search, self._clock, query, vector, chroma, top_k, ranking
        )

    @overload
    def get_all(
        self, *, fields: Sequence[str], output_format: V10, **options: Any
    ) -> list[dict[str, Any]]: ...
    @overload
    def get_all(
        self, *, fields: None = None, output_format: V10, **options: Any
    ) -> list[MemoryRecord]: ...
    @overload
    def get_all(
        self, *, fields: Sequence[str], output_format: V11 = None, **options: Any
    ) -> FieldsPage: ...
    @overload
    def get_all(self, **options: Any) -> Page: ...

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
        fields: Sequence[str] | None = None,
        version: str | None = None,
        output_format: OutputFormat | None = None,
        **platform_options: Any,
    ) -> Page | FieldsPage | list[MemoryRecord] | list[dict[str, Any]]:
        """One page of the matching memories, most recently updated first.

        ``fields`` returns only those fields of each record (as dicts);
        ``output_format="v1.0"`` returns the page's records as a bare list, the platform's
        old shape. Memories past their ``expiration_date`` are left out (``get`` reads them).
        """
        check_platform_options(platform_options, set())
        check_version(version)
        fmt = check_output_format(output_format)
        page, page_size = check_paging(page, page_size)
        wanted = check_fields(fields, MemoryRecord)
        scope = call_scope(user_id, agent_id, app_id, run_id)
        node = listing_filter(filters, scope, categories, keywords)
        hidden = hidden_ids(self.backend, self._clock())
        result = listing_page(self.backend, node, page, page_size, hidden)
        current_outcome().counts = {"count": result.count, "results": len(result.results)}
        if wanted is not None:
            rows = only_fields(result.results, wanted)
            if fmt == "v1.0":
                return rows
            return FieldsPage(**{**result.model_dump(exclude={"results"}), "results": rows})
        return result.results if fmt == "v1.0" else result

    @monitored("get")
    def get(self, memory_id: str) -> MemoryRecord:
        return load(self.backend, [memory_id])[memory_id].to_model()

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
        expiration_date: str | date | Keep | None = KEEP,
    ) -> MemoryRecord:
        """Change the text, the metadata (replaced), or both; recorded in history.

        ``expiration_date`` sets the memory's date ("YYYY-MM-DD") or, given None, clears it
        so an expired memory shows again. An immutable memory raises ImmutableMemoryError.

        A new text is re-embedded and its categories are recomputed from it by the offline
        categoriser (no LLM call, whichever extractor is configured), so a topic delete
        ("Delete all of my food preferences") follows what the memory now says. A
        metadata-only update keeps the categories. ``data=`` is accepted as mem0's name
        for ``text``.
        """
        item: dict[str, Any] = {"memory_id": memory_id, "text": text if text is not None else data}
        if metadata is not None:
            item["metadata"] = metadata
        if not isinstance(expiration_date, Keep):
            item["expiration_date"] = expiration_date
        (updated,) = update_many(
            self.backend, self.embedder, self._clock, self._categorize, [item], "update"
        )
        current_outcome().counts = {"UPDATE": 1}
        return updated.to_model()

    @monitored("batch_update")
    def batch_update(self, memories: Sequence[Mapping[str, Any]]) -> BatchResult:
        """Up to 1000 ``{"memory_id", "text"?, "metadata"?, "expiration_date"?}`` in one
        transaction, all or nothing; an immutable memory fails the batch.

        Each item follows ``update``'s rules (a new text gets new categories)."""
        items = check_batch(memories, "batch_update")
        updated = update_many(
            self.backend, self.embedder, self._clock, self._categorize, items, "batch_update"
        )
        current_outcome().counts = {"UPDATE": len(updated)}
        return BatchResult(
            message=f"Successfully updated {len(updated)} memories", count=len(updated)
        )

    @monitored("delete")
    def delete(self, memory_id: str) -> MessageResult:
        count = delete_ids(self.backend, self._clock, [memory_id], strict=True)
        current_outcome().counts = {"DELETE": count}
        return MessageResult(message="Memory deleted successfully!", count=count)

    @monitored("batch_delete")
    def batch_delete(self, memories: Sequence[Mapping[str, Any]]) -> BatchResult:
        """Up to 1000 ``{"memory_id"}`` in one transaction; an unknown id deletes nothing."""
        ids = batch_delete_ids(memories)
        count = delete_ids(self.backend, self._clock, ids, strict=True)
        current_outcome().counts = {"DELETE": count}
        return BatchResult(message=f"Successfully deleted {count} memories", count=count)

    @monitored("delete_all")
    def delete_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> MessageResult:
        """Delete every memory carrying all the given ids (at least one is required).

        ``filters`` (the v2 filter language, ANDed with the ids) is how current platform
        clients send the ids: ``delete_all(filters={"user_id": "alex"})``; it may narrow
        further (``{"AND": [{"user_id": "alex"}, {"run_id": "r1"}]}``), but must pin an
        entity id, so that no filter deletes every entity's memories (``reset()`` does).
        """
        if filters is None:
            scope = required_scope("delete_all", user_id, agent_id, app_id, run_id)
            count = delete_scope(self.backend, self._clock, scope)
        else:
            scope = call_scope(user_id, agent_id, app_id, run_id)
            node = listing_filter(filters, scope, None, None)
            count = delete_filtered(self.backend, self._clock, node)
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
        scope = required_scope("delete_users", user_id, agent_id, app_id, run_id)
        count = delete_entities(self.backend, self._clock, scope)
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
        session_id = check_session(session_id)
        self.backend.records.transcripts.append(session_id, transcript_rows(session_id, messages))

    def get_messages(self, session_id: str, last: int | None = None) -> list[TranscriptMessage]:
        """A session's transcript, oldest first; ``last`` keeps only the newest messages."""
        session_id = check_session(session_id)
        last = check_last(last)
        return transcript_messages(self.backend.records.transcripts.read(session_id, last))

    def clear_messages(self, session_id: str) -> None:
        self.backend.records.transcripts.clear(check_session(session_id))

    # ---- monitoring -----------------------------------------------------------------------

    def activity(self, limit: int = 100, kind: str | None = None) -> list[dict[str, Any]]:
        """The most recent operations, newest first: kind, scope, counts, latency, error."""
        limit, kind = check_activity_query(limit, kind)
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
        return pending_rows(self.backend)

    def replay(self, pending_id: str) -> AddResult:
        """Run a kept add again (once the model is reachable); on success its row is dropped.

        If extraction fails again nothing is written, the row stays, and the
        ``ExtractionError`` names the same ``pending_id``.
        """
        check_id(pending_id, "pending_id")
        # Only this replay of the row runs; the store's write lock is not held while the
        # model is called (add plans without it), so a slow model stalls no other write.
        with self._replays.only_one(pending_id):
            return replay_row(self.backend, pending_id, self.add)

    def usage(self) -> dict[str, int]:
        """LLM totals over this store's activity log: adds, llm_calls, prompt_tokens,
        completion_tokens and llm_ms (time spent waiting on the model), failed adds included."""
        return usage_totals(self.backend)

    # ---- export and import ----------------------------------------------------------------

    @monitored("export")
    def export(
        self,
        destination: str | os.PathLike[str] | IO[str],
        *,
        filters: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        embeddings: bool = True,
    ) -> ExportResult:
        """Write the memories to ``destination`` (a file path, or a writable text stream) as
        JSON Lines: a header, then each memory with its full history and, unless
        ``embeddings=False``, its vector (the format: ``memkit._export``).

        ``filters`` and the ids select as in ``get_all``; with neither, every memory of the
        store is exported (a backup). A file is written whole or not at all.
        """
        check_destination(destination)
        if not isinstance(embeddings, bool):
            raise InvalidInputError(f"embeddings must be True or False, got {embeddings!r}")
        scope = call_scope(user_id, agent_id, app_id, run_id)
        node = listing_filter(filters, scope, None, None)
        result = export_memories(
            self.backend,
            self.embedder.name,
            self.embedder.dims,
            node,
            filters,
            destination,
            embeddings,
        )
        current_outcome().counts = {"exported": result.count}
        return result

    @monitored("import")
    def import_(
        self,
        source: str | os.PathLike[str] | IO[str] | Iterable[str],
        *,
        on_conflict: ConflictPolicy = "newer",
    ) -> ImportResult:
        """Load a file written by ``export`` (a path, a text stream or its lines): same ids,
        timestamps, history, categories and metadata. Idempotent: a memory the store
        already holds as is, is skipped.

        An id the store holds with other content follows ``on_conflict``: ``"newer"`` (the
        file's version wins when its ``updated_at`` is later; else the store's is kept and
        counted in ``conflicts``), ``"keep"``, ``"replace"`` or ``"error"``. Vectors are
        taken from the file when it was written with this store's embedder, else computed
        (``re_embedded``). The whole file is checked first and written in one transaction:
        a bad line is an ``InvalidImportError`` naming it, and nothing is written.
        ``import`` is a Python keyword, hence the trailing underscore (PEP 8).
        """
        result = import_memories(self.backend, self.embedder, source, on_conflict)
        current_outcome().counts = {
            "ADD": result.added,
            "UPDATE": result.replaced,
            "NONE": result.skipped,
            "conflicts": result.conflicts,
        }
        return result

    @functools.cached_property
    def _memory_exports(self) -> ExportJobs:
        return ExportJobs(self.backend.records.memory_exports)

    @monitored("create_memory_export")
    def create_memory_export(
        self,
        schema: type[BaseModel] | Mapping[str, Any] | str,
        *,
        filters: Mapping[str, Any] | None = None,
        export_instructions: str | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        **platform_options: Any,
    ) -> MemoryExportJob:
        """The platform's structured export: the configured LLM fills one object following
        ``schema`` (a pydantic model class, a JSON schema or its JSON text) from the
        memories ``filters`` and the ids select. Runs now; ``get_memory_export(id)`` returns
        the object. Without an LLM: ``ConfigError``.
        """
        check_platform_options(platform_options, set())  # a store is one project
        llm = llm_of(self.extractor)
        json_schema, model = json_schema_of(schema)
        if export_instructions is not None:
            check_text(export_instructions, "export_instructions")
        scope = call_scope(user_id, agent_id, app_id, run_id)
        node = listing_filter(filters, scope, None, None)
        hidden = hidden_ids(self.backend, self._clock())  # as get_all: expired ones are out
        memories = [m for m in selected_memories(self.backend, node) if m.id not in hidden]
        result = fill_schema(llm, json_schema, model, memories, export_instructions)
        export_id = self._memory_exports.keep({"filters": filters, **scope.as_dict()}, result)
        current_outcome().counts = {"memories": len(memories)}
        return MemoryExportJob(
            message="Memory export request received. The export will be ready in a few seconds.",
            id=export_id,
        )

    @monitored("get_memory_export")
    def get_memory_export(
        self,
        memory_export_id: str | None = None,
        *,
        filters: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        **platform_options: Any,
    ) -> dict[str, Any]:
        """The object a ``create_memory_export`` filled: by its id, or the latest one made
        with the same filters and ids. Kept by this ``Memory`` only (not in the store)."""
        check_platform_options(platform_options, set())
        if memory_export_id is not None:
            check_id(memory_export_id, "memory_export_id")
        scope = call_scope(user_id, agent_id, app_id, run_id)
        return self._memory_exports.get(memory_export_id, {"filters": filters, **scope.as_dict()})
