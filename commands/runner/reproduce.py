"""``reproduce``: run a promoted trial again from its record and compare what it produced.

The tier's latest ``promotion.decided`` of the study names the outcome it rests on; that
outcome's intent gives the job (its params and job id) and the study's ``batch.started`` the
manifest (callable or command, kind) and the batch seed, so the job gets the same seed. The
job runs alone in a new batch ``<study>-reproduce-<tier>-<n>``. The reproduction is identical
when the outcome's status and metrics are equal (same names, same values, null for null) and
every recorded ``SHA256SUMS`` artifact has the same bytes.

Manifest-relative paths (a command's working directory, a callable's module beside the
manifest) resolve from the current directory: run ``reproduce`` where the study was run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from commands.runner.batch import RunRequest, RunSummary, execute, plan_run
from commands.runner.errors import TierNotPromoted
from commands.runner.manifest import load_parsed, manifest_from_data
from ledger import Ledger
from schemas import Event

SUMS_NAME = "SHA256SUMS"
# Keys of an expanded manifest that are not part of what a job runs.
EXPANDED_ONLY = ("jobs", "jobs_sha256", "users_file", "setup", "callable", "study")


@dataclass
class Reproduction:
    """The comparison of a promoted trial with its re-run."""

    study: str
    tier: str
    trial_id: str
    original_batch: str
    batch: str
    run: RunSummary
    differences: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """Whether status, metrics and evidence sums are the same."""
        return not self.differences


def _event(ledger: Ledger, seq: int) -> Event:
    found = next(iter(ledger.read(since=seq - 1)), None)
    assert found is not None and found.seq == seq, f"no event {seq}"
    return found


def _sums(ledger: Ledger, batch: str, job_id: str) -> dict[str, str]:
    """The ``SHA256SUMS`` artifacts a job recorded in ``batch``: name -> sha256 (last wins)."""
    out: dict[str, str] = {}
    for event in ledger.read(types=["artifact.recorded"], batch=batch):
        name = str(event.data["name"])
        if event.data.get("job_id") == job_id and name.rsplit("/", 1)[-1] == SUMS_NAME:
            out[name] = str(event.data["sha256"])
    return out


def compare(
    old: dict[str, Any], new: dict[str, Any], old_sums: dict[str, str], new_sums: dict[str, str]
) -> list[str]:
    """The differing fields: ``status``, ``metrics.<name>``, ``<artifact name>``."""
    diffs: list[str] = []
    if old.get("status") != new.get("status"):
        diffs.append("status")
    old_m, new_m = old.get("metrics") or {}, new.get("metrics") or {}
    for name in sorted(set(old_m) | set(new_m)):
        if name not in old_m or name not in new_m or old_m[name] != new_m[name]:
            diffs.append(f"metrics.{name}")
    for name in sorted(set(old_sums) | set(new_sums)):
        if old_sums.get(name) != new_sums.get(name):
            diffs.append(name)
    if not old_sums and not new_sums:
        diffs.append(f"{SUMS_NAME} (no evidence pack recorded)")
    return diffs


def _next_batch(ledger: Ledger, stem: str) -> str:
    taken = {e.batch for e in ledger.read(types=["batch.started"]) if e.batch}
    n = 1
    while f"{stem}-{n}" in taken:
        n += 1
    return f"{stem}-{n}"


def reproduce(root: Path, study: str, tier: str, argv: tuple[str, ...] = ()) -> Reproduction:
    """Re-run the trial promoted for ``tier`` in ``study`` and compare it with the original.

    Raises:
        LedgerNotFound: no ledger at ``root``.
        TierNotPromoted: the study has no promotion decision for the tier.
    """
    ledger = Ledger.open(root)
    decision = None
    for event in ledger.read(types=["promotion.decided"], batch=study):
        if event.data.get("tier") == tier:
            decision = event
    if decision is None or decision.data.get("outcome_seq") is None:
        raise TierNotPromoted(f"study {study!r} has no promotion decision for tier {tier!r}")
    outcome = _event(ledger, int(decision.data["outcome_seq"]))
    assert outcome.cause is not None, "a promoted outcome answers an intent"
    intent = _event(ledger, outcome.cause)
    original_batch = str(outcome.batch)
    started = next(iter(ledger.read(types=["batch.started"], batch=original_batch)))
    expanded: dict[str, Any] = dict(started.data["manifest"])
    body = {k: v for k, v in expanded.items() if k not in EXPANDED_ONLY and v is not None}
    if expanded.get("callable"):
        body["callable"] = expanded["callable"]
    body["jobs"] = [{"name": intent.data["name"], "params": intent.data["params"]}]
    path = Path.cwd() / f"<reproduce {study} {tier}>"
    loaded = load_parsed(manifest_from_data(body, path), path)
    assert loaded.jobs[0].job_id == intent.data["job_id"], "the recorded job, unchanged"
    seed = int(started.data.get("settings", {}).get("seed", 0))
    batch = _next_batch(ledger, f"{study}-reproduce-{tier}")
    request = RunRequest(
        manifest=path,
        root=root,
        cli_settings={"seed": seed, "workers": 1},
        batch_id=batch,
        argv=argv,
        loaded=loaded,
    )
    run = execute(plan_run(request))
    job_id = str(intent.data["job_id"])
    new_outcome = next(
        e for e in Ledger.open(root).read(batch=batch) if e.type.endswith(".outcome")
    )
    diffs = compare(
        outcome.data,
        new_outcome.data,
        _sums(ledger, original_batch, job_id),
        _sums(Ledger.open(root), batch, job_id),
    )
    return Reproduction(
        study, tier, str(decision.data["trial_id"]), original_batch, batch, run, diffs
    )
