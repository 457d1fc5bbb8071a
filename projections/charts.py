"""Charts for the HTML report as inline SVG text, drawn with matplotlib's SVG backend.

Every chart is deterministic bytes: the SVG's ids come from a fixed hash salt (not a random
uuid), its metadata (date, creator, format, type) is left out, text stays text
(``svg.fonttype: none``, so no glyph paths and no font files), and each chart's ids are
prefixed with its own name so that many charts can share one HTML page without colliding
ids. Nothing reads the clock. matplotlib is imported here only, when a chart is drawn (it
costs most of a second), through ``Figure`` directly: no pyplot, no GUI backend.

matplotlib's settings (``rcParams``) are global to the process, so drawing is serialized by
a lock: a rebuild runs projections in threads.
"""

from __future__ import annotations

import io
import math
import re
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

HASH_SALT = "sweepledger"
SVG_RC: dict[RcKeyType, Any] = {
    "svg.hashsalt": HASH_SALT,
    "svg.fonttype": "none",
    "svg.id": None,
    "text.parse_math": False,  # a metric named "$a$" is text, not TeX
    "font.family": "sans-serif",
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
# Each key set to None drops it: no date, and no creator/type URLs in the page.
NO_METADATA: dict[str, None] = {"Date": None, "Creator": None, "Format": None, "Type": None}
WIDTH_IN, HEIGHT_IN = 6.4, 3.4
SMALL_IN = (4.4, 3.0)  # charts shown side by side
LEFT_IN, BOTTOM_IN, MARGIN_IN = 0.7, 0.5, 0.15
CHAR_IN = 0.065  # the width of one 9 pt character, about
MAX_BINS = 40
ACCENT = "#1f6fb4"
MUTED = "#9aa5b1"
HIGHLIGHT = "#d62728"
STATUS_COLORS: dict[str, str] = {
    "ok": "#2ca02c",
    "empty": "#8c8c8c",
    "error": "#d62728",
    "timeout": "#ff7f0e",
    "crashed": "#9467bd",
    "interrupted": "#e377c2",
    "skipped": "#17becf",
}
CHECK_COLORS = {"pass": "#2ca02c", "fail": "#d62728", "skipped": "#c7c7c7"}
LABEL_CHARS = 32

_LOCK = threading.Lock()
_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
_ID_ATTR = re.compile(r'\bid="([^"]+)"')
_ID_REF = re.compile(r'(url\(#|href="#)([^)"]+)')


@contextmanager
def _figure(
    height_in: float = HEIGHT_IN,
    small: bool = False,
    left_in: float = LEFT_IN,
    bottom_in: float = BOTTOM_IN,
) -> Iterator[Figure]:
    """A fresh figure under the fixed SVG settings, holding the drawing lock.

    Margins are fixed (in inches) rather than fitted by a layout engine, which would draw
    every chart twice.
    """
    import matplotlib
    from matplotlib.figure import Figure

    width, height = SMALL_IN if small else (WIDTH_IN, height_in)
    with _LOCK, matplotlib.rc_context(SVG_RC):
        fig = Figure(figsize=(width, height))
        fig.subplots_adjust(
            left=left_in / width,
            right=1 - MARGIN_IN / width,
            bottom=bottom_in / height,
            top=1 - MARGIN_IN / height,
        )
        yield fig


def _label_in(labels: Sequence[str]) -> float:
    """Room (inches) for the longest of ``labels`` written along an axis."""
    return 0.25 + CHAR_IN * max((len(_short(label)) for label in labels), default=0)


def _svg(fig: Figure, chart_id: str) -> str:
    """``fig`` as inline SVG text: no XML prolog or doctype, every id prefixed with
    ``chart_id`` (and every reference to one), sized by the page's CSS."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata=NO_METADATA)
    text = _PROLOG.sub("", buffer.getvalue(), count=1)
    text = _ID_ATTR.sub(lambda m: f'id="{chart_id}-{m.group(1)}"', text)
    text = _ID_REF.sub(lambda m: f"{m.group(1)}{chart_id}-{m.group(2)}", text)
    return text.replace("<svg ", '<svg role="img" ', 1)


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 3] + "..."


def _bins(n: int) -> int:
    return max(1, min(MAX_BINS, math.ceil(math.sqrt(n))))


def histogram(chart_id: str, metric: str, values: Sequence[float]) -> str:
    """A histogram of ``values`` (finite floats) of ``metric``."""
    with _figure(small=True) as fig:
        ax = fig.add_subplot()
        distinct = len(set(values))
        bins = _bins(len(values)) if distinct > 1 else 1
        ax.hist(values, bins=bins, color=ACCENT, edgecolor="white", linewidth=0.5)
        ax.set_xlabel(metric)
        ax.set_ylabel("jobs")
        return _svg(fig, chart_id)


def _categorical_axis(ax: Axes, labels: Sequence[str], axis: str = "x") -> None:
    ticks = list(range(len(labels)))
    shown = [_short(label) for label in labels]
    if axis == "x":
        ax.set_xticks(ticks, shown, rotation=30 if len(labels) > 4 else 0, ha="right")
    else:
        ax.set_yticks(ticks, shown)


def param_scatter(
    chart_id: str,
    param: str,
    metric: str,
    xs: Sequence[float | str],
    ys: Sequence[float],
    categories: Sequence[str] | None = None,
) -> str:
    """One point per job: ``param`` (numbers, or ``categories`` placed in their order) against
    ``metric``."""
    bottom = BOTTOM_IN if categories is None else 0.3 + 0.6 * _label_in(categories)
    with _figure(small=True, bottom_in=min(bottom, 1.6)) as fig:
        ax = fig.add_subplot()
        if categories is not None:
            where = {c: i for i, c in enumerate(categories)}
            ax.scatter([where[str(x)] for x in xs], ys, color=ACCENT, alpha=0.8)
            _categorical_axis(ax, categories)
        else:
            ax.scatter(xs, ys, color=ACCENT, alpha=0.8)
        ax.set_xlabel(param)
        ax.set_ylabel(metric)
        return _svg(fig, chart_id)


def durations(
    chart_id: str, offsets: Sequence[float], seconds: Sequence[float], statuses: Sequence[str]
) -> str:
    """Each outcome at its time (seconds since the batch started) against its duration,
    coloured by status (legend in a fixed status order)."""
    order = [s for s in STATUS_COLORS if s in statuses]
    order += sorted(set(statuses) - set(order))
    with _figure() as fig:
        ax = fig.add_subplot()
        for status in order:
            pick = [i for i, s in enumerate(statuses) if s == status]
            ax.scatter(
                [offsets[i] for i in pick],
                [seconds[i] for i in pick],
                color=STATUS_COLORS.get(status, MUTED),
                label=f"{status} ({len(pick)})",
                alpha=0.8,
                s=16,
            )
        ax.set_xlabel("outcome recorded at (s since the batch started)")
        ax.set_ylabel("job duration (s)")
        ax.legend(loc="best", fontsize=8, frameon=False)
        return _svg(fig, chart_id)


def ranked_bars(chart_id: str, labels: Sequence[str], values: Sequence[float], axis: str) -> str:
    """Horizontal bars, the first label on top."""
    height = max(2.0, 0.6 + 0.28 * len(labels))
    with _figure(height, left_in=_label_in(labels)) as fig:
        ax = fig.add_subplot()
        positions = list(range(len(labels)))
        ax.barh(positions, values, color=ACCENT)
        _categorical_axis(ax, labels, "y")
        ax.invert_yaxis()
        ax.set_xlabel(axis)
        ax.grid(axis="y", visible=False)
        return _svg(fig, chart_id)


def check_rates(chart_id: str, checks: Sequence[str], counts: Sequence[dict[str, int]]) -> str:
    """Per check, the share of rows that passed, failed or were skipped (stacked bars)."""
    height = max(2.0, 0.8 + 0.3 * len(checks))
    with _figure(height + 0.3, left_in=_label_in(checks), bottom_in=BOTTOM_IN + 0.3) as fig:
        ax = fig.add_subplot()
        positions = list(range(len(checks)))
        left = [0.0] * len(checks)
        for outcome, color in CHECK_COLORS.items():
            shares = []
            for tally in counts:
                total = sum(tally.values())
                shares.append(tally.get(outcome, 0) / total if total else 0.0)
            ax.barh(positions, shares, left=left, color=color, label=outcome)
            left = [a + b for a, b in zip(left, shares, strict=True)]
        _categorical_axis(ax, checks, "y")
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of scoreboard rows")
        ax.grid(axis="y", visible=False)
        fig.legend(loc="lower center", fontsize=8, ncols=3, frameon=False)
        return _svg(fig, chart_id)


def pareto(
    chart_id: str,
    axes: tuple[str, str],
    trials: tuple[Sequence[float], Sequence[float]],
    frontier: tuple[Sequence[float], Sequence[float]],
    labels: Sequence[tuple[float, float, str]],
) -> str:
    """Every trial (grey) and the frontier (highlighted) on two objectives; each of
    ``labels`` (x, y, text) is a ringed, labelled point (a promoted winner)."""
    with _figure(small=True) as fig:
        ax = fig.add_subplot()
        if trials[0]:
            ax.scatter(*trials, color=MUTED, s=14, alpha=0.7, label=f"trials ({len(trials[0])})")
        ax.scatter(
            *frontier, color=HIGHLIGHT, s=26, zorder=3, label=f"frontier ({len(frontier[0])})"
        )
        for x, y, text in labels:
            ax.scatter([x], [y], s=120, facecolors="none", edgecolors="black", zorder=4)
            # A winner's label names its tiers and candidate whole: there are only a few.
            ax.annotate(text, (x, y), xytext=(6, 6), textcoords="offset points", fontsize=8)
        ax.set_xlabel(axes[0])
        ax.set_ylabel(axes[1])
        ax.legend(loc="best", fontsize=7, frameon=False)
        return _svg(fig, chart_id)
