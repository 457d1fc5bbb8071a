"""The event catalog: type name -> payload model and version, and payload validation.

``validate_payloads`` turns caller payloads (dicts or model instances) into plain JSON-ready
dicts, refusing anything the catalog does not allow, and nulling non-finite floats where the
payload has a ``non_finite`` list. ``validate_fields``, the ledger's bulk entry point, does
the same through plain-dict validators generated from the models (``schemas.plain``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import SchemaValidator

from schemas.errors import PayloadInvalid, UnknownEventType
from schemas.nonfinite import first_non_finite_path, has_non_finite, null_non_finite
from schemas.payloads import (
    ArtifactRecorded,
    BatchFinished,
    BatchResumed,
    BatchStarted,
    CandidateProposed,
    Intent,
    LedgerCheckpoint,
    LedgerRecovered,
    LedgerSealed,
    Outcome,
    Payload,
    PromotionDecided,
)
from schemas.plain import plain_list_validator
from schemas.versions import FREE_VERSION, KINDS, VERSIONS

FREE_TYPE_PREFIX = "x."
FREE_TYPE_PATTERN = re.compile(r"^x\.[A-Za-z0-9_.\-]{1,120}\Z")  # \Z: "$" passes a final newline
NON_FINITE_FIELD = "non_finite"

CATALOG: dict[str, type[Payload]] = {
    "batch.started": BatchStarted,
    "batch.finished": BatchFinished,
    "batch.resumed": BatchResumed,
    "candidate.proposed": CandidateProposed,
    "artifact.recorded": ArtifactRecorded,
    "promotion.decided": PromotionDecided,
    "ledger.recovered": LedgerRecovered,
    "ledger.sealed": LedgerSealed,
    "ledger.checkpoint": LedgerCheckpoint,
    **{f"{kind}.intent": Intent for kind in KINDS},
    **{f"{kind}.outcome": Outcome for kind in KINDS},
}

if set(VERSIONS) != set(CATALOG):  # one list of types, two places: they must agree
    raise AssertionError("schemas.versions.VERSIONS and CATALOG list different types")

# (type, from_version) -> function turning a payload of that version into the next one.
UPGRADERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}

# Fields typed ``Any`` whose nested floats pydantic does not check, per model.
_LOOSE_FIELDS: dict[type[Payload], tuple[str, ...]] = {
    BatchStarted: ("manifest", "settings", "sources"),
    Intent: ("params",),
    Outcome: ("result",),
    CandidateProposed: ("params",),
    PromotionDecided: ("config",),
}

_ADAPTERS: dict[type[Payload], TypeAdapter[list[Any]]] = {}
_PLAIN: dict[type[Payload], SchemaValidator | None] = {}


def is_free_type(event_type: str) -> bool:
    """True for namespaced ``x.<name>`` types, whose payload is any JSON object."""
    return event_type.startswith(FREE_TYPE_PREFIX)


def model_for(event_type: str) -> type[Payload] | None:
    """The payload model of ``event_type``; None for ``x.*`` types.

    Raises:
        UnknownEventType: the type is neither in the catalog nor a valid ``x.<name>``.
    """
    model = CATALOG.get(event_type)
    if model is not None:
        return model
    if FREE_TYPE_PATTERN.match(event_type):
        return None
    raise UnknownEventType(
        f"unknown event type {event_type!r} (use a catalog type or namespace it as x.<name>)"
    )


def version_for(event_type: str) -> int:
    """The payload version new events of ``event_type`` are written with."""
    model_for(event_type)
    return VERSIONS.get(event_type, FREE_VERSION)


def upgrade(event_type: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
    """Bring a stored payload of an older version up to the current one (read side only)."""
    current = VERSIONS.get(event_type, FREE_VERSION)
    while version < current:
        data = UPGRADERS[(event_type, version)](data)
        version += 1
    return data


def _adapter(model: type[Payload]) -> TypeAdapter[list[Any]]:
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(list[model])  # type: ignore[valid-type]
    return adapter


def _describe(error: ValidationError, prefix: str = "data") -> str:
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in (prefix, *first["loc"]))
    return f"{where}: {first['msg']}"


def _validate_one(model: type[Payload], item: Any) -> dict[str, Any]:
    """Validate one payload, nulling non-finite floats into ``non_finite`` where allowed."""
    if isinstance(item, BaseModel):
        item = item.model_dump()
    if not isinstance(item, dict):
        raise PayloadInvalid(f"data: expected a JSON object, got {type(item).__name__}")
    found: list[str] = []
    if NON_FINITE_FIELD in model.model_fields:
        cleaned = {
            k: (null_non_finite(v, k, found) if k != NON_FINITE_FIELD else v)
            for k, v in item.items()
        }
        if found:
            item = {**cleaned, NON_FINITE_FIELD: [*item.get(NON_FINITE_FIELD, []), *found]}
    try:
        validated = model.model_validate(item)
    except ValidationError as e:
        raise PayloadInvalid(_describe(e)) from e
    dumped = validated.model_dump()
    for name in _LOOSE_FIELDS.get(model, ()):
        path = first_non_finite_path(dumped.get(name), f"data.{name}")
        if path is not None:
            raise PayloadInvalid(f"{path}: non-finite float (NaN or Infinity) is not allowed")
    return dumped


def _validate_free(item: Any) -> dict[str, Any]:
    if isinstance(item, BaseModel):
        item = item.model_dump()
    if not isinstance(item, dict):
        raise PayloadInvalid(f"data: expected a JSON object, got {type(item).__name__}")
    if not has_non_finite(item):
        return item
    found: list[str] = []
    cleaned: dict[str, Any] = null_non_finite(item, "", found)
    previous = cleaned.get(NON_FINITE_FIELD)
    cleaned[NON_FINITE_FIELD] = [*(previous if isinstance(previous, list) else []), *found]
    return cleaned


def validate_payloads(event_type: str, items: Sequence[Any]) -> list[dict[str, Any]]:
    """Validate payloads of one event type and return them as plain JSON-ready dicts.

    Model instances and dicts are both accepted. Non-finite floats become None and are
    listed by path in ``non_finite`` where the model has that field (and in free ``x.*``
    payloads); anywhere else they are refused.

    Raises:
        UnknownEventType: ``event_type`` is not allowed.
        PayloadInvalid: an item does not validate; the message names the item's field.
    """
    model = model_for(event_type)
    if model is None:
        return [_validate_free(item) for item in items]
    loose = _LOOSE_FIELDS.get(model, ())
    try:
        # Fast path: one Rust-side validation for the whole list.
        dumped: list[dict[str, Any]] = _adapter(model).dump_python(
            _adapter(model).validate_python(list(items))
        )
    except ValidationError:
        return [_validate_one(model, item) for item in items]
    for index, data in enumerate(dumped):
        for name in loose:
            value = data.get(name)
            if value is not None and has_non_finite(value):
                dumped[index] = _validate_one(model, items[index])
                break
    return dumped


def validate_fields(
    event_type: str, items: Sequence[Any], finite: bool = False
) -> list[dict[str, Any]]:
    """Like ``validate_payloads``, but cheaper for bulk encoding: returns plain field dicts,
    in which nested payload models (e.g. ``error``) may stay model instances. Encoders
    serialize a model as its own field dict.

    ``finite``: the items are known to hold no NaN or infinite float (they were parsed from
    JSON text, which cannot write one), so the walks looking for them are skipped.
    """
    model = model_for(event_type)
    if model is None:
        if finite and set(map(type, items)) <= {dict}:
            return list(items)
        return [_validate_free(item) for item in items]
    fields = _validate_plain(model, items)
    if fields is None:
        fields = _validate_models(model, items)
    if finite:
        return fields
    for name in _LOOSE_FIELDS.get(model, ()):
        for index, data in enumerate(fields):
            value = data[name]
            if value is not None and has_non_finite(value):
                fields[index] = _validate_one(model, items[index])
    return fields


def _validate_plain(model: type[Payload], items: Sequence[Any]) -> list[dict[str, Any]] | None:
    """Validate into plain dicts with the model's generated validator (``schemas.plain``);
    None when it has none or refuses an item: the model then decides, and names the item."""
    if model not in _PLAIN:
        _PLAIN[model] = plain_list_validator(model)
    plain = _PLAIN[model]
    if plain is None:
        return None
    try:
        fields: list[dict[str, Any]] = plain.validate_python(items)
    except ValidationError:
        return None
    return fields


def _validate_models(model: type[Payload], items: Sequence[Any]) -> list[dict[str, Any]]:
    """Validate into model instances (which also takes model instances) and return their
    field dicts; one at a time when some item is refused, to name it."""
    try:
        models = _adapter(model).validate_python(list(items))
    except ValidationError:
        return [_validate_one(model, item) for item in items]
    return [m.__dict__ for m in models]


def parse_payload(event_type: str, version: int, data: dict[str, Any]) -> Payload | None:
    """Parse a stored payload into its model (upgrading old versions); None for ``x.*``."""
    model = model_for(event_type)
    data = upgrade(event_type, version, data)
    return None if model is None else model.model_validate(data)


def export_json_schemas(directory: Path) -> list[Path]:
    """Write one JSON Schema file per catalog type (plus the free ``x.*`` shape).

    Returns:
        The written paths, in type-name order.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in sorted(CATALOG):
        schema = CATALOG[name].model_json_schema()
        schema["title"] = name
        schema["x-sweepledger-version"] = VERSIONS[name]
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    free = {
        "title": "x.<name>",
        "description": "Namespaced free payload: any JSON object.",
        "type": "object",
        "x-sweepledger-version": FREE_VERSION,
    }
    path = directory / "x.schema.json"
    path.write_text(json.dumps(free, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    written.append(path)
    return written
