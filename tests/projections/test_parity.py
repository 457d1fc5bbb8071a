"""``sweepledger parity A B``: the example replays end to end, hand-made batches for counts,
fields, tolerance edges, keys and bad input, and byte-identical files."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from projection_fixtures import intent, job_id_of, open_ledger, outcome, run_batch, run_main

from ledger import Ledger

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MODES = ("full", "focused")


def _trade(i: int, **over: Any) -> dict[str, Any]:
    trade = {
        "timestamp": f"2024-01-01T{i:02d}:00:00Z",
        "side": "long",
        "entry_bar": i,
        "entry_price": 100.0 + i,
        "exit_price": 101.0 + i,
        "pnl": 1.0,
    }
    return {**trade, **over}


def _jobs(
    trades: dict[str, list[dict[str, Any]]],
    duration_s: float = 0.5,
    bars: float | None = 1000.0,
    status: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Replay-like jobs: one per symbol, named after it, with ``result.trades``."""
    jobs = []
    for name, records in trades.items():
        state = (status or {}).get(name, "ok")
        jobs.append(
            {
                "name": name,
                "params": {"symbol": name.lower(), "mode": "x"},
                "status": state,
                "duration_s": duration_s,
                "metrics": {} if bars is None else {"bars_processed": bars},
                "result": {"trades": records} if state == "ok" else None,
                "error": ("E", "boom") if state == "error" else None,
            }
        )
    return jobs


def _base() -> dict[str, list[dict[str, Any]]]:
    return {"SYM00": [_trade(0), _trade(1), _trade(2)], "SYM01": [_trade(3), _trade(4)]}


