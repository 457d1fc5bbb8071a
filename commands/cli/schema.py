"""``schema --export DIR``: one JSON Schema file per event type."""

from __future__ import annotations

from pathlib import Path

import click

from schemas import export_json_schemas


@click.command()
@click.option(
    "--export",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write <type>.schema.json files into.",
)
def schema(directory: Path) -> None:
    """Write a JSON Schema for every event type of the catalog.

    \b
    Example:
      sweepledger schema --export ./schemas-json
    """
    for path in export_json_schemas(directory):
        click.echo(str(path))
