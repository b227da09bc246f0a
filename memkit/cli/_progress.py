"""Progress bars for export and import, on stderr, around memkit's own one-call API.

``Memory.export`` and ``Memory.import_`` take a text stream as well as a path, so the CLI
measures them from outside: an import reads its file through rich's progress-tracking
reader (bytes read of the file's size), an export writes through a stream that counts the
lines it is given (memories written of the count the store reported). No core change, and
stdout keeps only the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from memkit.cli._common import error_console


def progress_bar() -> Progress:
    """A bar on stderr; on a terminal it redraws, elsewhere rich prints its last state."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=error_console(),
    )


@contextmanager
def tracked(description: str, total: float | None) -> Iterator[tuple[Progress, TaskID]]:
    """A bar with one task; when the work fails the bar is dropped, so the error stays
    the only line on stderr."""
    with progress_bar() as bar:
        task = bar.add_task(description, total=total)
        try:
            yield bar, task
        except BaseException:
            bar.remove_task(task)
            raise


class LineCounter:
    """A text stream that passes writes on and reports each newline it saw (one per
    exported memory, plus the header line)."""

    def __init__(self, out: IO[str], advance: Callable[[int], None]) -> None:
        self._out = out
        self._advance = advance

    def write(self, text: str) -> int:
        written = self._out.write(text)
        lines = text.count("\n")
        if lines:
            self._advance(lines)
        return written

    def flush(self) -> None:
        self._out.flush()

    def writable(self) -> bool:
        return True
