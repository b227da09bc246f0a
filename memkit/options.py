"""The types in ``Memory``'s signatures, public so code that mirrors ``Memory`` (memkit's
own ``MemoryClient``, a user's wrapper or fake) can spell the same parameters, plus the
checks ``export`` / ``import_`` make of their file arguments before any work is done, and
``text_destination``: export's way of writing a path whole or not at all (a temporary file
beside it, renamed over it once complete), for anything else that writes an export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from memkit._export import ConflictPolicy, _lines, check_destination, text_destination
from memkit._options import KEEP, V10, V11, Keep, OutputFormat

__all__ = [
    "KEEP",
    "V10",
    "V11",
    "ConflictPolicy",
    "Keep",
    "OutputFormat",
    "check_destination",
    "import_lines",
    "text_destination",
]


def import_lines(source: Any) -> Iterator[tuple[int, str]]:
    """(line number, text) of ``import_``'s source: a path, a text stream or lines. Raises
    ``InvalidInputError`` / ``InvalidImportError`` as ``import_`` would."""
    return _lines(source)
