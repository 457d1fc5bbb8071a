"""``trials.jsonl`` as DuckDB renders it against a plain-Python reference on awkward trials
(null and non-finite metrics, control characters and unicode in ids, names and params, ties,
retried jobs, trials with no intent, five-digit indexes, two studies), and ``json_string``
against ``json.dumps`` on every control character."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pareto_fixtures import AWKWARD_STUDIES, ODD_TEXT, record_awkward, record_more

from projections import pareto_render, rebuild
from projections.engine import connect
from projections.pareto_sql import json_string
from projections.writers import safe_dir_name

TEXTS = [
    *ODD_TEXT,
    *(chr(c) for c in range(32)),
    "\\u0041",
    "\\\\u000b\\",
    '"\\"',
    "\x7f\x80\u2028",
    "a/b</script>",
    "\U0001f600\x1f\U0001f600",
]


def _render(texts: list[str | None]) -> list[str]:
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"SELECT {json_string('t')} FROM unnest($texts::VARCHAR[]) WITH ORDINALITY AS u(t, n)"
            " ORDER BY n",
            {"texts": texts},
        ).fetchall()
    finally:
        con.close()
    return [str(r[0]) for r in rows]


def test_json_string_matches_json_dumps_on_awkward_text() -> None:
    assert _render([*TEXTS, None]) == [json.dumps(t, ensure_ascii=False) for t in TEXTS] + ["null"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8")), min_size=1, max_size=20))
def test_json_string_matches_json_dumps_on_any_text(texts: list[str]) -> None:
    clean = [t.replace("\x00", "") for t in texts]  # DuckDB parameters stop at NUL
    assert _render(list(clean)) == [json.dumps(t, ensure_ascii=False) for t in clean]


def _reference_lines(root: Path, study: str) -> str:
    """trials.jsonl rendered in Python: top-level fields with ``json.dumps``, the nested
    metrics, params and result as DuckDB's JSON text of the stored values."""
    con = connect(root, read_only=True)
    try:
        rows = con.execute(
            """SELECT trial_id, candidate_id, job_id, "index", name, seq, status, valid,
                      on_frontier, to_json(metrics), CAST(params AS VARCHAR),
                      CAST(result AS VARCHAR), metrics
               FROM study_trials WHERE batch = ?""",
            [study],
        ).fetchall()
    finally:
        con.close()
    rows.sort(key=lambda r: (r[3] is None, r[3] or 0, r[5]))
    out = []
    for trial_id, cid, job_id, index, name, seq, status, valid, front, m, p, r, raw in rows:
        assert json.loads(m) == raw  # the nested text is the stored map
        fields = [
            ("trial_id", json.dumps(trial_id, ensure_ascii=False)),
            ("candidate_id", json.dumps(cid, ensure_ascii=False)),
            ("job_id", json.dumps(job_id, ensure_ascii=False)),
            ("index", json.dumps(index)),
            ("name", json.dumps(name, ensure_ascii=False)),
            ("seq", json.dumps(seq)),
            ("status", json.dumps(status, ensure_ascii=False)),
            ("valid", json.dumps(valid)),
            ("on_frontier", json.dumps(front)),
            ("metrics", m),
            ("params", p if p is not None else "null"),
            ("result", r if r is not None else "null"),
        ]
        out.append("{" + ", ".join(f'"{k}": {v}' for k, v in fields) + "}\n")
    return "".join(out)


@pytest.fixture(scope="module")
def awkward_root(tmp_path_factory: Any) -> Path:
    root: Path = tmp_path_factory.mktemp("awkward")
    record_awkward(root)
    rebuild(root)
    return root


@pytest.mark.parametrize("study", AWKWARD_STUDIES)
def test_trials_jsonl_matches_python_reference(awkward_root: Path, study: str) -> None:
    path = awkward_root / "studies" / safe_dir_name(study) / "trials.jsonl"
    text = path.read_bytes().decode("utf-8")
    assert text == _reference_lines(awkward_root, study)
    lines = [json.loads(line) for line in text.split("\n")[:-1]]  # not splitlines: U+2028
    assert len(lines) == 41  # 40 jobs (one retried: its last outcome) + one without intent
    assert lines[-1]["index"] is None and lines[-1]["trial_id"].startswith("trial_orphan ctl")
    assert lines[-2]["index"] == 12384 and lines[-2]["trial_id"].startswith("trial_12384_")
    assert lines[4]["metrics"] == {"mean_pnl": 9.0, "drawdown_cvar": 0.5}  # the retry
    assert {line["params"]["label"] for line in lines[:-1]} == set(ODD_TEXT)
    assert lines[0]["metrics"]["odd"] is None  # NaN recorded as null
    wilson = lines[0]["metrics"]["kill_prob_ci_upper"]  # 0 kills of 3 runs, computed
    assert math.isclose(wilson, 0.5614970317550455)
    fronts = [line for line in lines if line["on_frontier"]]
    assert fronts and all(line["valid"] for line in fronts)


