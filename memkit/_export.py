"""Export and import: a store's memories as JSON Lines, with their history and vectors.

The format (version 1), one JSON object per line, UTF-8:

- line 1, the header: ``{"format": "memkit.export", "version": 1, "memkit_version",
  "embedder", "dims", "embeddings", "count", "filters", "exported_at"}``. ``count`` is the
  number of memory lines that follow, so a truncated file is refused, not half-imported.
- then one line per memory: ``id``, ``memory``, ``hash``, the four entity ids,
  ``metadata``, ``categories``, ``created_at``, ``updated_at`` (ISO-8601 UTC, the shape
  ``get`` returns), any further field a memory carries (``immutable``,
  ``expiration_date``), ``history`` (every entry of ``history(memory_id)`` oldest first, without
  the store-local row number ``id``) and, unless exported with ``embeddings=False``,
  ``embedding``: the vector as base64 of little-endian float32. That is exact (a round trip
  gives the same vector bit for bit) and costs about 2 KB a memory at 384 dimensions,
  about half of a JSON list of the same floats. Lines are in id order.

Importing validates the whole file first, with the checks ``add`` and ``update`` apply
(``memkit._inputs``): a bad line is an ``InvalidImportError`` naming its line number, and
nothing is written. Then, under the store's write lock, every memory is compared with the
store's memory of the same id, and everything is written in one transaction of the
record store (``Backend.write``: history rows, keyword index and index journal with it),
so the record store and the index stay consistent, and a failure writes nothing.

Per memory: an id the store lacks is added; one it holds with equal fields (as ``get``
returns them) is skipped, so importing a file twice changes nothing the second time; one
it holds with other content is decided by ``on_conflict`` (``CONFLICT_POLICIES``; an
immutable memory is replaced only by an explicit "replace"). A
written memory also gets the file's history entries that the store's history of that id
lacks (matched on event, texts and time), appended in the file's order.

A vector is read from the file when the file was written with this store's embedder (its
``name``); otherwise, or when the line has none, the text is embedded here
(``re_embedded``). The whole file is held in memory while it is checked: an import is one
transaction, all or nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, Literal, get_args

import numpy as np

from memkit._domain import HistoryRow, StoredMemory, WriteSet, epoch_to_datetime
from memkit._embedder import Embedder
from memkit._inputs import check_categories, check_id, check_metadata, check_text, parse_timestamp
from memkit._lookup import matching_ids
from memkit._planning import text_hash
from memkit.bounds import MAX_TEXT_LENGTH, text_problem
from memkit.errors import InvalidImportError, InvalidInputError, MemkitUsageError
from memkit.filters._chroma import to_chroma
from memkit.filters._language import FilterNode
from memkit.models import ID_FIELDS, ExportResult, HistoryEntry, ImportResult
from memkit.store._backend import Backend

__all__ = [
    "CONFLICT_POLICIES",
    "FORMAT",
    "FORMAT_VERSION",
    "ConflictPolicy",
    "check_conflict_policy",
    "check_destination",
    "export_memories",
    "import_memories",
    "text_destination",
]

FORMAT = "memkit.export"
FORMAT_VERSION = 1
# What an import does with an id the store holds with other content:
# "newer": the file's version replaces the store's when its updated_at is later, else the
#          store's is kept and reported as a conflict (the default: a restore of an older
#          backup never undoes later edits, and re-importing an edited file applies them);
# "keep": the store's version is always kept (reported as a conflict);
# "replace": the file's version always wins;
# "error": any conflict is an InvalidImportError naming its line, and nothing is written.
ConflictPolicy = Literal["newer", "keep", "replace", "error"]
CONFLICT_POLICIES: tuple[str, ...] = get_args(ConflictPolicy)
_READ_CHUNK = 500  # memories read from the record store at a time while exporting
_SPOOL_BYTES = 16 * 2**20  # an export is spooled in memory up to this size, then on disk

_HEADER_KEYS = {
    "format",
    "version",
    "memkit_version",
    "embedder",
    "dims",
    "embeddings",
    "count",
    "filters",
    "exported_at",
}
# The fields a memory carries beyond these (the platform's ``immutable`` and
# ``expiration_date``) are exported and imported as they are, each checked by its rule here.
_BASE_FIELDS = {
    "id",
    "memory",
    "hash",
    *ID_FIELDS,
    "metadata",
    "categories",
    "embedding",
    "created_at",
    "updated_at",
}
_EXTRA_FIELDS = tuple(f.name for f in fields(StoredMemory) if f.name not in _BASE_FIELDS)


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInputError(f"{name} must be true or false, got {value!r}")
    return value


def _check_day(value: Any, name: str) -> str | None:
    if value is None:
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(
            f"{name} must be a YYYY-MM-DD date or null, got {value!r}"
        ) from None
    return value


def _check_scalar(value: Any, name: str) -> Any:
    if value is not None and not isinstance(value, bool | int | float | str):
        raise InvalidInputError(f"{name} must be a JSON scalar, got {type(value).__name__}")
    return value


_EXTRA_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "immutable": _check_flag,
    "expiration_date": _check_day,
}
_MEMORY_KEYS = {*_BASE_FIELDS, *_EXTRA_FIELDS, "history"}
_HISTORY_KEYS = {"event", "old_memory", "new_memory", "metadata", "categories", "created_at"}
_EVENTS = ("ADD", "UPDATE", "DELETE")


# ---- export ---------------------------------------------------------------------------


def _iso(epoch: float) -> str:
    return epoch_to_datetime(epoch).isoformat()


def _vector_text(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def _history_line(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "event": entry.event,
        "old_memory": entry.old_memory,
        "new_memory": entry.new_memory,
        "metadata": entry.metadata,
        "categories": entry.categories,
        "created_at": entry.created_at.isoformat(),
    }


def memory_line(memory: StoredMemory, history: Sequence[HistoryEntry], embeddings: bool) -> str:
    """One memory as its line of the export (without the newline)."""
    line: dict[str, Any] = {
        "id": memory.id,
        "memory": memory.memory,
        "hash": memory.hash,
        **{name: getattr(memory, name) for name in ID_FIELDS},
        "metadata": memory.metadata,
        "categories": memory.categories,
        "created_at": _iso(memory.created_at),
        "updated_at": _iso(memory.updated_at),
        "history": [_history_line(entry) for entry in history],
        **{name: getattr(memory, name) for name in _EXTRA_FIELDS},
    }
    if embeddings:
        line["embedding"] = _vector_text(memory.embedding)
    return json.dumps(line, ensure_ascii=False, sort_keys=False)


def check_destination(destination: Any) -> None:
    """A file path in an existing directory, or a writable text stream."""
    if isinstance(destination, str | os.PathLike):
        path = Path(destination)
        if path.is_dir():
            raise InvalidInputError(f"destination {str(path)!r} is a directory")
        if not path.parent.is_dir():
            raise InvalidInputError(f"destination: no directory {str(path.parent)!r}")
    elif not callable(getattr(destination, "write", None)):
        raise InvalidInputError(
            f"destination must be a file path or a writable text stream, "
            f"not {type(destination).__name__}"
        )


@contextmanager
def text_destination(destination: Any) -> Iterator[IO[str]]:
    """A writable text stream as given, or a file path written whole or not at all (a
    temporary file beside it, renamed over it once complete)."""
    check_destination(destination)
    if isinstance(destination, str | os.PathLike):
        path = Path(destination)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
                yield out
            os.replace(temporary, path)
        finally:
            Path(temporary).unlink(missing_ok=True)
        return
    yield destination


def export_memories(
    backend: Backend,
    embedder_name: str,
    dims: int,
    node: FilterNode | None,
    filters: Mapping[str, Any] | None,
    destination: Any,
    embeddings: bool,
) -> ExportResult:
    """Write the memories ``node`` selects (every memory when None) to ``destination``.

    The memory lines are spooled first, then written after the header, so its ``count``
    is exactly the lines that follow even if another process deletes a memory meanwhile,
    and a destination file is created only once everything was read.
    """
    import memkit

    check_destination(destination)
    with tempfile.SpooledTemporaryFile(_SPOOL_BYTES, mode="w+", encoding="utf-8") as spool:
        with backend.write_lock:  # this process's writes wait: one consistent snapshot
            if node is None:
                ids = sorted(backend.records.stamps())
            else:
                ids = sorted(matching_ids(backend, to_chroma(node)))
            count = 0
            for start in range(0, len(ids), _READ_CHUNK):
                found = backend.records.get_many(ids[start : start + _READ_CHUNK])
                for memory_id in ids[start : start + _READ_CHUNK]:
                    memory = found.get(memory_id)
                    if memory is None:
                        continue  # deleted by another process meanwhile
                    history = backend.records.history(memory_id)
                    spool.write(memory_line(memory, history, embeddings) + "\n")
                    count += 1
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "memkit_version": memkit.__version__,
            "embedder": embedder_name,
            "dims": dims,
            "embeddings": embeddings,
            "count": count,
            "filters": None if filters is None else dict(filters),
            "exported_at": datetime.now(UTC).isoformat(),
        }
        spool.seek(0)
        with text_destination(destination) as out:
            out.write(json.dumps(header) + "\n")
            while chunk := spool.read(2**20):
                out.write(chunk)
    return ExportResult(count=count, embedder=embedder_name, embeddings=embeddings)


# ---- reading an import ------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    embedder: str
    count: int


@dataclass
class Incoming:
    """One memory line of an import, checked: the memory (its embedding the file's vector,
    or an empty array when it has none) and its history."""

    line: int
    memory: StoredMemory
    has_vector: bool
    history: list[HistoryRow] = field(default_factory=list)


def _lines(source: Any) -> Iterator[tuple[int, str]]:
    """(line number, text) of a path, a readable text stream or an iterable of lines."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise InvalidInputError(f"source: no file {str(path)!r}")
        with path.open(encoding="utf-8") as handle:
            try:
                yield from enumerate(handle, start=1)
            except UnicodeDecodeError as exc:
                raise InvalidImportError(f"the file is not UTF-8 text ({exc})") from exc
        return
    if isinstance(source, bytes) or not isinstance(source, Iterable):
        raise InvalidInputError(
            f"source must be a file path or a readable text stream, not {type(source).__name__}"
        )
    for number, text in enumerate(source, start=1):
        if not isinstance(text, str):
            raise InvalidImportError(
                f"expected text, got {type(text).__name__} (open the file in text mode)", number
            )
        yield number, text


