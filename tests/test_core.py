"""The SDK's standard tap tests, CLI discovery and about, assume role, and moto's SSM."""

from __future__ import annotations

import atexit
import datetime as dt
import json

import boto3
from singer_sdk.testing import get_tap_test_class

from tap_cloudcommands.settings import TAP_SETTING_NAMES
from tap_cloudcommands.tap import TapCloudCommands
from tests.conftest import AWS_REGIONS, TENCENT_REGIONS, emulator_config
from tests.emulators import (
    EMULATOR_AWS_ACCESS_KEY_ID,
    EMULATOR_TAT_SECRET_ID,
    EMULATOR_TAT_SECRET_KEY,
    SSMEmulator,
    TATEmulator,
    populate_ssm,
    populate_tat,
)
from tests.tap_runner import run_tap

# get_tap_test_class needs its config when the class is built, so these emulators live
# for the whole module run (stopped at interpreter exit).
_SDK_NOW = dt.datetime.now(dt.UTC)
_sdk_ssm = SSMEmulator().start()
_sdk_tat = TATEmulator(credentials={EMULATOR_TAT_SECRET_ID: EMULATOR_TAT_SECRET_KEY}).start()
atexit.register(_sdk_ssm.stop)
atexit.register(_sdk_tat.stop)
populate_ssm(_sdk_ssm, AWS_REGIONS, 60, now=_SDK_NOW, audit_events=True)
populate_tat(_sdk_tat, TENCENT_REGIONS, 60, now=_SDK_NOW, audit_events=True)

_SDK_AUDIT_ENDPOINTS = {
    "aws_cloudtrail_endpoint_url": _sdk_ssm.url,
    "tencent_cloudaudit_endpoint_url": _sdk_tat.url,
}
TestTapCloudCommands = get_tap_test_class(
    TapCloudCommands, config=emulator_config(_sdk_ssm, _sdk_tat) | _SDK_AUDIT_ENDPOINTS
)


STREAM_KEYS = {
    "ssm_commands": (["AccountId", "Region", "CommandId"], "RequestedDateTime"),
    "ssm_command_invocations": (
        ["AccountId", "Region", "CommandId", "InstanceId"],
        "RequestedDateTime",
    ),
    "tat_commands": (["AccountId", "Region", "CommandId"], "UpdatedTime"),
    "tat_invocations": (["AccountId", "Region", "InvocationId"], "UpdatedTime"),
    "tat_invocation_tasks": (["AccountId", "Region", "InvocationTaskId"], "UpdatedTime"),
    "aws_send_command_events": (["AccountId", "Region", "EventId"], "EventTime"),
    "tat_audit_events": (["AccountId", "Region", "EventId"], "EventTime"),
}
STREAM_NAMES = tuple(STREAM_KEYS)


def test_discover_lists_every_stream_with_keys(tmp_path, config):
    run = run_tap(tmp_path, config, args=["--discover"])

    assert run.returncode == 0, run.stderr
    catalog = json.loads(run.stdout)
    streams = {s["tap_stream_id"]: s for s in catalog["streams"]}
    assert set(streams) == set(STREAM_NAMES)
    for name, (keys, replication_key) in STREAM_KEYS.items():
        assert streams[name]["key_properties"] == keys
        assert streams[name]["replication_key"] == replication_key
        assert streams[name]["schema"]["properties"]["Region"]["type"] == ["string"]
    parameters = streams["ssm_commands"]["schema"]["properties"]["Parameters"]
    assert parameters["additionalProperties"]["type"] == "array"


def test_about_markdown_lists_every_setting_and_marks_secrets(tmp_path):
    run = run_tap(tmp_path, {}, args=["--about", "--format=markdown"])
    about_json = run_tap(tmp_path, {}, args=["--about", "--format=json"])

    assert run.returncode == 0, run.stderr
    settings = json.loads(about_json.stdout)["settings"]["properties"]
    for name in TAP_SETTING_NAMES:
        assert f"| {name} |" in run.stdout
    secrets = {name for name, spec in settings.items() if spec.get("secret")}
    assert secrets >= {
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "tencent_secret_id",
        "tencent_secret_key",
        "tencent_token",
    }


def catalog_selecting(tmp_path, config, *names):
    """The discovered catalog with only the named streams selected."""
    catalog = json.loads(run_tap(tmp_path, config, args=["--discover"]).stdout)
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] in names
    return catalog


