"""The emulators speak the real protocols: proven with the real boto3 and Tencent SDK clients.

Everything runs on 127.0.0.1. Retry back-off sleeps are patched to zero so the
retry tests stay fast while still going through botocore's real retry logic.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.retries.standard
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from tencentcloud.common import abstract_client, credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.tat.v20201028 import models as tat_models
from tencentcloud.tat.v20201028 import tat_client as tat_sdk

from tests.emulators import (
    EMULATOR_AWS_ACCESS_KEY_ID,
    EMULATOR_AWS_SECRET_ACCESS_KEY,
    EMULATOR_TAT_SECRET_ID,
    EMULATOR_TAT_SECRET_KEY,
    Fault,
    SSMEmulator,
    TATEmulator,
    populate_ssm,
    populate_tat,
)
from tests.emulators.ssm_list import encode_token
from tests.emulators.ssm_list import parse_list_query as parse_ssm_query
from tests.emulators.tat_model import COMMAND_FIELDS as TAT_COMMAND_FIELDS

REPO_ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
GUANGZHOU = "ap-guangzhou"
SINGAPORE = "ap-singapore"
ROLE_ARN = "arn:aws:iam::123456789012:role/tap-reader"
# One loader for every session: parsing the service models again per client costs ~0.1 s.
SHARED_LOADER = botocore.loaders.create_loader()
pytestmark = pytest.mark.usefixtures("isolated_sdk_environment")


# --------------------------------------------------------------------------- fixtures
def aws_session(**kwargs: Any) -> boto3.session.Session:
    """A fresh boto3 session (fresh config and environment) sharing the model loader."""
    core = botocore.session.Session()
    core.register_component("data_loader", SHARED_LOADER)
    return boto3.session.Session(botocore_session=core, **kwargs)


def make_ssm_client(
    emulator: SSMEmulator,
    region: str = "us-east-1",
    *,
    config: Config | None = None,
    access_key: str = EMULATOR_AWS_ACCESS_KEY_ID,
    secret_key: str = EMULATOR_AWS_SECRET_ACCESS_KEY,
    session_token: str | None = None,
) -> Any:
    session = aws_session(
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=session_token,
        region_name=region,
    )
    return session.client("ssm", endpoint_url=emulator.url, config=config)


def make_tat_client(
    emulator: TATEmulator,
    region: str = GUANGZHOU,
    *,
    secret_id: str = EMULATOR_TAT_SECRET_ID,
    secret_key: str = EMULATOR_TAT_SECRET_KEY,
    token: str | None = None,
    timeout: float = 10,
) -> Any:
    http_profile = HttpProfile(
        endpoint=f"127.0.0.1:{emulator.port}", protocol="http", reqTimeout=timeout
    )
    return tat_sdk.TatClient(
        credential.Credential(secret_id, secret_key, token),
        region,
        ClientProfile(httpProfile=http_profile),
    )


def all_command_ids(client: Any, **params: Any) -> list[str]:
    """Every CommandId ListCommands returns, following NextToken."""
    found: list[str] = []
    while True:
        page = client.list_commands(**params)
        found += [c["CommandId"] for c in page["Commands"]]
        if "NextToken" not in page:
            return found
        params["NextToken"] = page["NextToken"]


def error_code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


# ------------------------------------------------------------------------ SSM: paging
def test_ssm_pages_with_next_token_and_max_results(ssm_emulator: SSMEmulator) -> None:
    created = populate_ssm(ssm_emulator, ["us-east-1", "eu-west-1"], 120, now=NOW)
    client = make_ssm_client(ssm_emulator)

    sizes, token, seen = [], None, []
    while True:
        page = client.list_commands(MaxResults=50, **({"NextToken": token} if token else {}))
        sizes.append(len(page["Commands"]))
        seen += page["Commands"]
        token = page.get("NextToken")
        if token is None:
            break

    assert sizes == [50, 50, 20]
    assert sorted(c["CommandId"] for c in seen) == sorted(
        c["CommandId"] for c in created["us-east-1"]
    )
    times = [c["RequestedDateTime"] for c in seen]
    assert times == sorted(times, reverse=True), "default order is newest first"
    stored = {c["CommandId"]: c for c in created["us-east-1"]}
    for command in seen:
        # boto3 hands back tzlocal() datetimes; the instant must survive the wire to the ms.
        wire_time = command["RequestedDateTime"].astimezone(UTC)
        assert wire_time == stored[command["CommandId"]]["RequestedDateTime"]
    assert {(c.region, c.access_key_id) for c in ssm_emulator.calls} == {
        ("us-east-1", EMULATOR_AWS_ACCESS_KEY_ID)
    }
    assert len(ssm_emulator.calls_for("ListCommands", "us-east-1")) == 3


def test_ssm_default_page_size_regions_and_paginator(ssm_emulator: SSMEmulator) -> None:
    populate_ssm(ssm_emulator, ["us-east-1"], 60, now=NOW)
    populate_ssm(ssm_emulator, ["eu-west-1"], 7, now=NOW, seed=7)
    us_client = make_ssm_client(ssm_emulator)

    assert len(us_client.list_commands()["Commands"]) == 50
    paginator = us_client.get_paginator("list_commands")
    assert sum(len(p["Commands"]) for p in paginator.paginate()) == 60
    eu_ids = all_command_ids(make_ssm_client(ssm_emulator, "eu-west-1"))
    assert sorted(eu_ids) == sorted(c["CommandId"] for c in ssm_emulator.commands("eu-west-1"))
    assert ssm_emulator.calls[-1].region == "eu-west-1"


def test_ssm_wire_form_matches_botocore_command_shape(ssm_emulator: SSMEmulator) -> None:
    requested = datetime(2020, 2, 21, 0, 22, 23, 188000, tzinfo=UTC)
    ssm_emulator.add_command("us-east-1", RequestedDateTime=requested)
    client = make_ssm_client(ssm_emulator)
    raw_bodies: list[bytes] = []
    client.meta.events.register(
        "before-parse.ssm.ListCommands",
        lambda response_dict, **_: raw_bodies.append(response_dict["body"]),
    )

    command = client.list_commands()["Commands"][0]

    shape = client.meta.service_model.shape_for("Command")
    assert set(command) == set(shape.members)
    wire = json.loads(raw_bodies[0])["Commands"][0]
    assert wire["RequestedDateTime"] == 1582244543.188
    assert re.search(rb'"RequestedDateTime": 1582244543\.188\b', raw_bodies[0])
    assert command["RequestedDateTime"].astimezone(UTC) == requested


# ---------------------------------------------------------------------- SSM: filters
@pytest.fixture
def filter_fixture(ssm_emulator: SSMEmulator) -> dict[str, str]:
    base = datetime(2026, 11, 1, tzinfo=UTC)
    specs = {
        "old_success": (base - timedelta(days=3), "Success", "AWS-RunShellScript"),
        "failed": (base - timedelta(days=2), "Failed", "AWS-RunPowerShellScript"),
        "running": (base - timedelta(days=1), "InProgress", "AWS-RunShellScript"),
        "pending_at_base": (base, "Pending", "Custom-Deploy"),
        "cancelling": (base + timedelta(hours=1), "Cancelling", "AWS-RunShellScript"),
        "timed_out": (base + timedelta(hours=2), "TimedOut", "Custom-Deploy"),
    }
    return {
        name: ssm_emulator.add_command(
            "us-east-1", RequestedDateTime=at, Status=status, DocumentName=document
        )["CommandId"]
        for name, (at, status, document) in specs.items()
    }


def test_ssm_every_filter_key(ssm_emulator: SSMEmulator, filter_fixture: dict[str, str]) -> None:
    client = make_ssm_client(ssm_emulator)
    ids = filter_fixture

    def names(*filters: tuple[str, str]) -> set[str]:
        found = set(all_command_ids(client, Filters=[{"key": k, "value": v} for k, v in filters]))
        return {name for name, command_id in ids.items() if command_id in found}

    # InvokedAfter / InvokedBefore are inclusive and accept Z, offsets and fractions.
    assert names(("InvokedAfter", "2026-11-01T00:00:00Z")) == {
        "pending_at_base",
        "cancelling",
        "timed_out",
    }
    assert names(("InvokedAfter", "2026-11-01T08:00:00.000+08:00")) == names(
        ("InvokedAfter", "2026-11-01T00:00:00Z")
    )
    assert names(("InvokedBefore", "2026-11-01T00:00:00Z")) == {
        "old_success",
        "failed",
        "running",
        "pending_at_base",
    }
    assert names(("Status", "Failed")) == {"failed"}
    assert names(("ExecutionStage", "Executing")) == {"running", "pending_at_base", "cancelling"}
    assert names(("ExecutionStage", "Complete")) == {"old_success", "failed", "timed_out"}
    assert names(("DocumentName", "Custom-Deploy")) == {"pending_at_base", "timed_out"}
    # Several filters combine with AND.
    assert names(
        ("DocumentName", "AWS-RunShellScript"),
        ("InvokedAfter", "2026-10-30T00:00:00Z"),
        ("ExecutionStage", "Executing"),
    ) == {"running", "cancelling"}


@pytest.mark.parametrize(
    ("filters", "code"),
    [
        ([{"key": "Owner", "value": "me"}], "InvalidFilterKey"),
        ([{"key": "InvokedAfter", "value": "yesterday"}], "InvalidFilterValue"),
        ([{"key": "Status", "value": "Done"}], "InvalidFilterValue"),
        ([{"key": "ExecutionStage", "value": "Finished"}], "InvalidFilterValue"),
        ([{"key": "Status", "value": "Success"}] * 6, "ValidationException"),
    ],
)
def test_ssm_rejects_bad_filters(
    ssm_emulator: SSMEmulator, filters: list[dict[str, str]], code: str
) -> None:
    client = make_ssm_client(ssm_emulator)
    with pytest.raises(ClientError) as raised:
        client.list_commands(Filters=filters)
    assert error_code(raised.value) == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_ssm_max_results_bounds(ssm_emulator: SSMEmulator) -> None:
    client = make_ssm_client(ssm_emulator)
    # botocore checks only the minimum client-side: 51 reaches the service, 0 does not.
    with pytest.raises(ClientError) as too_many:
        client.list_commands(MaxResults=51)
    assert error_code(too_many.value) == "ValidationException"
    assert "less than or equal to 50" in too_many.value.response["Error"]["Message"]
    with pytest.raises(ParamValidationError):
        client.list_commands(MaxResults=0)

    unvalidated = make_ssm_client(ssm_emulator, config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as zero:
        unvalidated.list_commands(MaxResults=0)
    assert error_code(zero.value) == "ValidationException"
    with pytest.raises(ClientError) as no_filters:
        unvalidated.list_commands(Filters=[])
    assert error_code(no_filters.value) == "ValidationException"
    assert [c.status for c in ssm_emulator.calls] == [400, 400, 400]


def test_ssm_command_id_and_instance_id(ssm_emulator: SSMEmulator) -> None:
    wanted = ssm_emulator.add_command("us-east-1", InstanceIds=["i-0aaaaaaaaaaaaaaaa"])
    ssm_emulator.add_command("us-east-1", InstanceIds=["i-0bbbbbbbbbbbbbbbb"])
    client = make_ssm_client(ssm_emulator)

    assert all_command_ids(client, CommandId=wanted["CommandId"]) == [wanted["CommandId"]]
    assert all_command_ids(client, InstanceId="i-0aaaaaaaaaaaaaaaa") == [wanted["CommandId"]]
    assert all_command_ids(client, CommandId="00000000-0000-4000-8000-000000000000") == []
    # botocore enforces only the minimum length (36): a 37-character id reaches the service.
    with pytest.raises(ClientError) as too_long:
        client.list_commands(CommandId=wanted["CommandId"] + "x")
    assert error_code(too_long.value) == "InvalidCommandId"
    unvalidated = make_ssm_client(ssm_emulator, config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as too_short:
        unvalidated.list_commands(CommandId="short")
    assert error_code(too_short.value) == "InvalidCommandId"


def test_ssm_next_token_is_opaque_and_bound_to_its_query(ssm_emulator: SSMEmulator) -> None:
    populate_ssm(ssm_emulator, ["us-east-1"], 5, now=NOW)
    client = make_ssm_client(ssm_emulator)
    token = client.list_commands(MaxResults=2)["NextToken"]

    for bad in ("garbage", token[:-4]):
        with pytest.raises(ClientError) as raised:
            client.list_commands(NextToken=bad)
        assert error_code(raised.value) == "InvalidNextToken"
    with pytest.raises(ClientError) as other_query:
        client.list_commands(NextToken=token, Filters=[{"key": "Status", "value": "Success"}])
    assert error_code(other_query.value) == "InvalidNextToken"
    # The page size may change between pages of one query.
    assert len(client.list_commands(NextToken=token, MaxResults=3)["Commands"]) == 3


def test_ssm_result_order_is_configurable(ssm_emulator: SSMEmulator) -> None:
    populate_ssm(ssm_emulator, ["us-east-1"], 30, now=NOW)
    client = make_ssm_client(ssm_emulator)
    newest_first = all_command_ids(client, MaxResults=7)
    ssm_emulator.order = "oldest_first"
    assert all_command_ids(client, MaxResults=7) == list(reversed(newest_first))
    ssm_emulator.order = "shuffled"
    shuffled = all_command_ids(client, MaxResults=7)
    assert sorted(shuffled) == sorted(newest_first)
    assert shuffled not in (newest_first, list(reversed(newest_first)))
    assert all_command_ids(client, MaxResults=7) == shuffled, "the shuffle is seeded"
    with pytest.raises(ValueError, match="order"):
        ssm_emulator.order = "alphabetical"


def test_ssm_after_response_hook_changes_data_between_pages(ssm_emulator: SSMEmulator) -> None:
    created = populate_ssm(ssm_emulator, ["us-east-1"], 12, now=NOW)["us-east-1"]
    newest_first = sorted(created, key=lambda c: c["RequestedDateTime"], reverse=True)
    client = make_ssm_client(ssm_emulator)

    def delete_newest_after_first_page(call: Any) -> None:
        if len(ssm_emulator.calls_for("ListCommands")) == 1:
            ssm_emulator.delete_command("us-east-1", newest_first[0]["CommandId"])

    ssm_emulator.after_response = delete_newest_after_first_page
    seen = all_command_ids(client, MaxResults=5)

    # Tokens are offsets: a deletion behind the cursor shifts the rest, so one command
    # that still exists is never listed. Taps must not assume pages are stable.
    missed = {c["CommandId"] for c in newest_first[1:]} - set(seen)
    assert missed == {newest_first[5]["CommandId"]}
    assert len(seen) == 11


# --------------------------------------------------------------- SSM: errors & retries
def test_ssm_throttling_surfaces_after_retries(ssm_emulator: SSMEmulator) -> None:
    ssm_emulator.add_command("us-east-1")
    fault = ssm_emulator.inject(Fault("throttle", count=10, action="ListCommands"))
    client = make_ssm_client(
        ssm_emulator, config=Config(retries={"mode": "standard", "total_max_attempts": 3})
    )
    with pytest.raises(ClientError) as raised:
        client.list_commands()
    assert error_code(raised.value) == "ThrottlingException"
    assert raised.value.response["Error"]["Message"] == "Rate exceeded"
    assert len(ssm_emulator.calls) == 3
    assert fault.count == 7

    # Surprise: the client-config "max_attempts" counts RETRIES, so 3 means 4 calls.
    ssm_emulator.reset_calls()
    retries_client = make_ssm_client(
        ssm_emulator, config=Config(retries={"mode": "standard", "max_attempts": 3})
    )
    with pytest.raises(ClientError):
        retries_client.list_commands()
    assert len(ssm_emulator.calls) == 4


def test_ssm_503_then_success(ssm_emulator: SSMEmulator) -> None:
    ssm_emulator.add_command("us-east-1")
    ssm_emulator.inject(Fault("server_error", status=503))
    client = make_ssm_client(
        ssm_emulator, config=Config(retries={"mode": "standard", "total_max_attempts": 3})
    )
    response = client.list_commands()
    assert len(response["Commands"]) == 1
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert [(c.status, c.error_code) for c in ssm_emulator.calls] == [
        (503, "ServiceUnavailable"),
        (200, None),
    ]


def test_ssm_drop_and_slow_faults(ssm_emulator: SSMEmulator) -> None:
    ssm_emulator.add_command("us-east-1")
    retrying = make_ssm_client(
        ssm_emulator, config=Config(retries={"mode": "standard", "total_max_attempts": 2})
    )
    ssm_emulator.inject(Fault("drop"))
    assert len(retrying.list_commands()["Commands"]) == 1
    assert [c.status for c in ssm_emulator.calls] == [0, 200]

    impatient = make_ssm_client(
        ssm_emulator,
        config=Config(read_timeout=0.3, retries={"mode": "standard", "total_max_attempts": 1}),
    )
    ssm_emulator.inject(Fault("slow", delay=1.0))
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        impatient.list_commands()


def test_ssm_malformed_body_is_silently_empty_in_botocore(ssm_emulator: SSMEmulator) -> None:
    """A truncated 200 body does NOT raise: botocore returns a response without Commands.

    A tap must treat a missing "Commands" key as an error, not as an empty last page.
    """
    ssm_emulator.add_command("us-east-1")
    ssm_emulator.inject(Fault("malformed"))
    response = make_ssm_client(ssm_emulator).list_commands()
    assert "Commands" not in response
    assert "NextToken" not in response


def test_ssm_faults_filter_by_action_and_region(ssm_emulator: SSMEmulator) -> None:
    ssm_emulator.add_command("us-east-1")
    ssm_emulator.add_command("eu-west-1")
    fault = ssm_emulator.inject(Fault("throttle", region="eu-west-1", count=2))
    ssm_emulator.inject(Fault("throttle", action="SendCommand"))
    no_retry = Config(retries={"mode": "standard", "total_max_attempts": 1})

    assert len(make_ssm_client(ssm_emulator, config=no_retry).list_commands()["Commands"]) == 1
    with pytest.raises(ClientError):
        make_ssm_client(ssm_emulator, "eu-west-1", config=no_retry).list_commands()
    assert fault.count == 1
    assert [f.action for f in ssm_emulator.pending_faults()] == [None, "SendCommand"]
    with pytest.raises(ValueError, match="does not support"):
        ssm_emulator.inject(Fault("internal"))


def test_ssm_credentials_and_unknown_operation(ssm_emulator: SSMEmulator) -> None:
    ssm_emulator.valid_access_keys = {EMULATOR_AWS_ACCESS_KEY_ID}
    no_retry = Config(retries={"mode": "standard", "total_max_attempts": 1})
    assert make_ssm_client(ssm_emulator).list_commands()["Commands"] == []

    stranger = make_ssm_client(ssm_emulator, access_key="AKIASTRANGER0000000", config=no_retry)
    with pytest.raises(ClientError) as refused:
        stranger.list_commands()
    assert error_code(refused.value) == "UnrecognizedClientException"
    assert ssm_emulator.calls[-1].access_key_id == "AKIASTRANGER0000000"

    ssm_emulator.inject(Fault("auth"))
    with pytest.raises(ClientError) as faulted:
        make_ssm_client(ssm_emulator, config=no_retry).list_commands()
    assert error_code(faulted.value) == "UnrecognizedClientException"

    with pytest.raises(ClientError) as unknown:
        make_ssm_client(ssm_emulator).describe_instance_information()
    assert error_code(unknown.value) == "UnknownOperationException"


# ------------------------------------------------------------------------------- STS
def test_sts_assume_role_through_env_endpoint(
    ssm_emulator: SSMEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    ssm_emulator.valid_access_keys = {EMULATOR_AWS_ACCESS_KEY_ID}
    ssm_emulator.add_command("us-east-1")
    # botocore honours service-specific endpoint variables: no endpoint_url needed.
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", ssm_emulator.url)
    sts = aws_session(
        aws_access_key_id=EMULATOR_AWS_ACCESS_KEY_ID,
        aws_secret_access_key=EMULATOR_AWS_SECRET_ACCESS_KEY,
        region_name="us-east-1",
    ).client("sts")

    assumed = sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="tap-sync", ExternalId="ext-123")

    keys = assumed["Credentials"]
    assert keys["AccessKeyId"].startswith("ASIA")
    assert keys["Expiration"] > datetime.now(UTC)
    assert assumed["AssumedRoleUser"]["Arn"] == (
        "arn:aws:sts::123456789012:assumed-role/tap-reader/tap-sync"
    )
    sts_call = ssm_emulator.calls_for("AssumeRole")[0]
    assert sts_call.params["RoleArn"] == ROLE_ARN
    assert sts_call.params["RoleSessionName"] == "tap-sync"
    assert sts_call.params["ExternalId"] == "ext-123"
    assert sts_call.access_key_id == EMULATOR_AWS_ACCESS_KEY_ID

    as_role = make_ssm_client(
        ssm_emulator,
        access_key=keys["AccessKeyId"],
        secret_key=keys["SecretAccessKey"],
        session_token=keys["SessionToken"],
    )
    assert len(as_role.list_commands()["Commands"]) == 1
    listed = ssm_emulator.calls_for("ListCommands")[-1]
    assert listed.access_key_id == keys["AccessKeyId"]
    assert listed.session_token == keys["SessionToken"]

    without_token = make_ssm_client(
        ssm_emulator,
        access_key=keys["AccessKeyId"],
        secret_key=keys["SecretAccessKey"],
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as refused:
        without_token.list_commands()
    assert error_code(refused.value) == "UnrecognizedClientException"

    ssm_emulator.assume_role_denied = True
    with pytest.raises(ClientError) as denied:
        sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="tap-sync")
    assert error_code(denied.value) == "AccessDenied"
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_sts_profile_role_assumption_uses_env_endpoint(
    ssm_emulator: SSMEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A role_arn profile's own STS client (AssumeRoleProvider) also honours the variable."""
    config_file = tmp_path / "aws-config"
    config_file.write_text(
        "[profile base]\n"
        f"aws_access_key_id = {EMULATOR_AWS_ACCESS_KEY_ID}\n"
        f"aws_secret_access_key = {EMULATOR_AWS_SECRET_ACCESS_KEY}\n"
        "[profile tap-role]\n"
        f"role_arn = {ROLE_ARN}\n"
        "source_profile = base\n"
        "external_id = ext-456\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", ssm_emulator.url)
    ssm_emulator.required_external_id = "ext-456"

    session = aws_session(profile_name="tap-role", region_name="eu-west-1")
    session.client("ssm", endpoint_url=ssm_emulator.url).list_commands()

    issued = ssm_emulator.issued_credentials[0]
    assert [c.action for c in ssm_emulator.calls] == ["AssumeRole", "ListCommands"]
    assert ssm_emulator.calls[0].params["ExternalId"] == "ext-456"
    assert ssm_emulator.calls[1].access_key_id == issued.access_key_id
    assert ssm_emulator.calls[1].region == "eu-west-1"


