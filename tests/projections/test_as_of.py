"""Time travel: ``rebuild --as-of SEQ --out DIR`` and ``query --as-of SEQ`` equal, byte for
byte, a full rebuild over a copy of the ledger truncated at SEQ (inside a sealed segment, at
its end, in the live file, at the head), and never touch the root's own outputs."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path
from typing import Any

import duckdb
import pytest
from ledger_helpers import COMMITS, LIVE, commit_record, stored_hash
from projection_fixtures import (
    intent,
    job_id_of,
    open_ledger,
    outcome,
    run_batch,
    run_main,
    scan_jobs,
    start_batch,
)

from ledger import Ledger
from projections import AsOfRefused, rebuild

LEDGER_FILES = {LIVE, COMMITS, "ledger.lock", "ledger.duckdb", "ledger.duckdb.wal"}
LEDGER_DIRS = {"segments", "blobs", "merkle", "recovered"}
TABLES = ("events", "intents", "outcomes", "batches", "report_jobs", "leaderboard_segments", "gaps")


def _entries(i: int) -> list[dict[str, Any]]:
    return [
        {
            "segment_key": f"seg{(i + k) % 3}",
            "weighting": "notional" if (i + k) % 2 else "count",
            "denominators": {"weight_used": 0.5 + i + k, "count_used": 1 + (i + k) % 3},
            "metrics": {"avg_clv_pct": ((i * 5 + k) % 7) / 3 - 1, "beat_close_rate": 0.4},
            "examples": [f"ex{i}.{k}"],
        }
        for k in range(2)
    ]


def _trials(prefix: str, n: int) -> list[dict[str, Any]]:
    return [
        {
            "name": f"{prefix}{i}",
            "params": {"i": i},
            "status": ["ok", "error", "ok"][i % 3],
            "metrics": {"loss": i / 4 + 0.5},
            "error": ("ValueError", f"bad {i}") if i % 3 == 1 else None,
        }
        for i in range(n)
    ]


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """A ledger with trial and scan batches, sealed in the middle, then more batches and one
    still-open batch whose driver (this process) is alive. Returns the root and named seqs."""
    root = tmp_path / "root"
    led = open_ledger(root)
    marks: dict[str, int] = {}
    run_batch(led, "trials-1", _trials("a", 6))
    users = [(f"u{i}", "ok" if i % 4 else "error", _entries(i)) for i in range(5)]
    seqs = run_batch(led, "scans-1", scan_jobs(users), kind="scan")
    marks["mid_segment"] = seqs[2]  # scans-1 half done: intents unanswered, batch open
    report = led.seal()
    assert report is not None
    marks["segment_end"] = led.head().seq
    marks["sealed_event"] = led.head().seq + 1
    run_batch(led, "trials-2", _trials("b", 5))
    marks["live"] = led.head().seq - 3
    start_batch(led, "open-1", 2, host=socket.gethostname(), pid=os.getpid())
    first = intent(led, "open-1", 0, "job0")
    intent(led, "open-1", 1, "job1")
    outcome(led, first, "open-1", job_id_of("job0", {}))
    users = [(f"v{i}", "ok", _entries(i + 3)) for i in range(4)]
    run_batch(led, "scans-2", scan_jobs(users), kind="scan")
    marks["head"] = led.head().seq
    return root, marks


def truncated_copy(root: Path, dest: Path, seq: int) -> Path:
    """A ledger holding exactly events 1..``seq`` of ``root``: the segments and the live file
    cut after ``seq``'s line when ``seq`` is live, else every line as JSONL; the commit log
    names ``seq``."""
    led = Ledger.open(root)
    dest.mkdir(parents=True)
    live = (root / LIVE).read_bytes().splitlines(keepends=True)
    first_live = json.loads(live[0])["seq"]
    if seq >= first_live:
        shutil.copytree(root / "segments", dest / "segments")
        kept = [line for line in live if json.loads(line)["seq"] <= seq]
    else:
        kept = [line + b"\n" for line in list(led.read_raw())[:seq]]
    (dest / LIVE).write_bytes(b"".join(kept))
    (dest / COMMITS).write_bytes(commit_record(seq, stored_hash(kept[-1])) if kept else b"")
    assert Ledger.open(dest).head().seq == seq
    return dest


def outputs(folder: Path) -> dict[str, bytes]:
    """Every projection file under ``folder`` (the ledger's own files and the database left out)."""
    found: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and rel.parts[0] not in LEDGER_DIRS and rel.name not in LEDGER_FILES:
            found[rel.as_posix()] = path.read_bytes()
    return found


def tables(folder: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(folder / "ledger.duckdb"), read_only=True)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}
    finally:
        con.close()


