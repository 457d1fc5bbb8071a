"""``scoreboard``: a tournament batch judged against a gates file (seed 004)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from commands.cli.context import AppContext
from commands.cli.render import note


@click.command()
@click.option("--batch", required=True, help="The tournament batch to judge.")
@click.option(
    "--gates",
    "gates_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Gates YAML (thresholds, parity, baselines).",
)
@click.option("--allow-missing", is_flag=True, help="Skip and report checks on missing metrics.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary instead of Markdown.")
@click.pass_obj
def scoreboard(
    app: AppContext, batch: str, gates_path: Path, allow_missing: bool, as_json: bool
) -> None:
    """Judge a batch's cells and write scoreboard/<batch>/ (CSV + Markdown).

    Strict by default: a cell lacking a gated metric fails its check and the command exits 1
    (files still written) naming the missing metrics. The gates file and the mode are kept
    in ledger.duckdb with the files' record: `rebuild` renders the scoreboard again when its
    batch gets new events and puts back its files, and `rebuild --check` covers them.

    \b
    Example:
      sweepledger scoreboard --batch tournament --gates examples/gates.yaml --allow-missing
    """
    from projections import MissingMetrics, scoreboard_report
    from projections.scoreboard_files import markdown

    board, written, digest = scoreboard_report(app.root, batch, gates_path, allow_missing)
    failed = board.failed_for_missing()
    if as_json:
        summary = {
            "batch": batch,
            "gates_sha256": digest,
            "mode": "allow-missing" if allow_missing else "strict",
            "cells": board.cell_count,
            "candidates": list(board.candidate_names),
            "missing": board.missing,
            "files": [str(p) for p in written],
        }
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
    else:
        click.echo(markdown(board, digest), nl=False)
    note(f"wrote {len(written)} files under {written[0].parent}")
    if failed:
        lacking = ", ".join(f"{m} ({n} cells)" for m, n in failed.items())
        raise MissingMetrics(
            f"strict scoreboard: cells lack gated metrics: {lacking}; "
            "use --allow-missing to skip those checks"
        )
