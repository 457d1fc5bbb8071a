"""``demo``: the main job on the built-in example, on a fresh temporary root."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from ledger import Ledger
from schemas import NewEvent

DEMO_JOBS = 1000


def example_intents(batch: str, jobs: int) -> list[NewEvent]:
    """Intents for ``jobs`` example trials."""
    return [
        NewEvent(
            type="trial.intent",
            batch=batch,
            key=f"trial/{i:05d}",
            data={
                "job_id": f"demo{i:05d}",
                "index": i,
                "name": f"matrix_lr{(i % 10) / 100}_depth{i % 7}",
                "callable": "sweep_work:evaluate",
                "params": {"lr": (i % 10) / 100, "depth": i % 7},
                "seed": i,
            },
        )
        for i in range(jobs)
    ]


def example_outcomes(batch: str, jobs: int, first_seq: int) -> list[NewEvent]:
    """Outcomes answering the intents whose first has seq ``first_seq``."""
    return [
        NewEvent(
            type="trial.outcome",
            batch=batch,
            key=f"trial/{i:05d}",
            cause=first_seq + i,
            data={
                "job_id": f"demo{i:05d}",
                "status": "ok" if i % 17 else "error",
                "duration_s": 0.001 * (i % 13),
                "metrics": {"loss": 1.0 / (1 + i % 10), "depth": float(i % 7)},
                "error": None if i % 17 else {"type": "ValueError", "message": "diverged"},
            },
        )
        for i in range(jobs)
    ]


@click.command()
@click.option(
    "--root",
    "demo_root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to put the demo ledger (default: a new temporary directory).",
)
@click.option("--jobs", type=click.IntRange(min=1), default=DEMO_JOBS, help="Example trials.")
def demo(demo_root: Path | None, jobs: int) -> None:
    """Run the built-in example end to end on a fresh root: append, seal, verify.

    \b
    Example:
      sweepledger demo --jobs 2000
    """
    root = demo_root or Path(tempfile.mkdtemp(prefix="sweepledger-demo-"))
    ledger = Ledger.open(root, create=True)
    started = ledger.append(
        [
            NewEvent(
                type="batch.started",
                batch="demo",
                data={
                    "name": "demo",
                    "manifest": {"name": "demo", "jobs": jobs},
                    "manifest_sha256": "0" * 64,
                    "jobs": jobs,
                    "executor": "inline",
                    "workers": 1,
                },
            )
        ]
    )
    first = ledger.append(example_intents("demo", jobs))[0].seq
    outcomes = example_outcomes("demo", jobs, first)
    ledger.append(outcomes)
    failed = sum(1 for e in outcomes if e.data["status"] != "ok")
    ledger.append(
        [
            NewEvent(
                type="batch.finished",
                batch="demo",
                data={
                    "attempted": jobs,
                    "succeeded": jobs - failed,
                    "failed": failed,
                    "duration_s": 0.0,
                },
            )
        ]
    )
    sealed = ledger.seal()
    ledger.append([NewEvent(type="x.demo.note", data={"text": "appended after sealing"})])
    report = ledger.verify(deep=True)
    click.echo(f"root:      {root}")
    click.echo(f"events:    {report.events_checked} (batch.started at seq {started[0].seq})")
    if sealed is not None:
        click.echo(f"sealed:    seq {sealed.first_seq}..{sealed.last_seq} -> {sealed.segment}")
    click.echo(f"jobs:      {jobs} trials, {jobs - failed} ok, {failed} error")
    click.echo(f"verify:    {'ok' if report.ok else 'DAMAGED: ' + str(report.problem)}")
    click.echo(f"head:      {ledger.head()}")
    click.echo(f"try:       sweepledger --root {root} log --type trial.outcome | head")
