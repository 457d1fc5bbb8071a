"""Reading a budgets file (YAML or JSON) into ``schemas.Budgets``.

The text is parsed by PyYAML's safe loader (the manifests' loader, libyaml when available) and
validated by ``schemas.budgets_from_data``; every problem is one ``BudgetsInvalid`` (exit 2)
whose message starts with the file's name and, for unparsable text, its line.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from commands.runner.manifest import SAFE_LOADER
from schemas import Budgets, BudgetsInvalid, budgets_from_data


def parse_budgets(text: str, source: str = "budgets") -> Budgets:
    """Parse and validate a budgets file's text (YAML, of which JSON is a subset).

    Raises:
        BudgetsInvalid: not YAML (with its line), or not a valid budgets table.
    """
    try:
        raw = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise BudgetsInvalid(f"{source}{where}: {problem}") from e
    return budgets_from_data(raw, source)


def read_budgets(path: Path) -> Budgets:
    """Read and validate the budgets file at ``path``.

    Raises:
        BudgetsInvalid: unreadable, not YAML, or not a valid budgets table.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise BudgetsInvalid(f"budgets file {path}: {e.strerror or e}") from e
    return parse_budgets(text, str(path))
