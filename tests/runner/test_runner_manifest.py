"""Manifests: expansion, naming, job ids, users files, settings precedence, refusals."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from runner_fixtures import cli, events, manifest_of, no_runner_env, write_manifest

from commands.runner.manifest import expand_jobs, job_id_of, job_seed, load_manifest, matrix_name
from commands.runner.settings import SettingInvalid, resolve_settings
from ledger import Ledger
from schemas import Manifest, ManifestConfig, ManifestInvalid, MatrixSpec, NewEvent

__all__ = ["no_runner_env"]


def test_matrix_expands_in_axis_order_with_axis_names(tmp_path: Path) -> None:
    path = write_manifest(
        tmp_path,
        manifest_of(
            jobs=[{"name": "baseline", "params": {"min_leaf_size": 20}}],
            params={"dataset": "d"},
            matrix={
                "base_params": {"smart": True},
                "axes": {"min_leaf_size": [20, 50], "semantic_threshold": [0.1, 0.2]},
            },
        ),
    )
    loaded = load_manifest(path)
    assert [j.name for j in loaded.jobs] == [
        "baseline",
        "matrix_min_leaf_size20_semantic_threshold0.1",
        "matrix_min_leaf_size20_semantic_threshold0.2",
        "matrix_min_leaf_size50_semantic_threshold0.1",
        "matrix_min_leaf_size50_semantic_threshold0.2",
    ]
    assert [j.index for j in loaded.jobs] == [0, 1, 2, 3, 4]
    assert loaded.jobs[0].params == {"dataset": "d", "min_leaf_size": 20}
    assert loaded.jobs[4].params == {
        "dataset": "d",
        "smart": True,
        "min_leaf_size": 50,
        "semantic_threshold": 0.2,
    }
    assert loaded.kind == "job"


@pytest.mark.parametrize(
    ("combo", "name"),
    [
        ({"a": 1, "b": "x"}, "matrix_a1_bx"),
        ({"flag": True, "ratio": 0.5}, "matrix_flagtrue_ratio0.5"),
        ({"none": None}, "matrix_nonenull"),
    ],
)
def test_matrix_names(combo: dict[str, Any], name: str) -> None:
    assert matrix_name(combo) == name


AXIS_VALUES = st.one_of(
    st.integers(-5, 50), st.booleans(), st.sampled_from(["a", "b c", "x_1"]), st.none()
)


@settings(max_examples=60, deadline=None)
@given(
    axes=st.dictionaries(
        st.from_regex(r"[a-z]{1,6}", fullmatch=True),
        st.lists(AXIS_VALUES, min_size=1, max_size=4, unique_by=repr),
        min_size=1,
        max_size=3,
    ),
    base=st.dictionaries(st.sampled_from(["smart", "depth"]), st.integers(0, 3), max_size=2),
)
def test_matrix_expansion_is_the_cartesian_product(
    axes: dict[str, list[Any]], base: dict[str, Any]
) -> None:
    manifest = Manifest(name="p", callable="m:f", matrix=MatrixSpec(base_params=base, axes=axes))
    try:
        jobs = expand_jobs(manifest)
    except ManifestInvalid as e:  # values equal as JSON (1 and True) collide: refused, named
        assert "same params" in str(e) or "used twice" in str(e)
        return
    combos = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]
    assert [job.index for job in jobs] == list(range(len(combos)))
    assert [job.params for job in jobs] == [{**base, **combo} for combo in combos]
    assert [job.name for job in jobs] == [matrix_name(combo) for combo in combos]
    assert len({job.job_id for job in jobs}) == len(jobs)


def test_job_id_is_stable_and_ignores_key_order() -> None:
    a = job_id_of("m:f", {"x": 1, "y": [1, 2]})
    assert a == job_id_of("m:f", {"y": [1, 2], "x": 1})
    assert a != job_id_of("m:g", {"x": 1, "y": [1, 2]})
    assert a != job_id_of("m:f", {"x": 2, "y": [1, 2]})
    assert len(a) == 16 and int(a, 16) >= 0
    assert job_seed(42, a) == job_seed(42, a) != job_seed(43, a)


def test_users_file_one_scan_job_per_handle(tmp_path: Path) -> None:
    (tmp_path / "users.txt").write_text("# handles\nalice\n\n  bob  \n#carol\n", encoding="utf-8")
    path = write_manifest(tmp_path, manifest_of(users_file="users.txt", params={"deep": True}))
    loaded = load_manifest(path)
    assert loaded.kind == "scan"
    assert [(j.name, j.params) for j in loaded.jobs] == [
        ("alice", {"deep": True, "user": "alice"}),
        ("bob", {"deep": True, "user": "bob"}),
    ]
    other = tmp_path / "other.txt"
    other.write_text("zed\n", encoding="utf-8")
    assert [j.name for j in load_manifest(path, users_file=other).jobs] == ["zed"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"name": "t", "callable": "runner_jobs:work", "jobz": []}, "jobz: unknown key"),
        (
            {"name": "t", "callable": "runner_jobs:work", "config": {"workrs": 2}, "jobs": []},
            "config.workrs: unknown setting (did you mean workers?)",
        ),
        (
            {"name": "t", "callable": "runner_jobs:work", "config": {"workers": "two"}},
            "config.workers",
        ),
        ({"name": "t", "callable": "no_such_module_x:f", "jobs": [{"name": "a"}]}, "no_such"),
        ({"name": "t", "callable": "runner_jobs:nope", "jobs": [{"name": "a"}]}, "'nope'"),
        ({"name": "t", "callable": "not a ref", "jobs": [{"name": "a"}]}, "callable"),
        ({"name": "t", "callable": "runner_jobs:work"}, "no jobs"),
        ({"name": "t", "callable": "runner_jobs:work", "jobs": []}, "no jobs"),
        ({"name": "a b", "callable": "runner_jobs:work", "jobs": [{"name": "a"}]}, "name: "),
        (
            {"name": "t", "callable": "runner_jobs:work", "jobs": [{"name": "a"}, {"name": "a"}]},
            "used twice",
        ),
        (
            {
                "name": "t",
                "callable": "runner_jobs:work",
                "jobs": [{"name": "a"}, {"name": "b"}],
            },
            "same params",
        ),
        (
            {"name": "t", "callable": "runner_jobs:work", "matrix": {"axes": {"x": []}}},
            "matrix.axes.x",
        ),
        (
            {
                "name": "t",
                "callable": "runner_jobs:work",
                "setup": "runner_jobs:missing",
                "jobs": [{"name": "a"}],
            },
            "setup",
        ),
        ({"name": "t", "callable": "runner_jobs:work", "users_file": "nope.txt"}, "nope.txt"),
    ],
)
def test_bad_manifest_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: dict[str, Any], needle: str
) -> None:
    root = tmp_path / "root"
    Ledger.open(root, create=True).append([NewEvent(type="x.note", data={"n": 1})])
    head = Ledger.open(root).head()
    path = write_manifest(tmp_path / "m", body)
    code, out, err = cli(["--root", str(root), "run", str(path)], capsys)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err
    assert Ledger.open(root).head() == head


def test_bad_manifest_creates_no_ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root"
    path = tmp_path / "broken.yaml"
    path.write_text("name: t\ncallable: [unclosed\n", encoding="utf-8")
    code, _, err = cli(["--root", str(root), "run", str(path)], capsys)
    assert code == 2 and "broken.yaml" in err and "Traceback" not in err
    assert not root.exists() and events(root) == []


def test_missing_manifest_file_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(["--root", str(tmp_path), "run", str(tmp_path / "nope.yaml")], capsys)
    assert code == 2 and "nope.yaml" in err


def test_manifest_folder_is_importable(tmp_path: Path) -> None:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "mod_import_probe_7.py").write_text(
        "def f(params, ctx):\n    return {'v': 1}\n", encoding="utf-8"
    )
    path = folder / "m.yaml"
    path.write_text(
        "name: p\ncallable: mod_import_probe_7:f\njobs: [{name: a}]\n", encoding="utf-8"
    )
    assert load_manifest(path).manifest.callable == "mod_import_probe_7:f"


CONFIG = ManifestConfig(workers=3, timeout_s=9.0, seed=5)


@pytest.mark.parametrize(
    ("cli_values", "env", "expected", "sources"),
    [
        ({}, {}, {"workers": 3, "timeout_s": 9.0, "seed": 5, "executor": "process"},
         {"workers": "manifest", "executor": "default"}),
        ({}, {"SWEEPLEDGER_WORKERS": "6", "SWEEPLEDGER_EXECUTOR": "thread"},
         {"workers": 6, "executor": "thread", "seed": 5},
         {"workers": "env", "executor": "env", "seed": "manifest"}),
        ({"workers": 2}, {"SWEEPLEDGER_WORKERS": "6"}, {"workers": 2}, {"workers": "cli"}),
        ({}, {"SWEEPLEDGER_CONTINUE_ON_ERROR": "false", "SWEEPLEDGER_TIMEOUT_S": "1.5"},
         {"continue_on_error": False, "timeout_s": 1.5},
         {"continue_on_error": "env", "timeout_s": "env"}),
        ({"continue_on_error": False}, {}, {"continue_on_error": False, "max_jobs": None},
         {"continue_on_error": "cli", "max_jobs": "default"}),
    ],
)  # fmt: skip
def test_settings_precedence(
    cli_values: dict[str, Any],
    env: dict[str, str],
    expected: dict[str, Any],
    sources: dict[str, str],
) -> None:
    settings = resolve_settings(cli_values, CONFIG, env)
    for name, value in expected.items():
        assert getattr(settings, name) == value
    for name, source in sources.items():
        assert settings.sources[name] == source
    rows = {row["name"]: row for row in settings.source_list()}
    assert rows["workers"]["value"] == settings.workers


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("SWEEPLEDGER_WORKERS", "0"),
        ("SWEEPLEDGER_WORKERS", "many"),
        ("SWEEPLEDGER_EXECUTOR", "gpu"),
        ("SWEEPLEDGER_TIMEOUT_S", "nan"),
        ("SWEEPLEDGER_CONTINUE_ON_ERROR", "maybe"),
    ],
)
def test_bad_environment_setting_names_the_variable(var: str, value: str) -> None:
    with pytest.raises(SettingInvalid, match=var):
        resolve_settings({}, CONFIG, {var: value})
    assert issubclass(SettingInvalid, ManifestInvalid)


def test_batch_started_records_settings_and_sources(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    no_runner_env: None,
) -> None:
    monkeypatch.setenv("SWEEPLEDGER_SEED", "11")
    body = manifest_of([{"name": "a", "params": {"x": 1}}], config={"workers": 2, "timeout_s": 30})
    path = write_manifest(tmp_path, body)
    root = tmp_path / "root"
    code, out, _ = cli(
        ["--root", str(root), "run", str(path), "--workers", "1", "--batch-id", "b1"], capsys
    )
    assert code == 0, out
    (started,) = [e for e in events(root) if e.type == "batch.started"]
    data = started.data
    assert data["settings"]["workers"] == 1 and data["workers"] == 1
    assert data["settings"]["seed"] == 11 and data["settings"]["timeout_s"] == 30
    sources = {row["name"]: row["source"] for row in data["sources"]}
    assert sources == {
        "workers": "cli",
        "executor": "default",
        "timeout_s": "manifest",
        "seed": "env",
        "max_jobs": "default",
        "continue_on_error": "default",
        "ray_address": "default",
    }
    assert data["manifest"]["jobs"][0]["name"] == "a"
    assert len(data["manifest_sha256"]) == 64 and data["pid"] > 0 and data["host"]
    assert data["process_start"] and data["argv"]