# ------------------------------------------------------------------------ TAT: paging
def test_tat_pages_with_offset_limit_and_total_count(tat_emulator: TATEmulator) -> None:
    created = populate_tat(tat_emulator, [GUANGZHOU, SINGAPORE], 45, now=NOW)
    client = make_tat_client(tat_emulator)

    pages = []
    with warnings.catch_warnings():
        # The SDK warns about unknown members: the emulator must send none.
        warnings.simplefilter("error")
        for offset in range(0, 60, 20):
            request = tat_models.DescribeCommandsRequest()
            request.Offset, request.Limit = offset, 20
            pages.append(client.DescribeCommands(request))

    assert [len(p.CommandSet) for p in pages] == [20, 20, 5]
    assert {p.TotalCount for p in pages} == {45}
    listed = [c for p in pages for c in p.CommandSet]
    assert sorted(c.CommandId for c in listed) == sorted(c["CommandId"] for c in created[GUANGZHOU])
    created_times = [datetime.fromisoformat(c.CreatedTime) for c in listed]
    assert created_times == sorted(created_times, reverse=True)
    assert all(c.UpdatedTime >= c.CreatedTime for c in listed)
    assert json.loads(listed[0].to_json_string()).keys() == set(TAT_COMMAND_FIELDS) | {"Tags"}
    assert {c.region for c in tat_emulator.calls} == {GUANGZHOU}
    assert {c.access_key_id for c in tat_emulator.calls} == {EMULATOR_TAT_SECRET_ID}


