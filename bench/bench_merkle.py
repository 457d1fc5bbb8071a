"""Merkle tree speed figures, printed as a table, each beside plain hashlib in the same run.

    python bench/bench_merkle.py                # 1,000,000 event-like lines of ~200 bytes
    python bench/bench_merkle.py --scale 0.1    # a quick look at a tenth of that

Figures (each best of 3): (a) the baseline, one plain hashlib.sha256 per line; (b) the leaf
hashes of every line and the tree's root, and root() alone; (c) building a MerkleStore file
from those leaf hashes (one durable append, fsyncs included); (d) opening that store afresh
and proving one random leaf (each proof is checked afterwards, outside the timing).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

# Run as `python bench/bench_merkle.py`, sys.path[0] is bench/: the repo root goes first so that
# `ledger` is this checkout's package whatever is installed (or named ledger) elsewhere.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.merkle import leaf_hash, root, verify_inclusion
from ledger.merkle_store import STORE_FILE, MerkleStore

LINES = 1_000_000
REPEATS = 3
TYPES = (b"trial.intent", b"trial.outcome", b"scan.completed", b"candidate.proposed")


def event_lines(n: int, seed: int = 9162) -> list[bytes]:
    """``n`` different JSON lines shaped like events (no newline), about 200 bytes each."""
    rng = random.Random(seed)
    lines = []
    for seq in range(1, n + 1):
        lines.append(
            b'{"seq":%d,"ts":"2024-05-01T12:%02d:%02d.%06dZ","type":"%s","v":1,"batch":"b%d",'
            b'"key":"trial/%010x","cause":%s,"data":{"score":%.9f,"params":"%s"}}'
            % (
                seq,
                seq // 60 % 60,
                seq % 60,
                rng.randrange(1_000_000),
                rng.choice(TYPES),
                rng.randrange(100),
                rng.getrandbits(40),
                b"null" if seq % 2 else b"%d" % (seq - 1),
                rng.random(),
                b"x" * rng.randrange(0, 60),
            )
        )
    return lines


def best_of(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    """The shortest of ``repeats`` wall-clock runs of ``fn``, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 1,000,000 lines")
    args = parser.parse_args()
    n = max(1, int(LINES * args.scale))
    lines = event_lines(n)
    mean_len = sum(map(len, lines)) / n
    leaves = [leaf_hash(line) for line in lines]
    tree_root = root(leaves)
    work = Path(tempfile.mkdtemp(prefix="sweepledger-merkle-"))
    path = work / STORE_FILE
    sha256 = hashlib.sha256

    def build() -> None:
        path.unlink(missing_ok=True)
        with MerkleStore.open(path, create=True) as store:
            store.append(leaves)

    rng = random.Random(1)
    proved: list[tuple[int, list[bytes]]] = []

    def prove() -> None:
        index = rng.randrange(n)
        with MerkleStore.open(path) as store:
            proved.append((index, store.inclusion_proof(index)))

    try:
        baseline = best_of(lambda: [sha256(line).digest() for line in lines])
        figures = [
            ("(b) leaf hashes + root()", best_of(lambda: root([leaf_hash(x) for x in lines]))),
            ("    of which root() alone", best_of(lambda: root(leaves))),
            ("(c) MerkleStore build from leaf hashes", best_of(build)),
            ("(d) open store + inclusion proof, random leaf", best_of(prove)),
        ]
        store_bytes = path.stat().st_size
        for index, proof in proved:
            assert verify_inclusion(leaves[index], index, n, proof, tree_root)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    table = Table(title=f"merkle bench: {n:,} lines of {mean_len:.0f} B mean (best of {REPEATS})")
    for column in ("figure", "time", "ratio to (a)"):
        table.add_column(column)
    table.add_row("(a) hashlib.sha256 per line (baseline)", f"{baseline * 1000:,.3f} ms", "1x")
    for name, seconds in figures:
        table.add_row(name, f"{seconds * 1000:,.3f} ms", f"{seconds / baseline:.3g}x")
    Console().print(table)
    print(f"store file: {store_bytes:,} bytes ({store_bytes / n:.1f} per leaf)")


if __name__ == "__main__":
    main()
