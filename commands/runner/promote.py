"""``promote``: decide each budget tier's winner among a study's trials and record it.

Per tier, a trial is eligible when it is valid (``ok``, evidence verified), its
``kill_prob_ci_upper``, ``drawdown_cvar`` and ``mean_pnl`` meet the tier
(``schemas.Tier.admits``, bounds inclusive) and ``result.suites_passed`` says both
``research`` and ``adversarial`` passed. The winner is the first by ``mean_pnl`` desc,
``drawdown_cvar`` asc, ``kill_prob_ci_upper`` asc, ``candidate_id`` asc (then outcome seq).

Each decision is a ``promotion.decided`` event (batch = the study, ``cause`` = the outcome it
rests on), appended together in one commit. A decision equal to the tier's latest one for the
study is not appended again, so ``promote`` with the same inputs appends nothing. A tier with
no eligible trial gets no decision (an earlier decision for it stands).
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from commands.runner.templating import render_value
from ledger import Ledger
from projections import rebuild, study_trials
from projections.promotion import env_file_text
from schemas import DEFAULT_BUDGETS, Budgets, NewEvent, PromotionDecided, Tier

REQUIRED_SUITES = ("research", "adversarial")
RANKED = ("mean_pnl", "drawdown_cvar", "kill_prob_ci_upper")
ENV_PREFIX = "SWEEPLEDGER_"
RISK_PROFILE_VAR = f"{ENV_PREFIX}RISK_PROFILE"
DECISION_TYPE = "promotion.decided"


@dataclass(frozen=True)
class TierResult:
    """One tier's outcome: its decision (None: no eligible trial), whether it was appended
    now, and the seq of the decision event that stands for it (None when there is none)."""

    tier: str
    eligible: int
    decision: PromotionDecided | None
    appended: bool
    seq: int | None


@dataclass(frozen=True)
class PromoteSummary:
    """What ``promote`` decided for each tier, in the budgets' order."""

    study: str
    trials: int
    tiers: list[TierResult]

    @property
    def unpromoted(self) -> list[str]:
        """The tiers with no eligible trial."""
        return [t.tier for t in self.tiers if t.decision is None]


def is_eligible(trial: dict[str, Any], tier: Tier) -> bool:
    """Whether a trial (a ``study_trials`` row) passes ``tier`` and the suite gates."""
    if not trial["valid"]:
        return False
    metrics = trial["metrics"] or {}
    values = [metrics.get(name) for name in RANKED]
    if any(v is None for v in values):
        return False
    mean_pnl, drawdown_cvar, kill = (float(v) for v in values if v is not None)
    if not tier.admits(mean_pnl=mean_pnl, drawdown_cvar=drawdown_cvar, kill_prob_ci_upper=kill):
        return False
    suites = (trial["result"] or {}).get("suites_passed")
    return isinstance(suites, dict) and all(suites.get(s) is True for s in REQUIRED_SUITES)


def winner(trials: list[dict[str, Any]], tier: Tier) -> tuple[dict[str, Any] | None, int]:
    """The tier's winner among ``trials`` (None when none is eligible) and the eligible count."""
    eligible = [t for t in trials if is_eligible(t, tier)]
    if not eligible:
        return None, 0

    def rank(t: dict[str, Any]) -> tuple[Any, ...]:
        m = t["metrics"]
        return (
            -m["mean_pnl"],
            m["drawdown_cvar"],
            m["kill_prob_ci_upper"],
            t["candidate_id"],
            t["seq"],
        )

    return min(eligible, key=rank), len(eligible)


def _event_at(ledger: Ledger, seq: int | None) -> Any:
    if seq is None:
        return None
    return next(iter(ledger.read(since=seq - 1)), None)


def _env_overlay(
    tier: str, params: dict[str, Any], intent_env: dict[str, str] | None
) -> dict[str, str]:
    """The preset's variables: the risk profile, then the command's resolved env overlay, or
    (for a callable) one ``SWEEPLEDGER_<PARAM>`` per param."""
    overlay = {RISK_PROFILE_VAR: tier}
    if intent_env:
        overlay.update(intent_env)
    else:
        overlay.update({f"{ENV_PREFIX}{k.upper()}": render_value(v) for k, v in params.items()})
    return overlay


