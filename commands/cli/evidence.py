"""``verify-evidence PATH``: check an evidence pack (SHA256SUMS + manifest.json)."""

from __future__ import annotations

from pathlib import Path

import click

from commands.cli.render import echo_json
from ledger import verify_evidence as check_pack


@click.command("verify-evidence")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def verify_evidence(ctx: click.Context, path: Path, as_json: bool) -> None:
    """Check every file of an evidence pack against its SHA256SUMS; exit 1 on any mismatch,
    2 when PATH does not exist.

    \b
    Example:
      sweepledger verify-evidence runs/trial_17/evidence
    """
    report = check_pack(path)
    if as_json:
        echo_json(
            {"ok": report.ok, "files_checked": report.files_checked, "problems": report.problems}
        )
    elif report.ok:
        click.echo(f"ok: {report.files_checked} files match {path}/SHA256SUMS")
    else:
        for problem in report.problems:
            click.echo(f"FAILED: {problem}")
    ctx.exit(0 if report.ok else 1)
