"""Time travel and explain speed against a full rebuild, each a whole CLI process, in one run.

    python bench/bench_hindsight.py                  # a ~1,000,000-event ledger
    python bench/bench_hindsight.py --events 50000   # a quick look

The ledger is bench_projections' (trial and scan batches, intents + outcomes), sealed, then
1,000 more events appended live. Figures, each best of ``--repeats``: `rebuild --full` of the
root (the baseline); `rebuild --as-of` into a fresh directory at the middle seq (inside the
sealed segment) and at the head minus 500 (the live file cut at that line); `query --as-of`
answering from a kept state (no rebuild); `explain job:<id>` and with `--proof`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

# Run as `python bench/bench_hindsight.py`, sys.path[0] is bench/: the repo root goes first so
# that the packages are this checkout's whatever is installed elsewhere.
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_projections import append_batch, build  # noqa: E402
from cli_timing import best  # noqa: E402

from ledger import Ledger  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-hindsight-"))
    root, then = workdir / "root", workdir / "then"
    try:
        build(root, args.events)
        ledger = Ledger.open(root)
        ledger.seal()
        append_batch(ledger, "late", "trial", 499, 10**7)
        head = ledger.head().seq
        middle, live = head // 2, head - 500
        job = next(ledger.read(since=live, types=["trial.intent"])).data["job_id"]

        def fresh() -> None:
            shutil.rmtree(then, ignore_errors=True)

        def timed(*argv: str, before: Callable[[], object] | None = None) -> float:
            return best(root, *argv, repeats=args.repeats, before=before)

        full = timed("rebuild", "--full")
        at_middle = timed("rebuild", "--as-of", str(middle), "--out", str(then), before=fresh)
        at_live = timed("rebuild", "--as-of", str(live), "--out", str(then), before=fresh)
        sql = "SELECT count(*) FROM outcomes"
        query = timed("query", "--as-of", str(live), "--state", str(then), sql)
        explain = timed("explain", f"job:{job}", "--json")
        proof = timed("explain", f"job:{job}", "--json", "--proof")

        table = Table(
            title=f"time travel on {head:,} events (whole CLI processes, best of {args.repeats})"
        )
        for column in ("figure", "seconds", "vs full rebuild"):
            table.add_column(column, justify="left" if column == "figure" else "right")
        rows = [
            ("rebuild --full (root)", full),
            (f"rebuild --as-of {middle} (inside the segment), fresh DIR", at_middle),
            (f"rebuild --as-of {live} (live file cut), fresh DIR", at_live),
            (f"query --as-of {live} --state DIR (kept state)", query),
            ("explain job:<id> --json", explain),
            ("explain job:<id> --json --proof", proof),
        ]
        for name, seconds in rows:
            table.add_row(name, f"{seconds:.2f}", f"{seconds / full:.2f}")
        Console(width=120).print(table)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
