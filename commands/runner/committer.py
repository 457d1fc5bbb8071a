"""Appending on a background thread, so the driver keeps feeding workers during an fsync.

One append at a time: whatever the driver gathers while a commit is in flight goes into the
next one, which is group commit at whatever rate the disk allows. On a busy machine an fsync
can take hundreds of milliseconds; a driver blocked that long would leave its workers idle.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence

from ledger import Ledger, Receipt
from schemas import NewEvent

Result = tuple[list[Receipt], BaseException | None]


class Committer:
    """A single writer thread in front of ``Ledger.append``."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._requests: queue.SimpleQueue[list[NewEvent] | None] = queue.SimpleQueue()
        self._results: queue.SimpleQueue[Result] = queue.SimpleQueue()
        self.busy = False
        self._thread = threading.Thread(
            target=self._loop, name="sweepledger-committer", daemon=True
        )
        self._thread.start()

    def _loop(self) -> None:
        while True:
            events = self._requests.get()
            if events is None:
                return
            try:
                self._results.put((self.ledger.append(events), None))
            except BaseException as e:  # handed to the driver, which decides
                self._results.put(([], e))

    def submit(self, events: Sequence[NewEvent]) -> None:
        """Start appending ``events`` (one commit); only one commit may be in flight."""
        if self.busy:
            raise RuntimeError("a commit is already in flight")
        self.busy = True
        self._requests.put(list(events))

    def poll(self, timeout: float | None = 0.0) -> Result | None:
        """The finished commit's receipts (or error), or None while it is still running.

        ``timeout`` None blocks until the commit finishes.
        """
        if not self.busy:
            return None
        try:
            result = (
                self._results.get(timeout=timeout) if timeout != 0.0 else self._results.get_nowait()
            )
        except queue.Empty:
            return None
        self.busy = False
        return result

    def append(self, events: Sequence[NewEvent]) -> list[Receipt]:
        """Append now and wait (the committer must be idle); raises what the ledger raised."""
        self.submit(events)
        result = self.poll(timeout=None)
        assert result is not None
        receipts, error = result
        if error is not None:
            raise error
        return receipts

    def close(self) -> None:
        """Stop the thread once any commit in flight has finished."""
        self._requests.put(None)
        self._thread.join()
