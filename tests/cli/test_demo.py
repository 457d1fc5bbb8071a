"""`sweepledger demo` (what `make demo` runs) runs the example workloads end to end on a fresh
root; everything it wrote verifies, has no gaps, and rebuilds byte-identically."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _outputs(root: Path) -> dict[str, bytes]:
    folders = ("batches", "scoreboard", "gaps", "studies", "promoted", "parity")
    return {
        str(p.relative_to(root)): p.read_bytes()
        for folder in folders
        for p in sorted((root / folder).rglob("*"))
        if p.is_file()
    }


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from commands.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
        check=False,
    )


def test_demo_runs_end_to_end_and_rebuilds_byte_identically(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    done = _cli("demo", "--root", str(root))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "verify: ok" in out and "gaps:   0 unanswered intents" in out
    assert "strict scoreboard fails (exit 1): cells lack af_dist" in out
    assert "--allow-missing:" in out and "head:   " in out
    assert "parity: identical trades, " in out and "x fewer bars walked" in out
    assert "on the Pareto front" in out and ": identical" in out  # a winner reproduced
    assert out.count('query "') == 3
    for made in (
        "batches/scan/hypothesis_leaderboard.json",
        "scoreboard/tournament/tournament_scoreboard.csv",
        "batches/tournament/summary.csv",
        "batches/replay-focused/report.md",
        "parity/replay-full_vs_replay-focused.json",
        "parity/replay-full_vs_replay-focused.md",
        "studies/mc-study/pareto.json",
        "studies/mc-study/trials.jsonl",
        "studies/mc-study/report.html",
        "batches/tournament/report.html",
    ):
        assert (root / made).is_file(), made
    before = _outputs(root)
    assert _cli("--root", str(root), "rebuild", "--full").returncode == 0
    assert _outputs(root) == before
    assert _cli("--root", str(root), "verify").returncode == 0
    for sql in [line.split('query "', 1)[1][:-1] for line in out.splitlines() if 'query "' in line]:
        assert _cli("--root", str(root), "query", sql).returncode == 0, sql


def test_demo_refuses_a_root_that_is_not_fresh(tmp_path: Path) -> None:
    (tmp_path / "something").write_text("x")
    done = _cli("demo", "--root", str(tmp_path))
    assert done.returncode == 2 and "not empty" in done.stderr
    assert done.stderr.count("\n") == 1
