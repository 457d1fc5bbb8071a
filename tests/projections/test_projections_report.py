"""The report projection against a brute-force reference, and the report command."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from projection_fixtures import (
    finish_batch,
    intent,
    job_id_of,
    open_ledger,
    outcome,
    run_main,
    start_batch,
)

from projections import rebuild
from schemas import STATUSES

metric_values = st.one_of(
    st.none(), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_subnormal=False)
)
jobs = st.lists(
    st.fixed_dictionaries(
        {
            "status": st.one_of(st.none(), st.sampled_from(STATUSES)),
            "metrics": st.dictionaries(st.sampled_from(["loss", "acc", "f1"]), metric_values),
            "duration_s": st.sampled_from([0.0, 0.5, 2.0, 0.125]),
            "rerun": st.one_of(st.none(), st.sampled_from(["ok", "error"])),
            # CSV cells that need quoting: commas, quotes, line breaks
            "name": st.text(alphabet=list('ab,"\r\n é|'), min_size=1, max_size=6),
        }
    ),
    min_size=1,
    max_size=8,
)


def _append(led: Any, batch: str, spec: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Append a batch (outcomes in reverse order, reruns after) and return reference rows."""
    start_batch(led, batch, len(spec))
    spec = [{"name": f"job{i}", **job} for i, job in enumerate(spec)]
    seqs = [intent(led, batch, i, job["name"], x=i) for i, job in enumerate(spec)]
    for i in reversed(range(len(spec))):  # completion order differs from manifest order
        job = spec[i]
        if job["status"] is not None:
            err = ("RuntimeError", "boom\nline two") if job["status"] != "ok" else None
            outcome(
                led,
                seqs[i],
                batch,
                job_id_of(job["name"], {"x": i}),
                job["status"],
                duration_s=job["duration_s"],
                metrics=job["metrics"],
                error=err,
            )
    rows = []
    for i, job in enumerate(spec):
        etype = "RuntimeError" if job["status"] not in (None, "ok") else ""
        final = (job["status"], job["metrics"], job["duration_s"])
        if job["rerun"] is not None:
            seq = intent(led, batch, i, job["name"], x=i)
            outcome(
                led,
                seq,
                batch,
                job_id_of(job["name"], {"x": i}),
                job["rerun"],
                duration_s=1.0,
                metrics={"loss": 1.5},
            )
            final = (job["rerun"], {"loss": 1.5}, 1.0)
            etype = ""
        status, metrics, duration = final
        rows.append(
            {
                "index": i,
                "name": job["name"],
                "status": status or "missing",
                "metrics": metrics if status else {},
                "duration_s": duration if status else None,
                "error_type": etype,
            }
        )
    finish_batch(led, batch, len(spec), 0)
    return rows


def _num(text: str) -> float | None:
    return None if text == "" else float(text)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=jobs)
def test_summary_csv_matches_reference(tmp_path: Path, spec: list[dict[str, Any]]) -> None:
    root = tmp_path / uuid.uuid4().hex
    led = open_ledger(root)
    expected = _append(led, "b", spec)
    rebuild(root, ["report"])  # only what this test reads: 30 examples
    with open(root / "batches/b/summary.csv", encoding="utf-8", newline="") as f:
        reader = csv.reader(io.StringIO(f.read()))
    header, *rows = list(reader)
    names = sorted({n for r in expected for n in r["metrics"]})
    fixed = ["index", "name", "job_id", "status", "duration_s"]
    assert header == [*fixed, "x", *names, "error_type"]  # every param, then every metric
    assert len(rows) == len(expected)
    for row, ref in zip(rows, expected, strict=True):
        assert int(row[0]) == ref["index"] and row[1] == ref["name"]
        assert row[3] == ref["status"]
        assert _num(row[4]) == ref["duration_s"]
        assert row[5] == str(ref["index"])  # the param x
        for name, cell in zip(names, row[6:-1], strict=True):
            if name not in ref["metrics"]:
                assert cell == ""  # blank only when the job has no such metric
            elif ref["metrics"][name] is None:
                assert cell == "null"  # recorded as null (non-finite): marked
            else:
                assert float(cell) == ref["metrics"][name]
        assert row[-1] == ref["error_type"]
    md = (root / "batches/b/report.md").read_text()
    for name in names:
        vals = [r["metrics"][name] for r in expected if name in r["metrics"]]
        finite = sorted(v for v in vals if v is not None)
        if finite:
            n = len(finite)
            med = (
                finite[n // 2]
                if n % 2
                else finite[n // 2 - 1] + (finite[n // 2] - finite[n // 2 - 1]) * 0.5
            )
            low, high = finite[0], finite[-1]
            line = f"| {name} | {n} | {len(vals) - n} | {low:.4f} | {med:.4f} | {high:.4f} |"
            assert line in md
    for status in {r["status"] for r in expected}:
        count = sum(1 for r in expected if r["status"] == status)
        assert f"| {status} | {count} |" in md


def test_report_lists_failures_slowest_and_command(tmp_path: Path, capsys: Any) -> None:
    led = open_ledger(tmp_path)
    spec = [
        {"status": "ok", "metrics": {"loss": 0.1}, "duration_s": 0.5, "rerun": None},
        {"status": "timeout", "metrics": {}, "duration_s": 2.0, "rerun": None},
        {"status": None, "metrics": {}, "duration_s": 0.0, "rerun": None},
    ]
    _append(led, "tuning", spec)
    code, out, _ = run_main(capsys, "--root", str(tmp_path), "report", "--batch", "tuning")
    assert code == 0
    assert "## Failures (1)" in out and "| 1 | job1 | timeout | RuntimeError | boom |" in out
    assert out.index("| 1 | job1 | timeout | 2.000 |") < out.index("| 0 | job0 | ok | 0.500 |")
    assert "| missing | 1 |" in out
    code, out, _ = run_main(capsys, "--root", str(tmp_path), "report", "--csv")
    assert code == 0 and out.splitlines()[3].startswith("2,job2,")
    code, _, err = run_main(capsys, "--root", str(tmp_path), "report", "--batch", "zzz")
    assert code == 2 and "zzz" in err
    code, _, err = run_main(capsys, "--root", str(tmp_path / "none"), "report")
    assert code == 2 and "no ledger" in err
