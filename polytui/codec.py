"""Engine events and domain objects ⇄ JSON, for the control socket and `polytui status --json`.

Money and prices travel as decimal strings (never binary floats), datetimes as ISO-8601 with
their UTC offset, enums as their values, tuples as arrays. Decoding is driven by the dataclass
type hints, so an attached client gets back the same frozen objects the engine published and the
TUI cannot tell a remote engine from a hosted one.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from polytui import events as ev


class CodecError(ValueError):
    """A JSON value that does not decode into the expected type (the message says where)."""


# Every event class the engine can publish, by name. Only these names are decoded.
EVENT_TYPES: dict[str, type[ev.Event]] = {
    cls.__name__: cls
    for cls in vars(ev).values()
    if isinstance(cls, type) and issubclass(cls, ev.Event) and cls is not ev.Event
}


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot encode a {type(value).__name__}")


def dumps(obj: Any) -> bytes:
    """One compact JSON line (with its newline); Decimals become strings."""
    # orjson encodes dataclasses, enums and datetimes natively and hands us every Decimal.
    return orjson.dumps(obj, default=_default, option=orjson.OPT_APPEND_NEWLINE)


def to_plain(obj: Any) -> Any:
    """The JSON-ready form of ``obj`` (dicts, lists, strings, numbers)."""
    return orjson.loads(orjson.dumps(obj, default=_default))


def encode_event(event: ev.Event) -> dict[str, Any]:
    """``{"type": "event", "event": <class name>, "data": {...}}`` for the socket."""
    return {"type": "event", "event": type(event).__name__, "data": event}


def decode_event(name: str, data: Any) -> ev.Event:
    """The event ``name`` built from its JSON ``data``."""
    cls = EVENT_TYPES.get(name)
    if cls is None:
        raise CodecError(f"unknown event {name!r}")
    event: ev.Event = decode(cls, data)
    return event


def decode_snapshot(data: Any) -> ev.Snapshot:
    """A :class:`polytui.events.Snapshot` from its JSON form."""
    snapshot: ev.Snapshot = decode(ev.Snapshot, data)
    return snapshot


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(hint: Any, value: Any, where: str = "") -> Any:
    """Build a value of type ``hint`` (a dataclass, enum, Decimal, container…) from JSON."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        return decode(options[0], value, where)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _decode_dataclass(hint, value, where)
    if origin is tuple:
        items = _expect(list, value, where)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(items))
        return tuple(
            decode(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, items, strict=True))
        )
    if origin is list:
        return [
            decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(_expect(list, value, where))
        ]
    if origin is dict:
        table = _expect(dict, value, where)
        return {str(k): decode(args[1], v, f"{where}.{k}") for k, v in table.items()}
    if hint is Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise CodecError(f"{where or 'value'}: expected a decimal string, got {value!r:.40}")
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise CodecError(f"{where or 'value'}: not a number: {value!r:.40}") from None
    if hint is datetime:
        try:
            return datetime.fromisoformat(_expect(str, value, where))
        except ValueError:
            raise CodecError(f"{where or 'value'}: not an ISO-8601 time: {value!r:.40}") from None
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            raise CodecError(
                f"{where or 'value'}: {value!r:.40} is not a {hint.__name__}"
            ) from None
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CodecError(f"{where or 'value'}: expected a number, got {value!r:.40}")
        return float(value)
    if hint is int or hint is str or hint is bool:
        return _expect(hint, value, where)
    if hint is object or hint is Any:
        return value
    raise CodecError(f"{where or 'value'}: cannot decode type {hint!r}")


def _expect(kind: type, value: Any, where: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CodecError(f"{where or 'value'}: expected {kind.__name__}, got {value!r:.40}")
    return value


def _decode_dataclass(cls: type, value: Any, where: str) -> Any:
    table = _expect(dict, value, where or cls.__name__)
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in table:
            values[f.name] = decode(
                hints[f.name], table[f.name], f"{where or cls.__name__}.{f.name}"
            )
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise CodecError(f"{where or cls.__name__}: missing {f.name!r}")
    return cls(**values)
