"""The ``sweepledger`` click group: global options and the one place errors become exit codes.

Each command lives in its own module of ``commands/`` and is registered in ``COMMAND_MODULES``.
Heavy libraries (duckdb, pyarrow) are imported inside the commands that need them, so that
``sweepledger head`` starts fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

import click

from commands.context import AppContext
from commands.logs import configure_logging

DEFAULT_ROOT = "artifacts"
ROOT_ENV = "SWEEPLEDGER_ROOT"

# module -> names of the click commands it defines, in help order.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "commands.ledger_cmds": ("init", "append", "log", "head", "verify", "repair", "seal"),
    "commands.schema_cmd": ("schema",),
    "commands.evidence_cmd": ("verify_evidence",),
    "commands.demo_cmd": ("demo",),
    "commands.run_cmd": ("run",),
    "commands.rebuild_cmd": ("rebuild",),
    "commands.query_cmd": ("query",),
    "commands.gaps_cmd": ("gaps",),
    "commands.report_cmd": ("report",),
    "commands.leaderboard_cmd": ("leaderboard",),
    "commands.ingest_cmd": ("ingest",),
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name.replace("_", "-") for names in COMMAND_MODULES.values() for name in names]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        attr = cmd_name.replace("-", "_")
        for module_name, names in COMMAND_MODULES.items():
            if attr in names:
                module = importlib.import_module(module_name)
                command: click.Command = getattr(module, attr)
                return command
        return None


@click.group(cls=LazyGroup)
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Ledger root directory (default ./{DEFAULT_ROOT}, or ${ROOT_ENV}).",
)
@click.option("--log-json", is_flag=True, help="Log JSON lines to stderr.")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="sweepledger")
@click.pass_context
def cli(ctx: click.Context, root: Path | None, log_json: bool, verbose: int, debug: bool) -> None:
    """sweepledger: a hash-chained ledger of batch research runs.

    \b
    Example:
      sweepledger --root ./artifacts append x.note --data '{"text": "hello"}'
      sweepledger --root ./artifacts verify
    """
    level = {0: "warning", 1: "info"}.get(verbose, "debug")
    configure_logging(json_lines=log_json, level=level)
    resolved = root if root is not None else Path(os.environ.get(ROOT_ENV, DEFAULT_ROOT))
    ctx.obj = AppContext(root=resolved, debug=debug)


def _exit_code_of(error: BaseException) -> int | None:
    """The exit code a known error maps to, or None for an unexpected one."""
    from schemas import SchemaError

    if isinstance(error, SchemaError):
        return 2
    code = getattr(error, "exit_code", None)
    return code if isinstance(code, int) else None


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point: run the CLI, turning known errors into one line + exit code."""
    try:
        return cli.main(args=argv, prog_name="sweepledger", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        click.echo(f"error: {e.format_message()}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except Exception as e:
        code = _exit_code_of(e)
        if "--debug" in (argv if argv is not None else sys.argv):
            raise
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        if code is None:
            click.echo(f"error: internal error: {type(e).__name__}: {message}", err=True)
            sys.exit(3)
        click.echo(f"error: {message}", err=True)
        sys.exit(code)