def _object(text: str, number: int) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON ({exc.msg} at column {exc.colno})"
        raise InvalidImportError(problem, number) from exc
    if not isinstance(value, dict):
        raise InvalidImportError(f"expected a JSON object, got {type(value).__name__}", number)
    return value


def _keys(value: Mapping[str, Any], allowed: set[str], required: set[str], where: str) -> None:
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise InvalidInputError(f"{where}unknown keys {unknown}")
    missing = sorted(required - set(value))
    if missing:
        raise InvalidInputError(f"{where}missing keys {missing}")


def _header(value: Mapping[str, Any]) -> _Header:
    if value.get("format") != FORMAT:
        raise InvalidInputError(f"not a memkit export: the first line's format is not {FORMAT!r}")
    version = value.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidInputError(f"version must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise InvalidInputError(
            f"export format version {version} is newer than this memkit reads "
            f"({FORMAT_VERSION}): upgrade memkit"
        )
    _keys(value, _HEADER_KEYS, {"format", "version", "embedder", "count"}, "header: ")
    embedder, count = value["embedder"], value["count"]
    if not isinstance(embedder, str) or not embedder:
        raise InvalidInputError(f"embedder must be a non-empty string, got {embedder!r}")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise InvalidInputError(f"count must be a non-negative integer, got {count!r}")
    return _Header(embedder=embedder, count=count)


