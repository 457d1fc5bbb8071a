"""The ``sweepledger`` program (``commands.program.run``): the CLI with the import graph and
what is left at exit frozen out of the garbage collector; ``commands.cli.main`` untouched."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Runs ENTRY as the console script would (argv: ``head --root ROOT``), then reports how many
# objects are frozen and whether the collector is on, from an exit handler registered first
# (it runs after the command, as the interpreter begins to exit).
PROBE = """
import atexit, gc, sys
def report():
    sys.stderr.write("frozen=%d enabled=%s\\n" % (gc.get_freeze_count(), gc.isenabled()))
atexit.register(report)
sys.argv = ["sweepledger", "--root", sys.argv[1], "head"]
ENTRY
"""


def _probe(entry: str, root: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.replace("ENTRY", entry), str(root)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    fields = dict(item.split("=") for item in done.stderr.strip().splitlines()[-1].split())
    return done, fields


def test_the_console_script_is_the_program() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["sweepledger"] == "commands.program:run"


def test_the_program_freezes_the_import_graph_and_keeps_collecting(tmp_path: Path) -> None:
    done, fields = _probe("from commands.program import run; sys.exit(run())", tmp_path)
    assert done.returncode == 2, done.stderr  # no ledger here: the usual one-line refusal
    assert "error: " in done.stderr and "Traceback" not in done.stderr
    assert int(fields["frozen"]) > 10_000  # the CLI's modules, classes and functions
    assert fields["enabled"] == "True"  # cycles made by a command are still collected


def test_main_alone_leaves_the_collector_alone(tmp_path: Path) -> None:
    done, fields = _probe("from commands.cli import main; sys.exit(main())", tmp_path)
    assert done.returncode == 2, done.stderr
    assert fields == {"frozen": "0", "enabled": "True"}
