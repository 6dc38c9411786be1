"""Make API objects fit their stream schema, whatever types the API (or a proxy) sends.

A value of the wrong type is converted when the meaning is plain ("60" for an integer,
"true" for a boolean, 5 for a string) and otherwise replaced by null, so a record always
matches its schema and a target never rejects a batch. Each conformer is compiled once per
schema: the per-record cost is a few isinstance checks.
"""

from __future__ import annotations

import typing as t

MISSING = object()


class Findings:
    """What conforming one record changed: values nulled, and fields the schema lacks."""

    __slots__ = ("dropped", "problems")

    def __init__(self) -> None:
        """Start empty."""
        self.problems: list[str] = []
        self.dropped: list[str] = []


Conformer = t.Callable[[t.Any, Findings, str], t.Any]


def _types(schema: dict[str, t.Any]) -> set[str]:
    declared = schema.get("type", [])
    return {declared} if isinstance(declared, str) else set(declared)


def _to_integer(value: t.Any) -> t.Any:  # noqa: ANN401
    if isinstance(value, bool):
        return MISSING
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return MISSING
    return MISSING


def _to_number(value: t.Any) -> t.Any:  # noqa: ANN401
    if isinstance(value, bool):
        return MISSING
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return MISSING
    return MISSING


def _to_boolean(value: t.Any) -> t.Any:  # noqa: ANN401
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return MISSING


def _to_string(value: t.Any) -> t.Any:  # noqa: ANN401
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return MISSING


SCALARS: dict[str, t.Callable[[t.Any], t.Any]] = {
    "integer": _to_integer,
    "number": _to_number,
    "boolean": _to_boolean,
    "string": _to_string,
}


def compile_conformer(schema: dict[str, t.Any]) -> Conformer:
    """Build a function that conforms one value to ``schema``.

    Args:
        schema: A JSON schema as the SDK's typing helpers produce.

    Returns:
        ``conform(value, findings, path)``: the conformed value (None when it cannot be
        made to fit); each replaced value adds a line to ``findings.problems`` and each
        field the schema does not allow is removed and named in ``findings.dropped``.
    """
    types = _types(schema)
    if "object" in types:
        return _object_conformer(schema)
    if "array" in types:
        return _array_conformer(schema)
    convert = next((SCALARS[name] for name in SCALARS if name in types), None)

    def conform_scalar(value: t.Any, findings: Findings, path: str) -> t.Any:  # noqa: ANN401
        if value is None or convert is None:
            return value
        converted = convert(value)
        if converted is MISSING:
            findings.problems.append(
                f"{path}: {type(value).__name__} {value!r:.40} is not {sorted(types)}"
            )
            return None
        return converted

    return conform_scalar


def _object_conformer(schema: dict[str, t.Any]) -> Conformer:
    properties = {
        name: compile_conformer(spec) for name, spec in schema.get("properties", {}).items()
    }
    extra = schema.get("additionalProperties")
    conform_extra = compile_conformer(extra) if isinstance(extra, dict) else None

    def conform_object(value: t.Any, findings: Findings, path: str) -> t.Any:  # noqa: ANN401
        if value is None:
            return None
        if not isinstance(value, dict):
            findings.problems.append(f"{path}: {type(value).__name__} is not an object")
            return None
        for name in [name for name in value if name not in properties]:
            if not extra:
                del value[name]
                findings.dropped.append(f"{path}.{name}")
        for name, item in value.items():
            conform_item = properties.get(name, conform_extra)
            if conform_item is not None and item is not None:
                value[name] = conform_item(item, findings, f"{path}.{name}")
        return value

    return conform_object


def _array_conformer(schema: dict[str, t.Any]) -> Conformer:
    conform_item = compile_conformer(schema.get("items", {}))

    def conform_array(value: t.Any, findings: Findings, path: str) -> t.Any:  # noqa: ANN401
        if value is None:
            return None
        if not isinstance(value, list):
            findings.problems.append(f"{path}: {type(value).__name__} is not an array")
            return None
        conformed = [conform_item(item, findings, f"{path}[]") for item in value]
        kept = [item for item in conformed if item is not None]
        if len(kept) != len(conformed):
            findings.problems.append(
                f"{path}: {len(conformed) - len(kept)} unusable item(s) dropped"
            )
        return kept

    return conform_array
