"""The error tree of sweepledger: every error a user can cause derives from
``SweepledgerError`` and carries its ``exit_code`` (2: the user's input or environment, 1: a
check failed). Each layer raises its own branch; the CLI turns any of them into one line and
that exit code, in one place (``commands.cli``).

SweepledgerError                    exit 2 unless noted
 ├── SchemaError (ValueError)       schemas: a payload or file does not match its model
 │    ├── PayloadInvalid            a payload does not match its event type's model
 │    ├── UnknownEventType          neither in the catalog nor namespaced ``x.<name>``
 │    ├── ManifestInvalid           a manifest does not match the manifest model
 │    ├── BudgetsInvalid            a budgets file is unreadable or does not match the model
 │    └── GatesInvalid              a gates file does not match the gates model (``gates``)
 ├── LedgerError                    ledger (``ledger.errors``)
 │    ├── LedgerNotFound            no ledger at the root
 │    ├── BatchNotFound             the ledger holds no (usable) batch with that id
 │    ├── InvalidInput              input cannot be read as events (a bad JSONL line)
 │    ├── InputFileRefused          an input file is a FIFO/device, too large or unreadable
 │    ├── InvalidEvent              an event to append is refused (``index``, ``field``, ``detail``)
 │    │    └── EventTooLarge        an encoded event exceeds MAX_EVENT_BYTES
 │    ├── BadAnchor                 an anchor is not SEQ:HASH
 │    ├── LockTimeout               another process held the ledger lock too long
 │    ├── BlobNotFound              no blob with that digest
 │    ├── StorageRefused            the OS refused a write (read-only root, EFBIG, disk full)
 │    ├── LedgerDamaged             a writer refuses a damaged ledger until the operator chooses
 │    ├── ReadRaced                 a seal moved events while a bulk reader read them
 │    ├── KeyFileError              a signing key file cannot be used (or would be overwritten)
 │    ├── CheckpointRefused         no checkpoint can be made (an empty ledger)
 │    ├── ProofUnavailable          no proof of that seq or size can be made from this ledger
 │    └── LedgerCorrupt             committed bytes are damaged (exit 1)
 ├── ProjectionError                projections (``projections.errors``)
 │    ├── StudyNotFound             no trials recorded under that study (batch) id
 │    ├── UnknownProjection         ``rebuild NAME`` names no projection
 │    ├── ProjectionBusy            another process holds the projection database too long
 │    ├── ProjectionUnwritable      the projection database cannot be opened (read-only root)
 │    ├── LedgerMoved               the ledger changed while it was being read
 │    ├── AsOfRefused               ``--as-of``: seq beyond the head, or an unusable --out DIR
 │    ├── TargetNotFound            ``explain`` TARGET names nothing in the ledger
 │    ├── QueryRefused              the SQL would reach outside the projection database
 │    ├── QueryFailed               DuckDB rejected the SQL
 │    ├── QueryTimeout              the statement ran past its time limit
 │    ├── GapsFound                 ``gaps --fail`` found unanswered intents (exit 1)
 │    ├── GatesUnusable             strict gates on a metric no cell of the batch has
 │    ├── MissingMetrics            strict scoreboard: cells lack gated metrics (exit 1)
 │    ├── ParityMismatch            ``parity A B``: the batches' results differ (exit 1)
 │    ├── OutputsDiffer             ``rebuild --check``: an output missing, edited or extra (exit 1)
 │    └── ParityUnusable            ``parity A B``: a job lacks the key or its result list
 └── RunRefused                     runner (``commands.runner.errors``), nothing written
      ├── BatchExists               ``--batch-id`` names a batch already in the ledger
      ├── BatchStillRunning         ``--resume`` of a batch whose driver is alive
      ├── ResumeMismatch            the manifest's jobs differ from the batch's
      ├── ExecutorUnavailable       the executor cannot run here
      ├── UnknownSampler            ``study --sampler`` names no known sampler
      ├── SamplerUnavailable        the sampler's optional package is not installed
      ├── IngestError               a run-roots source cannot be used
      ├── TierNotPromoted           ``reproduce`` of a tier with no promotion decision
      ├── ExamplesMissing           the demo's example files are not in this checkout
      └── StoppedBeforeStart        Ctrl-C while workers were starting (exit 130)
"""

from __future__ import annotations

USER_ERROR = 2
CHECK_FAILED = 1


class SweepledgerError(Exception):
    """Base class of every error a user can cause; ``exit_code`` is what the CLI exits with."""

    exit_code: int = USER_ERROR


class SchemaError(SweepledgerError, ValueError):
    """Base class for every schema validation failure."""


class PayloadInvalid(SchemaError):
    """A payload does not match the model of its event type."""


class UnknownEventType(SchemaError):
    """An event type that is neither in the v1 catalog nor namespaced ``x.<name>``."""


class ManifestInvalid(SchemaError):
    """A manifest does not match the manifest model."""


class BudgetsInvalid(SchemaError):
    """A budgets file is unreadable or does not match the budgets model."""
