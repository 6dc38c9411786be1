"""Multi-account emulation: STS, Organizations, region listings and per-account data.

Every test drives the real boto3 / tencentcloud SDK clients against the emulators.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
    TencentCloudSDKException,
)
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sts.v20180813 import models as sts_models
from tencentcloud.sts.v20180813 import sts_client
from tencentcloud.tat.v20201028 import models as tat_models
from tencentcloud.tat.v20201028 import tat_client

from tests.emulators import (
    EMULATOR_AWS_ACCESS_KEY_ID,
    EMULATOR_AWS_ACCOUNT_ID,
    EMULATOR_AWS_SECRET_ACCESS_KEY,
    EMULATOR_TAT_SECRET_ID,
    EMULATOR_TAT_SECRET_KEY,
    EMULATOR_TENCENT_ACCOUNT_ID,
    SSMEmulator,
    TATEmulator,
    populate_ssm,
    populate_tat,
)
from tests.emulators.demo_accounts import add_demo_accounts

NO_RETRY = Config(retries={"total_max_attempts": 1})
OTHER = "210987654321"
THIRD = "333333333333"
ROLE = f"arn:aws:iam::{OTHER}:role/cloudcommands-reader"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def ssm() -> Iterator[SSMEmulator]:
    with SSMEmulator() as emulator:
        yield emulator


@pytest.fixture
def tat() -> Iterator[TATEmulator]:
    with TATEmulator() as emulator:
        yield emulator


def aws(
    emulator: SSMEmulator,
    service: str,
    key: str = EMULATOR_AWS_ACCESS_KEY_ID,
    secret: str = EMULATOR_AWS_SECRET_ACCESS_KEY,
    token: str | None = None,
    region: str = "us-east-1",
) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=emulator.url,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=NO_RETRY,
    )


def error_code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


# ------------------------------------------------------------------ AWS: STS and data
def test_aws_accounts_see_only_their_own_commands(ssm: SSMEmulator) -> None:
    key, secret = ssm.add_account(OTHER)
    ssm.add_command("us-east-1", CommandId="00000001-0000-4000-8000-000000000000")
    ssm.add_command("us-east-1", CommandId="00000002-0000-4000-8000-000000000000", account=OTHER)
    ssm.add_command_with_invocations(
        "us-east-1", ["i-1"], CommandId="00000003-0000-4000-8000-000000000000", account=OTHER
    )

    default_ids = [c["CommandId"] for c in aws(ssm, "ssm").list_commands()["Commands"]]
    other_client = aws(ssm, "ssm", key, secret)
    other_ids = sorted(c["CommandId"] for c in other_client.list_commands()["Commands"])
    invocations = other_client.list_command_invocations()["CommandInvocations"]

    assert default_ids == ["00000001-0000-4000-8000-000000000000"]
    assert other_ids == [
        "00000002-0000-4000-8000-000000000000",
        "00000003-0000-4000-8000-000000000000",
    ]
    assert [i["CommandId"] for i in invocations] == ["00000003-0000-4000-8000-000000000000"]
    assert [c["CommandId"] for c in ssm.commands("us-east-1", account=OTHER)] == [
        "00000002-0000-4000-8000-000000000000",
        "00000003-0000-4000-8000-000000000000",
    ]
    assert ssm.accounts() == [EMULATOR_AWS_ACCOUNT_ID, OTHER]
    assert ssm.account_of_key(key) == OTHER
    assert {c.account for c in ssm.calls_for("ListCommands")} == {EMULATOR_AWS_ACCOUNT_ID, OTHER}
    assert len(ssm.calls_for("ListCommands", account=OTHER)) == 1


def test_aws_unknown_keys_and_bad_signatures_are_refused_once_accounts_exist(
    ssm: SSMEmulator,
) -> None:
    # Before any account: any key is the default account's (older tests rely on it).
    assert aws(ssm, "ssm", "AKIASTRANGER0000000", "x").list_commands()["Commands"] == []
    key, _ = ssm.add_account(OTHER)

    with pytest.raises(ClientError) as unknown:
        aws(ssm, "ssm", "AKIASTRANGER0000000", "x").list_commands()
    with pytest.raises(ClientError) as forged:
        aws(ssm, "ssm", key, "not-the-secret").list_commands()
    with pytest.raises(ClientError) as sts_forged:
        aws(ssm, "sts", key, "not-the-secret").get_caller_identity()

    assert error_code(unknown.value) == "UnrecognizedClientException"
    assert error_code(forged.value) == "InvalidSignatureException"
    assert error_code(sts_forged.value) == "SignatureDoesNotMatch"
    assert ssm.calls[-1].account == OTHER
    # The default keys keep working.
    assert aws(ssm, "ssm").list_commands()["Commands"] == []


def test_aws_get_caller_identity_for_base_and_assumed_credentials(ssm: SSMEmulator) -> None:
    ssm.add_account(OTHER)
    ssm.add_role(ROLE, external_id="ext-1")
    sts = aws(ssm, "sts")

    base = sts.get_caller_identity()
    assumed = sts.assume_role(
        RoleArn=ROLE, RoleSessionName="tap", ExternalId="ext-1", DurationSeconds=1800
    )
    creds = assumed["Credentials"]
    temporary = aws(
        ssm, "sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    ).get_caller_identity()

    assert base["Account"] == EMULATOR_AWS_ACCOUNT_ID
    assert base["Arn"] == f"arn:aws:iam::{EMULATOR_AWS_ACCOUNT_ID}:user/emulator"
    assert temporary["Account"] == OTHER
    assert temporary["Arn"] == f"arn:aws:sts::{OTHER}:assumed-role/cloudcommands-reader/tap"
    assert temporary["UserId"] == assumed["AssumedRoleUser"]["AssumedRoleId"]
    assert temporary["UserId"].startswith("AROA") and temporary["UserId"].endswith(":tap")
    lifetime = creds["Expiration"] - datetime.now(UTC)
    assert timedelta(seconds=1790) < lifetime <= timedelta(seconds=1800)
    assert ssm.account_of_key(creds["AccessKeyId"]) == OTHER
    # Role chaining (temporary credentials assuming a role) is capped at one hour.
    chained = aws(ssm, "sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    ssm.add_role(f"arn:aws:iam::{EMULATOR_AWS_ACCOUNT_ID}:role/back")
    with pytest.raises(ClientError) as too_long:
        chained.assume_role(
            RoleArn=f"arn:aws:iam::{EMULATOR_AWS_ACCOUNT_ID}:role/back",
            RoleSessionName="chain",
            DurationSeconds=3601,
        )
    assert error_code(too_long.value) == "ValidationError"


def test_aws_assumed_credentials_read_the_role_account_and_expire(ssm: SSMEmulator) -> None:
    ssm.add_account(OTHER)
    ssm.add_role(ROLE)
    ssm.add_command("eu-west-1", CommandId="00000002-0000-4000-8000-000000000000", account=OTHER)
    creds = aws(ssm, "sts").assume_role(RoleArn=ROLE, RoleSessionName="tap")["Credentials"]
    client = aws(
        ssm,
        "ssm",
        creds["AccessKeyId"],
        creds["SecretAccessKey"],
        creds["SessionToken"],
        region="eu-west-1",
    )
    default_lifetime = creds["Expiration"] - datetime.now(UTC)

    listed = [c["CommandId"] for c in client.list_commands()["Commands"]]
    ssm.expire_credentials(creds["AccessKeyId"])
    with pytest.raises(ClientError) as expired:
        client.list_commands()
    with pytest.raises(ClientError) as sts_expired:
        aws(
            ssm, "sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
        ).get_caller_identity()
    with pytest.raises(ClientError) as forged:
        aws(ssm, "ssm", creds["AccessKeyId"], "forged", creds["SessionToken"]).list_commands()
    assert error_code(forged.value) == "InvalidSignatureException"
    # A token that does not belong to the key is refused.
    with pytest.raises(ClientError) as wrong_token:
        aws(ssm, "ssm", creds["AccessKeyId"], creds["SecretAccessKey"], "other").list_commands()

    assert listed == ["00000002-0000-4000-8000-000000000000"]
    assert timedelta(seconds=3590) < default_lifetime <= timedelta(seconds=3600)
    assert error_code(expired.value) == "ExpiredTokenException"
    assert error_code(sts_expired.value) == "ExpiredToken"
    assert error_code(wrong_token.value) == "UnrecognizedClientException"
    assert ssm.calls_for("ListCommands", account=OTHER)[0].status == 200


def test_aws_assume_role_checks_external_id_and_trust(ssm: SSMEmulator) -> None:
    third_key, third_secret = ssm.add_account(THIRD)
    ssm.add_account(OTHER)
    ssm.add_role(ROLE, external_id="ext-1", trusted=[EMULATOR_AWS_ACCOUNT_ID])
    sts = aws(ssm, "sts")

    def denied(client: Any, **params: Any) -> str:
        with pytest.raises(ClientError) as error:
            client.assume_role(RoleSessionName="tap", **params)
        return error_code(error.value)

    assert denied(sts, RoleArn=ROLE) == "AccessDenied"
    assert denied(sts, RoleArn=ROLE, ExternalId="wrong") == "AccessDenied"
    assert denied(aws(ssm, "sts", third_key, third_secret), RoleArn=ROLE, ExternalId="ext-1") == (
        "AccessDenied"
    )
    assert denied(sts, RoleArn=f"arn:aws:iam::{OTHER}:role/missing") == "AccessDenied"
    assert denied(sts, RoleArn=ROLE, ExternalId="ext-1", DurationSeconds=43201) == (
        "ValidationError"
    )
    ok = sts.assume_role(RoleArn=ROLE, RoleSessionName="tap", ExternalId="ext-1")
    assert ok["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{OTHER}:assumed-role/")


# ----------------------------------------------------------------- AWS: Organizations
def list_all(client: Any, operation: str, key: str, **params: Any) -> tuple[list[Any], int]:
    """Follow NextToken by hand (no paginator), counting pages."""
    items: list[Any] = []
    pages = 0
    token: str | None = None
    while True:
        extra = {"NextToken": token} if token else {}
        page = getattr(client, operation)(**params, **extra)
        pages += 1
        items += page[key]
        token = page.get("NextToken")
        if not token:
            return items, pages


def test_organizations_list_accounts_pages_with_an_empty_first_page(ssm: SSMEmulator) -> None:
    members = {f"1000000000{i:02d}": "ACTIVE" for i in range(25)}
    members["100000000099"] = "SUSPENDED"
    members["100000000098"] = "PENDING_CLOSURE"
    members["100000000097"] = "CLOSED"
    ssm.set_organization(EMULATOR_AWS_ACCOUNT_ID, members)
    org = aws(ssm, "organizations")

    first = org.list_accounts(MaxResults=20)
    accounts, pages = list_all(org, "list_accounts", "Accounts", MaxResults=20)
    paginated = [
        a
        for page in org.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 7})
        for a in page["Accounts"]
    ]

    assert first["Accounts"] == [] and first["NextToken"]
    assert pages == 3  # empty, 20, 9
    by_id = {a["Id"]: a for a in accounts}
    assert set(by_id) == {*members, EMULATOR_AWS_ACCOUNT_ID}
    assert by_id["100000000099"]["Status"] == "SUSPENDED"
    assert by_id["100000000099"]["State"] == "SUSPENDED"
    assert by_id["100000000098"]["Status"] == "PENDING_CLOSURE"
    assert by_id["100000000097"]["State"] == "CLOSED"
    assert by_id[EMULATOR_AWS_ACCOUNT_ID]["Status"] == "ACTIVE"
    assert isinstance(by_id[EMULATOR_AWS_ACCOUNT_ID]["JoinedTimestamp"], datetime)
    assert [a["Id"] for a in paginated] == [a["Id"] for a in accounts]
    with pytest.raises(ClientError) as too_many:
        org.list_accounts(MaxResults=21)
    assert error_code(too_many.value) == "InvalidInputException"
    with pytest.raises(ClientError) as bad_token:
        org.list_accounts(NextToken="garbage")
    assert error_code(bad_token.value) == "InvalidInputException"


def test_organizations_only_management_or_delegated_admin_may_list(ssm: SSMEmulator) -> None:
    member_key, member_secret = ssm.add_account(OTHER)
    admin_key, admin_secret = ssm.add_account(THIRD)
    outsider_key, outsider_secret = ssm.add_account("444444444444")
    ssm.set_organization(
        EMULATOR_AWS_ACCOUNT_ID, {OTHER: "ACTIVE", THIRD: "ACTIVE"}, delegated_admins=[THIRD]
    )

    admin_accounts, _ = list_all(
        aws(ssm, "organizations", admin_key, admin_secret), "list_accounts", "Accounts"
    )
    with pytest.raises(ClientError) as member:
        aws(ssm, "organizations", member_key, member_secret).list_accounts()
    with pytest.raises(ClientError) as outsider:
        aws(ssm, "organizations", outsider_key, outsider_secret).list_accounts()

    assert {a["Id"] for a in admin_accounts} == {EMULATOR_AWS_ACCOUNT_ID, OTHER, THIRD}
    assert error_code(member.value) == "AccessDeniedException"
    assert error_code(outsider.value) == "AWSOrganizationsNotInUseException"


def test_organizations_nested_ous(ssm: SSMEmulator) -> None:
    prod, team = "ou-emu0-prod0001", "ou-emu0-team0001"
    ssm.set_organization(
        EMULATOR_AWS_ACCOUNT_ID,
        {OTHER: "ACTIVE", THIRD: "SUSPENDED", "444444444444": "ACTIVE"},
        parents={OTHER: prod, THIRD: team},
        ous={prod: "r-emu0", team: prod},
    )
    org = aws(ssm, "organizations")
    root = "r-emu0"

    top_ous, _ = list_all(
        org, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=root
    )
    nested, _ = list_all(
        org, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=prod
    )
    in_root, _ = list_all(org, "list_accounts_for_parent", "Accounts", ParentId=root)
    in_team, _ = list_all(org, "list_accounts_for_parent", "Accounts", ParentId=team)

    assert [o["Id"] for o in top_ous] == [prod]
    assert [o["Id"] for o in nested] == [team]
    assert {a["Id"] for a in in_root} == {EMULATOR_AWS_ACCOUNT_ID, "444444444444"}
    assert [(a["Id"], a["Status"]) for a in in_team] == [(THIRD, "SUSPENDED")]
    with pytest.raises(ClientError) as missing:
        org.list_accounts_for_parent(ParentId="ou-emu0-missing01")
    assert error_code(missing.value) == "ParentNotFoundException"


# ---------------------------------------------------------------- AWS: ListRegions
def test_account_list_regions_filters_pages_and_per_account(ssm: SSMEmulator) -> None:
    key, secret = ssm.add_account(OTHER)
    ssm.set_regions(
        OTHER,
        {"us-east-1": "ENABLED_BY_DEFAULT", "eu-south-1": "ENABLED", "me-south-1": "ENABLING"},
    )
    account = aws(ssm, "account")

    default_regions, _ = list_all(account, "list_regions", "Regions")
    enabled, pages = list_all(
        account,
        "list_regions",
        "Regions",
        MaxResults=1,
        RegionOptStatusContains=["ENABLED", "ENABLED_BY_DEFAULT"],
    )
    other, _ = list_all(aws(ssm, "account", key, secret), "list_regions", "Regions")

    assert {r["RegionName"]: r["RegionOptStatus"] for r in default_regions} == ssm.regions_of(
        EMULATOR_AWS_ACCOUNT_ID
    )
    assert ssm.regions_of(EMULATOR_AWS_ACCOUNT_ID)["af-south-1"] == "DISABLED"
    assert sorted(r["RegionName"] for r in enabled) == [
        "ap-southeast-1",
        "eu-west-1",
        "us-east-1",
        "us-west-2",
    ]
    assert pages == 4
    assert {r["RegionName"] for r in other} == {"us-east-1", "eu-south-1", "me-south-1"}
    with pytest.raises(ValueError, match="unknown region states"):
        ssm.set_regions(OTHER, {"us-east-1": "ON"})


def test_account_list_regions_of_a_member_needs_the_management_account(ssm: SSMEmulator) -> None:
    key, secret = ssm.add_account(OTHER)
    ssm.set_regions(OTHER, {"eu-south-1": "ENABLED"})
    ssm.set_organization(EMULATOR_AWS_ACCOUNT_ID, {OTHER: "ACTIVE"})

    member_regions = aws(ssm, "account").list_regions(AccountId=OTHER)["Regions"]
    with pytest.raises(ClientError) as denied:
        aws(ssm, "account", key, secret).list_regions(AccountId=EMULATOR_AWS_ACCOUNT_ID)

    assert member_regions == [{"RegionName": "eu-south-1", "RegionOptStatus": "ENABLED"}]
    assert error_code(denied.value) == "AccessDeniedException"


# ---------------------------------------------------------------- Tencent
def tencent_profile(emulator: TATEmulator) -> ClientProfile:
    return ClientProfile(
        httpProfile=HttpProfile(endpoint=f"127.0.0.1:{emulator.port}", protocol="http")
    )


def tencent_sts(emulator: TATEmulator, cred: Any) -> sts_client.StsClient:
    return sts_client.StsClient(cred, "ap-guangzhou", tencent_profile(emulator))


def tencent_tat(
    emulator: TATEmulator, cred: Any, region: str = "ap-guangzhou"
) -> tat_client.TatClient:
    return tat_client.TatClient(cred, region, tencent_profile(emulator))


def default_cred() -> credential.Credential:
    return credential.Credential(EMULATOR_TAT_SECRET_ID, EMULATOR_TAT_SECRET_KEY)


def assume(emulator: TATEmulator, cred: Any, role: str, **params: Any) -> Any:
    request = sts_models.AssumeRoleRequest()
    request.from_json_string(json.dumps({"RoleArn": role, "RoleSessionName": "tap", **params}))
    return tencent_sts(emulator, cred).AssumeRole(request)


def tencent_code(call: Any) -> str:
    with pytest.raises(TencentCloudSDKException) as error:
        call()
    return str(error.value.code)


def describe_command_ids(client: tat_client.TatClient) -> list[str]:
    response = client.DescribeCommands(tat_models.DescribeCommandsRequest())
    return sorted(c.CommandId for c in response.CommandSet)


def test_tencent_assume_role_caller_identity_and_isolation(tat: TATEmulator) -> None:
    other = "200000000002"
    secret_id, secret_key = tat.add_account(other)
    role = f"qcs::cam::uin/{other}:roleName/cloudcommands-reader"
    tat.add_role(role, external_id="ext-1", trusted=[EMULATOR_TENCENT_ACCOUNT_ID])
    tat.add_command("ap-guangzhou", CommandId="cmd-default1")
    tat.add_command("ap-guangzhou", CommandId="cmd-other001", account=other)

    identity = tencent_sts(tat, default_cred()).GetCallerIdentity(
        sts_models.GetCallerIdentityRequest()
    )
    assumed = assume(tat, default_cred(), role, ExternalId="ext-1", DurationSeconds=1800)
    temp = credential.Credential(
        assumed.Credentials.TmpSecretId, assumed.Credentials.TmpSecretKey, assumed.Credentials.Token
    )
    temp_identity = tencent_sts(tat, temp).GetCallerIdentity(sts_models.GetCallerIdentityRequest())
    base_other = credential.Credential(secret_id, secret_key)

    assert identity.AccountId == EMULATOR_TENCENT_ACCOUNT_ID
    assert identity.Type == "RootAccount"
    assert temp_identity.AccountId == other
    assert temp_identity.Type == "CAMRole"
    assert temp_identity.UserId.endswith(":tap")
    assert temp_identity.PrincipalId == EMULATOR_TENCENT_ACCOUNT_ID
    assert temp_identity.Arn.startswith(f"qcs::sts:{other}:assumed-role/")
    assert 1790 < assumed.ExpiredTime - datetime.now(UTC).timestamp() <= 1800
    assert assumed.Expiration.endswith("Z")
    assert describe_command_ids(tencent_tat(tat, default_cred())) == ["cmd-default1"]
    assert describe_command_ids(tencent_tat(tat, temp)) == ["cmd-other001"]
    assert describe_command_ids(tencent_tat(tat, base_other)) == ["cmd-other001"]
    tat.add_invocation(
        "ap-guangzhou", account=other, CommandId="cmd-other001", tasks=[{"InstanceId": "ins-1"}]
    )
    mine = tencent_tat(tat, temp).DescribeInvocations(tat_models.DescribeInvocationsRequest())
    theirs = tencent_tat(tat, default_cred()).DescribeInvocations(
        tat_models.DescribeInvocationsRequest()
    )
    assert (mine.TotalCount, theirs.TotalCount) == (1, 0)
    assert tat.account_of_key(assumed.Credentials.TmpSecretId) == other
    assert {c.account for c in tat.calls_for("DescribeCommands")} == {
        EMULATOR_TENCENT_ACCOUNT_ID,
        other,
    }


def test_tencent_assume_role_refusals_and_expiry(tat: TATEmulator) -> None:
    other, third = "200000000002", "300000000003"
    tat.add_account(other)
    third_id, third_key = tat.add_account(third)
    role = f"qcs::cam::uin/{other}:roleName/cloudcommands-reader"
    tat.add_role(role, external_id="ext-1", trusted=[EMULATOR_TENCENT_ACCOUNT_ID])
    cred = default_cred()

    assert tencent_code(lambda: assume(tat, cred, role)) == "UnauthorizedOperation"
    assert tencent_code(lambda: assume(tat, cred, role, ExternalId="no")) == "UnauthorizedOperation"
    third_cred = credential.Credential(third_id, third_key)
    assert tencent_code(lambda: assume(tat, third_cred, role, ExternalId="ext-1")) == (
        "UnauthorizedOperation"
    )
    missing = f"qcs::cam::uin/{other}:roleName/missing"
    assert tencent_code(lambda: assume(tat, cred, missing)) == "ResourceNotFound.RoleNotFound"
    unknown = credential.Credential("AKIDUNKNOWN000000000000000000000000", "x")
    assert tencent_code(lambda: describe_command_ids(tencent_tat(tat, unknown))) == (
        "AuthFailure.SecretIdNotFound"
    )

    assumed = assume(tat, cred, role, ExternalId="ext-1")
    default_lifetime = assumed.ExpiredTime - datetime.now(UTC).timestamp()
    creds = assumed.Credentials
    temp = credential.Credential(creds.TmpSecretId, creds.TmpSecretKey, creds.Token)
    no_token = credential.Credential(creds.TmpSecretId, creds.TmpSecretKey)
    assert describe_command_ids(tencent_tat(tat, temp)) == []
    assert tencent_code(lambda: describe_command_ids(tencent_tat(tat, no_token))) == (
        "AuthFailure.TokenFailure"
    )
    tat.expire_credentials()
    assert tencent_code(lambda: describe_command_ids(tencent_tat(tat, temp))) == (
        "AuthFailure.TokenFailure"
    )
    assert 7190 < default_lifetime <= 7200


def test_tencent_describe_regions_lists_unavailable_too(tat: TATEmulator) -> None:
    other = "200000000002"
    secret_id, secret_key = tat.add_account(other)
    tat.set_regions(other, {"ap-beijing": "AVAILABLE", "ap-hongkong": "UNAVAILABLE"})

    default = tencent_tat(tat, default_cred()).DescribeRegions(tat_models.DescribeRegionsRequest())
    theirs = tencent_tat(tat, credential.Credential(secret_id, secret_key)).DescribeRegions(
        tat_models.DescribeRegionsRequest()
    )

    states = {r.Region: r.RegionState for r in default.RegionSet}
    assert states == tat.regions_of(EMULATOR_TENCENT_ACCOUNT_ID)
    assert set(states.values()) == {"AVAILABLE", "UNAVAILABLE"}
    assert default.TotalCount == len(states)
    assert all(r.RegionName for r in default.RegionSet)
    assert {r.Region: r.RegionState for r in theirs.RegionSet} == {
        "ap-beijing": "AVAILABLE",
        "ap-hongkong": "UNAVAILABLE",
    }


def test_tencent_rate_limit_is_per_account_region_and_api(tat: TATEmulator) -> None:
    other = "200000000002"
    secret_id, secret_key = tat.add_account(other)
    tat.rate_limit_per_second = 5
    clients = [
        tencent_tat(tat, default_cred()),
        tencent_tat(tat, credential.Credential(secret_id, secret_key)),
    ]
    failures: list[str] = []

    def burst(client: tat_client.TatClient) -> None:
        for _ in range(5):
            try:
                client.DescribeCommands(tat_models.DescribeCommandsRequest())
            except TencentCloudSDKException as error:
                failures.append(str(error.code))

    threads = [threading.Thread(target=burst, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 10 requests in well under a second: 5 per account never exceed the limit.
    assert failures == []
    assert tat.max_requests_per_second("ap-guangzhou", "DescribeCommands", account=other) == 5
    assert tat.max_requests_per_second("ap-guangzhou", "DescribeCommands") == 10
    burst(clients[1])
    assert failures and set(failures) == {"RequestLimitExceeded"}


# ---------------------------------------------------------------- sample data
def test_populate_fills_each_account_separately(ssm: SSMEmulator, tat: TATEmulator) -> None:
    ssm.add_account(OTHER)
    tat.add_account("200000000002")
    populate_ssm(ssm, ["us-east-1"], 5, now=NOW, invocations_per_region=10)
    populate_ssm(ssm, ["us-east-1"], 3, now=NOW, seed=2, account=OTHER, invocations_per_region=10)
    populate_tat(tat, ["ap-guangzhou"], 4, now=NOW, account="200000000002")

    assert len(ssm.commands("us-east-1")) == 5
    assert len(ssm.commands("us-east-1", account=OTHER)) == 3
    assert ssm.invocations("us-east-1", account=OTHER)
    assert tat.commands("ap-guangzhou") == []
    assert len(tat.commands("ap-guangzhou", account="200000000002")) == 4
    assert tat.invocations("ap-guangzhou", account="200000000002")


def test_demo_accounts_are_reachable_through_their_roles(
    ssm: SSMEmulator, tat: TATEmulator
) -> None:
    filled: list[tuple[str, int]] = []
    described = add_demo_accounts(
        ssm,
        tat,
        3,
        fill_ssm=lambda account, index: filled.append((account, index)),
        fill_tat=lambda account, index: filled.append((account, index)),
    )
    aws_accounts = described["aws"]["accounts"]
    member = aws_accounts[1]
    ssm.add_command(
        "us-east-1", CommandId="00000000-0000-4000-8000-000000000009", account=member["account_id"]
    )

    creds = aws(ssm, "sts").assume_role(
        RoleArn=member["role_arn"], RoleSessionName="demo", ExternalId=member["external_id"]
    )["Credentials"]
    listed = aws(
        ssm, "ssm", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    ).list_commands()["Commands"]
    organization, _ = list_all(aws(ssm, "organizations"), "list_accounts", "Accounts")
    tencent_member = described["tencent"]["accounts"][2]
    assumed = assume(
        tat, default_cred(), tencent_member["role_arn"], ExternalId="cloudcommands-demo"
    )

    assert len(aws_accounts) == 3 and aws_accounts[0]["role_arn"] is None
    assert [c["CommandId"] for c in listed] == ["00000000-0000-4000-8000-000000000009"]
    assert {a["Id"] for a in organization} == {a["account_id"] for a in aws_accounts}
    assert tat.account_of_key(assumed.Credentials.TmpSecretId) == tencent_member["account_id"]
    assert sorted(index for _, index in filled) == [1, 1, 2, 2]


def test_ssm_rate_limit_and_stats_are_per_account(ssm: SSMEmulator) -> None:
    key, secret = ssm.add_account(OTHER)
    ssm.rate_limit_per_second = 3
    default_client, other_client = aws(ssm, "ssm"), aws(ssm, "ssm", key, secret)

    for _ in range(3):
        default_client.list_commands()
        other_client.list_commands()
    with pytest.raises(ClientError) as throttled:
        other_client.list_commands()
    stats = ssm.account_stats()
    # Straight to 127.0.0.1: an HTTP proxy from the environment must not intercept.
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with no_proxy.open(f"{ssm.url}/_emulator/account-stats", timeout=10) as answer:
        over_http = json.load(answer)

    assert error_code(throttled.value) == "ThrottlingException"
    assert ssm.max_requests_per_second("us-east-1", "ListCommands", account=OTHER) == 4
    assert stats["calls"][OTHER]["us-east-1"]["ListCommands"] == 4
    assert stats["calls"][EMULATOR_AWS_ACCOUNT_ID]["us-east-1"]["ListCommands"] == 3
    assert stats["max_requests_per_second"][OTHER]["us-east-1"]["ListCommands"] == 4
    assert over_http == stats
    assert ssm.stats()["calls"]["us-east-1"]["ListCommands"] == 7
