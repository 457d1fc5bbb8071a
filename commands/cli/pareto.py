"""``pareto``: a study's Pareto frontier (seed 002)."""

from __future__ import annotations

import click

from commands.cli.context import AppContext
from commands.cli.render import echo_json


@click.command()
@click.option("--study", required=True, help="Study id (the batch holding its trials).")
@click.option("--json", "as_json", is_flag=True, help="Print pareto.json instead of a table.")
@click.pass_obj
def pareto(app: AppContext, study: str, as_json: bool) -> None:
    """Print the Pareto frontier of a study's valid trials, rebuilding it first if needed.

    Valid trials are ok outcomes whose result.evidence_verified is true; the objectives are
    the study manifest's, else mean_pnl (max), kill_prob_ci_upper and drawdown_cvar (min).
    Files: studies/STUDY/pareto.json, pareto.csv, trials.jsonl under the root.

    \b
    Example:
      sweepledger --root ./artifacts pareto --study mc-study --json
    """
    from projections import pareto_document
    from projections.writers import text_table

    doc = pareto_document(app.root, study)
    if as_json:
        echo_json(doc)
        return
    names = [o["name"] for o in doc["objectives"]]
    rows = [
        [row["candidate_id"], row["trial_id"], *(row[n] for n in names)] for row in doc["frontier"]
    ]
    click.echo(f"study {study}: {len(rows)} trial(s) on the frontier")
    click.echo(text_table(["candidate_id", "trial_id", *names], rows), nl=False)
