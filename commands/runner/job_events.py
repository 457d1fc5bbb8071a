"""The events a batch's jobs produce, built in one place: intents, outcomes and what rides
with them (``artifact.recorded``, the job's own emitted events)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from commands.runner.command_job import CommandSpec, job_values
from commands.runner.job import Done, failed_outcome
from commands.runner.manifest import JobPlan
from schemas import NewEvent


@dataclass(frozen=True)
class JobEvents:
    """Builds the events of one batch's jobs of one kind."""

    batch: str
    kind: str
    callable_ref: str | None
    command: CommandSpec | None = None
    root: str = ""

    def key(self, job: JobPlan) -> str:
        return f"{self.kind}/{job.job_id}"

    def intent(self, job: JobPlan, seed: int) -> NewEvent:
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
        return NewEvent(type=f"{self.kind}.intent", data=data, batch=self.batch, key=self.key(job))

    def outcome(self, job: JobPlan, cause: int, data: dict[str, Any]) -> NewEvent:
        return NewEvent(
            type=f"{self.kind}.outcome", data=data, batch=self.batch, key=self.key(job), cause=cause
        )

    def completion(self, job: JobPlan, cause: int, done: Done) -> list[NewEvent]:
        """Artifacts, then the job's own events, then its outcome (all caused by its intent)."""
        _, outcome, artifacts, emitted = done
        key = self.key(job)
        group = [
            NewEvent(type="artifact.recorded", data=a, batch=self.batch, key=key, cause=cause)
            for a in artifacts
        ]
        group.extend(
            NewEvent(type=t, data=d, batch=self.batch, key=key, cause=cause) for t, d in emitted
        )
        group.append(self.outcome(job, cause, outcome))
        return group

    def refused(self, job: JobPlan, cause: int, error: Exception, duration_s: float) -> NewEvent:
        """The ``error`` outcome recorded instead of a completion the ledger refused."""
        data = failed_outcome(job.job_id, "error", f"result refused by the ledger: {error}")
        data["error"]["type"] = type(error).__name__
        data["duration_s"] = duration_s
        return self.outcome(job, cause, data)
