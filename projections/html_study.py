"""The study sections of the HTML report, read from the study's projection files.

``studies/<study>/pareto.json`` (``study``, ``objectives``, ``frontier``: entries
``{candidate_id, trial_id, job_id, <objectives>, params}``) and ``studies/<study>/trials.jsonl``
(one trial per line, in job order), as the ``pareto`` projection writes them or another tool
did. Objectives may be listed as names, as ``{name|metric, direction}`` objects or as a
name -> direction map; an objective's value is read from the entry itself, else from its
``metrics``. A trial line with ``"valid": false`` is not drawn.

The promoted winners are the study's latest ``promotion.decided`` per tier (the
``promotions`` table), not ``promoted/<tier>/PROMOTION_RECORD.json``: that file holds a
tier's latest decision of any study, so a page reading it would change when another study
is promoted.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

import projections.charts as charts
from projections.html_page import Section, figure, grid, note, table
from projections.writers import safe_dir_name

if TYPE_CHECKING:
    import duckdb

PARETO_JSON = "pareto.json"
TRIALS_JSONL = "trials.jsonl"
ID_FIELDS = ("candidate_id", "trial_id", "job_id")
MAX_OBJECTIVE_PAIRS = 3
MAX_TRIAL_POINTS = 5_000
# The default objectives' directions (the pareto projection's), for files that list names only.
KNOWN_DIRECTIONS = {"mean_pnl": "max", "kill_prob_ci_upper": "min", "drawdown_cvar": "min"}


@dataclass
class StudyFiles:
    """What the study's files hold (empty when a file is absent)."""

    objectives: list[tuple[str, str | None]] = field(default_factory=list)
    frontier: list[dict[str, Any]] = field(default_factory=list)
    trials: list[dict[str, Any]] = field(default_factory=list)
    promotions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    has_pareto: bool = False


def study_folder(root: Path, study: str) -> Path:
    """``<root>/studies/<study>``."""
    return root / "studies" / safe_dir_name(study)


def _objectives(doc: dict[str, Any]) -> list[tuple[str, str | None]]:
    raw = doc.get("objectives")
    out: list[tuple[str, str | None]] = []
    if isinstance(raw, dict):
        for name, spec in raw.items():
            direction = spec.get("direction") if isinstance(spec, dict) else spec
            out.append((str(name), str(direction) if direction is not None else None))
    elif isinstance(raw, list):
        for item in raw:
            if isinstance(item, str):
                out.append((item, None))
            elif isinstance(item, dict) and (item.get("name") or item.get("metric")):
                direction = item.get("direction")
                name = str(item.get("name") or item.get("metric"))
                out.append((name, str(direction) if direction is not None else None))
    if not out:  # not listed: the numeric fields of the frontier entries
        entries = doc.get("frontier") or []
        names = {
            k
            for e in entries
            if isinstance(e, dict)
            for k, v in e.items()
            if k not in ID_FIELDS and value_of(e, k) is not None and not isinstance(v, dict)
        }
        out = [(name, None) for name in sorted(names)]
    return out


def value_of(entry: dict[str, Any], name: str) -> float | None:
    """The finite number ``entry`` holds for ``name`` (itself, else in its ``metrics``)."""
    value = entry.get(name)
    if value is None and isinstance(entry.get("metrics"), dict):
        value = entry["metrics"].get(name)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def promotions(con: duckdb.DuckDBPyConnection, study: str) -> list[tuple[str, dict[str, Any]]]:
    """(tier, decision payload) of the study's latest decision per tier, by tier."""
    rows = con.execute(
        """SELECT tier, CAST(arg_max(data, seq) AS VARCHAR) FROM promotions
           WHERE study = ? GROUP BY tier ORDER BY tier""",
        [study],
    ).fetchall()
    return [(str(tier), json.loads(data)) for tier, data in rows]


def read_study(con: duckdb.DuckDBPyConnection, root: Path, study: str) -> StudyFiles:
    """The study's files, as far as they exist, and its promotions."""
    found = StudyFiles()
    folder = study_folder(root, study)
    pareto_path = folder / PARETO_JSON
    if pareto_path.is_file():
        doc = json.loads(pareto_path.read_text(encoding="utf-8"))
        found.has_pareto = True
        found.objectives = _objectives(doc)
        found.frontier = [e for e in doc.get("frontier") or [] if isinstance(e, dict)]
    trials_path = folder / TRIALS_JSONL
    if trials_path.is_file():
        with trials_path.open(encoding="utf-8") as f:
            lines = (json.loads(line) for line in f if line.strip())
            found.trials = [t for t in lines if isinstance(t, dict)]
    found.promotions = promotions(con, study)
    return found


