"""Each study's ``trials.jsonl``, rendered and written in a thread of its own while the caller
computes the frontier (``pareto.update``).

DuckDB renders, sorts and hands over the lines (``pareto_render.trials_jsonl_pieces``) on a
connection of their own (a cursor of the caller's: the same database, a query of its own), and
each study's pieces go to its file's writer (``BackgroundWrites.stream``). The frontier is
only needed once the first record batch is in hand; the caller gives it with ``frontier``.
The render sees what is committed, as any other connection: the base tables it reads are
(``catch_up`` commits before any projection is updated), and it reads nothing the caller's
transaction writes (it does not read ``study_frontier``).
So the render's joins and sort run while the caller's thread computes the frontier and
renders ``pareto.json``: ``pareto --study`` on 200,000 trials took 0.87 s instead of 0.99 s
on two cores (median of 10 alternate runs).
"""

from __future__ import annotations

import contextvars
import itertools
import threading
from concurrent.futures import Future
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from projections.pareto_render import trials_jsonl_pieces

if TYPE_CHECKING:
    import duckdb

    from projections.files import BackgroundWrites, PieceStream

TRIALS_FILE = "trials.jsonl"


class RenderStopped(Exception):
    """The caller failed before giving the frontier: the render stops."""


class TrialsWriter:
    """``with TrialsWriter(con, batches, folders, files) as trials: ... trials.frontier(seqs)``:
    the ``trials.jsonl`` of each of ``batches`` (in its folder) streamed to ``files`` from a
    thread started at once. Leaving the block waits for it and raises what made it fail;
    leaving it with an error stops it (the query interrupted, the file being written
    aborted). A batch without trials gets an empty file.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        batches: list[str],
        folders: dict[str, Path],
        files: BackgroundWrites,
    ) -> None:
        self._batches = batches
        self._folders = folders
        self._files = files
        self._cursor = con.cursor()
        self._front: Future[npt.NDArray[np.int64]] = Future()
        self._rendered: set[str] = set()
        self._error: BaseException | None = None
        context = contextvars.copy_context()  # carries the caller's ``recording()`` log
        self._thread = threading.Thread(
            target=context.run, args=(self._run,), name="sweepledger-trials", daemon=True
        )
        self._thread.start()

    def frontier(self, seqs: npt.ArrayLike) -> None:
        """The seqs of the trials on the frontiers of the batches: their lines are marked."""
        self._front.set_result(np.asarray(seqs, dtype=np.int64))

    def __enter__(self) -> TrialsWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is not None:
            if not self._front.done():
                self._front.set_exception(RenderStopped("the frontier was not computed"))
            self._cursor.interrupt()
        self._thread.join()
        self._cursor.close()
        if kind is not None:
            return
        if self._error is not None:
            raise self._error
        for batch in self._batches:
            if batch not in self._rendered:  # no trial line at all: an empty file
                self._files.write(self._folders[batch] / TRIALS_FILE, b"")

    def _run(self) -> None:
        stream: PieceStream | None = None
        try:
            pieces = trials_jsonl_pieces(self._cursor, self._batches, self._front.result)
            for batch, group in itertools.groupby(pieces, key=itemgetter(0)):
                stream = self._files.stream(self._folders[batch] / TRIALS_FILE)
                for _, piece in group:
                    stream.add(piece)
                stream.close()
                self._rendered.add(batch)
        except BaseException as error:  # raised by ``__exit__``, in the caller's thread
            if stream is not None:
                stream.abort()  # a no-op on a closed stream
            self._error = error
