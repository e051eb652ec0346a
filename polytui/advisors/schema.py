"""The answer schemas, a strict validator for them, and the portable form sent on the wire.

A model's JSON is checked here against the full schema (types, required keys, no extra keys,
enums, numeric bounds, lengths); the copy sent to the SDKs keeps only what both structured-output
dialects accept (types, properties, required, enum, additionalProperties false), so a bound a
server would not enforce is still enforced by us. Numbers are parsed as Decimal, never float.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

# Keywords the strict structured-output modes do not all accept; enforced locally only.
LOCAL_ONLY = ("minimum", "maximum", "maxLength", "minLength", "maxItems", "minItems")

OPINION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "probability": {"type": "number", "minimum": 0, "maximum": 1},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "rationale": {"type": "string", "minLength": 1, "maxLength": 800},
    },
    "required": ["probability", "confidence", "rationale"],
    "additionalProperties": False,
}

EVIDENCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": ["number", "trade"]},
        # A number: the fact's key in the profile table; a trade: its trade id.
        "ref": {"type": "string", "minLength": 1, "maxLength": 80},
        # A number as the claim reads it (checked against the fact); a trade: "".
        "value": {"type": "string", "maxLength": 40},
    },
    "required": ["kind", "ref", "value"],
    "additionalProperties": False,
}

PLAYBOOK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        # No free summary: everything the playbook says is a claim with its evidence.
        "claims": {
            "type": "array",
            "maxItems": 12,
            "items": {
                "type": "object",
                "properties": {
                    "text": {"type": "string", "minLength": 1, "maxLength": 400},
                    "evidence": {"type": "array", "maxItems": 8, "items": EVIDENCE_SCHEMA},
                },
                "required": ["text", "evidence"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["claims"],
    "additionalProperties": False,
}


class SchemaError(ValueError):
    """The answer's JSON does not have the schema's shape (the message names the path)."""


def wire_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without the keywords only checked locally."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in LOCAL_ONLY:
            continue
        if key == "properties":
            out[key] = {name: wire_schema(sub) for name, sub in value.items()}
        elif key == "items":
            out[key] = wire_schema(value)
        else:
            out[key] = value
    return out


def parse_json(text: str) -> Any:
    """The answer's JSON (numbers as Decimal); ValueError when it is not JSON."""
    stripped = text.strip()
    if stripped.startswith("```"):
        # Some local servers wrap JSON mode output in a fence; the content is what counts.
        stripped = stripped.strip("`").removeprefix("json").strip()
    return json.loads(stripped, parse_float=Decimal, parse_int=Decimal)


def validate(value: Any, schema: dict[str, Any], path: str = "$") -> None:
    """Raise :class:`SchemaError` unless ``value`` matches ``schema``."""
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            raise SchemaError(f"{path}: expected an object")
        props: dict[str, Any] = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                raise SchemaError(f"{path}.{name}: missing")
        if schema.get("additionalProperties") is False:
            extra = sorted(set(value) - set(props))
            if extra:
                raise SchemaError(f"{path}.{extra[0]}: not in the schema")
        for name, sub in props.items():
            if name in value:
                validate(value[name], sub, f"{path}.{name}")
    elif kind == "array":
        if not isinstance(value, list):
            raise SchemaError(f"{path}: expected an array")
        _bound(len(value), schema.get("minItems"), schema.get("maxItems"), path, "items")
        for i, item in enumerate(value):
            validate(item, schema["items"], f"{path}[{i}]")
    elif kind == "string":
        if not isinstance(value, str):
            raise SchemaError(f"{path}: expected a string")
        _bound(len(value), schema.get("minLength"), schema.get("maxLength"), path, "characters")
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise SchemaError(f"{path}: expected a number")
        number = Decimal(value)
        if not number.is_finite():
            raise SchemaError(f"{path}: not a finite number")
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and number < low) or (high is not None and number > high):
            raise SchemaError(f"{path}: {number} outside [{low}, {high}]")
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaError(f"{path}: {value!r} is not one of {schema['enum']}")


def _bound(n: int, low: int | None, high: int | None, path: str, unit: str) -> None:
    if low is not None and n < low:
        raise SchemaError(f"{path}: fewer than {low} {unit}")
    if high is not None and n > high:
        raise SchemaError(f"{path}: more than {high} {unit}")
