"""Templates of command jobs: ``{name}`` fields over a job's params and context.

A template is a ``str.format`` string whose fields are plain names: every param by name, and
the context names ``seed``, ``work_dir``, ``job_id``, ``name``, ``index`` and ``batch``.
Values render deterministically: strings as they are, everything else as compact JSON
(``0.1`` -> ``0.1`` (repr), ``1e-05``, ``true``/``false``, ``null``, ``[1,2]``). ``{{`` and
``}}`` are literal braces. Positional fields (``{}``), attribute or index access
(``{a.b}``, ``{a[0]}``) and conversions (``{a!r}``) are refused, and so is a name that is
both a param and a context name (which one was meant?).

Pure functions of their inputs: the driver renders a job's command for its intent and the
worker renders it again to run it, and both get the same strings.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterable, Mapping
from typing import Any

CONTEXT_NAMES: tuple[str, ...] = ("seed", "work_dir", "job_id", "name", "index", "batch")
_FORMATTER = string.Formatter()


class TemplateError(ValueError):
    """A template is malformed or names a value the job does not have."""


class _Strict(dict[str, str]):
    """A mapping for ``format_map`` that refuses unknown names instead of guessing."""

    def __missing__(self, key: str) -> str:
        raise TemplateError(f"unknown template name {{{key}}}")


def render_value(value: Any) -> str:
    """A param or context value as text: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def fields_of(template: str) -> list[str]:
    """The names a template uses, in order.

    Raises:
        TemplateError: unbalanced braces, a positional field, attribute/index access or a
            conversion.
    """
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as e:
        raise TemplateError(f"{template!r}: {e}") from e
    names: list[str] = []
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field == "" or field.isdigit():
            raise TemplateError(f"{template!r}: positional field {{{field}}}; name a value")
        if "." in field or "[" in field:
            raise TemplateError(f"{template!r}: {{{field}}}: only plain names are allowed")
        if conversion is not None:
            raise TemplateError(f"{template!r}: {{{field}!{conversion}}}: no conversions")
        if spec and "{" in spec:
            raise TemplateError(f"{template!r}: nested fields are not allowed")
        names.append(field)
    return names


def check_names(templates: Iterable[str], params: Mapping[str, Any]) -> None:
    """Refuse a template naming neither a param nor a context value, or naming both.

    Raises:
        TemplateError: naming the template and the field.
    """
    for template in templates:
        for field in fields_of(template):
            if field in CONTEXT_NAMES and field in params:
                raise TemplateError(
                    f"{template!r}: {{{field}}} is both a param and the job's {field}; "
                    "rename the param"
                )
            if field not in CONTEXT_NAMES and field not in params:
                raise TemplateError(f"{template!r}: unknown template name {{{field}}}")


def template_values(
    params: Mapping[str, Any],
    *,
    seed: int,
    work_dir: str,
    job_id: str,
    name: str,
    index: int,
    batch: str,
) -> dict[str, str]:
    """Every name a job's templates may use, rendered as text."""
    values = {key: render_value(value) for key, value in params.items()}
    values.update(
        seed=str(seed),
        work_dir=work_dir,
        job_id=job_id,
        name=name,
        index=str(index),
        batch=batch,
    )
    return values


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill a template; an unknown name is a ``TemplateError``, never left as is.

    Raises:
        TemplateError: an unknown name or a bad format spec.
    """
    try:
        return template.format_map(_Strict(values))
    except TemplateError:
        raise
    except (ValueError, KeyError, IndexError, AttributeError) as e:
        raise TemplateError(f"{template!r}: {e}") from e
