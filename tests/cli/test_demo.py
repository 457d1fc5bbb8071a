"""`make demo`'s script runs end to end on a fresh root and ends verified."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "demo.sh"


def test_demo_script_runs_end_to_end(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TMPDIR": str(tmp_path),
        "SWEEPLEDGER_BIN": str(Path(sys.executable).with_name("sweepledger")),
    }
    done = subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "0 open, 0 orphaned, 0 dangling" in done.stdout + done.stderr
    assert "ok: 27 events checked" in done.stdout
    (root,) = tmp_path.glob("sweepledger-demo.*")
    assert (root / "batches" / "sweep-demo" / "summary.csv").read_text().count("\n") == 8
    assert (root / "batches" / "scans-demo" / "hypothesis_leaderboard.json").is_file()
    for made in [
        root / "batches" / "sweep-demo" / "report.md",
        *(root / "blobs" / "sha256").rglob("*"),
    ]:
        if made.is_file():
            assert made.stat().st_mode & 0o044 == 0o044, f"{made} is not readable by others"
