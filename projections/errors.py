"""Errors raised by the projections layer: the ``ProjectionError`` branch of the tree drawn in
``schemas.errors``; the CLI turns each into one line and its exit code.
"""

from __future__ import annotations

from schemas import CHECK_FAILED, SweepledgerError


class ProjectionError(SweepledgerError):
    """Base class of every projections error."""


class UnknownProjection(ProjectionError):
    """A projection name that is not one of ``PROJECTIONS``."""


class ProjectionBusy(ProjectionError):
    """The projection database stayed locked by another process past the wait limit."""


class ProjectionUnwritable(ProjectionError):
    """The projection database cannot be opened for a reason other than a lock (a read-only
    root, permissions); the message names the file and the OS's reason."""


class LedgerMoved(ProjectionError):
    """The events read did not add up to the ledger's head (it changed under the reader)."""


class QueryRefused(ProjectionError):
    """A query statement is not allowed in the read-only sandbox."""


class QueryFailed(ProjectionError):
    """DuckDB raised an error for the query."""


class QueryTimeout(ProjectionError):
    """A query ran longer than its timeout and was interrupted."""


class GapsFound(ProjectionError):
    """At least one intent has no outcome (or an outcome answers no intent)."""

    exit_code = CHECK_FAILED


class StudyNotFound(ProjectionError):
    """No trial outcomes are recorded under that study (batch) id."""


class GatesUnusable(ProjectionError):
    """Strict gates read a metric that no cell of the batch has (a typo, most likely)."""


class MissingMetrics(ProjectionError):
    """A strict scoreboard failed checks because cells lack gated metrics."""

    exit_code = CHECK_FAILED


class ParityMismatch(ProjectionError):
    """Two batches' results differ beyond the tolerance."""

    exit_code = CHECK_FAILED


class OutputsDiffer(ProjectionError):
    """``rebuild --check`` found output files that are not what the ledger implies."""

    exit_code = CHECK_FAILED


class ParityUnusable(ProjectionError):
    """Two batches cannot be compared: a job lacks the key param, two jobs share a key, or a
    result holds no list of records."""
