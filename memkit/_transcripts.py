"""Session transcripts: the short-term memory the framework adapters keep per session.

A transcript is the conversation as it happened, stored apart from long-term memory
(``add`` writes that); messages are checked like ``add``'s and their metadata (tool-call
ids, say) is kept as JSON rather than indexed, so nothing here is ever searched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from memkit._domain import epoch_to_datetime
from memkit._inputs import Scope, check_id, normalize_messages
from memkit.bounds import json_problem
from memkit.errors import InvalidInputError
from memkit.models import TranscriptMessage

__all__ = [
    "MAX_TRANSCRIPT_READ",
    "check_last",
    "check_session",
    "transcript_messages",
    "transcript_rows",
]

# More messages than any transcript holds: ``get_messages(last=...)`` beyond it reads them all.
MAX_TRANSCRIPT_READ = 2**62


def check_session(session_id: Any) -> str:
    return check_id(session_id, "session_id")


def check_last(last: Any) -> int | None:
    """``get_messages``' ``last``: None for all, else a count capped for SQL's 64-bit LIMIT."""
    if last is None:
        return None
    if isinstance(last, bool) or not isinstance(last, int) or last < 0:
        raise InvalidInputError(f"last must be a non-negative integer, got {last!r}")
    return min(last, MAX_TRANSCRIPT_READ)  # past any transcript; SQL's LIMIT is 64-bit


def transcript_rows(session_id: str, messages: Any) -> list[dict[str, Any]]:
    """The rows to append for ``messages``, each with its metadata when given."""
    parsed = normalize_messages(messages, Scope(user_id=session_id))
    extras = messages if isinstance(messages, list) else [messages]
    rows = []
    for message, extra in zip(parsed, extras, strict=True):
        row = message.model_dump(exclude_none=True)
        if isinstance(extra, Mapping) and extra.get("metadata") is not None:
            row["metadata"] = _json_metadata(extra["metadata"])
        rows.append(row)
    return rows


def transcript_messages(rows: list[dict[str, Any]]) -> list[TranscriptMessage]:
    return [
        TranscriptMessage(**{**row, "created_at": epoch_to_datetime(row["created_at"])})
        for row in rows
    ]


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
