"""Every command documents itself with an example, and docs/CLI.md matches --help."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from commands.cli import cli
from commands.cli.docs import render_cli_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "CLI.md"


def _commands() -> list[str]:
    with click.Context(cli) as ctx:
        return cli.list_commands(ctx)


@pytest.mark.parametrize("name", _commands())
def test_every_command_help_has_an_example(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`sweepledger {name} --help` shows no example"


def test_cli_reference_is_current() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_cli_markdown(), (
        "docs/CLI.md is stale: run `python -m commands.cli.docs > docs/CLI.md`"
    )
