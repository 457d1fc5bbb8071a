"""The write side as a library: run a manifest's jobs on an executor and record every intent
and outcome in the ledger, resume an interrupted batch, ingest existing scan run roots.

Public API (the CLI is a thin layer over these):

- ``run_batch(RunRequest) -> RunSummary``: plan (or resume) a batch and run it to the end.
- ``plan_run(RunRequest) -> RunPlan`` and ``execute(RunPlan) -> RunSummary``: the same in two
  steps, for callers that show the plan first.
- ``ingest_run_roots(root, source, batch_id=None) -> (batch, roots, errors)``: record existing
  run roots as a batch of scan outcomes.
- The errors of the ``RunRefused`` branch (drawn in ``schemas.errors``).
"""

from __future__ import annotations

from commands.runner.batch import RunPlan, RunRequest, RunSummary, execute, plan_run, run_batch
from commands.runner.errors import (
    BatchExists,
    BatchStillRunning,
    ExecutorUnavailable,
    IngestError,
    ResumeMismatch,
    RunRefused,
    SamplerUnavailable,
    StoppedBeforeStart,
    TierNotPromoted,
    UnknownSampler,
)
from commands.runner.ingest import ingest_run_roots

__all__ = [
    "BatchExists",
    "BatchStillRunning",
    "ExecutorUnavailable",
    "IngestError",
    "ResumeMismatch",
    "RunPlan",
    "RunRefused",
    "RunRequest",
    "RunSummary",
    "SamplerUnavailable",
    "StoppedBeforeStart",
    "TierNotPromoted",
    "UnknownSampler",
    "execute",
    "ingest_run_roots",
    "plan_run",
    "run_batch",
]