def test_tat_call_json_defaults_and_limits(tat_emulator: TATEmulator) -> None:
    populate_tat(tat_emulator, [SINGAPORE], 25, now=NOW)
    client = make_tat_client(tat_emulator, SINGAPORE)

    default_page = client.call_json("DescribeCommands", {})["Response"]
    assert default_page["TotalCount"] == 25
    assert len(default_page["CommandSet"]) == 20
    assert (
        len(
            client.call_json("DescribeCommands", {"Offset": 20, "Limit": 100})["Response"][
                "CommandSet"
            ]
        )
        == 5
    )
    assert client.call_json("DescribeCommands", {"Offset": 30})["Response"]["CommandSet"] == []
    for params, code in (
        ({"Limit": 101}, "InvalidParameterValue"),
        ({"Offset": -1}, "InvalidParameterValue"),
        ({"Limit": "20"}, "InvalidParameter"),
        ({"Lmit": 20}, "UnknownParameter"),
    ):
        with pytest.raises(TencentCloudSDKException) as raised:
            client.call_json("DescribeCommands", params)
        assert raised.value.code == code, params
        assert raised.value.requestId
    request = tat_models.DescribeCommandsRequest()
    request.Limit = 101
    with pytest.raises(TencentCloudSDKException) as through_model:
        client.DescribeCommands(request)
    assert through_model.value.code == "InvalidParameterValue"


