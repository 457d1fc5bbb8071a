"""docs/CLI.md is generated from every command's ``--help`` (a test keeps it current).

python -m commands.cli.docs > docs/CLI.md
"""

from __future__ import annotations

import click

from commands.cli import cli


def _help(command: click.Command, path: list[str]) -> str:
    with click.Context(command, info_name=" ".join(path)) as ctx:
        return command.get_help(ctx)


def render_cli_markdown() -> str:
    """The whole CLI reference as Markdown, commands in registration order."""
    parts = [
        "# sweepledger CLI reference",
        "",
        "Generated from `--help` by `python -m commands.cli.docs > docs/CLI.md`; "
        "a test fails when it is stale.",
        "",
        "```",
        _help(cli, ["sweepledger"]),
        "```",
    ]
    with click.Context(cli, info_name="sweepledger") as ctx:
        for name in cli.list_commands(ctx):
            command = cli.get_command(ctx, name)
            if command is None:
                continue
            parts += [
                "",
                f"## `sweepledger {name}`",
                "",
                "```",
                _help(command, ["sweepledger", name]),
                "```",
            ]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    click.echo(render_cli_markdown(), nl=False)