def _append(root: Path, batch: str, jobs: list[dict[str, Any]]) -> None:
    run_batch(open_ledger(root), batch, jobs, kind="simulate")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A ledger with batch ``a`` (the base trades, 0.5 s and 1000 bars per job)."""
    path = tmp_path / "root"
    _append(path, "a", _jobs(_base()))
    return path


def _parity(capsys: Any, root: Path, *args: str) -> tuple[int, str, str]:
    return run_main(capsys, "--root", str(root), "parity", *args)


def _document(root: Path, a: str = "a", b: str = "b") -> dict[str, Any]:
    document: dict[str, Any] = json.loads((root / "parity" / f"{a}_vs_{b}.json").read_text())
    return document


def test_the_same_trades_faster_are_identical_with_their_cost_ratios(
    root: Path, capsys: Any
) -> None:
    _append(root, "b", _jobs(_base(), duration_s=0.125, bars=250.0))
    code, out, err = _parity(capsys, root, "a", "b")
    assert code == 0, err
    document = _document(root)
    assert document["identical"] is True and document["total_mismatches"] == 0
    assert document["bars_processed"] == {
        "a": 2000,
        "a_over_b": 4.0,
        "b": 500,
        "metric": "bars_processed",
    }
    assert document["wall_time"]["a_s"] == 1.0 and document["wall_time"]["b_s"] == 0.25
    assert document["wall_time"]["a_over_b"] == 4.0
    assert "varies from run to run" in document["wall_time"]["note"]
    assert document["a"] == {"batch": "a", "jobs_compared": 2, "jobs_not_ok": []}
    assert document["exact"] == ["side", "timestamp"] and document["tol"] == 0.01
    assert [j["a_records"] for j in document["jobs"]] == [3, 2]
    md = (root / "parity" / "a_vs_b.md").read_text()
    assert out == md and "verdict: **identical**" in md
    assert "| bars processed (metric bars_processed) | 2000 | 500 | 4.00 |" in md
    assert "| wall time s (sum of duration_s; measured, varies run to run) |" in md
    assert "wrote 2 files" in err


def test_a_count_mismatch_exits_1_naming_the_job_and_counts(root: Path, capsys: Any) -> None:
    trades = _base()
    trades["SYM01"].append(_trade(5))
    _append(root, "b", _jobs(trades))
    code, out, err = _parity(capsys, root, "a", "b")
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        "error: batches 'a' and 'b' differ: 1 mismatches; first: SYM01 (count: 2 vs 3)"
    )
    document = _document(root)
    assert document["identical"] is False
    assert [(j["job"], j["status"]) for j in document["jobs"]] == [
        ("SYM00", "identical"),
        ("SYM01", "different"),
    ]
    assert "verdict: **DIFFERENT**" in out and "| SYM01 | - | (count) | count | 2 | 3 |" in out


def test_field_mismatches_name_job_index_and_field_and_are_all_counted(
    root: Path, capsys: Any
) -> None:
    trades = _base()
    trades["SYM00"][1]["side"] = "short"
    trades["SYM00"][2]["exit_price"] = 200.0
    trades["SYM01"][0]["timestamp"] = "2024-01-02T03:00:00Z"
    trades["SYM01"][1]["pnl"] = 1.5
    _append(root, "b", _jobs(trades))
    code, _, err = _parity(capsys, root, "a", "b")
    assert code == 1
    line = err.strip().splitlines()[-1]
    assert "4 mismatches; first: " in line and line.endswith(" ...")
    assert 'SYM00[1].side (exact: "long" vs "short")' in line
    assert "SYM00[2].exit_price (tolerance: 103.0 vs 200.0)" in line
    assert "SYM01[0].timestamp (exact:" in line and "SYM01[1]" not in line  # first 3 only
    kept = [(m["job"], m["index"], m["field"], m["kind"]) for m in _document(root)["mismatches"]]
    assert kept == [
        ("SYM00", 1, "side", "exact"),
        ("SYM00", 2, "exit_price", "tolerance"),
        ("SYM01", 0, "timestamp", "exact"),
        ("SYM01", 1, "pnl", "tolerance"),
    ]


@pytest.mark.parametrize(
    ("b_price", "args", "code"),
    [
        (100.25, ["--tol", "0.25"], 0),  # a difference of exactly tol passes
        (99.75, ["--tol", "0.25"], 0),  # in either direction
        (100.25, ["--tol", "0.125"], 1),
        (100.0 + 2**-40, ["--tol", "0"], 1),  # no tolerance: equal or not
        (100.0, ["--tol", "0"], 0),
        (100.25, ["--tol", "1", "--exact", "entry_price"], 1),  # exact ignores the tolerance
        (100.0 + 2**-40, [], 0),  # the default tolerance, 0.01
        (100.015625, [], 1),
    ],
)
def test_tolerance_edges(
    tmp_path: Path, capsys: Any, b_price: float, args: list[str], code: int
) -> None:
    root = tmp_path / "root"
    _append(root, "a", _jobs({"S": [_trade(0, entry_price=100.0)]}))
    _append(root, "b", _jobs({"S": [_trade(0, entry_price=b_price)]}))
    got, _, err = _parity(capsys, root, "a", "b", *args)
    assert got == code, err
    if code:
        assert "S[0].entry_price" in err


def test_exact_fields_ignore_the_tolerance(root: Path, capsys: Any) -> None:
    trades = _base()
    trades["SYM00"][0]["entry_bar"] = 7
    _append(root, "b", _jobs(trades))
    assert _parity(capsys, root, "a", "b", "--tol", "10")[0] == 0
    code, _, err = _parity(capsys, root, "a", "b", "--tol", "10", "--exact", "entry_bar")
    assert code == 1 and "SYM00[0].entry_bar (exact: 0 vs 7)" in err


def test_jobs_not_ok_or_on_one_side_only_are_missing_and_listed(root: Path, capsys: Any) -> None:
    trades = _base()
    trades["SYM02"] = [_trade(9)]
    _append(root, "b", _jobs(trades, status={"SYM01": "error"}))
    code, out, err = _parity(capsys, root, "a", "b")
    assert code == 1 and "2 mismatches" in err
    document = _document(root)
    assert [(m["job"], m["kind"]) for m in document["mismatches"]] == [
        ("SYM01", "missing_in_b"),
        ("SYM02", "missing_in_a"),
    ]
    assert document["b"]["jobs_not_ok"] == [{"job": "SYM01", "status": "error"}]
    assert document["b"]["jobs_compared"] == 2
    assert "| b | SYM01 | error |" in out


def test_jobs_matched_by_a_param_with_key(root: Path, capsys: Any) -> None:
    renamed = {f"other{n}": records for n, records in enumerate(_base().values())}
    jobs = _jobs(renamed)
    for job, symbol in zip(jobs, ("sym00", "sym01"), strict=True):
        job["params"]["symbol"] = symbol
    _append(root, "b", jobs)
    code, _, err = _parity(capsys, root, "a", "b")
    assert code == 1 and "missing_in" in err
    code, out, err = _parity(capsys, root, "a", "b", "--key", "symbol")
    assert code == 0, err
    assert [j["job"] for j in _document(root)["jobs"]] == ["sym00", "sym01"]
    assert _document(root)["match_by"] == "params.symbol" and "param `symbol`" in out


def _one_line_exit_2(capsys: Any, root: Path, *args: str) -> str:
    code, out, err = _parity(capsys, root, *args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert not (root / "parity").exists()
    return err


def test_bad_input_exits_2_in_one_line_and_writes_nothing(root: Path, capsys: Any) -> None:
    _append(root, "b", _jobs(_base()))
    jobs = _jobs({"X": [_trade(0)], "Y": [_trade(1)]})
    jobs[1]["result"] = {"orders": []}
    _append(root, "c", jobs)
    head = Ledger.open(root).head()
    assert "'nope'" in _one_line_exit_2(capsys, root, "a", "nope")
    assert "'nope'" in _one_line_exit_2(capsys, root, "nope", "b")
    err = _one_line_exit_2(capsys, root, "a", "b", "--key", "window")
    assert "has no param 'window'" in err
    err = _one_line_exit_2(capsys, root, "a", "b", "--key", "mode")  # every job has mode x
    assert "share the param 'mode'" in err
    err = _one_line_exit_2(capsys, root, "a", "c")
    assert "job 'Y'" in err and "result.trades" in err and "missing" in err
    err = _one_line_exit_2(capsys, root, "a", "b", "--field", "entry_bar")
    assert "result.entry_bar" in err
    assert "--tol" in _one_line_exit_2(capsys, root, "a", "b", "--tol", "-1")
    assert "tol" in _one_line_exit_2(capsys, root, "a", "b", "--tol", "nan")
    assert Ledger.open(root).head() == head


def test_running_the_command_twice_gives_the_same_bytes(root: Path, capsys: Any) -> None:
    trades = _base()
    trades["SYM00"][0]["pnl"] = 3.0
    _append(root, "b", _jobs(trades, duration_s=0.3))
    files = [root / "parity" / "a_vs_b.json", root / "parity" / "a_vs_b.md"]
    assert _parity(capsys, root, "a", "b")[0] == 1
    first = [f.read_bytes() for f in files]
    (root / "ledger.duckdb").unlink()  # rebuilt from the ledger by the next run
    code, out, _ = _parity(capsys, root, "a", "b", "--json")
    assert code == 1 and [f.read_bytes() for f in files] == first
    assert out.encode() == first[0]
    orders: list[list[str]] = []
    json.loads(first[0], object_pairs_hook=lambda pairs: orders.append([k for k, _ in pairs]))
    assert len(orders) == 8 and all(keys == sorted(keys) for keys in orders)


def _rebuild(capsys: Any, root: Path, *args: str) -> tuple[int, str, str]:
    return run_main(capsys, "--root", str(root), "rebuild", *args)


def _files(root: Path) -> dict[str, bytes]:
    folder = root / "parity"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


# Options other than the defaults: a rebuild that ignored the stored ones would differ.
OPTIONS = ("--key", "symbol", "--tol", "0.5", "--exact", "timestamp,entry_bar")


def _differing_b(root: Path) -> None:
    trades = _base()
    trades["SYM00"][0]["pnl"] = 1.25  # within --tol 0.5
    trades["SYM01"][1]["pnl"] = 3.0  # beyond it
    _append(root, "b", _jobs(trades, duration_s=0.25, bars=500.0))


def test_rebuild_check_names_an_edited_or_deleted_parity_file_and_rebuild_restores_it(
    root: Path, capsys: Any
) -> None:
    """The parity files are recorded outputs: an edit and a deletion are named by ``rebuild
    --check`` (with the database current, and behind the ledger: the reference then compares
    with the stored options), and ``rebuild`` puts both back byte for byte."""
    _differing_b(root)
    assert _parity(capsys, root, "a", "b", *OPTIONS)[0] == 1
    first = _files(root)
    assert sorted(first) == ["a_vs_b.json", "a_vs_b.md"]
    assert _rebuild(capsys, root, "--check")[0] == 0
    json_file, md_file = root / "parity" / "a_vs_b.json", root / "parity" / "a_vs_b.md"
    json_file.write_bytes(
        json_file.read_bytes().replace(b'"identical": false', b'"identical": true')
    )
    md_file.unlink()
    code, out, _ = _rebuild(capsys, root, "--check")
    assert (code, out) == (1, "changed\tparity/a_vs_b.json\nmissing\tparity/a_vs_b.md\n")
    code, out, err = _rebuild(capsys, root)
    assert code == 0 and "2 restored" in err
    assert sorted(out.splitlines()) == [str(json_file), str(md_file)]
    assert _files(root) == first
    assert _rebuild(capsys, root, "--check")[0] == 0
    # a new batch: the database is behind and the check builds its own reference
    _append(root, "c", _jobs(_base()))
    md_file.write_text(md_file.read_text().replace("differ", "agree"))
    json_file.unlink()
    code, out, _ = _rebuild(capsys, root, "--check")
    named = [line for line in out.splitlines() if "parity/" in line]
    assert code == 1 and named == ["missing\tparity/a_vs_b.json", "changed\tparity/a_vs_b.md"]
    assert _rebuild(capsys, root)[0] == 0
    assert _files(root) == first
    assert _rebuild(capsys, root, "--check")[0] == 0
    # deleting the database forgets the options: the files are then no longer vouched for
    (root / "ledger.duckdb").unlink()
    code, out, _ = _rebuild(capsys, root, "--check")
    assert code == 0 and out == ""  # no other output under parity/: no folder to scan


@pytest.mark.parametrize("side", ["a", "b"])
def test_a_new_event_in_either_batch_is_compared_again_as_the_command_would(
    root: Path, capsys: Any, side: str
) -> None:
    """A job added to either batch after ``parity`` ran: ``rebuild`` (and any reading command
    that catches up) writes the files again, byte for byte what ``parity`` with the same
    options writes now."""
    _differing_b(root)
    assert _parity(capsys, root, "a", "b", *OPTIONS)[0] == 1
    before = _files(root)
    led = open_ledger(root)
    params = {"symbol": "sym02", "mode": "x"}
    cause = intent(led, side, 2, "SYM02", "simulate", **params)
    trades = {"trades": [_trade(5)]}
    outcome(led, cause, side, job_id_of("SYM02", params), kind="simulate", result=trades)
    code, out, _ = _rebuild(capsys, root)
    assert code == 0 and str(root / "parity" / "a_vs_b.json") in out.splitlines()
    rebuilt = _files(root)
    assert rebuilt != before
    document = json.loads(rebuilt["a_vs_b.json"])
    assert document[side]["jobs_compared"] == 3 and document["match_by"] == "params.symbol"
    assert _parity(capsys, root, "a", "b", *OPTIONS)[0] == 1
    assert _files(root) == rebuilt
    assert _rebuild(capsys, root, "--check")[0] == 0


def test_pairs_written_to_the_same_files_are_kept_as_the_last_run(root: Path, capsys: Any) -> None:
    """``x_vs_y`` vs ``z`` and ``x`` vs ``y_vs_z`` write the same ``parity/x_vs_y_vs_z.*``:
    the stored options follow the files, so ``rebuild`` restores the last run's, not both in
    turn."""
    for batch in ("x_vs_y", "z", "x", "y_vs_z"):
        _append(root, batch, _jobs(_base()))
    assert _parity(capsys, root, "x_vs_y", "z")[0] == 0
    assert _parity(capsys, root, "x", "y_vs_z", "--tol", "0.25")[0] == 0
    last = _files(root)
    assert json.loads(last["x_vs_y_vs_z.json"])["a"]["batch"] == "x"
    (root / "parity" / "x_vs_y_vs_z.json").unlink()
    assert _rebuild(capsys, root, "--full")[0] == 0
    assert _files(root) == last
    assert _rebuild(capsys, root, "--check")[0] == 0


# The example replays, run for real: full vs focused, at 1 and 2 workers.


def _without_wall_time(files: dict[str, bytes]) -> dict[str, Any]:
    """The parity files minus the one documented measured field (``wall_time``)."""
    document = json.loads(files["json"])
    del document["wall_time"]
    lines = files["md"].decode().splitlines()
    kept = [line for line in lines if not line.startswith("| wall time")]
    assert len(kept) == len(lines) - 1
    return {"json": document, "md": kept}


@pytest.fixture(scope="module")
def replay_roots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, Path]]:
    """Roots holding the example full and focused replays (batches ``full`` and ``focused``),
    one run with 1 worker and one with 2 (thread executor: the jobs import this worktree)."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("SWEEPLEDGER_")}
    for name in saved:
        del os.environ[name]
    roots = {}
    try:
        for workers in (1, 2):
            root = tmp_path_factory.mktemp(f"workers{workers}")
            for mode in MODES:
                argv = ["--root", str(root), "run", str(EXAMPLES / f"replay_{mode}.yaml")]
                argv += ["--batch-id", mode, "--workers", str(workers), "--executor", "thread"]
                _run(argv)
            roots[workers] = root
        yield roots
    finally:
        os.environ.update(saved)


