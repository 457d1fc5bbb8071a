"""Errors raised by the schemas layer.

SchemaError
 └── PayloadInvalid      a payload does not match its event type's model
 └── UnknownEventType    a type that is neither in the catalog nor namespaced ``x.<name>``
 └── ManifestInvalid     a manifest does not match the manifest model
"""

from __future__ import annotations


class SchemaError(ValueError):
    """Base class for every schema validation failure."""


class PayloadInvalid(SchemaError):
    """A payload does not match the model of its event type."""


class UnknownEventType(SchemaError):
    """An event type that is neither in the v1 catalog nor namespaced ``x.<name>``."""


class ManifestInvalid(SchemaError):
    """A manifest does not match the manifest model."""