def decide(
    study: str,
    tier_name: str,
    tier: Tier,
    trial: dict[str, Any],
    intent: Any,
    git_commit: str | None,
) -> PromotionDecided:
    """The ``promotion.decided`` payload promoting ``trial`` for a tier."""
    params = dict(trial["params"] or {})
    result = trial["result"] if isinstance(trial["result"], dict) else {}
    intent_data = intent.data if intent is not None else {}
    overlay = _env_overlay(tier_name, params, intent_data.get("env"))
    metrics = dict(trial["metrics"] or {})
    if intent_data.get("command"):
        commands = [shlex.join(intent_data["command"])]
    else:
        commands = [str(result["command"])] if result.get("command") else []
    seeds = [int(trial["seed"])] if trial["seed"] is not None else []
    suites = result.get("suites")
    if isinstance(suites, dict):
        seeds += [
            int(s["seed"])
            for _, s in sorted(suites.items())
            if isinstance(s, dict) and isinstance(s.get("seed"), int)
        ]
    text = env_file_text(study, tier_name, trial["candidate_id"], metrics, overlay)
    return PromotionDecided(
        study=study,
        tier=tier_name,
        candidate_id=trial["candidate_id"],
        trial_id=trial["trial_id"],
        candidate_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        metrics=metrics,
        non_finite=sorted(k for k, v in metrics.items() if v is None),
        config=params,
        env_overlay=overlay,
        seeds=seeds,
        commands_run=commands,
        evidence_verified=bool(trial["evidence_verified"]),
        suites_passed={k: bool(v) for k, v in sorted((result.get("suites_passed") or {}).items())},
        git_commit=git_commit,
        job_id=trial["job_id"],
        outcome_seq=int(trial["seq"]),
        outcome_hash=trial["hash"],
        limits=tier.model_dump(),
    )


def promote(root: Path, study: str, budgets: Budgets = DEFAULT_BUDGETS) -> PromoteSummary:
    """Decide every tier of ``budgets`` for ``study``; append the new decisions; bring the
    ``pareto`` and ``promotion`` projections up to date.

    Raises:
        LedgerNotFound: no ledger at ``root``.
        StudyNotFound: the study has no trial outcomes.
    """
    trials = study_trials(root, study)
    ledger = Ledger.open(root)
    started = next(iter(ledger.read(types=["batch.started"], batch=study)), None)
    git_commit = started.data.get("code", {}).get("git_commit") if started is not None else None
    standing: dict[str, tuple[int, dict[str, Any]]] = {}
    for event in ledger.read(types=[DECISION_TYPE], batch=study):
        standing[event.data["tier"]] = (event.seq, event.data)
    planned: list[tuple[str, int, PromotionDecided | None, bool]] = []
    for name, tier in budgets.tiers.items():
        best, count = winner(trials, tier)
        if best is None:
            planned.append((name, 0, None, False))
            continue
        decision = decide(
            study, name, tier, best, _event_at(ledger, best["intent_seq"]), git_commit
        )
        same = name in standing and standing[name][1] == decision.model_dump(mode="json")
        planned.append((name, count, decision, not same))
    new = [
        NewEvent(
            type=DECISION_TYPE,
            data=d,
            batch=study,
            key=f"promotion/{study}/{n}",
            cause=d.outcome_seq,
        )
        for n, _, d, fresh in planned
        if d is not None and fresh
    ]
    receipts = iter(ledger.append(new)) if new else iter(())
    results = []
    for name, count, chosen, fresh in planned:
        if chosen is not None and fresh:
            seq: int | None = next(receipts).seq
        else:
            seq = standing[name][0] if name in standing else None
        results.append(TierResult(name, count, chosen, chosen is not None and fresh, seq))
    rebuild(root)
    return PromoteSummary(study=study, trials=len(trials), tiers=results)