def test_rebuilds_are_byte_identical_across_threads(awkward_root: Path, tmp_path: Path) -> None:
    other = tmp_path / "again"
    record_awkward(other)
    rebuild(other, threads=1)
    for study in AWKWARD_STUDIES:
        folder = Path("studies") / safe_dir_name(study)
        for name in ("pareto.json", "pareto.csv", "trials.jsonl"):
            assert (other / folder / name).read_bytes() == (
                awkward_root / folder / name
            ).read_bytes()


def test_files_rendered_in_small_pieces_are_the_same(
    awkward_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Record batches of 5 lines: a study's file is written from many pieces, and a record
    batch holding the end of one study and the start of the next switches files midway."""
    con = connect(awkward_root)
    try:
        front = [row[0] for row in con.execute("SELECT seq FROM study_frontier").fetchall()]
        pieces = list(
            pareto_render.trials_jsonl_pieces(con, list(AWKWARD_STUDIES), lambda: front, rows=5)
        )
    finally:
        con.close()
    assert [s for s, _ in pieces] == sorted((s for s, _ in pieces), key=AWKWARD_STUDIES.index)
    assert max(memoryview(p).nbytes for _, p in pieces) < min(
        (awkward_root / "studies" / safe_dir_name(s) / "trials.jsonl").stat().st_size
        for s in AWKWARD_STUDIES
    )
    assert any(len(bytes(p).split(b"\n")) - 1 < 5 for _, p in pieces[:-1])  # a split batch
    monkeypatch.setattr(pareto_render, "PIECE_ROWS", 5)
    other = tmp_path / "pieces"
    record_awkward(other)
    rebuild(other)
    for study in AWKWARD_STUDIES:
        name = Path("studies") / safe_dir_name(study) / "trials.jsonl"
        joined = b"".join(bytes(p) for s, p in pieces if s == study)
        assert (other / name).read_bytes() == joined == (awkward_root / name).read_bytes()
    assert _recorded(other) == _recorded(awkward_root)


def _recorded(root: Path) -> list[Any]:
    con = connect(root, read_only=True)
    try:
        return con.execute(
            "SELECT path, size, sha256 FROM _outputs WHERE path LIKE 'studies/%' ORDER BY path"
        ).fetchall()
    finally:
        con.close()


def _state(root: Path) -> tuple[list[Any], dict[str, bytes]]:
    con = connect(root, read_only=True)
    try:
        rows = con.execute(
            "SELECT * EXCLUDE (metrics), to_json(metrics) FROM study_trials ORDER BY batch, seq"
        ).fetchall()
    finally:
        con.close()
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted((root / "studies").rglob("*"))
        if p.is_file()
    }
    return rows, files


def test_catch_up_with_new_trials_equals_a_full_rebuild(tmp_path: Path) -> None:
    root = tmp_path / "root"
    record_awkward(root)
    rebuild(root)
    before = (root / "studies/awk/trials.jsonl").read_text(encoding="utf-8").split("\n")[:-1]
    assert sum(json.loads(line)["on_frontier"] for line in before) >= 1
    record_more(root, "awk")
    done = rebuild(root)
    assert done.updated["pareto"] == ["awk"]  # a catch-up of the touched study only
    caught_up = _state(root)
    rebuild(root, full=True)
    assert _state(root) == caught_up
    lines = [
        json.loads(x) for x in caught_up[1]["studies/awk/trials.jsonl"].decode().split("\n")[:-1]
    ]
    assert len(lines) == len(before) + 3  # the retry replaced its job's row
    assert lines[1]["metrics"]["mean_pnl"] == 5.0
    assert [x["name"] for x in lines if x["on_frontier"]] == ["more0", "more1"]


def _frontier_rows(root: Path) -> tuple[list[Any], list[Any], int]:
    con = connect(root, read_only=True)
    try:
        stored = con.execute("SELECT batch, seq FROM study_frontier ORDER BY seq").fetchall()
        shown = con.execute(
            "SELECT batch, seq FROM study_trials WHERE on_frontier ORDER BY seq"
        ).fetchall()
        count = con.execute("SELECT count(*) FROM study_trials WHERE batch = 'awk'").fetchone()
    finally:
        con.close()
    assert count is not None
    return stored, shown, int(count[0])


def test_only_the_frontier_is_stored_and_the_trials_follow_the_base_tables(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    record_awkward(root)
    rebuild(root)
    con = connect(root, read_only=True)
    try:
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    finally:
        con.close()
    assert "study_trials" in views  # a view: no trial is copied into a table
    stored, shown, before = _frontier_rows(root)
    assert stored == shown and {b for b, _ in stored} == set(AWKWARD_STUDIES)
    record_more(root, "awk")
    rebuild(root, ["gaps"])  # the base tables move on, the pareto projection does not
    stale, _, after = _frontier_rows(root)
    assert stale == stored and after == before + 3
    rebuild(root)
    caught_up, shown, _ = _frontier_rows(root)
    assert caught_up == shown != stored
