"""Plain-dict validators generated from the payload models, for bulk appends.

Validating into model instances and then reading their ``__dict__`` costs about twice as
much as validating into plain dicts. The models stay the single source of truth: each
validator here is built from a model's own pydantic-core schema, with every ``model`` node
turned into a ``typed-dict`` node of the same fields, defaults, constraints and config
(strict, no NaN, extra fields forbidden). A shape this translation does not know (custom
``__init__``, aliases, model validators, ...) yields no plain validator, and callers keep
using the model.

A plain validator may refuse something the model accepts (a model instance, say); callers
then fall back to the model. It never accepts what the model refuses, and it returns what
``model_dump()`` would (a test checks both on every catalog model).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic_core import SchemaValidator

# Keys of a pydantic-core ``model-field`` that the typed-dict translation carries over as is.
_FIELD_KEYS = frozenset({"type", "schema", "metadata"})
# Keys of ``model`` / ``model-fields`` nodes whose presence means behaviour beyond plain fields.
_MODEL_KEYS = frozenset({"type", "cls", "schema", "custom_init", "root_model", "config", "ref"})
_MODEL_KEYS_IGNORED = frozenset({"metadata"})
_FIELDS_KEYS = frozenset({"type", "fields", "model_name", "computed_fields"})


class _Untranslatable(Exception):
    """The schema holds something the typed-dict translation does not reproduce exactly."""


def plain_list_validator(model: type[BaseModel]) -> SchemaValidator | None:
    """A validator of ``list[dict]`` equivalent to ``list[model]`` but returning plain dicts,
    or None when ``model``'s schema cannot be translated exactly."""
    try:
        items = _translate(model.__pydantic_core_schema__)
    except _Untranslatable:
        return None
    return SchemaValidator({"type": "list", "items_schema": items})


def _translate(schema: Any) -> Any:
    """``schema`` with every ``model`` node replaced by an equivalent ``typed-dict`` node."""
    if isinstance(schema, list):
        return [_translate(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "model":
        return _typed_dict(schema)
    if schema.get("type") in {"model-fields", "model-field"}:
        raise _Untranslatable(schema["type"])
    return {key: _translate(value) for key, value in schema.items()}


def _typed_dict(model: dict[str, Any]) -> dict[str, Any]:
    fields = model["schema"]
    if (
        set(model) - _MODEL_KEYS_IGNORED - _MODEL_KEYS
        or model.get("custom_init")
        or model.get("root_model")
        or fields.get("type") != "model-fields"
        or set(fields) - _FIELDS_KEYS
        or fields.get("computed_fields")
    ):
        raise _Untranslatable(str(model.get("cls")))
    config = model.get("config", {})
    translated: dict[str, Any] = {}
    for name, field in fields["fields"].items():
        if set(field) - _FIELD_KEYS or field["type"] != "model-field":
            raise _Untranslatable(f"{model.get('cls')}.{name}")
        inner = _translate(field["schema"])
        required = inner.get("type") != "default"
        translated[name] = {"type": "typed-dict-field", "schema": inner, "required": required}
    node: dict[str, Any] = {
        "type": "typed-dict",
        "fields": translated,
        "extra_behavior": config.get("extra_fields_behavior", "ignore"),
        "config": config,
    }
    if "ref" in model:
        node["ref"] = model["ref"]
    return node
