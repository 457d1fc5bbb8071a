"""The Ray executor on a real local Ray instance: same events and results as ``process``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import ray
from runner_fixtures import (
    by_name,
    cli,
    events,
    manifest_of,
    no_runner_env,
    outcome_set,
    write_manifest,
)

__all__ = ["no_runner_env"]

JOBS = [
    {"name": "err", "params": {"do": "error", "x": 2}},
    {"name": "nan", "params": {"do": "nan"}},
    {"name": "empty", "params": {"do": "empty"}},
    {"name": "bare", "params": {"do": "bare"}},
    {"name": "emit", "params": {"do": "emit", "x": 3}},
    {"name": "exit", "params": {"do": "exit"}},
]
MATRIX = {"base_params": {"do": "ok"}, "axes": {"x": list(range(8))}}


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One small local Ray instance for the whole module."""
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_ray_and_process_give_identical_outcomes(
    local_ray: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    path = write_manifest(
        tmp_path / "m", manifest_of(JOBS, matrix=MATRIX, setup="runner_jobs:setup")
    )
    root = tmp_path / "root"
    for executor in ("process", "ray"):
        code, _, err = cli(
            ["--root", str(root), "run", str(path), "--workers", "2", "--executor", executor,
             "--batch-id", executor],
            capsys,
        )  # fmt: skip
        assert code == 1, err
    assert outcome_set(root, "ray") == outcome_set(root, "process")
    assert len(outcome_set(root, "ray")) == 14
    assert by_name(root, "ray")["exit"]["status"] == "crashed"
    kinds = [e.type for e in events(root, "ray")]
    assert kinds.count("candidate.proposed") == 1
    started = next(e for e in events(root, "ray") if e.type == "batch.started")
    assert started.data["executor"] == "ray"
    assert ray.is_initialized()  # a Ray the caller started is left running


def test_ray_timeout_kills_the_actor(
    local_ray: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    jobs = [{"name": "hang", "params": {"do": "hang"}}, {"name": "ok", "params": {"x": 1}}]
    path = write_manifest(tmp_path / "m", manifest_of(jobs))
    root = tmp_path / "root"
    args = ["--executor", "ray", "--workers", "1", "--timeout-s", "0.5", "--batch-id", "t"]
    code, _, _ = cli(["--root", str(root), "run", str(path), *args], capsys)
    assert code == 1
    got = {name: data["status"] for name, data in by_name(root, "t").items()}
    assert got == {"hang": "timeout", "ok": "ok"}
