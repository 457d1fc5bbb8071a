"""Errors raised by the projections layer; the CLI turns each into one line and its exit code.

ProjectionError            base class, exit 2
 ├── UnknownProjection     ``rebuild NAME`` names no projection
 ├── BatchNotFound         a ``--batch`` names no batch the projection knows
 ├── ProjectionBusy        another process holds the projection database too long
 ├── LedgerMoved           the ledger was sealed or repaired while it was being read
 ├── QueryRefused          the SQL would read or write outside the projection database
 ├── QueryFailed           DuckDB rejected the SQL (its message, one line)
 └── QueryTimeout          the statement ran past its time limit
GapsFound                  ``gaps --fail`` found intents without outcomes, exit 1
"""

from __future__ import annotations

USER_ERROR = 2
CHECK_FAILED = 1


class ProjectionError(Exception):
    """Base class of every projections error."""

    exit_code = USER_ERROR


class UnknownProjection(ProjectionError):
    """A projection name that is not one of ``PROJECTIONS``."""


class BatchNotFound(ProjectionError):
    """The batch asked for has no events the projection can use."""


class ProjectionBusy(ProjectionError):
    """The projection database stayed locked by another process past the wait limit."""


class LedgerMoved(ProjectionError):
    """The events read did not add up to the ledger's head (it changed under the reader)."""


class QueryRefused(ProjectionError):
    """A query statement is not allowed in the read-only sandbox."""


class QueryFailed(ProjectionError):
    """DuckDB raised an error for the query."""


class QueryTimeout(ProjectionError):
    """A query ran longer than its timeout and was interrupted."""


class GapsFound(Exception):
    """At least one intent has no outcome (or an outcome answers no intent)."""

    exit_code = CHECK_FAILED
