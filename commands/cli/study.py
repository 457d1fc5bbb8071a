"""``study``: seeded candidate search, evaluation, Pareto front and promotion (seed 002)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from commands.cli.context import AppContext
from commands.cli.render import echo_json
from schemas import EXECUTORS


@click.command()
@click.option("--example", type=click.Choice(["mc"]), help="The built-in Monte Carlo study.")
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A manifest with study.space (and optionally study.objectives).",
)
@click.option("--study-id", help="Study (batch) id (default NAME-SEED); an existing one continues.")
@click.option("--trials", type=click.IntRange(min=1), help="Candidates per generation (10).")
@click.option("--generations", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--mc-runs", type=click.IntRange(min=1), help="Monte Carlo runs per trial (50).")
@click.option("--mc-ticks", type=click.IntRange(min=1), help="Ticks per run (600).")
@click.option("--seed", type=click.IntRange(min=0), default=42, show_default=True)
@click.option(
    "--budgets",
    "budgets_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Budgets YAML for the final promote.",
)
@click.option(
    "--sampler",
    metavar="NAME",
    help="Who proposes candidates: builtin (the default: uniform, then mutations of the "
    "Pareto set), optuna:NSGAIISampler or optuna:TPESampler (Optuna's ask/tell; pip install "
    "'sweepledger[optuna]').",
)
@click.option("--smoke", is_flag=True, help="3 trials, 10 runs, 100 ticks.")
@click.option("--workers", type=click.IntRange(min=1), help="Parallel workers.")
@click.option("--executor", type=click.Choice(EXECUTORS), help="Where trials run.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def study(
    ctx: click.Context,
    example: str | None,
    manifest: Path | None,
    study_id: str | None,
    trials: int | None,
    generations: int,
    mc_runs: int | None,
    mc_ticks: int | None,
    seed: int,
    budgets_file: Path | None,
    sampler: str | None,
    smoke: bool,
    workers: int | None,
    executor: str | None,
    as_json: bool,
) -> None:
    """Propose candidates (uniform, then mutations of the Pareto set; or asked from Optuna
    with --sampler), evaluate each as a trial of the study's batch, update the pareto
    projection and promote.

    Every candidate is a candidate.proposed event, every evaluation a trial.intent/outcome
    pair; running the same command again after Ctrl-C or a crash continues the study from
    the ledger. An Optuna sampler is seeded from --seed and told every earlier trial read
    from the ledger, in job order, before each generation. Exit 0 when every trial ended ok,
    1 otherwise, 130 when stopped.

    \b
    Example:
      sweepledger --root ./artifacts study --example mc --smoke
      sweepledger --root ./artifacts study --example mc --trials 20 --generations 3 --seed 7
      sweepledger --root ./artifacts study --example mc --sampler optuna:NSGAIISampler
    """
    from commands.runner.budgets_file import read_budgets
    from commands.runner.study import DEFAULT_TRIALS, SMOKE, StudyRequest, run_study
    from commands.runner.study_sampling import BUILTIN_SAMPLER
    from schemas import DEFAULT_BUDGETS

    if example is not None and manifest is not None:
        raise click.UsageError("give --example or --manifest, not both")
    if manifest is not None and (mc_runs or mc_ticks):
        raise click.UsageError("--mc-runs and --mc-ticks apply to --example mc only")
    app: AppContext = ctx.obj
    fallback = SMOKE if smoke else {"trials": DEFAULT_TRIALS, "mc_runs": 50, "mc_ticks": 600}
    cli_settings = {"workers": workers, "executor": executor}
    request = StudyRequest(
        root=app.root,
        example=None if manifest is not None else (example or "mc"),
        manifest=manifest,
        study_id=study_id,
        trials=trials or fallback["trials"],
        generations=generations,
        seed=seed,
        mc_runs=mc_runs or fallback["mc_runs"],
        mc_ticks=mc_ticks or fallback["mc_ticks"],
        budgets=read_budgets(budgets_file) if budgets_file is not None else DEFAULT_BUDGETS,
        sampler=sampler if sampler is not None else BUILTIN_SAMPLER,
        cli_settings={k: v for k, v in cli_settings.items() if v is not None},
        argv=tuple(sys.argv),
    )
    summary = run_study(request)
    promoted = summary.promotion
    if as_json:
        echo_json(
            {
                "study": summary.study,
                "proposed": summary.proposed,
                "frontier": summary.frontier,
                "promoted": {t.tier: t.decision.candidate_id for t in promoted.tiers if t.decision}
                if promoted
                else {},
                "unpromoted": promoted.unpromoted if promoted else [],
                "exit_code": summary.exit_code,
            }
        )
    else:
        click.echo(
            f"study {summary.study}: {sum(summary.proposed)} candidates in "
            f"{len(summary.proposed)} generation(s), {summary.frontier} on the frontier"
        )
        for t in promoted.tiers if promoted else []:
            if t.decision is None:
                click.echo(f"  {t.tier}: no eligible trial")
            else:
                click.echo(f"  {t.tier}: {t.decision.candidate_id} ({t.decision.trial_id})")
    ctx.exit(summary.exit_code)
