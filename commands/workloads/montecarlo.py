"""The Monte Carlo trial: the baseline market and two suites, written as one evidence pack.

A trial simulates the ``baseline`` market (``commands.workloads.market``) with the trial's seed,
and the ``research`` suite (the baseline market again, out of sample) and the ``adversarial``
suite (volatility shock, price gaps, thin liquidity) each with a seed derived from it. It
writes one evidence pack: ``mc_summary.json`` (the metrics), ``suites.json``,
``run_config.json``, per-run Parquet tables, ``manifest.json`` and ``SHA256SUMS``. Same params
and seed give the same pack bytes and metrics, in any process.

A suite passes when its kill probability (point estimate) and drawdown CVaR stay within the
suite's ``SuiteRule`` and, where the rule sets one, its mean PnL reaches the floor.

Entry points: ``trial(params, ctx)`` for the runner (``ctx.work_dir/mc``, every file stored with
``ctx.artifact``), and ``main(argv)`` for the same trial as an external command::

    python -m commands.workloads.montecarlo --out DIR --seed 47 --runs 20 --ticks 100 \\
        --param hedge_band_base=0.3 --param mm_size_eta=1.2

which writes the pack into DIR (empty or new), prints the metrics as JSON and exits 0 (1 when
the pack fails verification, 2 on bad usage).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from commands.workloads.evidence_pack import seal_pack, write_json, write_parquet
from commands.workloads.market import (
    BASELINE,
    DEFAULT_RUNS,
    DEFAULT_TICKS,
    MODEL_CONSTANTS,
    PARAM_DEFAULTS,
    PARAM_SPACE,
    RUNS_PARAM,
    SCENARIOS,
    TICKS_PARAM,
    Scenario,
    SimResult,
    resolve_params,
    simulate,
)
from ledger import verify_evidence

__all__ = [
    "PARAM_DEFAULTS",
    "PARAM_SPACE",
    "SCENARIOS",
    "SUITE_RULES",
    "Scenario",
    "SimResult",
    "SuiteRule",
    "TrialOutcome",
    "main",
    "run_trial",
    "simulate",
    "suite_seed",
    "trial",
]

DEFAULT_SEED = 42
EVIDENCE_DIR = "mc"
SUMMARY_FILE = "mc_summary.json"
CONFIG_FILE = "run_config.json"
SUITES_FILE = "suites.json"
PACK_FORMAT = "sweepledger.montecarlo/1"
MODULE = "commands.workloads.montecarlo"  # the ``python -m`` name of this workload


@dataclass(frozen=True)
class SuiteRule:
    """What a suite must show to pass."""

    max_kill_prob: float
    max_drawdown_cvar: float
    min_mean_pnl: float | None = None


SUITE_RULES: dict[str, SuiteRule] = {
    "research": SuiteRule(max_kill_prob=0.10, max_drawdown_cvar=1000.0, min_mean_pnl=0.0),
    "adversarial": SuiteRule(max_kill_prob=0.25, max_drawdown_cvar=2000.0),
}


def suite_seed(seed: int, suite: str) -> int:
    """A suite's seed, derived from the trial seed and the suite name (stable everywhere)."""
    digest = hashlib.sha256(f"{seed}:{suite}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass(frozen=True)
class TrialOutcome:
    """What one trial produced: metrics, suite results, and the pack's files."""

    metrics: dict[str, float]
    suites: dict[str, dict[str, Any]]
    files: list[str]

    @property
    def suites_passed(self) -> dict[str, bool]:
        """Each suite's pass flag."""
        return {name: bool(suite["passed"]) for name, suite in self.suites.items()}


def suite_passed(metrics: Mapping[str, float], rule: SuiteRule) -> bool:
    """Whether a suite's metrics meet its rule."""
    ok = (
        metrics["kill_prob_point"] <= rule.max_kill_prob
        and metrics["drawdown_cvar"] <= rule.max_drawdown_cvar
    )
    return ok and (rule.min_mean_pnl is None or metrics["mean_pnl"] >= rule.min_mean_pnl)


def run_trial(directory: Path, params: Mapping[str, Any], seed: int) -> TrialOutcome:
    """Simulate the baseline and both suites and write the evidence pack into ``directory``.

    ``directory`` must be empty or absent. Raises ValueError on bad parameters.
    """
    model, runs, ticks = resolve_params(params)
    directory.mkdir(parents=True, exist_ok=True)
    baseline = simulate(model, seed, runs, ticks, BASELINE)
    metrics = baseline.metrics()
    data = [write_parquet(directory, "runs.parquet", baseline.table())]
    suites: dict[str, dict[str, Any]] = {}
    for name, rule in SUITE_RULES.items():
        seed_for_suite = suite_seed(seed, name)
        result = simulate(model, seed_for_suite, runs, ticks, name)
        suite_metrics = result.metrics()
        passed = suite_passed(suite_metrics, rule)
        suites[name] = {"seed": seed_for_suite, "passed": passed, "metrics": suite_metrics}
        data.append(write_parquet(directory, f"suite_{name}.parquet", result.table()))
    data.append(write_json(directory, SUMMARY_FILE, metrics))
    data.append(write_json(directory, SUITES_FILE, suites))
    data.append(write_json(directory, CONFIG_FILE, _run_config(model, seed, runs, ticks)))
    about = {"format": PACK_FORMAT, "seed": seed, "runs": runs, "ticks": ticks}
    return TrialOutcome(metrics, suites, seal_pack(directory, data, about))


def _run_config(model: dict[str, float], seed: int, runs: int, ticks: int) -> dict[str, Any]:
    return {
        "params": model,
        "seed": seed,
        "runs": runs,
        "ticks": ticks,
        "scenario": asdict(SCENARIOS[BASELINE]),
        "suites": {
            name: {
                "seed": suite_seed(seed, name),
                "scenario": asdict(SCENARIOS[name]),
                "rule": asdict(rule),
            }
            for name, rule in SUITE_RULES.items()
        },
        "model": MODEL_CONSTANTS,
    }


def command_line(params: Mapping[str, Any], seed: int, out: str = EVIDENCE_DIR) -> str:
    """The ``python -m`` command that writes the same pack (for reproduction records)."""
    model, runs, ticks = resolve_params(params)
    words = ["python", "-m", MODULE]
    words += ["--out", out, "--seed", str(seed), "--runs", str(runs), "--ticks", str(ticks)]
    for name, value in model.items():
        words += ["--param", f"{name}={value!r}"]
    return " ".join(words)


def trial(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """The runner's callable: one trial in ``ctx.work_dir/mc``, every pack file stored."""
    directory = Path(ctx.work_dir) / EVIDENCE_DIR
    if directory.exists():
        shutil.rmtree(directory)  # a retried job starts from a clean pack
    outcome = run_trial(directory, params, int(ctx.seed))
    report = verify_evidence(directory)
    for name in outcome.files:
        ctx.artifact(directory / name, name=f"{EVIDENCE_DIR}/{name}")
    result: dict[str, Any] = {
        "suites_passed": outcome.suites_passed,
        "evidence_dir": EVIDENCE_DIR,
        "evidence_verified": report.ok,
        "seed": int(ctx.seed),
        "suites": outcome.suites,
        "command": command_line(params, int(ctx.seed)),
    }
    if not report.ok:
        result["evidence_problems"] = report.problems
    return {"metrics": outcome.metrics, "result": result}


def _parse_param(text: str) -> tuple[str, float]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name}: {raw!r} is not a number") from None
    return name.strip(), value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description="Run one Monte Carlo trial and write its evidence pack into --out.",
        epilog=f"example: python -m {MODULE} --out mc --seed 47 "
        "--runs 50 --ticks 600 --param hedge_band_base=0.3 --param mm_size_eta=1.2",
    )
    parser.add_argument("--out", required=True, type=Path, help="pack directory (empty or new)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--ticks", type=int, default=DEFAULT_TICKS)
    parser.add_argument(
        "--param",
        type=_parse_param,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"a model parameter, repeatable: {', '.join(PARAM_DEFAULTS)}",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Write one trial's pack into ``--out``; print ``mc_summary.json``; 0 ok, 1, or 2."""
    args = _parser().parse_args(argv)
    params: dict[str, Any] = dict(args.param)
    if params.keys() & {RUNS_PARAM, TICKS_PARAM}:
        print("error: give runs and ticks as --runs and --ticks", file=sys.stderr)
        return 2
    params.update({RUNS_PARAM: args.runs, TICKS_PARAM: args.ticks})
    out: Path = args.out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        print(f"error: {out} exists and is not an empty directory", file=sys.stderr)
        return 2
    try:
        outcome = run_trial(out, params, args.seed)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    report = verify_evidence(out)
    print(json.dumps(outcome.metrics, sort_keys=True))
    for problem in report.problems:
        print(f"evidence: {problem}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
