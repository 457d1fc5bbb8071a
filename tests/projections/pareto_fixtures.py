"""Studies of awkward trials for the pareto projection's rendering tests: null and non-finite
metrics, control characters and unicode in ids, names and params, ties, retried jobs, trials
with no intent, indexes past four digits, several studies in one ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from projection_fixtures import job_id_of, start_batch

from ledger import Ledger
from schemas import NewEvent

AWKWARD_STUDIES = ("awk", "awk two/ü\x07")
ODD_TEXT = (
    "plain",
    'quo"te\\back',
    "ctl\x00\x01\x08\t\n\x0b\x0c\r\x0e\x1a\x1f end",
    "uni é ☃ 😀 \u2028\u2029 \x7f",
    "literal \\u000B and \\\\u001f",
    "short\b\t\n\f\r escapes only",
    "",
)
ODD_NUMBERS = (0.0, -0.0, 1e16, 1e22, 5e-324, 0.1 + 0.2, 123456789.125, -2.5e-05, 1e-07, 7.0)


def _metrics(i: int) -> dict[str, float | None]:
    """Objectives with ties (few distinct values), nulls, and the Wilson fallback."""
    metrics: dict[str, float | None] = {
        "mean_pnl": [1.0, 2.0, 2.0, None, ODD_NUMBERS[i % len(ODD_NUMBERS)]][i % 5],
        "drawdown_cvar": [3.0, 1.0, 1.0, 2.0][i % 4],
    }
    if i % 3:
        metrics["kill_prob_ci_upper"] = [0.25, 0.5, None][i % 3]
    else:
        metrics["kills"] = float(i % 4)
        metrics["total_runs"] = 20.0 if i % 2 else 3
    if i % 7 == 0:
        metrics["odd"] = float("nan")
    return metrics


def _params(i: int) -> dict[str, Any]:
    text = ODD_TEXT[i % len(ODD_TEXT)]
    params: dict[str, Any] = {
        "i": i,
        "x": ODD_NUMBERS[i % len(ODD_NUMBERS)],
        "label": text,
        text: [None, True, {"nested": text, "n": -(10**18)}],
    }
    if i % 4 == 1:
        params["candidate_id"] = f"cand {text}"
    return params


def _result(i: int) -> Any:
    verified: Any = [True, True, False, "true", None][i % 5]
    note = ODD_TEXT[(i + 2) % len(ODD_TEXT)]
    result: dict[str, Any] = {"evidence_verified": verified, "note": note}
    if i % 6 == 2:
        result["candidate_id"] = f"res {ODD_TEXT[i % len(ODD_TEXT)]}"
    if i % 11 == 10:
        return None
    return result


def record_awkward(root: Path, count: int = 40) -> None:
    """Two studies of ``count`` awkward trials each (plus a retried job, a trial with no
    intent and one whose index has five digits), all outcomes of one append per study."""
    led = Ledger.open(root, create=True)
    for study in AWKWARD_STUDIES:
        start_batch(led, study, count)
        events: list[NewEvent] = []
        seq = led.head().seq + 1
        for i in range(count):
            index = 12345 + i if i == count - 1 else i
            params = _params(i)
            name = f"n{i} {ODD_TEXT[i % len(ODD_TEXT)]}"
            job_id = job_id_of(name, params)
            data = {
                "job_id": job_id,
                "index": index,
                "name": name,
                "callable": "x:y",
                "params": params,
                "seed": i,
            }
            events.append(NewEvent(type="trial.intent", data=data, batch=study))
            out = {
                "job_id": job_id,
                "status": ["ok", "ok", "ok", "error", "ok", "timeout"][i % 6],
                "duration_s": 0.5,
                "metrics": _metrics(i),
                "result": _result(i),
            }
            events.append(NewEvent(type="trial.outcome", data=out, batch=study, cause=seq))
            seq += 2
            if i == 4:  # retried: its later outcome is the trial
                retry = {**out, "metrics": {"mean_pnl": 9.0, "drawdown_cvar": 0.5}}
                events.append(
                    NewEvent(type="trial.outcome", data=retry, batch=study, cause=seq - 2)
                )
                seq += 1
        orphan = {
            "job_id": f"orphan {ODD_TEXT[2]}",
            "status": "ok",
            "duration_s": 0.1,
            "metrics": {"mean_pnl": 2.0, "drawdown_cvar": 1.0, "kill_prob_ci_upper": 0.25},
            "result": {"evidence_verified": True},
        }
        events.append(NewEvent(type="trial.outcome", data=orphan, batch=study))
        led.append(events)


def record_more(root: Path, study: str) -> None:
    """New trials for ``study`` after ``record_awkward``: a retry of job 1 (its row is
    replaced), a trial dominating every earlier one, a tie with it, and a dull one."""
    from projections.engine import connect

    led = Ledger.open(root)
    first = led.head().seq + 1
    best = {"mean_pnl": 1e9, "kill_prob_ci_upper": 0.0, "drawdown_cvar": 0.0}
    retried = job_id_of(f"n1 {ODD_TEXT[1]}", _params(1))
    con = connect(root, read_only=True)
    try:
        [(cause,)] = con.execute(
            "SELECT seq FROM intents WHERE batch = ? AND job_id = ?", [study, retried]
        ).fetchall()
    finally:
        con.close()
    events = [
        NewEvent(
            type="trial.outcome",
            cause=cause,
            data={
                "job_id": retried,
                "status": "ok",
                "duration_s": 0.5,
                "metrics": {"mean_pnl": 5.0, "kill_prob_ci_upper": 0.1, "drawdown_cvar": 0.1},
                "result": {"evidence_verified": True},
            },
            batch=study,
        )
    ]
    seq = first + 1
    for k, metrics in enumerate([best, best, {**best, "mean_pnl": -1.0}]):
        params = {"i": 100 + k}
        job_id = job_id_of(f"more{k}", params)
        data = {
            "job_id": job_id,
            "index": 100 + k,
            "name": f"more{k}",
            "callable": "x:y",
            "params": params,
            "seed": k,
        }
        events.append(NewEvent(type="trial.intent", data=data, batch=study))
        out = {
            "job_id": job_id,
            "status": "ok",
            "duration_s": 0.5,
            "metrics": metrics,
            "result": {"evidence_verified": True},
        }
        events.append(NewEvent(type="trial.outcome", data=out, batch=study, cause=seq))
        seq += 2
    led.append(events)
