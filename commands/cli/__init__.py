"""The ``sweepledger`` click group: global options and the one place errors become exit codes.

Each command lives in its own module of ``commands/cli/`` and is registered in
``COMMAND_MODULES``; commands are thin over the libraries (``commands.runner``,
``projections``, ``ledger``).
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

from commands.cli.context import AppContext
from commands.cli.logs import configure_logging

DEFAULT_ROOT = "artifacts"
INTERNAL_ERROR = 3
ROOT_ENV = "SWEEPLEDGER_ROOT"

# module -> names of the click commands it defines, in help order.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "commands.cli.ledger": ("init", "append", "log", "head", "verify", "repair", "seal"),
    "commands.cli.proofs": ("root", "prove", "check_proof"),
    "commands.cli.keys": ("keygen", "checkpoint"),
    "commands.cli.schema": ("schema",),
    "commands.cli.evidence": ("verify_evidence",),
    "commands.cli.demo": ("demo",),
    "commands.cli.run": ("run",),
    "commands.cli.rebuild": ("rebuild",),
    "commands.cli.query": ("query",),
    "commands.cli.gaps": ("gaps",),
    "commands.cli.report": ("report",),
    "commands.cli.leaderboard": ("leaderboard",),
    "commands.cli.pareto": ("pareto",),
    "commands.cli.promote": ("promote",),
    "commands.cli.study": ("study",),
    "commands.cli.reproduce": ("reproduce",),
    "commands.cli.scoreboard": ("scoreboard",),
    "commands.cli.parity": ("parity",),
    "commands.cli.ingest": ("ingest",),
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name.replace("_", "-") for names in COMMAND_MODULES.values() for name in names]

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; an error it raises becomes one line and its exit code here."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, CommandFailed):
            raise
        except Exception as e:
            if getattr(ctx.obj, "debug", False):
                raise
            raise _translated(e) from e

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


class CommandFailed(Exception):
    """An error turned into its one-line message and exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _translated(error: Exception) -> CommandFailed:
    """The one-line message and exit code of an error (3 for one we did not foresee)."""
    from schemas import SweepledgerError

    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    if isinstance(error, SweepledgerError):
        return CommandFailed(message, error.exit_code)
    return CommandFailed(f"internal error: {type(error).__name__}: {message}", INTERNAL_ERROR)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point: run the CLI; print a failed command's one line, exit its code.

    With ``--debug`` an error is not translated and its traceback shows.
    """
    try:
        return cli.main(args=argv, prog_name="sweepledger", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except CommandFailed as e:
        click.echo(f"error: {e.message}", err=True)
        sys.exit(e.code)
    except click.ClickException as e:
        click.echo(f"error: {e.format_message()}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
