"""Merkle root and proof speed against `verify`, each a whole CLI process, in one run.

    python bench/bench_trust.py                  # a 1,000,000-event ledger
    python bench/bench_trust.py --events 50000   # a quick look

Figures on the same ledger (events like bench_ledger's trial.intent, ~380 bytes stored), each
best of 3: `head` (the CLI's start-up, for scale); `verify`; `root` cold (the derived merkle/
index removed first); `root` warm (index caught up); `prove SEQ --json` for a random seq, warm.
Targets: cold root <= 2x verify, prove <= 0.5 s.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

# Run as `python bench/bench_trust.py`, sys.path[0] is bench/: the repo root goes first so that
# the packages are this checkout's whatever is installed elsewhere.
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_ledger import event  # noqa: E402
from cli_timing import best  # noqa: E402

from ledger import Ledger  # noqa: E402
from ledger.merkle_index import MERKLE_DIR  # noqa: E402

REPEATS = 3
CALL = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="Build (or reuse) the ledger here.")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-trust-")) if args.keep is None else args.keep
    root = workdir / "root"
    try:
        ledger = Ledger.open(root, create=True)
        have = ledger.head().seq
        for start in range(have, args.events, CALL):
            ledger.append(event(i) for i in range(start, min(args.events, start + CALL)))
        n = ledger.head().seq

        def drop_index() -> None:
            shutil.rmtree(root / MERKLE_DIR, ignore_errors=True)

        head = best(root, "head", repeats=REPEATS)
        verify = best(root, "verify", repeats=REPEATS)
        cold = best(root, "root", before=drop_index, repeats=REPEATS)
        warm = best(root, "root", repeats=REPEATS)
        seq = str(random.Random(9162).randrange(1, n + 1))
        prove = best(root, "prove", seq, "--json", repeats=REPEATS)
        table = Table(title=f"trust on {n:,} events (each a whole CLI process, best of {REPEATS})")
        for column in ("figure", "seconds", "vs verify", "target"):
            table.add_column(column, justify="right" if column != "figure" else "left")
        table.add_row("head (CLI start-up)", f"{head:.3f}", f"{head / verify:.2f}", "")
        table.add_row("verify", f"{verify:.2f}", "1.00", "")
        table.add_row("root, cold (no index)", f"{cold:.2f}", f"{cold / verify:.2f}", "<= 2.00")
        table.add_row("root, warm", f"{warm:.3f}", f"{warm / verify:.2f}", "")
        table.add_row(
            f"prove {seq} --json, warm", f"{prove:.3f}", f"{prove / verify:.2f}", "<= 0.5 s"
        )
        Console().print(table)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
