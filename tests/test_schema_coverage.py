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

from tap_cloudcommands.aws.schemas import SSM_COMMAND_INVOCATION_SCHEMA, SSM_COMMAND_SCHEMA
from tap_cloudcommands.tencent.schemas import (
    TAT_COMMAND_SCHEMA,
    TAT_INVOCATION_SCHEMA,
    TAT_INVOCATION_TASK_SCHEMA,
)

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
        # A nested model is written ":class:`tencentcloud.tat.v20201028.models.TaskResult`".
        if reference := re.fullmatch(r":class:`[\w.]*?(\w+)`", element):
            element = reference.group(1)
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


@pytest.mark.parametrize(
    ("shape_name", "schema", "at_least"),
    [
        ("Command", SSM_COMMAND_SCHEMA, 25),
        ("CommandInvocation", SSM_COMMAND_INVOCATION_SCHEMA, 16),
    ],
)
def test_ssm_schemas_cover_botocore_shapes(shape_name, schema, at_least):
    shape = botocore.session.get_session().get_service_model("ssm").shape_for(shape_name)
    assert len(shape.members) >= at_least
    assert botocore_mismatches(shape, schema, shape_name) == []


@pytest.mark.parametrize(
    ("model", "schema"),
    [
        (tat_models.Command, TAT_COMMAND_SCHEMA),
        (tat_models.Invocation, TAT_INVOCATION_SCHEMA),
        (tat_models.InvocationTask, TAT_INVOCATION_TASK_SCHEMA),
    ],
)
def test_tat_schemas_cover_sdk_models(model, schema):
    assert tat_mismatches(model, schema, model.__name__) == []


@pytest.mark.parametrize(
    ("schema", "keys"),
    [
        (SSM_COMMAND_SCHEMA, {"Region", "CommandId"}),
        (SSM_COMMAND_INVOCATION_SCHEMA, {"Region", "CommandId", "InstanceId"}),
        (TAT_COMMAND_SCHEMA, {"Region", "CommandId"}),
        (TAT_INVOCATION_SCHEMA, {"Region", "InvocationId"}),
        (TAT_INVOCATION_TASK_SCHEMA, {"Region", "InvocationTaskId"}),
    ],
)
def test_schemas_carry_region_and_their_keys(schema, keys):
    assert keys <= set(schema["required"])


def test_nested_models_are_checked_too():
    """TaskResult and CommandPlugins members are walked, not just top-level names."""
    trimmed = dict(TAT_INVOCATION_TASK_SCHEMA["properties"]["TaskResult"])
    trimmed["properties"] = {k: v for k, v in trimmed["properties"].items() if k != "ExecEndTime"}
    tasks = {
        **TAT_INVOCATION_TASK_SCHEMA,
        "properties": dict(TAT_INVOCATION_TASK_SCHEMA["properties"]),
    }
    tasks["properties"]["TaskResult"] = trimmed
    assert tat_mismatches(tat_models.InvocationTask, tasks, "InvocationTask") == [
        "InvocationTask.TaskResult.ExecEndTime: missing from the schema"
    ]
    shape = botocore.session.get_session().get_service_model("ssm").shape_for("CommandInvocation")
    plugins = dict(SSM_COMMAND_INVOCATION_SCHEMA["properties"]["CommandPlugins"])
    item = dict(plugins["items"])
    item["properties"] = {k: v for k, v in item["properties"].items() if k != "ResponseCode"}
    plugins["items"] = item
    invocations = {
        **SSM_COMMAND_INVOCATION_SCHEMA,
        "properties": {**SSM_COMMAND_INVOCATION_SCHEMA["properties"], "CommandPlugins": plugins},
    }
    assert botocore_mismatches(shape, invocations, "CommandInvocation") == [
        "CommandInvocation.CommandPlugins[].ResponseCode: missing from the schema"
    ]


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
