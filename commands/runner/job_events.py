"""The events a batch's jobs produce, built in one place: intents, outcomes and what rides
with them (``artifact.recorded``, the job's own emitted events, its sub-steps).

A job with declared ``steps`` (e.g. ``optimize``) gets, next to its own intent, one
``<step>.intent`` per step (key ``<step>/<job_id>``, same payload), appended before the job
starts; a killed run leaves them open for ``gaps``. Its completion answers each one with the
``<step>.outcome`` the job recorded through ``ctx.substep``, or, when it recorded none, with
the job's own failure status (``error`` when the job ended well but skipped the step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from commands.runner.command_job import CommandSpec, job_values
from commands.runner.job import Done, failed_outcome
from commands.runner.manifest import JobPlan
from schemas import NewEvent

# seqs of a job's intents: its own first, then one per declared step, in ``steps`` order.
Causes = tuple[int, ...]
UNRECORDED_OK = ("ok", "empty")


@dataclass(frozen=True)
class JobEvents:
    """Builds the events of one batch's jobs of one kind."""

    batch: str
    kind: str
    callable_ref: str | None
    command: CommandSpec | None = None
    root: str = ""
    steps: tuple[str, ...] = ()

    def key(self, job: JobPlan, kind: str | None = None) -> str:
        return f"{kind or self.kind}/{job.job_id}"

    def intent(self, job: JobPlan, seed: int, kind: str | None = None) -> NewEvent:
        data = {
            "job_id": job.job_id,
            "index": job.index,
            "name": job.name,
            "callable": self.callable_ref,
            "params": job.params,
            "seed": seed,
        }
        if self.command is not None:
            # What the worker will run, rendered the same way it renders it.
            values = job_values(
                job.params, self.root, self.batch, job.job_id, job.name, job.index, seed
            )
            data["command"], data["env"] = self.command.rendered(values)
        kind = kind or self.kind
        return NewEvent(type=f"{kind}.intent", data=data, batch=self.batch, key=self.key(job, kind))

    def intents(self, job: JobPlan, seed: int) -> list[NewEvent]:
        """The job's intent, then one per declared step (``len(self.steps) + 1`` events)."""
        return [self.intent(job, seed), *(self.intent(job, seed, step) for step in self.steps)]

    def outcome(self, job: JobPlan, cause: int, data: dict[str, Any]) -> NewEvent:
        return NewEvent(
            type=f"{self.kind}.outcome", data=data, batch=self.batch, key=self.key(job), cause=cause
        )

    def step_outcomes(
        self, job: JobPlan, causes: Causes, status: str, recorded: dict[str, dict[str, Any]]
    ) -> list[NewEvent]:
        """One ``<step>.outcome`` per declared step: as recorded, else from the job's status."""
        events = []
        for step, cause in zip(self.steps, causes[1:], strict=True):
            data = recorded.get(step)
            if data is None:
                ended = "error" if status in UNRECORDED_OK else status
                why = (
                    f"the job did not record its {step} step"
                    if status in UNRECORDED_OK
                    else f"the job ended {status} before recording its {step} step"
                )
                data = failed_outcome(job.job_id, ended, why)
            events.append(
                NewEvent(
                    type=f"{step}.outcome",
                    data=data,
                    batch=self.batch,
                    key=self.key(job, step),
                    cause=cause,
                )
            )
        return events

    def completion(self, job: JobPlan, causes: Causes, done: Done) -> list[NewEvent]:
        """Artifacts, the job's own events, its steps' outcomes, then its outcome (last, so
        that the latest outcome of a job is always its own)."""
        _, outcome, artifacts, emitted = done
        cause = causes[0]
        key = self.key(job)
        group = [
            NewEvent(type="artifact.recorded", data=a, batch=self.batch, key=key, cause=cause)
            for a in artifacts
        ]
        recorded = {t.removesuffix(".outcome"): d for t, d in emitted if t.endswith(".outcome")}
        group.extend(
            NewEvent(type=t, data=d, batch=self.batch, key=key, cause=cause)
            for t, d in emitted
            if not t.endswith(".outcome")
        )
        group.extend(self.step_outcomes(job, causes, outcome["status"], recorded))
        group.append(self.outcome(job, cause, outcome))
        return group

    def refused(
        self, job: JobPlan, causes: Causes, error: Exception, duration_s: float
    ) -> list[NewEvent]:
        """The ``error`` outcomes recorded instead of a completion the ledger refused."""
        data = failed_outcome(job.job_id, "error", f"result refused by the ledger: {error}")
        data["error"]["type"] = type(error).__name__
        data["duration_s"] = duration_s
        return [*self.step_outcomes(job, causes, "error", {}), self.outcome(job, causes[0], data)]
