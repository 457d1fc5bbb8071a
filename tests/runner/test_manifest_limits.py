"""Manifests cannot make the runner spin: YAML aliases are bounded and duplicate keys refused
(users' own manifests still load), and the matrix is expanded lazily, ``--max-jobs`` first,
with more than ``MAX_JOBS`` jobs refused unless ``--allow-large``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from commands.runner import manifest as manifest_module
from commands.runner.manifest import MAX_JOBS, ManifestLoader, load_manifest, parse_manifest
from schemas import ManifestInvalid

REPO = Path(__file__).resolve().parents[2]
SEED_MANIFEST = REPO / "tests" / "data" / "seed_003_experiments.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "work_mod.py").write_text("def f(params, ctx):\n    return None\n")
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return path


def test_the_users_seed_manifest_parses_as_before() -> None:
    text = SEED_MANIFEST.read_text()
    assert yaml.load(text, Loader=ManifestLoader) == yaml.safe_load(text)


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("*.yaml")))
def test_example_yaml_files_parse_as_before(path: Path) -> None:
    text = path.read_text()
    assert yaml.load(text, Loader=ManifestLoader) == yaml.safe_load(text)


def test_merge_keys_may_still_be_overridden() -> None:
    text = "base: &b {x: 1, y: 2}\njob:\n  <<: *b\n  y: 3\n"
    assert yaml.load(text, Loader=ManifestLoader)["job"] == {"x": 1, "y": 3}


@pytest.mark.parametrize(
    "text",
    ["a: 1\na: 2\n", "top:\n  k: 1\n  k: 1\n", "l: [{n: 1, n: 2}]\n", "{1: a, 1: b}\n"],
)
def test_duplicate_keys_are_refused(text: str) -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="given twice"):
        yaml.load(text, Loader=ManifestLoader)


def test_alias_expansion_is_counted_not_performed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Just under the limit loads; one node more is refused, before anything is built."""
    monkeypatch.setattr(manifest_module, "MAX_YAML_NODES", 1000)
    # a: 11 nodes, b: 1 + 9 * 11 = 100: fine; ten more uses of b add 1,000 nodes.
    text = "a: &a [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    assert yaml.load(text, Loader=ManifestLoader)["b"][8] == [0] * 10
    many = text + "c: [" + ", ".join(["*b"] * 10) + "]\n"
    with pytest.raises(ManifestInvalid, match="expand past 1,000 nodes"):
        yaml.load(many, Loader=ManifestLoader)


def test_million_combinations_with_max_jobs_builds_only_those(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    axes = {f"a{i}": list(range(10)) for i in range(6)}  # 10^6 combinations
    path = _write(
        tmp_path, "name: big\ncallable: work_mod:f\nmatrix:\n  axes: " + json.dumps(axes) + "\n"
    )
    built: list[Any] = []
    real = manifest_module.matrix_name

    def counting(combo: dict[str, Any]) -> str:
        built.append(combo)
        return real(combo)

    monkeypatch.setattr(manifest_module, "matrix_name", counting)
    loaded = load_manifest(path, max_jobs=10)
    assert len(loaded.jobs) == 10 and len(built) == 10
    assert loaded.jobs[-1].params == {f"a{i}": 0 for i in range(5)} | {"a5": 9}


def test_more_than_the_job_limit_needs_allow_large(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    axes = {"a": list(range(1001)), "b": list(range(1000))}  # 1,001,000 jobs
    path = _write(
        tmp_path, "name: big\ncallable: work_mod:f\nmatrix:\n  axes: " + json.dumps(axes) + "\n"
    )
    with pytest.raises(ManifestInvalid, match=r"1,001,000 jobs are more than 1,000,000"):
        load_manifest(path)
    assert MAX_JOBS == 1_000_000
    monkeypatch.setattr(manifest_module, "MAX_JOBS", 50)
    sixty = str(list(range(60)))
    small = _write(tmp_path, "name: s\ncallable: work_mod:f\nmatrix: {axes: {a: " + sixty + "}}\n")
    with pytest.raises(ManifestInvalid, match="60 jobs are more than 50"):
        load_manifest(small)
    assert len(load_manifest(small, allow_large=True).jobs) == 60


def test_run_cli_refuses_too_many_jobs_with_the_count(tmp_path: Path, capsys: Any) -> None:
    from projection_fixtures import run_main

    axes = {"a": list(range(1001)), "b": list(range(1000))}
    path = _write(
        tmp_path, "name: big\ncallable: work_mod:f\nmatrix:\n  axes: " + json.dumps(axes) + "\n"
    )
    code, _, err = run_main(capsys, "--root", str(tmp_path / "root"), "run", str(path))
    assert code == 2 and "1,001,000 jobs" in err and "--allow-large" in err
    assert not (tmp_path / "root" / "ledger.jsonl").exists()


def test_manifest_that_is_not_a_regular_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestInvalid, match="not a regular file"):
        parse_manifest(Path("/dev/zero"))
