"""What every command shares: the global options, opening the store, reading JSON options,
printing (rich tables for people, ``--json`` for scripts) and turning errors into one line.

Errors are one line on stderr, never a traceback: ``memkit: error: <message>``. Exit codes:
1 for a usage error (memkit's ``MemkitUsageError``, bad JSON, a refused confirmation), 2 for
a command line click cannot parse, 3 when memkit failed underneath (``MemkitRuntimeError``:
a locked store, Chroma, the record store) so scripts can tell "fix the call" from "retry".
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Column, Table

from memkit import AddResult, BatchResult, MemkitError, Memory, MessageResult
from memkit.errors import MemkitRuntimeError
from memkit.models import ID_FIELDS

if TYPE_CHECKING:  # the client extra is optional: imported when --host is given
    from memkit.client import MemoryClient

USAGE_EXIT = 1
RUNTIME_EXIT = 3


@dataclass(frozen=True)
class Settings:
    """The global options, kept on the click context for the commands."""

    path: Path | None = None
    config: Path | None = None
    json: bool = False
    host: str | None = None  # a memkit server instead of a local store
    api_key: str | None = None


def settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Settings) else Settings()


def fail(message: str, code: int = USAGE_EXIT) -> NoReturn:
    """One line on stderr, then the exit code."""
    typer.echo(f"memkit: error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def one_line_errors() -> Iterator[None]:
    try:
        yield
    except MemkitRuntimeError as exc:
        fail(_line(exc), RUNTIME_EXIT)
    except MemkitError as exc:
        fail(_line(exc))
    except OSError as exc:  # an export destination or import source that cannot be opened
        fail(_line(exc))


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def load_config(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"--config {path}: {exc.strerror or exc}")
    except json.JSONDecodeError as exc:
        fail(f"--config {path}: not JSON ({exc.msg} at line {exc.lineno})")
    if not isinstance(loaded, dict):
        fail(f"--config {path}: expected a JSON object")
    return loaded


@contextmanager
def open_memory(ctx: typer.Context) -> Iterator[Memory | MemoryClient]:
    """The store named by ``--path`` / ``--config`` (else ``$MEMKIT_HOME``), closed after;
    with ``--host``, a ``MemoryClient`` on that server instead (same methods, same results).
    """
    options = settings(ctx)
    if options.host is not None:
        if options.path is not None or options.config is not None:
            fail("--host sends the calls to a server: --path and --config name a local store")
        with one_line_errors():
            from memkit.client import MemoryClient

            with MemoryClient(api_key=options.api_key, host=options.host) as client:
                yield client
        return
    config = load_config(options.config) if options.config else None
    with one_line_errors():
        memory = Memory(str(options.path) if options.path else None, config=config)
        with memory:
            yield memory


def json_option(value: str | None, option: str) -> Any:
    """A JSON option's value, or one line naming the option when it is not JSON."""
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        fail(f"{option} is not valid JSON: {exc.msg} (column {exc.colno})")


def json_object(value: str | None, option: str) -> dict[str, Any] | None:
    parsed = json_option(value, option)
    if parsed is not None and not isinstance(parsed, dict):
        fail(f"{option} must be a JSON object, got {type(parsed).__name__}")
    return parsed


def scope_ids(
    user: str | None, agent: str | None, app: str | None, run: str | None
) -> dict[str, str]:
    given = {"user_id": user, "agent_id": agent, "app_id": app, "run_id": run}
    return {key: value for key, value in given.items() if value is not None}


def console() -> Console:
    # Made per call: a Console binds sys.stdout when built, and tests swap it.
    return Console(soft_wrap=False)


def error_console() -> Console:
    return Console(stderr=True)


def emit_json(value: BaseModel | Mapping[str, Any] | list[Any]) -> None:
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    typer.echo(json.dumps(data, ensure_ascii=False, default=str))


def id_column(header: str = "id") -> Column:
    """A table column whose ids a narrow terminal folds onto more lines instead of cutting
    (rich's default ends them in "…"): an id is what the next command is given
    (``memkit get ID``, ``memkit keys revoke ID``), so a cut one is of no use."""
    return Column(header, overflow="fold")


def show_add_result(ctx: typer.Context, result: AddResult) -> None:
    """The events an add caused (``add`` and ``replay`` answer alike)."""
    if settings(ctx).json:
        emit_json(result)
        return
    table = Table("event", id_column(), "memory")
    for event in result.results:
        table.add_row(event.event, event.id, event.memory)
    console().print(table if result.results else "Nothing new to remember.")


def show_message_result(
    ctx: typer.Context, result: BatchResult | MessageResult, *, unit: str = ""
) -> None:
    """A batch's or a delete's answer: the platform's message and the count."""
    if settings(ctx).json:
        emit_json(result)
    else:
        console().print(f"{result.message} ({result.count}{unit})", highlight=False)


def confirm(question: str, yes: bool) -> None:
    """Ask on stderr (``--json`` output stays clean) unless ``--yes``; no means nothing
    is deleted."""
    if not yes and not typer.confirm(question, err=True):
        fail("not confirmed; nothing deleted")


def when(value: Any) -> str:
    """A timestamp cell: a datetime from a local store, or its ISO text from a server."""
    if isinstance(value, str):
        text: str = value
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return text
    return f"{value:%Y-%m-%d %H:%M:%S}" if isinstance(value, datetime) else str(value or "")


def entity(record: Mapping[str, Any]) -> str:
    """A record's scope in one cell: ``user=alex run=r1``."""
    return " ".join(
        f"{key.removesuffix('_id')}={record[key]}" for key in ID_FIELDS if record.get(key)
    )


# Options shared by several commands, spelt once.
Yes = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")]
User = Annotated[str | None, typer.Option("--user", "-u", help="user id")]
Agent = Annotated[str | None, typer.Option("--agent", help="agent id")]
App = Annotated[str | None, typer.Option("--app", help="app id")]
Run = Annotated[str | None, typer.Option("--run", help="run id")]
Filters = Annotated[
    str | None,
    typer.Option(
        "--filters",
        help='v2 filters as JSON, e.g. \'{"categories": {"in": ["food_preferences"]}}\'',
    ),
]