def _run(argv: list[str]) -> None:
    from commands.cli import main

    try:
        main(argv)
    except SystemExit as exited:
        assert exited.code in (0, None), argv


def _parity_files(root: Path) -> dict[str, bytes]:
    stem = root / "parity" / "full_vs_focused"
    return {ext: stem.with_name(f"{stem.name}.{ext}").read_bytes() for ext in ("json", "md")}


def test_full_and_focused_example_replays_are_identical(
    replay_roots: dict[int, Path], capsys: Any
) -> None:
    root = replay_roots[1]
    code, out, err = _parity(capsys, root, "full", "focused")
    assert code == 0, err
    document = json.loads(_parity_files(root)["json"])
    assert document["identical"] is True and len(document["jobs"]) == 6
    assert sum(j["a_records"] for j in document["jobs"]) > 20
    bars = document["bars_processed"]
    assert bars["a"] == 30000 and bars["a_over_b"] > 5  # 6 symbols x 5000 bars, all walked
    assert document["wall_time"]["a_s"] > 0 and document["wall_time"]["b_s"] > 0
    assert "verdict: **identical**" in out


def test_parity_files_are_byte_identical_across_runs_and_worker_counts(
    replay_roots: dict[int, Path], capsys: Any
) -> None:
    files = {}
    for workers, root in replay_roots.items():
        assert _parity(capsys, root, "full", "focused")[0] == 0
        files[workers] = _parity_files(root)
        assert _parity(capsys, root, "full", "focused")[0] == 0
        assert _parity_files(root) == files[workers]  # wall time included: from the events
    assert _without_wall_time(files[1]) == _without_wall_time(files[2])
