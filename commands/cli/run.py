"""``sweepledger run MANIFEST``: run every job of a manifest and record it in the ledger."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from commands.cli.context import AppContext
from commands.cli.render import echo_json
from commands.runner import RunRequest, run_batch
from schemas import EXECUTORS


@click.command()
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--workers", type=click.IntRange(min=1), help="Parallel workers.")
@click.option("--executor", type=click.Choice(EXECUTORS), help="Where jobs run.")
@click.option("--timeout-s", type=click.FloatRange(min=0, min_open=True), help="Per-job limit.")
@click.option("--max-jobs", type=click.IntRange(min=1), help="Run only the first N jobs.")
@click.option("--seed", type=click.IntRange(min=0), help="Batch seed (each job's derives from it).")
@click.option(
    "--fail-fast/--continue-on-error",
    "fail_fast",
    default=None,
    help="Stop at the first failed job (default: continue).",
)
@click.option("--batch-id", help="Id of the new batch (default NAME-<random>).")
@click.option("--resume", "resume", metavar="BATCH", help="Continue BATCH: re-run unfinished jobs.")
@click.option("--force", is_flag=True, help="With --resume: accept a changed job set.")
@click.option("--retry-failed", is_flag=True, help="With --resume: also re-run failed jobs.")
@click.option(
    "--users",
    "users_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="One job per handle in FILE (kind scan).",
)
@click.option("--ray-address", help="Join this Ray cluster (default: start a local one).")
@click.option("--allow-large", is_flag=True, help="Allow a batch of more than 1,000,000 jobs.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def run(
    ctx: click.Context,
    manifest: Path,
    workers: int | None,
    executor: str | None,
    timeout_s: float | None,
    max_jobs: int | None,
    seed: int | None,
    fail_fast: bool | None,
    batch_id: str | None,
    resume: str | None,
    force: bool,
    retry_failed: bool,
    users_file: Path | None,
    ray_address: str | None,
    allow_large: bool,
    as_json: bool,
) -> None:
    """Run the jobs of MANIFEST, recording every intent and outcome in the ledger.

    Settings come from CLI flags, else SWEEPLEDGER_<NAME> variables (SWEEPLEDGER_WORKERS,
    SWEEPLEDGER_EXECUTOR, SWEEPLEDGER_TIMEOUT_S, SWEEPLEDGER_SEED, SWEEPLEDGER_MAX_JOBS,
    SWEEPLEDGER_CONTINUE_ON_ERROR, SWEEPLEDGER_RAY_ADDRESS), else the manifest's config, else
    defaults (1 worker, process executor, no timeout, seed 0). Exit 0 when every job ended ok,
    1 when any did not, 130 when stopped by Ctrl-C, 2 for a bad manifest or option.

    \b
    Example:
      sweepledger run examples/sweep.yaml --workers 4
      sweepledger run examples/sweep.yaml --resume sweep-1a2b3c4d
    """
    if (force or retry_failed) and resume is None:
        raise click.UsageError("--force and --retry-failed need --resume BATCH")
    if resume is not None and batch_id is not None:
        raise click.UsageError("--batch-id cannot be combined with --resume")
    app: AppContext = ctx.obj
    cli_settings = {
        "workers": workers,
        "executor": executor,
        "timeout_s": timeout_s,
        "max_jobs": max_jobs,
        "seed": seed,
        "continue_on_error": None if fail_fast is None else not fail_fast,
        "ray_address": ray_address,
    }
    request = RunRequest(
        manifest=manifest,
        root=app.root,
        cli_settings={k: v for k, v in cli_settings.items() if v is not None},
        batch_id=batch_id,
        resume=resume,
        force=force,
        retry_failed=retry_failed,
        users_file=users_file,
        argv=tuple(sys.argv),
        allow_large=allow_large,
    )
    summary = run_batch(request)
    if as_json:
        echo_json(
            {
                "batch": summary.batch,
                "jobs": summary.jobs,
                "ran": summary.ran,
                "statuses": summary.statuses,
                "interrupted": summary.interrupted,
                "exit_code": summary.exit_code,
            }
        )
    else:
        counts = ", ".join(f"{status} {n}" for status, n in summary.statuses.items()) or "none"
        click.echo(f"batch {summary.batch}: {summary.jobs} jobs, ran {summary.ran} ({counts})")
    ctx.exit(summary.exit_code)