# ---------------------------------------------------------------------- TAT: filters
def test_tat_filters_and_command_ids(tat_emulator: TATEmulator) -> None:
    add = tat_emulator.add_command
    shell = add(GUANGZHOU, CommandName="first-command", Tags=[{"Key": "env", "Value": "prod"}])
    powershell = add(
        GUANGZHOU,
        CommandName="second-command",
        CommandType="POWERSHELL",
        Scenes=["scene-abc12345"],
        Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "ops"}],
    )
    public = add(GUANGZHOU, CommandName="TAT_check", CreatedBy="TAT", Tags=[])
    client = make_tat_client(tat_emulator)

    def ids(*filters: tuple[str, list[str]]) -> set[str]:
        body = {"Filters": [{"Name": name, "Values": values} for name, values in filters]}
        return {
            c["CommandId"]
            for c in client.call_json("DescribeCommands", body)["Response"]["CommandSet"]
        }

    assert ids(("command-id", [shell["CommandId"]])) == {shell["CommandId"]}
    assert ids(("command-name", ["first-command", "TAT_check"])) == {
        shell["CommandId"],
        public["CommandId"],
    }
    assert ids(("command-type", ["POWERSHELL"])) == {powershell["CommandId"]}
    assert ids(("scene-id", ["scene-abc12345"])) == {powershell["CommandId"]}
    assert ids(("created-by", ["TAT"])) == {public["CommandId"]}
    assert ids(("tag-key", ["team"])) == {powershell["CommandId"]}
    assert ids(("tag-value", ["prod", "dev"])) == {shell["CommandId"], powershell["CommandId"]}
    assert ids(("tag:env", ["dev"])) == {powershell["CommandId"]}
    assert ids(("tag-key", ["env"]), ("command-type", ["SHELL"])) == {shell["CommandId"]}

    request = tat_models.DescribeCommandsRequest()
    request.CommandIds = [public["CommandId"], "cmd-00000000"]
    assert [c.CommandId for c in client.DescribeCommands(request).CommandSet] == [
        public["CommandId"]
    ]

    for body, code in (
        ({"Filters": [{"Name": "owner", "Values": ["me"]}]}, "InvalidParameterValue.InvalidFilter"),
        (
            {
                "CommandIds": [shell["CommandId"]],
                "Filters": [{"Name": "created-by", "Values": ["USER"]}],
            },
            "InvalidParameter.ConflictParameter",
        ),
        ({"Filters": [{"Name": "created-by", "Values": ["USER"]}] * 11}, "InvalidParameterValue"),
        (
            {"Filters": [{"Name": "command-name", "Values": list("abcdef")}]},
            "InvalidParameterValue",
        ),
        ({"CommandIds": ["not-an-id"]}, "InvalidParameterValue.InvalidCommandId"),
    ):
        with pytest.raises(TencentCloudSDKException) as raised:
            client.call_json("DescribeCommands", body)
        assert raised.value.code == code, body