def _optional_text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string or null")
    problem = text_problem(value, MAX_TEXT_LENGTH)
    if problem is not None:
        raise InvalidInputError(f"{name} {problem}")
    return value


def _vector(value: Any, dims: int) -> np.ndarray:
    if not isinstance(value, str):
        raise InvalidInputError("embedding must be a base64 string of float32 values")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInputError(f"embedding is not valid base64 ({exc})") from exc
    if len(raw) != 4 * dims:
        raise InvalidInputError(
            f"embedding has {len(raw) // 4} dimensions; this store's embedder has {dims}"
        )
    vector = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    if not np.all(np.isfinite(vector)):
        raise InvalidInputError("embedding holds a value that is not a finite number")
    return vector


def _history(value: Any, memory: StoredMemory) -> list[HistoryRow]:
    if not isinstance(value, list):
        raise InvalidInputError("history must be a list")
    rows: list[HistoryRow] = []
    for i, entry in enumerate(value):
        where = f"history[{i}]"
        if not isinstance(entry, dict):
            raise InvalidInputError(f"{where} must be an object")
        _keys(entry, _HISTORY_KEYS, {"event", "created_at"}, f"{where}: ")
        if entry["event"] not in _EVENTS:
            raise InvalidInputError(f"{where}.event must be one of {list(_EVENTS)}")
        state = memory.evolve(
            metadata=check_metadata(entry.get("metadata") or {}),
            categories=check_categories(entry.get("categories") or [], f"{where}.categories"),
        )
        rows.append(
            HistoryRow(
                memory_id=memory.id,
                event=entry["event"],
                old_memory=_optional_text(entry.get("old_memory"), f"{where}.old_memory"),
                new_memory=_optional_text(entry.get("new_memory"), f"{where}.new_memory"),
                memory=state,
                created_at=parse_timestamp(entry["created_at"]),
            )
        )
    return rows


