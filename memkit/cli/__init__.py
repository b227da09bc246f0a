"""The ``memkit`` command line: memkit's public API from the shell (the ``cli`` extra).

A thin layer in the manner of simonw/llm's CLI: each command parses its options, calls one
public ``Memory`` method and prints the result, as a rich table or (``--json``) as the
method's JSON. It imports only memkit's public names (``.importlinter``, "The CLI uses the
public API"), so it shows what a user's own script can do.

    memkit add "I'm a vegetarian" --user alex
    memkit search "what does alex eat?" --user alex --json
    memkit list --user alex --page 2

One module per job: ``_app`` (the typer app and its global options), ``_common`` (opening
the store, JSON options, output, one-line errors), ``_memories``, ``_store`` and
``_admin`` (commands on a store), ``_server`` (``serve`` and ``keys``), ``_mcp``.
"""

from __future__ import annotations

try:
    import rich  # noqa: F401
    import typer  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    from memkit.errors import MissingDependencyError

    raise MissingDependencyError(
        "the memkit command line needs typer and rich: pip install 'memkit[cli]'"
    ) from exc

from typer.models import CommandInfo

from memkit.cli import _admin, _mcp, _memories, _server, _store
from memkit.cli._app import app

__all__ = ["app"]

# Importing the command modules registers their commands on ``app``; ``--help`` lists them
# everyday calls first, then the store's upkeep, then the servers.
_COMMANDS = (_admin, _mcp, _memories, _server, _store)
_HELP_ORDER = (
    "add",
    "search",
    "list",
    "get",
    "history",
    "update",
    "delete",
    "batch-update",
    "batch-delete",
    "delete-all",
    "delete-users",
    "users",
    "export",
    "import",
    "stats",
    "activity",
    "check",
    "pending",
    "replay",
    "usage",
    "structured-export",
    "reset",
    "serve",
    "mcp",
)


def _rank(command: CommandInfo) -> int:
    name = command.name or (command.callback.__name__ if command.callback else "")
    name = name.replace("_", "-")
    return _HELP_ORDER.index(name) if name in _HELP_ORDER else len(_HELP_ORDER)


app.registered_commands.sort(key=_rank)
