"""The ``promotion`` projection (seed 002): promotion records and preset files per tier.

Every ``promotion.decided`` event (``sweepledger promote``) is a row of ``promotions``. Files
under ``promoted/<tier>/``:

- ``<study>_<tier>.env``: the preset of each study's latest decision for the tier
  (``env_file_text``; its SHA-256 is the decision's ``candidate_hash``);
- ``PROMOTION_RECORD.json``: the tier's latest decision, whatever its study: seed 002's
  fields (``schema_version``, ``promoted_at`` = the decision event's ``ts``, ``study``, ``tier``,
  ``git_commit``, ``candidate_id``, ``candidate_hash``, ``trial_id``, ``config``,
  ``env_overlay``, ``commands_run``, ``seeds``, ``evidence_verified``, ``metrics``,
  ``suites_passed``) plus ``decision_seq``/``decision_hash`` (the event itself),
  ``outcome_seq``/``outcome_hash`` (the trial outcome it rests on), ``job_id`` and ``limits``.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from projections.writers import json_text, safe_dir_name, write_atomic

if TYPE_CHECKING:
    import duckdb

NAME = "promotion"
PROMOTED_DIR = "promoted"
RECORD_FILE = "PROMOTION_RECORD.json"
RECORD_SCHEMA_VERSION = 1
RECORD_FIELDS = (
    "study",
    "tier",
    "git_commit",
    "candidate_id",
    "candidate_hash",
    "trial_id",
    "config",
    "env_overlay",
    "commands_run",
    "seeds",
    "evidence_verified",
    "metrics",
    "suites_passed",
)

DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS promotions (
        batch VARCHAR, study VARCHAR, tier VARCHAR, seq BIGINT, hash VARCHAR, ts VARCHAR,
        data JSON)""",
)
TABLES: tuple[str, ...] = ("promotions",)

REFRESH = """
DELETE FROM promotions WHERE batch IN (SELECT batch FROM _scope);
INSERT INTO promotions
SELECT batch, data->>'study', data->>'tier', seq, hash, ts, data FROM events
WHERE type = 'promotion.decided' AND batch IN (SELECT batch FROM _scope)
"""


def _metric(metrics: Mapping[str, Any], name: str) -> str:
    value = metrics.get(name)
    return "null" if value is None else f"{float(value):.4f}"


def env_file_text(
    study: str,
    tier: str,
    candidate_id: str,
    metrics: Mapping[str, Any],
    env_overlay: Mapping[str, str],
) -> str:
    """A tier's preset: seed 002's comment header, then ``export NAME=value`` per overlay
    variable by name (the ledger stores mappings with sorted keys; values shell-quoted)."""
    lines = [
        f"# Promoted configuration for {tier} tier",
        f"# Study: {study}",
        f"# Candidate: {candidate_id}",
        f"# Metrics: pnl={_metric(metrics, 'mean_pnl')}, "
        f"kill_ci={_metric(metrics, 'kill_prob_ci_upper')}",
        "",
        *(f"export {name}={shlex.quote(env_overlay[name])}" for name in sorted(env_overlay)),
    ]
    return "\n".join(lines) + "\n"


def env_file_name(study: str, tier: str) -> str:
    """The preset's file name: ``<study>_<tier>.env``."""
    return safe_dir_name(f"{study}_{tier}") + ".env"


def record_of(data: Mapping[str, Any], seq: int, event_hash: str, ts: str) -> dict[str, Any]:
    """The ``PROMOTION_RECORD.json`` object of a decision (its payload and envelope)."""
    record: dict[str, Any] = {"schema_version": RECORD_SCHEMA_VERSION, "promoted_at": ts}
    record.update({name: data.get(name) for name in RECORD_FIELDS})
    record.update(
        {
            "decision_seq": seq,
            "decision_hash": event_hash,
            "outcome_seq": data.get("outcome_seq"),
            "outcome_hash": data.get("outcome_hash"),
            "job_id": data.get("job_id"),
            "limits": data.get("limits", {}),
        }
    )
    return record


def update(con: duckdb.DuckDBPyConnection, root: Path, batches: list[str] | None) -> list[Path]:
    """Recompute ``promotions`` for ``batches`` (None: all); rewrite the files of every tier
    a new decision touched."""
    from projections.scope import set_scope

    set_scope(con, batches)
    con.execute(REFRESH)
    touched = con.execute(
        "SELECT DISTINCT tier FROM promotions WHERE batch IN (SELECT batch FROM _scope)"
    ).fetchall()
    tiers = sorted(str(t[0]) for t in touched)
    if not tiers:
        return []
    rows = con.execute(
        """SELECT study, tier, seq, hash, ts, CAST(data AS VARCHAR) FROM (
               SELECT *, row_number() OVER (PARTITION BY study, tier ORDER BY seq DESC) AS rk
               FROM promotions WHERE tier IN (SELECT unnest($tiers::VARCHAR[])))
           WHERE rk = 1 ORDER BY tier, seq""",
        {"tiers": tiers},
    ).fetchall()
    written: list[Path] = []
    latest: dict[str, dict[str, Any]] = {}
    for study, tier, seq, event_hash, ts, text in rows:
        data = json.loads(text)
        folder = root / PROMOTED_DIR / safe_dir_name(str(tier))
        env = env_file_text(
            str(study), str(tier), data["candidate_id"], data["metrics"], data["env_overlay"]
        )
        written.append(write_atomic(folder / env_file_name(str(study), str(tier)), env))
        latest[str(tier)] = record_of(data, int(seq), str(event_hash), str(ts))  # seq order
    for tier, record in latest.items():
        folder = root / PROMOTED_DIR / safe_dir_name(tier)
        written.append(write_atomic(folder / RECORD_FILE, json_text(record, depth=2)))
    return written
