"""Checking and encoding the events of an append call before the lock is taken.

Everything that does not depend on the seq, the commit time or ``prev`` happens here, in bulk
per event type: envelope checks, payload validation (one pydantic-core call per type), and
the canonical bytes of each line from its type to the opening quote of ``prev``. What
remains under the lock is numbering, hashing and writing (``encoding.encode_lines``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from itertools import repeat
from operator import is_, itemgetter
from typing import TYPE_CHECKING, Any

from ledger.encoding import Prepared, check_lines, encode_middles, utc_timestamp
from ledger.errors import InvalidEvent

if TYPE_CHECKING:
    from schemas import NewEvent

ENVELOPE_FIELDS = frozenset({"type", "data", "batch", "key", "cause"})
# ``check_events`` sizes lines as if numbered this high: no ledger reaches it.
_CHECK_SEQ = 10**15

# (type, data, batch, key, cause) of one event, checked.
Envelope = tuple[str, Any, "str | None", "str | None", "int | None"]


def prepare(
    events: Sequence[NewEvent | Mapping[str, Any]],
    offset: int = 0,
    finite: bool = False,
    data_texts: Sequence[bytes | None] | None = None,
) -> list[Prepared]:
    """Validate events and encode their payloads; the parts needing a seq come later.

    ``offset`` is the position of ``events[0]`` in the caller's whole call, for messages.
    ``finite``: the payloads hold no NaN or infinite float (parsed from JSON text), so the
    look for them is skipped (``schemas.validate_fields``). ``data_texts``: for each event,
    the canonical encoding of its ``data`` object if known (``ParsedEvents.take_data_texts``),
    or None; used when that very object is the payload stored (a free-form event).

    Raises:
        InvalidEvent: naming the 1-based index of the first refused event and the field.
    """
    try:
        return _prepare(events, finite, data_texts)
    except InvalidEvent as e:
        if offset and e.index is not None:
            raise e.moved(e.index + offset) from e
        raise


def check_events(events: Sequence[NewEvent | Mapping[str, Any]]) -> None:
    """Raise what ``Ledger.append`` would for ``events``, without writing: for a caller that
    must know before its first write that a later one will be accepted. A ``cause`` is not
    checked (it names seqs known only at commit); sizes are checked for any seq.

    Raises:
        InvalidEvent: naming the 1-based index of the first refused event and the field.
    """
    prepared = prepare(events)
    check_lines([(None, middle) for _, middle in prepared], _CHECK_SEQ, utc_timestamp())


def _prepare(
    events: Sequence[Any], finite: bool, data_texts: Sequence[bytes | None] | None
) -> list[Prepared]:
    envelopes = _plain_envelopes(events)
    if envelopes is None:
        envelopes = [_envelope(i, event) for i, event in enumerate(events)]
    kinds = list(map(itemgetter(0), envelopes))
    if len(set(kinds)) == 1:  # the common case: one type, no regrouping
        return _prepare_type(kinds[0], envelopes, list(range(len(envelopes))), finite, data_texts)
    by_type: dict[str, list[int]] = {}
    for index, kind in enumerate(kinds):
        by_type.setdefault(kind, []).append(index)
    prepared: list[Prepared] = [(None, b"")] * len(envelopes)
    for kind, indexes in by_type.items():
        typed = _prepare_type(kind, envelopes, indexes, finite, data_texts)
        for index, one in zip(indexes, typed, strict=True):
            prepared[index] = one
    return prepared


def _prepare_type(
    kind: str,
    envelopes: list[Envelope],
    indexes: list[int],
    finite: bool,
    data_texts: Sequence[bytes | None] | None,
) -> list[Prepared]:
    """Validate and encode the events at ``indexes``, all of type ``kind``."""
    from schemas import SchemaError, validate_fields, version_for

    whole = len(indexes) == len(envelopes)
    group = envelopes if whole else [envelopes[i] for i in indexes]
    data = [envelope[1] for envelope in group]
    try:
        version = version_for(kind)
        validated = validate_fields(kind, data, finite)
    except SchemaError:
        _raise_first_invalid(envelopes)
        raise
    texts = None
    # A known encoding is of the input object: it is the payload's only if that is stored.
    if data_texts is not None and all(map(is_, validated, data)):
        texts = data_texts if whole else [data_texts[i] for i in indexes]
    try:
        return encode_middles(kind, version, group, validated, texts)
    except InvalidEvent as e:
        assert e.index is not None
        raise e.moved(indexes[e.index], f"({shown(kind)}) ") from e


_NO_DATA: dict[str, Any] = {}
_TEXT_OR_NONE = {str, type(None)}


def _plain_envelopes(events: Sequence[Any]) -> list[Envelope] | None:
    """The envelopes of ``events`` when all are plain dicts with valid envelope fields and no
    ``cause`` (the usual bulk input), checked a field at a time over all of them; None
    otherwise (``_envelope`` then checks each, naming the first refused)."""
    if not events or set(map(type, events)) != {dict}:
        return None
    if not all(map(ENVELOPE_FIELDS.issuperset, events)):
        return None
    get = dict.get
    kinds: list[Any] = list(map(get, events, repeat("type")))
    batches = list(map(get, events, repeat("batch")))
    keys = list(map(get, events, repeat("key")))
    if (
        set(map(type, kinds)) != {str}
        or not all(kinds)
        or not set(map(type, batches)) <= _TEXT_OR_NONE
        or not set(map(type, keys)) <= _TEXT_OR_NONE
        or list(map(get, events, repeat("cause"))).count(None) != len(events)
    ):
        return None
    data = list(map(get, events, repeat("data"), repeat(_NO_DATA)))
    envelopes: list[Envelope] = list(zip(kinds, data, batches, keys, repeat(None), strict=False))
    return envelopes


def _envelope(index: int, event: Any) -> Envelope:
    """The envelope fields of a ``NewEvent`` or a plain mapping, checked."""
    if type(event) is not dict:
        if isinstance(event, _new_event_type()):
            return event.type, event.data, event.batch, event.key, event.cause
        if not isinstance(event, Mapping):
            raise InvalidEvent.at(index, f"expected an object, got {type(event).__name__}")
        event = dict(event)
    if not event.keys() <= ENVELOPE_FIELDS:
        unknown = sorted(event.keys() - ENVELOPE_FIELDS)[0]
        raise InvalidEvent.at(index, f"unknown field {unknown!r}", unknown)
    kind = event.get("type")
    batch, key, cause = event.get("batch"), event.get("key"), event.get("cause")
    if type(kind) is not str or not kind:
        raise InvalidEvent.at(index, "field 'type' must be a non-empty string", "type")
    if (batch is not None and type(batch) is not str) or (key is not None and type(key) is not str):
        name = "batch" if batch is not None and type(batch) is not str else "key"
        raise InvalidEvent.at(index, f"field {name!r} must be a string or null", name)
    if cause is not None and (type(cause) is not int or cause < 1):
        raise InvalidEvent.at(index, "field 'cause' must be a positive seq or null", "cause")
    return kind, event.get("data", {}), batch, key, cause


def shown(text: str) -> str:
    """``text`` as a message shows it: quoted and escaped when it holds control characters,
    so that a type such as ``"x.a\\nb"`` stays on the message's one line."""
    return text if text.isprintable() else repr(text)


@cache
def _new_event_type() -> type[NewEvent]:
    """``schemas.NewEvent``, imported once: an import statement per event costs ~0.4 us."""
    from schemas import NewEvent

    return NewEvent


def _raise_first_invalid(envelopes: list[Envelope]) -> None:
    """Find the first refused event in call order and raise naming it."""
    from schemas import SchemaError, validate_payloads, version_for

    for index, (kind, data, *_rest) in enumerate(envelopes):
        try:
            version_for(kind)
            validate_payloads(kind, [data])
        except SchemaError as e:
            raise InvalidEvent.at(index, f"({shown(kind)}) {e}", "data") from e