def _incoming(value: Mapping[str, Any], number: int, vectors: bool, dims: int) -> Incoming:
    """A memory line, checked as ``add`` checks its input."""
    _keys(value, _MEMORY_KEYS, {"id", "memory", "created_at", "updated_at"}, "")
    memory_id = check_id(value["id"], "id")
    try:
        canonical = str(uuid.UUID(memory_id)) == memory_id
    except ValueError:
        canonical = False
    if not canonical:
        raise InvalidInputError(f"id must be a memory id (a lowercase UUID), got {memory_id!r}")
    text = check_text(value["memory"], "memory")
    given_hash = value.get("hash")
    if given_hash is not None and given_hash != text_hash(text):
        raise InvalidInputError("hash does not match the memory text (the line was altered)")
    ids: dict[str, Any] = {name: value.get(name) for name in ID_FIELDS}
    for name, entity in ids.items():
        if entity is not None:
            check_id(entity, name)
    if not any(ids.values()):
        raise InvalidInputError("a memory needs at least one of user_id, agent_id, app_id, run_id")
    created_at = parse_timestamp(value["created_at"])
    updated_at = parse_timestamp(value["updated_at"])
    has_vector = vectors and value.get("embedding") is not None
    extras = {
        name: _EXTRA_CHECKS.get(name, _check_scalar)(value[name], name)
        for name in _EXTRA_FIELDS
        if name in value
    }
    memory = StoredMemory(
        id=memory_id,
        memory=text,
        hash=text_hash(text),
        metadata=check_metadata(value.get("metadata") or {}),
        categories=check_categories(value.get("categories") or []),
        embedding=_vector(value["embedding"], dims) if has_vector else np.zeros(0, np.float32),
        created_at=created_at,
        updated_at=updated_at,
        **ids,
        **extras,
    )
    return Incoming(number, memory, has_vector, _history(value.get("history", []), memory))


def read_import(source: Any, embedder_name: str, dims: int) -> tuple[str, list[Incoming]]:
    """The file's embedder name and its memories, every line checked; InvalidImportError
    (naming the line) on the first bad one."""
    header: _Header | None = None
    memories: list[Incoming] = []
    seen: dict[str, int] = {}
    last = 0
    for number, text in _lines(source):
        last = number
        if not text.strip():
            continue
        try:
            value = _object(text, number)
            if header is None:
                header = _header(value)
                continue
            incoming = _incoming(value, number, header.embedder == embedder_name, dims)
        except InvalidImportError:
            raise
        except MemkitUsageError as exc:
            raise InvalidImportError(str(exc), number) from exc
        if incoming.memory.id in seen:
            raise InvalidImportError(
                f"id {incoming.memory.id!r} is already on line {seen[incoming.memory.id]}", number
            )
        seen[incoming.memory.id] = number
        memories.append(incoming)
    if header is None:
        raise InvalidImportError("the file is empty: no header line")
    if len(memories) != header.count:
        raise InvalidImportError(
            f"the header announces {header.count} memories but the file has "
            f"{len(memories)} (a truncated or edited file)",
            last + 1 if len(memories) < header.count else None,
        )
    return header.embedder, memories


