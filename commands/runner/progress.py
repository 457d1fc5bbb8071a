"""Batch progress on stderr: a live rich bar on a terminal, plain periodic lines otherwise.

Both are driven from the driver loop (no refresh thread), so the process executor may fork.
A job counts as ``failed`` when it ended ``error``, ``timeout`` or ``crashed``; one that was
stopped (``interrupted``, ``skipped``) is counted apart, never as a failure.
"""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO

REFRESH_S = 0.1
PLAIN_EVERY_S = 5.0
FAILED = frozenset({"error", "timeout", "crashed"})
STOPPED = frozenset({"interrupted", "skipped"})


class Progress(Protocol):
    """What the driver reports to: job completions by status, then close."""

    def advance(self, status: str) -> None: ...

    def refresh(self) -> None: ...

    def close(self) -> None: ...


class _Counts:
    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.ok = 0
        self.failed = 0
        self.stopped = 0
        self.start = time.monotonic()

    def advance(self, status: str) -> None:
        self.done += 1
        self.ok += status == "ok"
        self.failed += status in FAILED
        self.stopped += status in STOPPED

    def rate(self) -> float:
        elapsed = time.monotonic() - self.start
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        rate = self.rate()
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta_text = f"{eta:.0f}s" if eta == eta else "?"
        stopped = f", {self.stopped} interrupted" if self.stopped else ""
        return (
            f"progress: {self.done}/{self.total} done, {self.ok} ok, {self.failed} failed"
            f"{stopped}, {rate:.1f} jobs/s, eta {eta_text}"
        )


class PlainProgress(_Counts):
    """One line every ``PLAIN_EVERY_S`` seconds and one at the end."""

    def __init__(self, total: int, stream: TextIO, every_s: float = PLAIN_EVERY_S) -> None:
        super().__init__(total)
        self.stream = stream
        self.every_s = every_s
        self._last = self.start

    def refresh(self) -> None:
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            print(self.line(), file=self.stream, flush=True)

    def close(self) -> None:
        print(self.line(), file=self.stream, flush=True)


class RichProgress(_Counts):
    """A rich progress bar: done/total, ok/failed, rate and ETA."""

    def __init__(self, total: int, stream: TextIO, title: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        super().__init__(total)
        self._bar = Bar(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[green]{task.fields[ok]} ok[/] [red]{task.fields[failed]} failed[/]"),
            TextColumn("{task.fields[rate]:.1f} jobs/s"),
            TimeRemainingColumn(),
            console=Console(file=stream),
            auto_refresh=False,
            transient=False,
        )
        self._task = self._bar.add_task(title, total=total, ok=0, failed=0, rate=0.0)
        self._bar.start()
        self._last = 0.0

    def refresh(self) -> None:
        now = time.monotonic()
        if now - self._last < REFRESH_S:
            return
        self._last = now
        self._update()

    def _update(self) -> None:
        self._bar.update(
            self._task, completed=self.done, ok=self.ok, failed=self.failed, rate=self.rate()
        )
        self._bar.refresh()

    def close(self) -> None:
        self._update()
        self._bar.stop()


def make_progress(total: int, title: str, stream: TextIO | None = None) -> Progress:
    """A rich bar when ``stream`` (default stderr) is a terminal, else plain lines."""
    stream = stream or sys.stderr
    if stream.isatty():
        return RichProgress(total, stream, title)
    return PlainProgress(total, stream)
