"""``promote``: each budget tier's winner among a study's trials, recorded as a decision."""

from __future__ import annotations

from pathlib import Path

import click

from commands.cli.context import AppContext
from commands.cli.render import echo_json


@click.command()
@click.option("--study", required=True, help="Study id (the batch holding its trials).")
@click.option(
    "--budgets",
    "budgets_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Budgets YAML (default: conservative / balanced / aggressive).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the decisions as JSON.")
@click.pass_obj
def promote(app: AppContext, study: str, budgets_file: Path | None, as_json: bool) -> None:
    """Promote each tier's best eligible trial of STUDY, appending promotion.decided events.

    Eligible: ok, evidence verified, research and adversarial suites passed, and
    kill_prob_ci_upper, drawdown_cvar, mean_pnl within the tier's budget. Winner: mean_pnl
    desc, drawdown_cvar asc, kill_prob_ci_upper asc, candidate_id asc. The same inputs again
    append nothing. Files: promoted/TIER/PROMOTION_RECORD.json and STUDY_TIER.env.

    \b
    Example:
      sweepledger --root ./artifacts promote --study mc-study --budgets examples/budgets.yaml
    """
    from commands.runner.budgets_file import read_budgets
    from commands.runner.promote import promote as run_promote
    from schemas import DEFAULT_BUDGETS

    budgets = read_budgets(budgets_file) if budgets_file is not None else DEFAULT_BUDGETS
    summary = run_promote(app.root, study, budgets)
    if as_json:
        echo_json(
            {
                "study": summary.study,
                "trials": summary.trials,
                "tiers": [
                    {
                        "tier": t.tier,
                        "eligible": t.eligible,
                        "candidate_id": t.decision.candidate_id if t.decision else None,
                        "trial_id": t.decision.trial_id if t.decision else None,
                        "appended": t.appended,
                        "decision_seq": t.seq,
                    }
                    for t in summary.tiers
                ],
                "unpromoted": summary.unpromoted,
            }
        )
        return
    for t in summary.tiers:
        if t.decision is None:
            click.echo(f"{t.tier}: no eligible trial (of {summary.trials})")
            continue
        state = "promoted" if t.appended else "unchanged"
        click.echo(
            f"{t.tier}: {state} {t.decision.candidate_id} ({t.decision.trial_id}, "
            f"{t.eligible} eligible, decision seq {t.seq})"
        )