def has_frontier(root: Path, study: str) -> bool:
    """True when ``studies/<study>/pareto.json`` exists and its frontier is not empty (a
    batch of trials none of which is valid has an empty one)."""
    path = study_folder(root, study) / PARETO_JSON
    if not path.is_file():
        return False
    doc = json.loads(path.read_text(encoding="utf-8"))
    return isinstance(doc, dict) and bool(doc.get("frontier"))


def _axis(name: str, direction: str | None) -> str:
    better = {"max": " (higher is better)", "min": " (lower is better)"}
    return name + better.get((direction or KNOWN_DIRECTIONS.get(name, ""))[:3].lower(), "")


def _point(entry: dict[str, Any], a: str, b: str) -> tuple[float, float] | None:
    x, y = value_of(entry, a), value_of(entry, b)
    return (x, y) if x is not None and y is not None else None


def _winner_labels(files: StudyFiles, a: str, b: str) -> list[tuple[float, float, str]]:
    """A labelled point per promoted winner: its frontier entry, else its trial, else the
    record's own metrics. Tiers promoting the same candidate share one label."""
    tiers: dict[tuple[float, float, str], list[str]] = {}
    for tier, record in files.promotions:
        cid = record.get("candidate_id")
        sources = [e for e in (*files.frontier, *files.trials) if e.get("candidate_id") == cid]
        for source in [*sources, record]:
            point = _point(source, a, b)
            if point is not None:
                tiers.setdefault((point[0], point[1], str(cid)), []).append(str(tier))
                break
    return [(x, y, f"{', '.join(names)}: {cid}") for (x, y, cid), names in tiers.items()]


def pareto(study: str, files: StudyFiles) -> Section | None:
    """The frontier against every valid trial on each pair of the first three objectives,
    promoted winners labelled; then the frontier and the promotions as tables."""
    if not files.has_pareto:
        return None
    names = [n for n, _ in files.objectives]
    directions = dict(files.objectives)
    valid = [t for t in files.trials if t.get("valid") is not False]
    parts = [
        note(
            f"{len(files.frontier)} frontier trials of {len(files.trials)} trials "
            f"({len(files.trials) - len(valid)} invalid not drawn); objectives: "
            + ", ".join(_axis(n, directions[n]) for n in names)
            + "."
        )
    ]
    pairs = list(combinations(names[:3], 2))[:MAX_OBJECTIVE_PAIRS]
    charts_html = []
    for i, (a, b) in enumerate(pairs):
        trial_points = [p for t in valid if (p := _point(t, a, b)) is not None]
        step = max(1, math.ceil(len(trial_points) / MAX_TRIAL_POINTS))
        trial_points = trial_points[::step]
        front = [p for e in files.frontier if (p := _point(e, a, b)) is not None]
        if not trial_points and not front:
            continue  # no valid trial measured this pair
        svg = charts.pareto(
            f"pareto{i}",
            (_axis(a, directions[a]), _axis(b, directions[b])),
            ([x for x, _ in trial_points], [y for _, y in trial_points]),
            ([x for x, _ in front], [y for _, y in front]),
            _winner_labels(files, a, b),
        )
        caption = (
            f"Trials of study {study} on {a} and {b}: grey, every valid trial"
            + (f" (every {step}th shown)" if step > 1 else "")
            + "; red, the Pareto frontier over all objectives; ringed and labelled, the "
            "promoted winners (tier: candidate)."
        )
        charts_html.append(figure(f"pareto:{a}:{b}", svg, caption))
    if charts_html:
        parts.append(grid(charts_html))
    header = [*ID_FIELDS[:2], *names, "params"]
    rows = [
        [
            e.get("candidate_id"),
            e.get("trial_id"),
            *(value_of(e, n) for n in names),
            e.get("params"),
        ]
        for e in files.frontier
    ]
    parts.append("<h3>Frontier</h3>\n" + table(header, rows))
    if files.promotions:
        rows = [
            [tier, r.get("candidate_id"), r.get("trial_id"), *(value_of(r, n) for n in names)]
            for tier, r in files.promotions
        ]
        parts.append("<h3>Promoted</h3>\n" + table(["tier", *ID_FIELDS[:2], *names], rows))
    return Section("pareto", "Pareto front", "".join(parts))
