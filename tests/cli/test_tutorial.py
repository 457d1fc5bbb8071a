"""docs/TUTORIAL.md works as written: its files, written into an empty folder, and its
commands, run one by one there, all succeed, and promote a tier that reproduces."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from ledger_helpers import sweepledger_executable

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "TUTORIAL.md"
BLOCK = re.compile(r"^```(\w+) (\S+)\n(.*?)^```", re.S | re.M)


def test_tutorial_runs_as_written(tmp_path: Path) -> None:
    blocks = {name: body for _lang, name, body in BLOCK.findall(TUTORIAL.read_text())}
    assert {"tutorial_work.py", "sweep.yaml", "study.yaml", "budgets.yaml", "tutorial"} <= set(
        blocks
    )
    for name, body in blocks.items():
        if name != "tutorial":
            (tmp_path / name).write_text(body)
    env = {**os.environ, "SWEEPLEDGER_ROOT": str(tmp_path / "artifacts")}
    outputs: dict[str, str] = {}
    for line in blocks["tutorial"].splitlines():
        args = shlex.split(line)
        target = None
        if ">" in args:
            target = tmp_path / args[args.index(">") + 1]
            args = args[: args.index(">")]
        assert args[0] == "sweepledger"
        done = subprocess.run(
            [sweepledger_executable(), *args[1:]],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            check=False,
            timeout=600,
        )
        assert done.returncode == 0, (line, done.stdout[-2000:], done.stderr[-2000:])
        outputs[args[1]] = done.stdout
        if target is not None:
            target.write_text(done.stdout)
    root = tmp_path / "artifacts"
    assert (root / "promoted" / "aggressive" / "PROMOTION_RECORD.json").is_file()
    assert (root / "studies" / "s1" / "pareto.json").is_file()
    assert "identical" in outputs["reproduce"]
    assert (tmp_path / "ledger.anchor").read_text().strip().count(":") == 1
