"""Finding and nulling non-finite floats (NaN, +/-Infinity), which JSON cannot carry."""

from __future__ import annotations

import math
from typing import Any

_isfinite = math.isfinite


def has_non_finite(obj: Any) -> bool:
    """True when any float nested in ``obj`` (dicts, lists, tuples) is NaN or infinite."""
    kind = type(obj)
    if kind is float:
        return not _isfinite(obj)
    if kind is dict:
        values: Any = obj.values()
    elif kind is list or kind is tuple:
        values = obj
    else:
        return False
    for value in values:
        vkind = type(value)
        if vkind is float:
            if not _isfinite(value):
                return True
        elif (vkind is dict or vkind is list or vkind is tuple) and has_non_finite(value):
            return True
    return False


def null_non_finite(obj: Any, path: str, found: list[str]) -> Any:
    """Return ``obj`` with every non-finite float replaced by None.

    The dotted path of each replaced value (``result.curve.3``) is appended to ``found``,
    in document order, so nothing is silently dropped.
    """
    if isinstance(obj, float):
        if _isfinite(obj):
            return obj
        found.append(path)
        return None
    if isinstance(obj, dict):
        return {
            k: null_non_finite(v, f"{path}.{k}" if path else str(k), found) for k, v in obj.items()
        }
    if isinstance(obj, list | tuple):
        return [
            null_non_finite(v, f"{path}.{i}" if path else str(i), found) for i, v in enumerate(obj)
        ]
    return obj


def first_non_finite_path(obj: Any, path: str = "") -> str | None:
    """The dotted path of the first non-finite float in ``obj``, or None."""
    found: list[str] = []
    null_non_finite(obj, path, found)
    return found[0] if found else None
