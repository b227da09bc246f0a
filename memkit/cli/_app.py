"""The typer application, its global options, and click's own errors made one line.

click prints a usage block and a hint when it cannot parse a command line; memkit's rule is
one line on stderr, so ``OneLineErrors.main`` runs click without its standalone handling and
prints the message itself (exit 2, click's code for a bad command line). typer (0.29 on)
carries its own click, whose errors all derive from ``typer.TyperException``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from memkit.cli._common import USAGE_EXIT, Settings


class OneLineErrors(TyperGroup):
    def main(self, *args: Any, **kwargs: Any) -> Any:
        standalone = kwargs.get("standalone_mode", True)
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except typer.TyperException as exc:
            if not standalone:
                raise
            typer.echo(f"memkit: error: {' '.join(exc.format_message().split())}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            if not standalone:
                raise
            typer.echo("memkit: error: aborted", err=True)
            sys.exit(USAGE_EXIT)
        if standalone:
            sys.exit(result if isinstance(result, int) else 0)
        return result


app = typer.Typer(
    name="memkit",
    cls=OneLineErrors,
    help="Long-term memory for AI agents, from the shell: a thin layer over memkit's Memory.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Option("--path", help="store directory (default: $MEMKIT_HOME, else ~/.memkit)"),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="a JSON file with Memory.from_config's configuration"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print JSON for scripts instead of tables")
    ] = False,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            envvar="MEMKIT_HOST",
            help="a memkit server's URL: the memory commands go to it instead of a local store",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key", envvar="MEMKIT_API_KEY", help="the server's API key (with --host)"
        ),
    ] = None,
) -> None:
    ctx.obj = Settings(path=path, config=config, json=as_json, host=host, api_key=api_key)
