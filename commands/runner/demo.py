"""The main job end to end on the built-in examples, in one fresh root: a hypothesis scan per
user (leaderboard), a Monte Carlo promotion study (Pareto front, promotion, reproduction), a
tournament grid judged by a strict and then a lenient scoreboard, a
screener with full and focused replays (the replays' trades compared), then ``verify``,
``gaps`` and a full ``rebuild`` -- every output a projection of the one ledger.

Each step is a library call, as the CLI would make it; the example manifests and gates are the
files under ``examples/`` of the checkout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from commands.runner.batch import RunRequest, run_batch
from commands.runner.errors import ExamplesMissing
from commands.runner.reproduce import reproduce
from commands.runner.study import StudyRequest, run_study
from ledger import Ledger
from projections import (
    list_gaps,
    parity_report,
    rebuild,
    scoreboard_report,
    write_batch_html,
    write_study_html,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEMO_WORKERS = 2
DEMO_STUDY = "mc-study"
DEMO_TRIALS = 8
DEMO_MC_RUNS = 100
DEMO_MC_TICKS = 200
QUERIES = (
    "SELECT batch, kind, status, count(*) AS outcomes FROM outcomes GROUP BY ALL ORDER BY ALL",
    "SELECT name, metrics['sharpe'] AS sharpe FROM outcomes "
    "WHERE batch = 'tournament' AND status = 'ok' ORDER BY sharpe DESC NULLS LAST, name LIMIT 5",
    "SELECT type, count(*) AS events FROM events GROUP BY ALL ORDER BY events DESC, type",
)


@dataclass
class DemoStep:
    """One step of the demo: what ran and which outputs it left under the root."""

    name: str
    detail: str
    outputs: list[str] = field(default_factory=list)


@dataclass
class DemoResult:
    """The whole demo: its steps, the verification, the gap audit and the head."""

    root: Path
    steps: list[DemoStep]
    verified: bool
    events: int
    gaps: int
    head: str
    queries: tuple[str, ...] = QUERIES


def _run(root: Path, manifest: str, batch: str, progress: bool | None) -> str:
    """Run one example manifest as batch ``batch``; returns a one-line summary."""
    summary = run_batch(
        RunRequest(
            manifest=EXAMPLES / manifest,
            root=root,
            batch_id=batch,
            cli_settings={"workers": DEMO_WORKERS},
            argv=("sweepledger", "demo"),
            progress=progress,
        )
    )
    counts = ", ".join(f"{n} {status}" for status, n in sorted(summary.statuses.items()))
    return f"{summary.ran} jobs ({counts})"


def _relative(root: Path, paths: list[Path]) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in paths)


def scan_step(root: Path, progress: bool | None) -> DemoStep:
    """A hypothesis scan per user, then the segment leaderboard."""
    detail = _run(root, "scan.yaml", "scan", progress)
    folder = root / "batches" / "scan"
    rebuild(root, ["leaderboard"])
    outputs = _relative(root, sorted(folder.glob("*leaderboard*")))
    return DemoStep("hypothesis scan per user -> leaderboard", detail, outputs)


def tournament_step(root: Path, progress: bool | None) -> DemoStep:
    """The tournament grid, a strict scoreboard (failing on missing metrics), a lenient one."""
    detail = _run(root, "tournament.yaml", "tournament", progress)
    gates = EXAMPLES / "gates.yaml"
    board, _written, _digest = scoreboard_report(root, "tournament", gates, False)
    missing = board.failed_for_missing()
    strict = "strict scoreboard passes"
    if missing:
        lacking = ", ".join(f"{metric} ({n} cells)" for metric, n in missing.items())
        strict = f"strict scoreboard fails (exit 1): cells lack {lacking}"
    board, written, _digest = scoreboard_report(root, "tournament", gates, True)
    lenient = (
        f"--allow-missing: {len(board.candidate_names)} candidates of {board.cell_count} cells"
    )
    return DemoStep(
        "tournament grid -> scoreboard", f"{detail}; {strict}; {lenient}", _relative(root, written)
    )


def replay_step(root: Path, progress: bool | None) -> DemoStep:
    """The screener, then full and focused replays over the same candidates, their trades
    compared job by job (``parity``)."""
    screened = _run(root, "screen.yaml", "screen", progress)
    full = _run(root, "replay_full.yaml", "replay-full", progress)
    focused = _run(root, "replay_focused.yaml", "replay-focused", progress)
    report, written = parity_report(
        root, "replay-full", "replay-focused", tol=0.01, exact=("timestamp", "side")
    )
    result, a, b = report.result, report.a, report.b
    verdict = "identical trades" if result.identical else f"{result.total_mismatches} mismatches"
    speedup = ""
    if a.bars_processed and b.bars_processed:
        speedup = f", {a.bars_processed / b.bars_processed:.1f}x fewer bars walked"
    detail = (
        f"screen {screened}; full replay {full}; focused replay {focused}; "
        f"parity: {verdict}{speedup}"
    )
    return DemoStep("screener + full/focused replay -> parity", detail, _relative(root, written))


def study_step(root: Path, progress: bool | None) -> DemoStep:
    """A Monte Carlo promotion study (two generations), then a reproduction of a winner."""
    summary = run_study(
        StudyRequest(
            root=root,
            study_id=DEMO_STUDY,
            trials=DEMO_TRIALS,
            generations=2,
            mc_runs=DEMO_MC_RUNS,
            mc_ticks=DEMO_MC_TICKS,
            cli_settings={"workers": DEMO_WORKERS},
            argv=("sweepledger", "demo"),
        )
    )
    tiers = summary.promotion.tiers if summary.promotion is not None else []
    promoted = [t for t in tiers if t.decision is not None]
    detail = (
        f"{sum(summary.proposed)} candidates in {len(summary.proposed)} generations, "
        f"{summary.frontier} on the Pareto front; promoted: "
        + (
            ", ".join(f"{t.tier} -> {t.decision.candidate_id}" for t in promoted if t.decision)
            or "no tier"
        )
    )
    if promoted:
        again = reproduce(root, DEMO_STUDY, promoted[0].tier, ("sweepledger", "demo"))
        verdict = "identical" if again.identical else "differs: " + ", ".join(again.differences)
        detail += f"; reproduce {promoted[0].tier}: {verdict}"
    outputs = [
        *sorted((root / "studies" / DEMO_STUDY).glob("*")),
        *sorted((root / "promoted").rglob("*.*")),
    ]
    return DemoStep(
        "Monte Carlo study -> Pareto front, promotion, reproduction",
        detail,
        _relative(root, [p for p in outputs if p.is_file()]),
    )


STEPS: tuple[Callable[[Path, bool | None], DemoStep], ...] = (
    scan_step,
    study_step,
    tournament_step,
    replay_step,
)


def run_demo(root: Path, progress: bool | None = None) -> DemoResult:
    """Run every demo step in ``root`` (a fresh ledger), then verify, audit gaps and rebuild.

    Raises:
        ExamplesMissing: the examples folder is not next to the package.
    """
    if not (EXAMPLES / "tournament.yaml").is_file():
        raise ExamplesMissing(f"the demo runs the examples in {EXAMPLES}: not found")
    ledger = Ledger.open(root, create=True)
    steps = [step(root, progress) for step in STEPS]
    rebuilt = rebuild(root)
    steps.append(
        DemoStep(
            "rebuild every projection",
            f"{len(rebuilt.written)} files written to seq {rebuilt.cursor.seq}",
            [],
        )
    )
    pages = [write_study_html(root, DEMO_STUDY), write_batch_html(root, "tournament")]
    steps.append(
        DemoStep(
            "HTML pages (inline SVG charts, no network)",
            f"{len(pages)} pages",
            _relative(root, pages),
        )
    )
    report = ledger.verify()
    found = list_gaps(root)
    return DemoResult(root, steps, report.ok, report.events_checked, len(found), str(ledger.head()))
