"""``trials.jsonl`` rendered while the frontier is computed (``pareto_trials.TrialsWriter``,
``pareto_render.trials_jsonl_pieces``): the frontier's lines marked as they are handed over,
the render waiting for the frontier only when it has lines, and a failure on either side
leaving the old files and no thread or temporary file behind."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from pareto_fixtures import AWKWARD_STUDIES, record_awkward

from projections import pareto_render, rebuild
from projections.engine import connect
from projections.files import BackgroundWrites
from projections.pareto_trials import TrialsWriter
from projections.writers import safe_dir_name

STUDIES = list(AWKWARD_STUDIES)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    record_awkward(root)
    rebuild(root)
    return root


def _valid_seqs(root: Path) -> list[int]:
    con = connect(root, read_only=True)
    try:
        rows = con.execute("SELECT seq FROM study_trials WHERE valid ORDER BY seq").fetchall()
    finally:
        con.close()
    return [int(r[0]) for r in rows]


def _folders(root: Path, where: str) -> dict[str, Path]:
    return {s: root / where / safe_dir_name(s) for s in STUDIES}


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_bytes().decode("utf-8").split("\n")[:-1]]


def test_the_lines_of_the_frontier_given_are_the_ones_marked(root: Path) -> None:
    chosen = _valid_seqs(root)[::3]  # valid trials, on the frontier or not
    asked = []

    def frontier() -> list[int]:
        asked.append(threading.get_ident())
        return chosen

    con = connect(root, read_only=True)
    try:
        pieces = list(pareto_render.trials_jsonl_pieces(con, STUDIES, frontier, rows=7))
    finally:
        con.close()
    assert len(asked) == 1  # asked once, for every record batch
    for study in STUDIES:
        text = b"".join(bytes(p) for s, p in pieces if s == study).decode("utf-8")
        lines = [json.loads(x) for x in text.split("\n")[:-1]]
        assert sorted(x["seq"] for x in lines if x["on_frontier"]) == sorted(
            x["seq"] for x in lines if x["seq"] in chosen
        )
        assert all(x["valid"] for x in lines if x["on_frontier"])


def test_an_invalid_trial_cannot_be_marked(root: Path) -> None:
    con = connect(root, read_only=True)
    try:
        [(invalid,)] = con.execute(
            "SELECT min(seq) FROM study_trials WHERE NOT valid AND batch = ?", [STUDIES[0]]
        ).fetchall()
        with pytest.raises(ValueError, match="not a valid trial's"):
            list(pareto_render.trials_jsonl_pieces(con, STUDIES, lambda: [invalid]))
    finally:
        con.close()


def test_the_writer_gives_the_files_a_rebuild_gives(root: Path) -> None:
    con = connect(root)
    try:
        front = np.asarray([r[0] for r in con.execute("SELECT seq FROM study_frontier").fetchall()])
        folders = _folders(root, "again")
        with BackgroundWrites() as files, TrialsWriter(con, STUDIES, folders, files) as trials:
            trials.frontier(front)
    finally:
        con.close()
    for study in STUDIES:
        built = root / "studies" / safe_dir_name(study) / "trials.jsonl"
        assert (folders[study] / "trials.jsonl").read_bytes() == built.read_bytes()


def test_a_study_without_trials_gets_an_empty_file(root: Path) -> None:
    con = connect(root)
    try:
        folders = {**_folders(root, "again"), "none": root / "again" / "none"}
        with (
            BackgroundWrites() as files,
            TrialsWriter(con, [*STUDIES, "none"], folders, files) as trials,
        ):
            trials.frontier([])
    finally:
        con.close()
    assert (folders["none"] / "trials.jsonl").read_bytes() == b""
    assert all(not x["on_frontier"] for x in _lines(folders[STUDIES[0]] / "trials.jsonl"))


def test_a_caller_failing_before_the_frontier_stops_the_render(root: Path) -> None:
    folders = _folders(root, "studies")
    before = {s: (folders[s] / "trials.jsonl").read_bytes() for s in STUDIES}
    con = connect(root)
    try:
        with (
            pytest.raises(KeyError, match="the caller's own"),
            BackgroundWrites() as files,
            TrialsWriter(con, STUDIES, folders, files),
        ):
            raise KeyError("the caller's own")  # not RenderStopped: the caller's error wins
    finally:
        con.close()
    assert not [t for t in threading.enumerate() if t.name == "sweepledger-trials"]
    for study in STUDIES:
        assert (folders[study] / "trials.jsonl").read_bytes() == before[study]
        assert [p.name for p in folders[study].iterdir() if p.name.endswith(".tmp")] == []


def test_a_failing_render_is_raised_and_leaves_the_old_file(root: Path) -> None:
    folders = _folders(root, "studies")
    before = {s: (folders[s] / "trials.jsonl").read_bytes() for s in STUDIES}
    invalid = sorted(set(range(1, 10_000)) - set(_valid_seqs(root)))
    con = connect(root)
    try:
        with (
            pytest.raises(ValueError, match="not a valid trial's"),
            BackgroundWrites() as files,
            TrialsWriter(con, STUDIES, folders, files) as trials,
        ):
            trials.frontier(invalid)  # an invalid trial's line cannot be marked
    finally:
        con.close()
    for study in STUDIES:
        assert (folders[study] / "trials.jsonl").read_bytes() == before[study]
        assert [p.name for p in folders[study].iterdir() if p.name.endswith(".tmp")] == []
