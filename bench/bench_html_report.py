"""What the HTML report costs: `rebuild` with and without the `html` pages, and one page.

    python bench/bench_html_report.py                       # 20 batches of 500 jobs
    python bench/bench_html_report.py --batches 5 --jobs 100

Each figure is a whole CLI process (best of 3) on the same ledger of swept batches (three
params, two metrics, one in ten jobs failed): `rebuild --full` (the default projections: the
baseline), `rebuild html --full` (the same plus every batch's report.html), `report --batch B`
(report.md, for scale) and `report --batch B --html` (one page), both on a current database.
The difference between the two rebuilds is what writing the pages by default would add to
every rebuild; `rebuild` leaves them out unless named.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cli_timing import best  # noqa: E402

from ledger import Ledger  # noqa: E402
from schemas import NewEvent  # noqa: E402

REPEATS = 3


def batch_events(batch: str, jobs: int) -> list[NewEvent]:
    """A finished sweep of ``jobs`` jobs; outcomes answer intents appended in the same call."""
    started = {
        "name": batch,
        "manifest": {"name": batch},
        "manifest_sha256": "0" * 64,
        "jobs": jobs,
        "executor": "process",
        "workers": 2,
    }
    events = [NewEvent(type="batch.started", data=started, batch=batch)]
    return events + [
        NewEvent(
            type="trial.intent",
            data={
                "job_id": f"{batch}-{i}",
                "index": i,
                "name": f"job{i}",
                "callable": "bench:work",
                "params": {"x": i % 17, "y": (i * 7) % 11 / 10, "mode": ("a", "b", "c")[i % 3]},
                "seed": i,
            },
            batch=batch,
        )
        for i in range(jobs)
    ]


def outcome_events(batch: str, intent_seqs: list[int]) -> list[NewEvent]:
    out = []
    for i, seq in enumerate(intent_seqs):
        failed = i % 10 == 9
        data = {
            "job_id": f"{batch}-{i}",
            "status": "error" if failed else "ok",
            "duration_s": 0.01 + (i % 13) / 100,
            "metrics": {} if failed else {"loss": 1 / (1 + i % 17), "acc": (i % 11) / 11},
            "result": None,
        }
        if failed:
            data["error"] = {"type": "ValueError", "message": "bad", "traceback": None}
        out.append(NewEvent(type="trial.outcome", data=data, batch=batch, cause=seq))
    finished = {
        "attempted": len(intent_seqs),
        "succeeded": len(intent_seqs) - len(intent_seqs) // 10,
        "failed": len(intent_seqs) // 10,
        "duration_s": 1.0,
        "interrupted": False,
    }
    return [*out, NewEvent(type="batch.finished", data=finished, batch=batch)]


def build(root: Path, batches: int, jobs: int) -> list[str]:
    ledger = Ledger.open(root, create=True)
    names = [f"sweep-{b:03d}" for b in range(batches)]
    for name in names:
        receipts = ledger.append(batch_events(name, jobs))
        ledger.append(outcome_events(name, [r.seq for r in receipts[1:]]))
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=500)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-html-"))
    root = workdir / "root"
    try:
        names = build(root, args.batches, args.jobs)
        plain = best(root, "rebuild", "--full", repeats=REPEATS)
        pages = best(root, "rebuild", "html", "--full", repeats=REPEATS)
        markdown = best(root, "report", "--batch", names[0], repeats=REPEATS)
        page = best(root, "report", "--batch", names[0], "--html", repeats=REPEATS)
        table = Table(
            title=f"HTML report on {args.batches} batches x {args.jobs} jobs "
            f"(each a whole CLI process, best of {REPEATS})"
        )
        for column in ("figure", "seconds", "vs rebuild --full"):
            table.add_column(column, justify="right" if column != "figure" else "left")
        table.add_row("rebuild --full (default projections)", f"{plain:.2f}", "1.00")
        table.add_row("rebuild html --full (+ every page)", f"{pages:.2f}", f"{pages / plain:.2f}")
        table.add_row(
            "  of which per page",
            f"{(pages - plain) / args.batches:.3f}",
            f"{(pages - plain) / args.batches / plain:.2f}",
        )
        table.add_row("report --batch B (report.md)", f"{markdown:.2f}", f"{markdown / plain:.2f}")
        table.add_row("report --batch B --html", f"{page:.2f}", f"{page / plain:.2f}")
        Console().print(table)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
