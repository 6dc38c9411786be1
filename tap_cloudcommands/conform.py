"""Make API objects fit their stream schema, whatever types the API (or a proxy) sends.

A value of the wrong type is converted when the meaning is plain ("60" for an integer,
"true" for a boolean, 5 for a string) and otherwise replaced by null, so a record always
matches its schema and a target never rejects a batch. Fields the schema does not allow
are removed. Each conformer is compiled once per schema; a value of the right type costs
one ``type(value) in ...`` check.

Almost every record already fits, so :func:`compile_fit_check` first asks msgspec (in C)
whether it does; only a record that does not goes through the Python conformer.
"""

from __future__ import annotations

import typing as t

import msgspec

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
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return MISSING
    return MISSING


def _to_number(value: t.Any) -> t.Any:  # noqa: ANN401
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return MISSING
    return MISSING


def _to_boolean(value: t.Any) -> t.Any:  # noqa: ANN401
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return MISSING


def _to_string(value: t.Any) -> t.Any:  # noqa: ANN401
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return MISSING


# JSON type -> (Python types that already fit, exactly; conversion for anything else).
# Exact types: bool is not an integer here, as it is not in JSON.
SCALARS: dict[str, tuple[frozenset[type], t.Callable[[t.Any], t.Any]]] = {
    "integer": (frozenset({int}), _to_integer),
    "number": (frozenset({int, float}), _to_number),
    "boolean": (frozenset({bool}), _to_boolean),
    "string": (frozenset({str}), _to_string),
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
    scalar = next((SCALARS[name] for name in SCALARS if name in types), None)
    if scalar is None:
        return lambda value, _findings, _path: value
    fits, convert = scalar
    expected = sorted(types)

    def conform_scalar(value: t.Any, findings: Findings, path: str) -> t.Any:  # noqa: ANN401
        if value is None or type(value) in fits:
            return value
        converted = convert(value)
        if converted is MISSING:
            # The type only: the value may be a command's text or parameters.
            findings.problems.append(f"{path}: {type(value).__name__} is not {expected}")
            return None
        return converted

    return conform_scalar


def _fits(schema: dict[str, t.Any]) -> frozenset[type]:
    """Python types that fit a scalar schema as they are (empty for containers)."""
    types = _types(schema)
    if types & {"object", "array"}:
        return frozenset()
    return next((SCALARS[name][0] for name in SCALARS if name in types), frozenset())


def _object_conformer(schema: dict[str, t.Any]) -> Conformer:
    # Per field: the types that fit as they are, and the conformer for anything else.
    properties = {
        name: (_fits(spec), compile_conformer(spec))
        for name, spec in schema.get("properties", {}).items()
    }
    known = frozenset(properties)
    extra = schema.get("additionalProperties")
    extra_spec = (_fits(extra), compile_conformer(extra)) if isinstance(extra, dict) else None

    def conform_object(value: t.Any, findings: Findings, path: str) -> t.Any:  # noqa: ANN401
        if value is None:
            return None
        if type(value) is not dict:
            findings.problems.append(f"{path}: {type(value).__name__} is not an object")
            return None
        if not extra and not known.issuperset(value):
            for name in [name for name in value if name not in known]:
                del value[name]
                findings.dropped.append(f"{path}.{name}")
        for name, item in value.items():
            if item is None:
                continue
            spec = properties.get(name, extra_spec)
            if spec is not None and type(item) not in spec[0]:
                value[name] = spec[1](item, findings, f"{path}.{name}")
        return value

    return conform_object


def _array_conformer(schema: dict[str, t.Any]) -> Conformer:
    items = schema.get("items", {})
    conform_item = compile_conformer(items)
    item_types = _types(items)
    scalar_fits = next((SCALARS[name][0] for name in SCALARS if name in item_types), None)
    nullable = "null" in item_types

    def conform_array(value: t.Any, findings: Findings, path: str) -> t.Any:  # noqa: ANN401
        if value is None:
            return None
        if type(value) is not list:
            findings.problems.append(f"{path}: {type(value).__name__} is not an array")
            return None
        if scalar_fits is not None and all(type(item) in scalar_fits for item in value):
            return value
        conformed = [conform_item(item, findings, f"{path}[]") for item in value]
        kept = conformed if nullable else [item for item in conformed if item is not None]
        if len(kept) != len(conformed):
            findings.problems.append(
                f"{path}: {len(conformed) - len(kept)} unusable item(s) dropped"
            )
        return kept

    return conform_array


FitCheck = t.Callable[[t.Any], bool]

_MSGSPEC_SCALARS: dict[str, type] = {
    "integer": int,
    "number": float,
    "boolean": bool,
    "string": str,
}


def compile_fit_check(schema: dict[str, t.Any]) -> FitCheck:
    """Build a check that a record already fits ``schema`` exactly as the conformer wants.

    For values of the plain types ``json`` and botocore produce (dict, list, str, int,
    float, bool, None, which is all an API object holds), the check accepts only what
    :func:`compile_conformer` would leave unchanged: no field the schema lacks, every
    value of an exact type (no conversions), None only where the conformer keeps it
    (any field, or an item of a nullable array).

    Args:
        schema: A JSON schema as the SDK's typing helpers produce.

    Returns:
        ``fits(record)``: True when conforming it would change nothing.
    """
    expected = _msgspec_type(schema, "Record", top=True)

    def fits(record: t.Any) -> bool:  # noqa: ANN401
        try:
            msgspec.convert(record, expected, strict=True)
        except msgspec.ValidationError:
            return False
        return True

    return fits


def _msgspec_type(schema: dict[str, t.Any], name: str, *, top: bool = False) -> t.Any:  # noqa: ANN401
    types = _types(schema)
    nullable = "null" in types
    if "object" in types:
        kind = _msgspec_object(schema, name)
    elif "array" in types:
        kind = list[_msgspec_type(schema.get("items", {}), f"{name}Item")]  # type: ignore[misc]
    else:
        scalars = [_MSGSPEC_SCALARS[n] for n in _MSGSPEC_SCALARS if n in types]
        if not scalars:
            return t.Any
        kind = t.Union[tuple(scalars)]  # noqa: UP007 - built at run time
    return kind | None if nullable and not top else kind


def _msgspec_object(schema: dict[str, t.Any], name: str) -> t.Any:  # noqa: ANN401
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    if not properties and isinstance(extra, dict):
        return dict[str, _msgspec_type(extra, f"{name}Value")]  # type: ignore[misc]
    if not properties:
        return dict[str, t.Any]
    # Field names are the API's; msgspec gets safe attribute names renamed to them.
    # Any field may be None: the conformer keeps a null field whatever its type.
    fields = [
        (f"f{index}", _msgspec_type(spec, f"{name}{index}") | None, None)
        for index, spec in enumerate(properties.values())
    ]
    rename = {f"f{index}": field for index, field in enumerate(properties)}
    return msgspec.defstruct(
        name,
        fields,
        rename=rename,
        forbid_unknown_fields=not extra,
    )
