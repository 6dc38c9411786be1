"""The stream schemas cover every member of the installed SDKs' models, with matching types.

These fail when a new botocore or tencentcloud-sdk-python-tat release adds a member the
schema lacks, so an upgrade cannot silently drop a field.
"""

from __future__ import annotations

import inspect
import re
import typing as t

import botocore.session
import pytest
from tencentcloud.tat.v20201028 import models as tat_models

from tap_cloudcommands.schemas import SSM_COMMAND_SCHEMA, TAT_COMMAND_SCHEMA

BOTOCORE_TYPES = {
    "string": "string",
    "integer": "integer",
    "long": "integer",
    "boolean": "boolean",
    "double": "number",
    "float": "number",
    "timestamp": "string",
    "structure": "object",
    "list": "array",
    "map": "object",
}
TAT_SCALAR_TYPES = {"str": "string", "int": "integer", "bool": "boolean", "float": "number"}


def json_types(schema: dict[str, t.Any]) -> set[str]:
    declared = schema.get("type", [])
    return {declared} if isinstance(declared, str) else set(declared)


def botocore_mismatches(shape: t.Any, schema: dict[str, t.Any], path: str) -> list[str]:
    problems = []
    expected = BOTOCORE_TYPES[shape.type_name]
    if expected not in json_types(schema):
        problems.append(f"{path}: botocore {shape.type_name}, schema {schema.get('type')}")
        return problems
    if shape.type_name == "timestamp" and schema.get("format") != "date-time":
        problems.append(f"{path}: timestamp without format date-time")
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            if name not in schema.get("properties", {}):
                problems.append(f"{path}.{name}: missing from the schema")
            else:
                problems += botocore_mismatches(
                    member, schema["properties"][name], f"{path}.{name}"
                )
    elif shape.type_name == "list":
        problems += botocore_mismatches(shape.member, schema["items"], f"{path}[]")
    elif shape.type_name == "map":
        additional = schema.get("additionalProperties")
        if not isinstance(additional, dict):
            problems.append(f"{path}: map without typed additionalProperties")
        else:
            problems += botocore_mismatches(shape.value, additional, f"{path}{{}}")
    return problems


def tat_attribute_types(model: type) -> dict[str, str]:
    """Attribute name -> ':type' text, read from the model's own docstring."""
    doc = inspect.getdoc(model.__init__) or ""
    return dict(re.findall(r":type (\w+): ([^\n]+)", doc))


def tat_mismatches(model: type, schema: dict[str, t.Any], path: str) -> list[str]:
    problems = []
    attributes = [name[1:] for name in vars(model())]
    types = tat_attribute_types(model)
    assert attributes, f"{model.__name__} has no attributes: the SDK changed shape"
    for name in attributes:
        prop = schema.get("properties", {}).get(name)
        if prop is None:
            problems.append(f"{path}.{name}: missing from the schema")
            continue
        declared = types.get(name, "")
        list_of = declared.startswith("list of ")
        element = declared.removeprefix("list of ").strip()
        if list_of:
            if "array" not in json_types(prop):
                problems.append(f"{path}.{name}: SDK {declared}, schema {prop.get('type')}")
                continue
            prop = prop["items"]
        nested = getattr(tat_models, element, None)
        if inspect.isclass(nested):
            if "object" not in json_types(prop):
                problems.append(f"{path}.{name}: SDK {declared}, schema {prop.get('type')}")
            else:
                problems += tat_mismatches(nested, prop, f"{path}.{name}")
        elif TAT_SCALAR_TYPES.get(element) not in json_types(prop):
            problems.append(f"{path}.{name}: SDK {declared!r}, schema {prop.get('type')}")
    return problems


def test_ssm_schema_covers_botocore_command_shape():
    shape = botocore.session.get_session().get_service_model("ssm").shape_for("Command")
    assert len(shape.members) >= 25
    assert botocore_mismatches(shape, SSM_COMMAND_SCHEMA, "Command") == []


def test_tat_schema_covers_sdk_command_model():
    assert tat_mismatches(tat_models.Command, TAT_COMMAND_SCHEMA, "Command") == []


@pytest.mark.parametrize("schema", [SSM_COMMAND_SCHEMA, TAT_COMMAND_SCHEMA])
def test_schemas_carry_region_and_their_keys(schema):
    assert {"Region", "CommandId"} <= set(schema["required"])


def test_coverage_check_fails_on_a_missing_member():
    """The checker itself can fail: drop one member and one nested member."""
    shape = botocore.session.get_session().get_service_model("ssm").shape_for("Command")
    trimmed = {**SSM_COMMAND_SCHEMA, "properties": dict(SSM_COMMAND_SCHEMA["properties"])}
    del trimmed["properties"]["TriggeredAlarms"]
    cloudwatch = dict(trimmed["properties"]["CloudWatchOutputConfig"])
    cloudwatch["properties"] = {"CloudWatchLogGroupName": {"type": ["string", "null"]}}
    trimmed["properties"]["CloudWatchOutputConfig"] = cloudwatch
    assert botocore_mismatches(shape, trimmed, "Command") == [
        "Command.CloudWatchOutputConfig.CloudWatchOutputEnabled: missing from the schema",
        "Command.TriggeredAlarms: missing from the schema",
    ]
    tat_trimmed = {**TAT_COMMAND_SCHEMA, "properties": dict(TAT_COMMAND_SCHEMA["properties"])}
    tat_trimmed["properties"]["Timeout"] = {"type": ["string", "null"]}
    assert tat_mismatches(tat_models.Command, tat_trimmed, "Command") == [
        "Command.Timeout: SDK 'int', schema ['string', 'null']"
    ]