# ------------------------------------------------------------------------- TAT: auth
def test_tat_signature_checks(tat_emulator: TATEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = {
        "AuthFailure.SignatureFailure": make_tat_client(tat_emulator, secret_key="wrong-key"),
        "AuthFailure.SecretIdNotFound": make_tat_client(tat_emulator, secret_id="AKIDunknown"),
    }
    for code, client in cases.items():
        with pytest.raises(TencentCloudSDKException) as raised:
            client.DescribeCommands(tat_models.DescribeCommandsRequest())
        assert raised.value.code == code

    class SkewedClock:
        """The SDK's clock, ten minutes slow: the server must call it expired."""

        @staticmethod
        def time() -> float:
            return time.time() - 600

    with monkeypatch.context() as patched:
        patched.setattr(abstract_client, "time", SkewedClock)
        with pytest.raises(TencentCloudSDKException) as expired:
            make_tat_client(tat_emulator).call_json("DescribeCommands", {})
    assert expired.value.code == "AuthFailure.SignatureExpire"

    tat_emulator.tokens = {"session-token-1"}
    with pytest.raises(TencentCloudSDKException) as no_token:
        make_tat_client(tat_emulator).call_json("DescribeCommands", {})
    assert no_token.value.code == "AuthFailure.TokenFailure"
    with_token = make_tat_client(tat_emulator, token="session-token-1")
    assert with_token.call_json("DescribeCommands", {})["Response"]["TotalCount"] == 0
    assert tat_emulator.calls[-1].session_token == "session-token-1"

    with pytest.raises(TencentCloudSDKException) as unknown_action:
        with_token.call_json("RunCommand", {})
    assert unknown_action.value.code == "InvalidAction"


def test_tat_credentials_are_configurable() -> None:
    with TATEmulator(credentials={"AKIDother": "other-key"}) as emulator:
        assert (
            make_tat_client(emulator, secret_id="AKIDother", secret_key="other-key").call_json(
                "DescribeCommands", {}
            )["Response"]["TotalCount"]
            == 0
        )
        with pytest.raises(TencentCloudSDKException) as raised:
            make_tat_client(emulator).call_json("DescribeCommands", {})
        assert raised.value.code == "AuthFailure.SecretIdNotFound"


# ----------------------------------------------------------------- TAT: faults, rates
def test_tat_faults_as_the_sdk_sees_them(tat_emulator: TATEmulator) -> None:
    tat_emulator.add_command(GUANGZHOU)
    client = make_tat_client(tat_emulator, timeout=0.3)
    expected = [
        (Fault("throttle"), "RequestLimitExceeded"),
        (Fault("internal"), "InternalError"),
        (Fault("auth"), "AuthFailure.SignatureFailure"),
        (Fault("server_error", status=502), "ServerNetworkError"),
        (Fault("drop"), "ClientNetworkError"),
        (Fault("slow", delay=0.6), "ClientNetworkError"),
        (Fault("malformed"), "JSONDecodeError"),
    ]
    for fault, code in expected:
        tat_emulator.inject(fault)
        with pytest.raises(TencentCloudSDKException) as raised:
            client.DescribeCommands(tat_models.DescribeCommandsRequest())
        assert raised.value.code == code, fault
        if code == "RequestLimitExceeded":
            assert raised.value.message == (
                "Your current request times per second exceeds the upper limit."
            )

    # call_json does not wrap a parse failure: the raw JSONDecodeError escapes.
    tat_emulator.inject(Fault("malformed"))
    with pytest.raises(json.JSONDecodeError):
        client.call_json("DescribeCommands", {})


def test_tat_charset_trap_hides_errors(tat_emulator: TATEmulator) -> None:
    """With "application/json; charset=utf-8" the SDK ignores error bodies entirely.

    That is why the tap must look for Response.Error itself.
    """
    tat_emulator.content_type = "application/json; charset=utf-8"
    wrong_key = make_tat_client(tat_emulator, secret_key="wrong-key")

    model = wrong_key.DescribeCommands(tat_models.DescribeCommandsRequest())
    assert model.TotalCount is None
    assert model.CommandSet is None
    raw = wrong_key.call_json("DescribeCommands", {})
    assert raw["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"

    tat_emulator.content_type = "application/json"
    with pytest.raises(TencentCloudSDKException):
        wrong_key.DescribeCommands(tat_models.DescribeCommandsRequest())


def test_tat_rate_accounting_and_limit(tat_emulator: TATEmulator) -> None:
    client = make_tat_client(tat_emulator)
    tat_emulator.rate_limit_per_second = 3
    outcomes = []
    for _ in range(6):
        try:
            client.call_json("DescribeCommands", {})
            outcomes.append("ok")
        except TencentCloudSDKException as error:
            outcomes.append(error.code)
    assert outcomes[:3] == ["ok"] * 3
    assert set(outcomes[3:]) == {"RequestLimitExceeded"}
    assert tat_emulator.max_requests_per_second(GUANGZHOU) == 6
    assert tat_emulator.max_requests_per_second(GUANGZHOU, "DescribeCommands") == 6
    assert tat_emulator.max_requests_per_second(SINGAPORE) == 0
    tat_emulator.reset_calls()
    assert tat_emulator.calls == []
    assert tat_emulator.max_requests_per_second(GUANGZHOU) == 0


def test_tat_timestamp_styles(tat_emulator: TATEmulator) -> None:
    created = datetime(2020, 11, 2, 2, 48, 11, tzinfo=UTC)
    default = tat_emulator.add_command(GUANGZHOU, CreatedTime=created)
    zulu = tat_emulator.add_command(GUANGZHOU, CreatedTime=created, timestamp_style="Z")
    shanghai = tat_emulator.add_command(GUANGZHOU, CreatedTime=created, timestamp_style="+08:00")
    client = make_tat_client(tat_emulator)

    def created_times() -> dict[str, str]:
        page = client.call_json("DescribeCommands", {})["Response"]["CommandSet"]
        return {c["CommandId"]: c["CreatedTime"] for c in page}

    assert created_times() == {
        default["CommandId"]: "2020-11-02T02:48:11+00:00",
        zulu["CommandId"]: "2020-11-02T02:48:11Z",
        shanghai["CommandId"]: "2020-11-02T10:48:11+08:00",
    }
    tat_emulator.timestamp_style = "-05:30"
    assert created_times()[default["CommandId"]] == "2020-11-01T21:18:11-05:30"
    updated = tat_emulator.update_command(GUANGZHOU, default["CommandId"], Description="edited")
    assert updated["UpdatedTime"] > updated["CreatedTime"]
    with pytest.raises(ValueError, match="timestamp style"):
        tat_emulator.timestamp_style = "+0800"


# -------------------------------------------------------------------- data & tooling
def test_sample_data_is_deterministic_and_realistic() -> None:
    with SSMEmulator() as first, SSMEmulator() as second, TATEmulator() as tat:
        one = populate_ssm(first, ["us-east-1"], 200, now=NOW)["us-east-1"]
        two = populate_ssm(second, ["us-east-1"], 200, now=NOW)["us-east-1"]
        commands = populate_tat(tat, [GUANGZHOU], 200, now=NOW)[GUANGZHOU]

    assert [c["CommandId"] for c in one] == [c["CommandId"] for c in two]
    statuses = [c["Status"] for c in one]
    assert statuses.count("Success") > len(one) / 2
    assert {"Failed", "TimedOut", "Cancelled", "InProgress", "Pending"} <= set(statuses)
    assert len({c["DocumentName"] for c in one}) >= 5
    assert all(NOW - timedelta(days=25) <= c["RequestedDateTime"] <= NOW for c in one)
    instance_ids = {i for c in one for i in c["InstanceIds"]}
    assert instance_ids
    assert all(re.fullmatch(r"i-[0-9a-f]{17}", i) for i in instance_ids)
    assert all(c["Parameters"] for c in one)

    assert all(c["CreatedTime"] <= c["UpdatedTime"] <= NOW for c in commands)
    assert NOW - min(c["CreatedTime"] for c in commands) > timedelta(days=90)
    assert {c["CommandType"] for c in commands} == {"SHELL", "POWERSHELL", "BAT"}
    assert {c["CreatedBy"] for c in commands} == {"USER", "TAT"}
    assert any(c["Tags"] for c in commands)
    assert any(c["DefaultParameterConfs"] for c in commands)


def test_sample_data_is_pinned_to_its_seed() -> None:
    """The bulk fill draws exactly what one-by-one generation drew: same seed, same data."""
    with SSMEmulator() as ssm, TATEmulator() as tat:
        aws = populate_ssm(ssm, ["us-east-1"], 200, now=NOW)["us-east-1"]
        tencent = populate_tat(tat, [GUANGZHOU], 200, now=NOW)[GUANGZHOU]
    digest = hashlib.sha256(json.dumps([aws, tencent], default=str).encode()).hexdigest()
    assert (aws[0]["CommandId"], tencent[0]["CommandId"]) == (
        "f33c6262-a031-4012-83ee-ddd5d168042f",
        "cmd-qr6iqxvo",
    )
    assert digest == "c39ce09e22bf99c337d0f0645d71e6fececf757267f6eedbcf20ee9e5103df36"


def test_main_module_serves_sample_data(tmp_path: Path) -> None:
    ready_file = tmp_path / "ready" / "emulators.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.emulators",
            "--per-region",
            "3",
            "--tat-per-region",
            "5",
            "--regions",
            "us-east-1",
            "--latency",
            "0.05",
            "--rate-limit",
            "2",
            "--ready-file",
            str(ready_file),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 15
        while not any("secret_id=" in line for line in lines) and time.monotonic() < deadline:
            lines.append(process.stdout.readline())
        output = "".join(lines)
        ssm_url = re.search(r"SSM/STS emulator: (http://127\.0\.0\.1:\d+)", output)
        assert ssm_url, output
        assert EMULATOR_TAT_SECRET_ID in output
        urls = json.loads(ready_file.read_text())
        assert urls["ssm"] == ssm_url.group(1)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", urls["tat"])
        client = aws_session(
            aws_access_key_id=EMULATOR_AWS_ACCESS_KEY_ID,
            aws_secret_access_key=EMULATOR_AWS_SECRET_ACCESS_KEY,
            region_name="us-east-1",
        ).client("ssm", endpoint_url=urls["ssm"])
        started = time.monotonic()
        assert len(client.list_commands()["Commands"]) == 3
        assert time.monotonic() - started >= 0.05, "--latency applies"

        tat = TatEndpoint(urls["tat"])
        assert tat.describe()["TotalCount"] == 5, "--tat-per-region overrides --per-region"
        outcomes = [tat.describe().get("Error", {}).get("Code", "ok") for _ in range(2)]
        assert outcomes[-1] == "RequestLimitExceeded", "--rate-limit 2 throttles TAT"
        stats = get_stats(urls["tat"])
        assert stats["calls"] == {GUANGZHOU: {"DescribeCommands": 3}}
        assert stats["max_requests_per_second"] == {GUANGZHOU: {"DescribeCommands": 3}}
        assert get_stats(urls["ssm"])["calls"] == {"us-east-1": {"ListCommands": 1}}
        post_reset(urls["tat"])
        assert get_stats(urls["tat"])["calls"] == {}
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert not ready_file.exists(), "the ready file goes away with the emulators"


# ------------------------------------------------------- latency, stats, caches, scale
class TatEndpoint:
    """A TAT client for a URL (the emulator may live in another process)."""

    def __init__(self, url: str, region: str = GUANGZHOU) -> None:
        http_profile = HttpProfile(
            endpoint=url.removeprefix("http://"), protocol="http", reqTimeout=10
        )
        self.client = tat_sdk.TatClient(
            credential.Credential(EMULATOR_TAT_SECRET_ID, EMULATOR_TAT_SECRET_KEY),
            region,
            ClientProfile(httpProfile=http_profile),
        )

    def describe(self, **params: Any) -> dict[str, Any]:
        """The raw DescribeCommands Response (errors included, not raised)."""
        try:
            return dict(self.client.call_json("DescribeCommands", params)["Response"])
        except TencentCloudSDKException as error:
            return {"Error": {"Code": error.code}}


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get_stats(url: str) -> dict[str, Any]:
    with _NO_PROXY.open(f"{url}/_emulator/stats", timeout=10) as answer:
        assert answer.headers["Content-Type"] == "application/json"
        return dict(json.loads(answer.read()))


def post_reset(url: str) -> None:
    request = urllib.request.Request(f"{url}/_emulator/reset-calls", data=b"", method="POST")  # noqa: S310 - loopback
    with _NO_PROXY.open(request, timeout=10) as answer:
        assert answer.status == 200


def test_latency_lets_concurrent_requests_overlap(
    ssm_emulator: SSMEmulator, tat_emulator: TATEmulator
) -> None:
    tat_emulator.latency_seconds = ssm_emulator.latency_seconds = 0.3
    tat_emulator.add_command(GUANGZHOU)
    clients = [TatEndpoint(tat_emulator.url), TatEndpoint(tat_emulator.url)]
    finished: list[float] = []
    barrier = threading.Barrier(len(clients) + 1)

    def call(client: TatEndpoint) -> None:
        barrier.wait()
        assert client.describe()["TotalCount"] == 1
        finished.append(time.monotonic())

    threads = [threading.Thread(target=call, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join(timeout=5)

    elapsed = max(finished) - started
    assert len(finished) == 2
    assert min(finished) - started >= 0.3, "each answer waits out the latency"
    assert elapsed < 0.55, f"two requests took {elapsed:.2f}s: the latency was serialised"
    assert [c.status for c in tat_emulator.calls] == [200, 200]

    # Errors wait too (the throttle decision is taken at arrival, then the latency runs).
    ssm_emulator.inject(Fault("throttle"))
    client = make_ssm_client(
        ssm_emulator, config=Config(retries={"mode": "standard", "total_max_attempts": 1})
    )
    started = time.monotonic()
    with pytest.raises(ClientError):
        client.list_commands()
    assert time.monotonic() - started >= 0.3


def test_stats_and_reset_calls_over_http(ssm_emulator: SSMEmulator) -> None:
    populate_ssm(ssm_emulator, ["us-east-1", "eu-west-1"], 3, now=NOW)
    us, eu = make_ssm_client(ssm_emulator), make_ssm_client(ssm_emulator, "eu-west-1")
    us.list_commands()
    us.list_commands(MaxResults=1)
    eu.list_commands()
    before = ssm_emulator.inject(Fault("throttle", count=5))

    stats = get_stats(ssm_emulator.url)

    assert stats == {
        "calls": {"us-east-1": {"ListCommands": 2}, "eu-west-1": {"ListCommands": 1}},
        "max_requests_per_second": {
            "eu-west-1": {"ListCommands": 1},
            "us-east-1": {"ListCommands": ssm_emulator.max_requests_per_second("us-east-1")},
        },
        "errors": 0,
    }
    assert stats["max_requests_per_second"]["us-east-1"]["ListCommands"] in (1, 2)
    # Control paths are not API calls: not logged, no faults consumed, no auth needed.
    assert len(ssm_emulator.calls) == 3
    assert before.count == 5
    ssm_emulator.clear_faults()
    for path, method, status in (
        ("/_emulator/nothing", "GET", 404),
        ("/_emulator/stats", "POST", 405),
        ("/_emulator/reset-calls", "GET", 405),
    ):
        request = urllib.request.Request(ssm_emulator.url + path, method=method)  # noqa: S310
        with pytest.raises(urllib.error.HTTPError) as refused:
            _NO_PROXY.open(request, timeout=10)
        assert refused.value.code == status

    # A failing hook is an emulator error, and the stats count it.
    def broken_hook(call: Any) -> None:
        if len(ssm_emulator.calls) == 4:
            raise RuntimeError("hook bug")

    ssm_emulator.after_response = broken_hook
    eu.list_commands()
    eu.list_commands()  # served only once the previous answer's hook has finished
    assert get_stats(ssm_emulator.url)["errors"] == 1
    ssm_emulator.errors.clear()

    post_reset(ssm_emulator.url)
    assert ssm_emulator.calls == []
    assert ssm_emulator.max_requests_per_second("us-east-1") == 0
    assert get_stats(ssm_emulator.url) == {"calls": {}, "max_requests_per_second": {}, "errors": 0}


def test_tat_pages_follow_add_update_delete(tat_emulator: TATEmulator) -> None:
    base = datetime(2026, 10, 1, tzinfo=UTC)
    ids = [
        tat_emulator.add_command(GUANGZHOU, CreatedTime=base + timedelta(hours=i))["CommandId"]
        for i in range(30)
    ]
    endpoint = TatEndpoint(tat_emulator.url)

    def page(**params: Any) -> tuple[int, list[dict[str, Any]]]:
        answer = endpoint.describe(**{"Limit": 100, **params})
        return answer["TotalCount"], answer["CommandSet"]

    def listed(**params: Any) -> list[str]:
        return [c["CommandId"] for c in page(**params)[1]]

    assert listed() == ids[::-1]  # newest first; the order is now cached
    version = tat_emulator.data_version

    newest = tat_emulator.add_command(GUANGZHOU, CreatedTime=base + timedelta(days=5))
    assert listed() == [newest["CommandId"], *ids[::-1]]
    tat_emulator.update_command(GUANGZHOU, ids[-1], CreatedTime=base - timedelta(days=1))
    assert listed() == [newest["CommandId"], *ids[-2::-1], ids[-1]]
    tat_emulator.update_command(GUANGZHOU, ids[0], CommandName="renamed")
    assert page()[1][-2]["CommandName"] == "renamed", "a cached rendering is dropped"
    tat_emulator.delete_command(GUANGZHOU, newest["CommandId"])
    assert page(Offset=0, Limit=1) == (30, page()[1][:1])
    assert listed()[0] == ids[-2]
    assert tat_emulator.data_version == version + 4

    # Filtered views are cached per query and data version.
    public = {"Filters": [{"Name": "created-by", "Values": ["TAT"]}]}
    assert page(**public) == (0, [])
    tat_emulator.update_command(GUANGZHOU, ids[3], CreatedBy="TAT")
    assert listed(**public) == [ids[3]]
    tat_emulator.add_command(GUANGZHOU, CreatedBy="TAT", CreatedTime=base)
    assert page(**public)[0] == 2
    tat_emulator.order = "oldest_first"
    assert listed(**public)[0] != ids[3]
    oldest_first = listed()
    assert (oldest_first[0], oldest_first[-1]) == (ids[-1], ids[-2]), "no stale order"
    tat_emulator.timestamp_style = "Z"
    assert page()[1][0]["CreatedTime"].endswith("Z"), "renderings follow the style"


def test_ssm_pages_follow_updates_under_invoked_after(ssm_emulator: SSMEmulator) -> None:
    base = datetime(2026, 10, 1, tzinfo=UTC)
    ids = [
        ssm_emulator.add_command(
            "us-east-1", RequestedDateTime=base + timedelta(hours=i), Status="InProgress"
        )["CommandId"]
        for i in range(20)
    ]
    client = make_ssm_client(ssm_emulator)
    after = [{"key": "InvokedAfter", "value": "2026-10-01T10:00:00Z"}]
    running = [*after, {"key": "ExecutionStage", "value": "Executing"}]

    assert all_command_ids(client, Filters=after, MaxResults=4) == ids[:9:-1]
    assert all_command_ids(client, Filters=running, MaxResults=4) == ids[:9:-1]
    ssm_emulator.update_command("us-east-1", ids[12], Status="Success")
    assert ids[12] not in all_command_ids(client, Filters=running, MaxResults=4)
    ssm_emulator.update_command("us-east-1", ids[2], RequestedDateTime=base + timedelta(days=1))
    assert all_command_ids(client, Filters=after, MaxResults=4)[0] == ids[2]
    ssm_emulator.delete_command("us-east-1", ids[19])
    listed = all_command_ids(client, Filters=after, MaxResults=4)
    assert ids[19] not in listed
    assert len(listed) == 10
    page = client.list_commands(Filters=after, MaxResults=50)["Commands"]
    assert page[0]["Status"] == "InProgress"
    ssm_emulator.update_command("us-east-1", ids[2], Status="Failed")
    assert client.list_commands(Filters=after, MaxResults=1)["Commands"][0]["Status"] == "Failed"


def test_incremental_order_matches_a_full_sort(tat_emulator: TATEmulator) -> None:
    """Random adds, moves and deletes keep the maintained order equal to a fresh sort."""
    rng = random.Random(5)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    endpoint = TatEndpoint(tat_emulator.url)
    for _ in range(40):
        tat_emulator.add_command(GUANGZHOU, CreatedTime=base + timedelta(minutes=rng.randrange(50)))
    for step in range(45):
        stored = tat_emulator.commands(GUANGZHOU)
        victim = rng.choice(stored)["CommandId"]
        moment = base + timedelta(minutes=rng.randrange(50))
        if step % 3 == 0:
            tat_emulator.add_command(GUANGZHOU, CreatedTime=moment)
        elif step % 3 == 1:
            tat_emulator.update_command(GUANGZHOU, victim, CreatedTime=moment)
        else:
            tat_emulator.delete_command(GUANGZHOU, victim)
        expected = sorted(
            tat_emulator.commands(GUANGZHOU),
            key=lambda c: (c["CreatedTime"], c["CommandId"]),
            reverse=True,
        )
        listed = [c["CommandId"] for c in endpoint.describe(Limit=100)["CommandSet"]]
        assert listed == [c["CommandId"] for c in expected], step


def test_large_region_pages_without_sorting_again() -> None:
    count = 20_000
    with TATEmulator() as tat, SSMEmulator() as ssm:
        populate_tat(tat, [GUANGZHOU], count, now=NOW, copies=False, prerender=False)
        populate_ssm(ssm, ["us-east-1"], count, now=NOW, copies=False, prerender=False)
        oldest_tat = sorted(
            tat.commands(GUANGZHOU), key=lambda c: (c["CreatedTime"], c["CommandId"])
        )[:100]
        sort_keys = 0

        def counting(store: Any) -> None:
            original = store.sort_key

            def sort_key(command: dict[str, Any]) -> Any:
                nonlocal sort_keys
                sort_keys += 1
                return original(command)

            store.sort_key = sort_key

        counting(tat._store)
        counting(ssm._store)
        endpoint = TatEndpoint(tat.url)
        started = time.monotonic()
        last = endpoint.describe(Offset=count - 100, Limit=100)
        elapsed = time.monotonic() - started
        assert last["TotalCount"] == count
        assert [c["CommandId"] for c in last["CommandSet"]] == [
            c["CommandId"] for c in reversed(oldest_tat)
        ]
        assert endpoint.describe(Offset=count, Limit=100)["CommandSet"] == []
        assert elapsed < 1, f"the last page took {elapsed:.2f}s"

        client = make_ssm_client(ssm)
        first = client.list_commands(MaxResults=50)
        token = encode_token(count - 50, parse_ssm_query("us-east-1", {}).fingerprint)
        last_page = client.list_commands(MaxResults=50, NextToken=token)
        assert len(first["Commands"]) == len(last_page["Commands"]) == 50
        assert "NextToken" not in last_page
        oldest = min(ssm.commands("us-east-1"), key=lambda c: c["RequestedDateTime"])
        assert last_page["Commands"][-1]["CommandId"] == oldest["CommandId"]
        assert sort_keys == 0, "pages are slices of the cached order"

        tat.add_command(GUANGZHOU, CreatedTime=NOW)
        assert endpoint.describe(Limit=1)["CommandSet"][0]["CreatedTime"] == NOW.isoformat()
        assert sort_keys < 100, f"one add cost {sort_keys} sort keys: the region was re-sorted"
        assert tat.errors == ssm.errors == []


# ------------------------------------------------------------------------------ moto
def test_boto3_round_trips_list_commands_against_moto(moto_server: str) -> None:
    """The same boto3 client works against moto's SSM server.

    moto 5.2.5 ignores ListCommands MaxResults/NextToken (one page) and every filter
    except CommandId and InstanceId, and always reports Status "Success" — so only
    those are asserted here; the emulators above cover the rest.
    """
    client = aws_session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("ssm", endpoint_url=moto_server)
    sent = client.send_command(
        InstanceIds=["i-0123456789abcdef0"],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["uptime"]},
    )["Command"]

    listed = client.list_commands()["Commands"]
    assert [c["CommandId"] for c in listed] == [sent["CommandId"]]
    assert listed[0]["DocumentName"] == "AWS-RunShellScript"
    assert listed[0]["Parameters"] == {"commands": ["uptime"]}
    assert listed[0]["RequestedDateTime"].tzinfo is not None
    by_id = client.list_commands(CommandId=sent["CommandId"])["Commands"]
    assert [c["CommandId"] for c in by_id] == [sent["CommandId"]]
    assert client.list_commands(InstanceId="i-0fffffffffffffff0")["Commands"] == []