def test_catalog_selection_syncs_only_selected_streams(tmp_path, ssm, tat, config):
    ssm.add_command("us-east-1", RequestedDateTime=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    tat.add_command("ap-guangzhou")
    catalog = catalog_selecting(tmp_path, config, "tat_commands")

    run = run_tap(tmp_path, config, catalog=catalog)

    assert run.returncode == 0, run.stderr
    assert set(run.records) == {"tat_commands"}
    assert ssm.calls == []


def test_a_deselected_property_is_left_out_of_every_record(tmp_path, ssm, config):
    """The SDK's pruning walk still runs when the catalog deselects a property."""
    ssm.add_command(
        "us-east-1",
        RequestedDateTime=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
        Comment="nightly patching",
    )
    catalog = catalog_selecting(tmp_path, config, "ssm_commands")
    [entry] = [s for s in catalog["streams"] if s["tap_stream_id"] == "ssm_commands"]
    for metadata in entry["metadata"]:
        if metadata["breadcrumb"] == ["properties", "Comment"]:
            metadata["metadata"]["selected"] = False

    run = run_tap(tmp_path, config, catalog=catalog)

    assert run.returncode == 0, run.stderr
    [record] = run.records["ssm_commands"]
    assert "Comment" not in record
    assert record["DocumentName"]
    [schema] = [m["schema"] for m in run.messages if m["type"] == "SCHEMA"]
    assert "Comment" not in schema["properties"]


def test_assume_role_signs_ssm_calls_with_the_role_credentials(tmp_path, ssm):
    ssm.valid_access_keys = {EMULATOR_AWS_ACCESS_KEY_ID}
    ssm.add_command("us-east-1", RequestedDateTime=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    role = "arn:aws:iam::123456789012:role/cloudcommands-reader"
    config = emulator_config(ssm, None) | {
        "aws_regions": ["us-east-1"],
        "aws_assume_role_arn": role,
        "aws_assume_role_external_id": "ext-4242",
        "aws_assume_role_session_name": "nightly-sync",
    }

    run = run_tap(tmp_path, config, env={"AWS_ENDPOINT_URL_STS": ssm.url})

    assert run.returncode == 0, run.stderr
    [assume] = ssm.calls_for("AssumeRole")
    assert assume.access_key_id == EMULATOR_AWS_ACCESS_KEY_ID
    assert assume.params["RoleArn"] == role
    assert assume.params["ExternalId"] == "ext-4242"
    assert assume.params["RoleSessionName"] == "nightly-sync"
    [listing] = ssm.calls_for("ListCommands")
    assert listing.access_key_id != EMULATOR_AWS_ACCESS_KEY_ID
    assert listing.access_key_id.startswith("ASIA")
    assert listing.session_token
    assert len(run.ids("ssm_commands")) == 1


def test_assume_role_denied_is_a_clear_error(tmp_path, ssm):
    ssm.assume_role_denied = True
    config = emulator_config(ssm, None) | {
        "aws_regions": ["us-east-1"],
        "aws_assume_role_arn": "arn:aws:iam::123456789012:role/not-for-you",
    }

    run = run_tap(tmp_path, config, env={"AWS_ENDPOINT_URL_STS": ssm.url})

    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert "AccessDenied" in last
    assert "us-east-1" in last
    assert ssm.calls_for("ListCommands") == []


def test_default_credential_chains_are_used_without_explicit_keys(tmp_path, ssm, tat):
    ssm.valid_access_keys = {"AKIAFROMENVIRONMENT0"}
    ssm.add_command("us-east-1", RequestedDateTime=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    tat.add_command("ap-guangzhou")
    config = {
        "aws_regions": ["us-east-1"],
        "aws_endpoint_url": ssm.url,
        "aws_sts_endpoint_url": ssm.url,
        "tencent_regions": ["ap-guangzhou"],
        "tencent_endpoint_url": tat.url,
        "tencent_sts_endpoint_url": tat.url,
    }
    env = {
        "AWS_ACCESS_KEY_ID": "AKIAFROMENVIRONMENT0",
        "AWS_SECRET_ACCESS_KEY": "from-env-secret",
        "TENCENTCLOUD_SECRET_ID": EMULATOR_TAT_SECRET_ID,
        "TENCENTCLOUD_SECRET_KEY": EMULATOR_TAT_SECRET_KEY,
    }

    run = run_tap(tmp_path, config, env=env)

    assert run.returncode == 0, run.stderr
    assert len(run.ids("ssm_commands")) == 1
    assert len(run.ids("tat_commands")) == 1
    assert {c.access_key_id for c in ssm.calls_for("ListCommands")} == {"AKIAFROMENVIRONMENT0"}


def test_wire_compatible_with_motos_ssm_server(tmp_path, moto_server):
    """The tap reads commands sent through moto's SSM server.

    moto 5.2.5 ignores ListCommands' filters (InvokedAfter included) and pagination, and
    reports every command as Success: this checks the wire format and the tap's own
    client-side drop of commands older than the bookmark, nothing moto does not do.
    """
    client = boto3.client(
        "ssm",
        region_name="us-east-1",
        endpoint_url=moto_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    before = client.send_command(
        InstanceIds=["i-0123456789abcdef0"],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["uptime"]},
    )["Command"]
    after = client.send_command(
        InstanceIds=["i-0123456789abcdef0"],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["whoami"]},
    )["Command"]
    config = {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "aws_regions": ["us-east-1"],
        "aws_endpoint_url": moto_server,
        "aws_sts_endpoint_url": moto_server,
    }
    # moto 5.2.5 does not implement ListCommandInvocations (HTTP 500).
    catalog = catalog_selecting(tmp_path, config, "ssm_commands")

    full = run_tap(tmp_path, config, catalog=catalog)

    assert full.returncode == 0, full.stderr
    records = {r["CommandId"]: r for r in full.records["ssm_commands"]}
    assert set(records) == {before["CommandId"], after["CommandId"]}
    assert records[after["CommandId"]]["Parameters"] == {"commands": ["whoami"]}
    assert records[after["CommandId"]]["RequestedDateTime"].endswith("+00:00")

    # A bookmark between the two: moto still returns both; the tap drops the older one.
    later = dt.datetime.fromisoformat(records[after["CommandId"]]["RequestedDateTime"])
    earlier = dt.datetime.fromisoformat(records[before["CommandId"]]["RequestedDateTime"])
    if later > earlier:
        state = {
            "bookmarks": {
                "ssm_commands": {
                    "partitions": [
                        {
                            "context": {"Region": "us-east-1"},
                            "replication_key": "RequestedDateTime",
                            "replication_key_value": records[after["CommandId"]][
                                "RequestedDateTime"
                            ],
                        }
                    ]
                }
            }
        }
        incremental = run_tap(tmp_path, config, state=state, catalog=catalog)
        assert incremental.returncode == 0, incremental.stderr
        assert incremental.ids("ssm_commands") == [after["CommandId"]]


def test_sample_config_names_every_setting_and_is_valid_json():
    from pathlib import Path

    sample = json.loads((Path(__file__).parents[1] / "sample_config.json").read_text())
    assert set(sample) == set(TAP_SETTING_NAMES)


def test_meltano_yml_declares_every_setting_and_marks_secrets_sensitive():
    from pathlib import Path

    import yaml

    project = yaml.safe_load((Path(__file__).parents[1] / "meltano.yml").read_text())
    [extractor] = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-cloudcommands"]
    declared = {s["name"]: s for s in extractor["settings"]}
    schema = TapCloudCommands.config_jsonschema["properties"]
    # stream_maps is the SDK's own setting, declared so the hashed-secrets example works.
    assert set(declared) == {*TAP_SETTING_NAMES, "stream_maps"}
    for name in TAP_SETTING_NAMES:
        spec = schema[name]
        assert declared[name].get("sensitive", False) == bool(spec.get("secret")), name
    assert set(extractor["select"]) == {f"{name}.*" for name in STREAM_NAMES}


def test_readme_settings_table_is_the_about_output(tmp_path):
    from pathlib import Path

    about = run_tap(tmp_path, {}, args=["--about", "--format=markdown"]).stdout
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for name in TAP_SETTING_NAMES:
        [row] = [line for line in about.splitlines() if line.startswith(f"| {name} |")]
        assert row in readme.splitlines(), f"README settings row for {name} is stale"


def test_assume_role_goes_to_the_configured_sts_endpoint_only(tmp_path, ssm):
    ssm.add_command("us-east-1", RequestedDateTime=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    config = emulator_config(ssm, None) | {
        "aws_regions": ["us-east-1"],
        "aws_assume_role_arn": "arn:aws:iam::123456789012:role/cloudcommands-reader",
        "aws_sts_endpoint_url": ssm.url,
    }

    # No AWS_ENDPOINT_URL_STS in the environment: the setting alone routes STS.
    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr
    assert len(ssm.calls_for("AssumeRole")) == 1
    assert len(run.ids("ssm_commands")) == 1


def test_a_role_with_an_endpoint_but_no_sts_endpoint_is_refused_before_any_call(tmp_path, ssm):
    config = emulator_config(ssm, None) | {
        "aws_regions": ["us-east-1"],
        "aws_assume_role_arn": "arn:aws:iam::123456789012:role/cloudcommands-reader",
    }
    del config["aws_sts_endpoint_url"]

    run = run_tap(tmp_path, config)

    assert run.returncode != 0
    assert [line for line in run.error_lines() if "aws_sts_endpoint_url" in line], run.stderr
    assert ssm.calls == []
    assert run.messages == []