# ---- planning and writing an import -----------------------------------------------------


def _history_key(event: str, old: str | None, new: str | None, when: Any) -> tuple[Any, ...]:
    moment = when if isinstance(when, datetime) else epoch_to_datetime(when)
    return (event, old, new, moment)


def plan_import(
    memories: Sequence[Incoming],
    existing: Mapping[str, StoredMemory],
    on_conflict: ConflictPolicy,
) -> tuple[list[Incoming], list[Incoming], ImportResult]:
    """Which memories to add and which to replace, and the counts so far (pure).

    Two memories are equal when ``get`` would return the same record for both (times to
    the microsecond, as the export writes them); the vector is not compared.
    """
    added: list[Incoming] = []
    replaced: list[Incoming] = []
    skipped = 0
    conflicts: list[str] = []
    for incoming in memories:
        current = existing.get(incoming.memory.id)
        if current is None:
            added.append(incoming)
            continue
        ours, theirs = current.to_model(), incoming.memory.to_model()
        # An immutable memory is never updated on its own (``update`` refuses it); only an
        # explicit "replace" overwrites it.
        newer = theirs.updated_at > ours.updated_at and not getattr(current, "immutable", False)
        if ours == theirs:
            skipped += 1
        elif on_conflict == "replace" or (on_conflict == "newer" and newer):
            replaced.append(incoming)
        elif on_conflict == "error":
            raise InvalidImportError(
                f"memory {incoming.memory.id!r} exists with other content (on_conflict='error')",
                incoming.line,
            )
        else:
            conflicts.append(incoming.memory.id)
    result = ImportResult(
        total=len(memories),
        added=len(added),
        replaced=len(replaced),
        skipped=skipped,
        conflicts=len(conflicts),
        conflict_ids=conflicts,
    )
    return added, replaced, result


def new_history(incoming: Incoming, known: Sequence[HistoryEntry]) -> list[HistoryRow]:
    """The file's history entries of a memory that the store's history of it lacks."""
    have = {_history_key(e.event, e.old_memory, e.new_memory, e.created_at) for e in known}
    return [
        row
        for row in incoming.history
        if _history_key(row.event, row.old_memory, row.new_memory, row.created_at) not in have
    ]


def import_memories(
    backend: Backend, embedder: Embedder, source: Any, on_conflict: Any
) -> ImportResult:
    """Read, check, plan and write one import file (see the module docstring)."""
    policy = check_conflict_policy(on_conflict)
    file_embedder, memories = read_import(source, embedder.name, embedder.dims)
    with backend.write_lock:
        existing = backend.records.get_many([m.memory.id for m in memories])
        added, replaced, result = plan_import(memories, existing, policy)
        new_ids = {m.memory.id for m in added}
        written = [*added, *replaced]
        embed = [m for m in written if not m.has_vector or file_embedder != embedder.name]
        texts = list(dict.fromkeys(m.memory.memory for m in embed))
        vectors = dict(zip(texts, embedder.embed(texts), strict=True)) if texts else {}
        to_embed = {m.memory.id for m in embed}
        writes = WriteSet()
        for incoming in written:
            memory = incoming.memory
            if memory.id in to_embed:
                memory = memory.evolve(embedding=vectors[memory.memory])
            (writes.inserts if memory.id in new_ids else writes.updates).append(memory)
            writes.history.extend(new_history(incoming, backend.records.history(memory.id)))
        backend.write(writes)
    return result.model_copy(
        update={"re_embedded": len(to_embed), "history_added": len(writes.history)}
    )


def check_conflict_policy(value: Any) -> ConflictPolicy:
    if value not in CONFLICT_POLICIES:
        raise InvalidInputError(
            f"on_conflict must be one of {list(CONFLICT_POLICIES)}, got {value!r}"
        )
    return value  # type: ignore[no-any-return]