@pytest.mark.parametrize("bulk", [False, True], ids=["python-lines", "duckdb-csv"])
@pytest.mark.parametrize("mark", ["mid_segment", "segment_end", "sealed_event", "live", "head"])
def test_as_of_equals_a_rebuild_of_the_truncated_copy(
    history: tuple[Path, dict[str, int]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mark: str,
    bulk: bool,
) -> None:
    root, marks = history
    if bulk:  # the live range read by DuckDB's CSV reader, however small
        monkeypatch.setattr("ledger.relations.BULK_MIN_BYTES", 0)
    seq = marks[mark]
    rebuild(root)
    before = {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    result = rebuild(root, as_of=seq, out=tmp_path / "then")
    assert result.cursor.seq == seq and result.full
    after = {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    assert after == before  # the root's outputs and database are untouched

    copy = truncated_copy(root, tmp_path / "copy", seq)
    rebuild(copy, full=True)
    expected = outputs(copy)
    assert expected and outputs(tmp_path / "then") == expected
    assert tables(tmp_path / "then") == tables(copy)
    assert set(expected) < set(outputs(root)) or mark == "head"


def test_as_of_inside_a_segment_sees_only_earlier_events(
    history: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    root, marks = history
    seq = marks["mid_segment"]
    rebuild(root, as_of=seq, out=tmp_path / "then")
    found = tables(tmp_path / "then")
    assert [row[0] for row in found["events"]] == list(range(1, seq + 1))
    gaps = json.loads((tmp_path / "then" / "gaps" / "gaps.json").read_text())
    assert gaps["as_of"]["seq"] == seq
    assert {g["batch"] for g in gaps["gaps"]} == {"scans-1"}
    assert not (tmp_path / "then" / "batches" / "trials-2").exists()


def test_as_of_moves_forward_in_place_and_refuses_backwards(
    history: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    root, marks = history
    then = tmp_path / "then"
    rebuild(root, as_of=marks["segment_end"], out=then)
    again = rebuild(root, as_of=marks["segment_end"], out=then)
    assert again.events == 0 and again.written == []
    forward = rebuild(root, as_of=marks["live"], out=then)
    assert not forward.full and forward.events == marks["live"] - marks["segment_end"]
    fresh = tmp_path / "fresh"
    rebuild(root, as_of=marks["live"], out=fresh)
    assert outputs(then) == outputs(fresh) and tables(then) == tables(fresh)
    with pytest.raises(AsOfRefused, match="later than"):
        rebuild(root, as_of=marks["mid_segment"], out=then)


def test_as_of_refuses_the_root_its_insides_and_foreign_directories(
    history: tuple[Path, dict[str, int]], tmp_path: Path, capsys: Any
) -> None:
    root, marks = history
    seq = str(marks["live"])
    base = ("--root", str(root), "rebuild", "--as-of", seq, "--out")
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    for out, words in [
        (root, "ledger root"),
        (root / "batches", "ledger root"),
        (root / "then", "ledger root"),
        (other, "not empty"),
        (other / "notes.txt", "is a file"),
    ]:
        code, stdout, err = run_main(capsys, *base, str(out))
        assert code == 2 and stdout == "" and words in err, err
        assert len(err.strip().splitlines()) == 1
    assert not (root / "then").exists()
    assert (other / "notes.txt").read_text() == "mine"
    # another ledger's root, and another ledger's as-of state
    second = tmp_path / "second"
    run_batch(open_ledger(second), "x", _trials("z", 2))
    code, _, err = run_main(capsys, *base, str(second))
    assert code == 2 and "ledger root" in err
    rebuild(second, as_of=3, out=tmp_path / "second-then")
    code, _, err = run_main(capsys, *base, str(tmp_path / "second-then"))
    assert code == 2 and "another ledger" in err
    # a root's own database is not an as-of state
    plain = tmp_path / "plain"
    plain.mkdir()
    rebuild(second)
    shutil.copy(second / "ledger.duckdb", plain / "ledger.duckdb")
    code, _, err = run_main(capsys, *base, str(plain))
    assert code == 2 and "not an as-of state" in err
    # beyond the head, and the options' pairing
    code, _, err = run_main(
        capsys, *base[:-2], str(marks["head"] + 1), "--out", str(tmp_path / "x")
    )
    assert code == 2 and f"1..{marks['head']}" in err
    code, _, err = run_main(capsys, "--root", str(root), "rebuild", "--as-of", seq)
    assert code == 2 and "--out" in err
    assert not (tmp_path / "x").exists()


def test_as_of_gaps_do_not_look_at_processes(tmp_path: Path, capsys: Any) -> None:
    """At a past seq a batch still open in the ledger is ``open``: whether its driver is gone
    now is a fact of now. The root's own gaps do look (and call it orphaned)."""
    root = tmp_path / "root"
    led = open_ledger(root)
    dead = _dead_pid()
    start_batch(led, "b", 1, host=socket.gethostname(), pid=dead)
    seq = intent(led, "b", 0, "job")
    rebuild(root)
    now = json.loads((root / "gaps" / "gaps.json").read_text())["gaps"]
    assert [(g["seq"], g["state"]) for g in now] == [(seq, "orphaned")]
    rebuild(root, as_of=seq, out=tmp_path / "then")
    then = json.loads((tmp_path / "then" / "gaps" / "gaps.json").read_text())["gaps"]
    assert [(g["seq"], g["state"], g["reason"]) for g in then] == [
        (seq, "open", "batch still open")
    ]
    code, out, _ = run_main(
        capsys,
        "--root",
        str(root),
        "query",
        "--as-of",
        str(seq),
        "--format",
        "json",
        "SELECT key, value FROM _meta WHERE key = 'as_of'",
    )
    assert code == 0 and json.loads(out) == [{"key": "as_of", "value": str(seq)}]


def _dead_pid() -> int:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_query_as_of_answers_from_that_state(
    history: tuple[Path, dict[str, int]], tmp_path: Path, capsys: Any
) -> None:
    root, marks = history
    sql = "SELECT batch, count(*) AS n FROM events GROUP BY batch ORDER BY batch NULLS FIRST"
    expected_copy = truncated_copy(root, tmp_path / "copy", marks["live"])
    code, want, _ = run_main(capsys, "--root", str(expected_copy), "query", "--format", "csv", sql)
    assert code == 0
    code, out, _ = run_main(
        capsys, "--root", str(root), "query", "--as-of", str(marks["live"]), "--format", "csv", sql
    )
    assert code == 0 and out == want
    code, now, _ = run_main(capsys, "--root", str(root), "query", "--format", "csv", sql)
    assert now != want
    assert not (root / "ledger.duckdb").exists() or "scans-2" in now
    # a kept state is built once and reused; a later seq brings it forward
    state = tmp_path / "state"
    base = ("--root", str(root), "query", "--format", "csv", "--state", str(state))
    code, out, _ = run_main(capsys, *base, "--as-of", str(marks["live"]), sql)
    assert code == 0 and out == want
    stamp = (state / "ledger.duckdb").stat().st_mtime_ns
    code, out, _ = run_main(capsys, *base, "--as-of", str(marks["live"]), sql)
    assert code == 0 and out == want and (state / "ledger.duckdb").stat().st_mtime_ns == stamp
    code, out, _ = run_main(capsys, *base, "--as-of", str(marks["head"]), sql)
    assert code == 0 and out == now
    code, _, err = run_main(capsys, *base, "--as-of", str(marks["live"]), sql)
    assert code == 2 and "later than" in err
    code, _, err = run_main(capsys, "--root", str(root), "query", "--state", str(state), sql)
    assert code == 2 and "--as-of" in err
