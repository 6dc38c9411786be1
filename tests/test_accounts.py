"""Every account and region in one configuration, run through the real CLI and emulators.

Accounts are reached with roles assumed from the tap's own identity (ExternalId checked by
the emulators), discovered through AWS Organizations, and read in the regions a wildcard
picks from each account's own listing. Every account's sample data has the same command
ids (same seed), so a key without AccountId would collide.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from collections import Counter

import pytest

from tests.conftest import emulator_config
from tests.emulators import (
    EMULATOR_AWS_ACCOUNT_ID,
    EMULATOR_TENCENT_ACCOUNT_ID,
    Fault,
    SSMEmulator,
    TATEmulator,
    populate_ssm,
    populate_tat,
)
from tests.tap_runner import run_tap

AWS_A2 = "210987654321"
AWS_A3 = "310987654321"
AWS_SUSPENDED = "410987654321"
TENCENT_A2 = "100000000002"
ROLE = "cloudcommands-reader"
EXTERNAL_ID = "ext-id-s3cr3t"
NOW = dt.datetime.now(dt.UTC)
PER_REGION = 6


def aws_role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/{ROLE}"


def tencent_role(account: str) -> str:
    return f"qcs::cam::uin/{account}:roleName/{ROLE}"


def aws_accounts(ssm: SSMEmulator, regions: dict[str, list[str]]) -> None:
    """Accounts with their own data, each with a role the default account may assume."""
    for account, account_regions in regions.items():
        if account != EMULATOR_AWS_ACCOUNT_ID:
            ssm.add_account(account)
            ssm.add_role(
                aws_role(account), external_id=EXTERNAL_ID, trusted=[EMULATOR_AWS_ACCOUNT_ID]
            )
        populate_ssm(ssm, account_regions, PER_REGION, now=NOW, account=account)


def tencent_accounts(tat: TATEmulator, regions: dict[str, list[str]]) -> None:
    for account, account_regions in regions.items():
        if account != EMULATOR_TENCENT_ACCOUNT_ID:
            tat.add_account(account)
            tat.add_role(
                tencent_role(account),
                external_id=EXTERNAL_ID,
                trusted=[EMULATOR_TENCENT_ACCOUNT_ID],
            )
        populate_tat(tat, account_regions, PER_REGION, now=NOW, account=account)


def keys(records: list[dict[str, t.Any]], *fields: str) -> Counter[tuple[t.Any, ...]]:
    return Counter(tuple(record[field] for field in fields) for record in records)


def partitions(run: t.Any, stream: str) -> set[tuple[str, str]]:
    return {
        (p["context"]["AccountId"], p["context"]["Region"])
        for p in run.final_state["bookmarks"].get(stream, {}).get("partitions", [])
    }


def test_listed_accounts_and_region_wildcards_cover_both_clouds_without_key_collisions(
    tmp_path, ssm, tat
):
    aws_accounts(
        ssm,
        {
            EMULATOR_AWS_ACCOUNT_ID: ["us-east-1"],
            AWS_A2: ["us-east-1", "eu-west-1", "af-south-1"],
        },
    )
    ssm.set_regions(
        AWS_A2,
        {"us-east-1": "ENABLED_BY_DEFAULT", "eu-west-1": "ENABLED", "af-south-1": "DISABLED"},
    )
    tencent_accounts(
        tat,
        {
            EMULATOR_TENCENT_ACCOUNT_ID: ["ap-guangzhou"],
            TENCENT_A2: ["ap-guangzhou", "ap-singapore", "na-ashburn"],
        },
    )
    tat.set_regions(
        TENCENT_A2,
        {"ap-guangzhou": "AVAILABLE", "ap-singapore": "AVAILABLE", "na-ashburn": "UNAVAILABLE"},
    )
    config = emulator_config(ssm, tat) | {
        "aws_regions": ["us-east-1"],
        "aws_account_endpoint_url": ssm.url,
        "aws_accounts": [
            {},  # the tap's own identity, default regions
            {"role_arn": aws_role(AWS_A2), "external_id": EXTERNAL_ID, "regions": ["*"]},
        ],
        "tencent_regions": ["ap-guangzhou"],
        "tencent_accounts": [
            {},
            {
                "role_arn": tencent_role(TENCENT_A2),
                "external_id": EXTERNAL_ID,
                "regions": ["ap-*", "na-*"],
            },
        ],
    }

    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr
    records = run.records
    expected_aws = {
        (EMULATOR_AWS_ACCOUNT_ID, "us-east-1"),
        (AWS_A2, "eu-west-1"),
        (AWS_A2, "us-east-1"),  # af-south-1 is not enabled: never read
    }
    expected_tencent = {
        (EMULATOR_TENCENT_ACCOUNT_ID, "ap-guangzhou"),
        (TENCENT_A2, "ap-guangzhou"),
        (TENCENT_A2, "ap-singapore"),  # na-ashburn is UNAVAILABLE
    }
    for stream, expected, count in (
        ("ssm_commands", expected_aws, lambda a, r: len(ssm.commands(r, account=a))),
        ("tat_commands", expected_tencent, lambda a, r: len(tat.commands(r, account=a))),
    ):
        got = keys(records[stream], "AccountId", "Region")
        assert set(got) == expected
        for account, region in expected:
            assert got[account, region] == count(account, region), (stream, account, region)
        assert partitions(run, stream) == expected
    # The same sample ids in every account: only AccountId tells them apart.
    for stream, fields in (
        ("ssm_commands", ("AccountId", "Region", "CommandId")),
        ("ssm_command_invocations", ("AccountId", "Region", "CommandId", "InstanceId")),
        ("tat_commands", ("AccountId", "Region", "CommandId")),
        ("tat_invocations", ("AccountId", "Region", "InvocationId")),
        ("tat_invocation_tasks", ("AccountId", "Region", "InvocationTaskId")),
    ):
        counted = keys(records[stream], *fields)
        assert max(counted.values()) == 1, stream
        ids = Counter(key[2:] for key in counted)
        assert max(ids.values()) > 1, f"{stream}: the accounts should share ids"
    assert not ssm.calls_for("ListCommands", region="af-south-1")
    assert not tat.calls_for("DescribeCommands", region="na-ashburn")
    # One STS answer per account says who it is; the summary names each partition.
    summary = [line for line in run.stderr.splitlines() if "Sync summary" in line]
    assert len(summary) == len(expected_aws) + len(expected_tencent), summary
    assert all(line.endswith("ok") for line in summary)
    assert EXTERNAL_ID not in run.stderr


def test_an_organization_is_read_account_by_account_active_ones_only(tmp_path, ssm):
    aws_accounts(
        ssm,
        {EMULATOR_AWS_ACCOUNT_ID: ["us-east-1"], AWS_A2: ["us-east-1"], AWS_A3: ["us-east-1"]},
    )
    ssm.add_account(AWS_SUSPENDED)
    ssm.add_role(aws_role(AWS_SUSPENDED), external_id=EXTERNAL_ID)
    ssm.set_organization(
        EMULATOR_AWS_ACCOUNT_ID,
        {
            EMULATOR_AWS_ACCOUNT_ID: "ACTIVE",
            AWS_A2: "ACTIVE",
            AWS_A3: "ACTIVE",
            AWS_SUSPENDED: "SUSPENDED",
        },
    )
    config = emulator_config(ssm, None) | {
        "aws_regions": ["us-east-1"],
        "aws_organizations_endpoint_url": ssm.url,
        "aws_organization": {"member_role_name": ROLE, "external_id": EXTERNAL_ID},
    }

    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr
    got = keys(run.records["ssm_commands"], "AccountId")
    assert set(got) == {(EMULATOR_AWS_ACCOUNT_ID,), (AWS_A2,), (AWS_A3,)}
    assert not ssm.calls_for("ListCommands", account=AWS_SUSPENDED)
    # Excluding an account keeps it out, and nothing is asked of it.
    ssm.reset_calls()
    config["aws_organization"] = config["aws_organization"] | {"exclude_accounts": [AWS_A3]}
    run = run_tap(tmp_path, config)
    assert run.returncode == 0, run.stderr
    assert {r["AccountId"] for r in run.records["ssm_commands"]} == {
        EMULATOR_AWS_ACCOUNT_ID,
        AWS_A2,
    }
    assert not ssm.calls_for("ListCommands", account=AWS_A3)


@pytest.mark.parametrize("policy", ["fail", "skip"])
def test_an_account_whose_role_refuses_fails_or_is_skipped_keeping_its_bookmarks(
    tmp_path, ssm, policy
):
    aws_accounts(ssm, {EMULATOR_AWS_ACCOUNT_ID: ["us-east-1"], AWS_A2: ["us-east-1"]})
    config = emulator_config(ssm, None) | {
        "aws_regions": ["us-east-1"],
        "aws_accounts": [
            {},
            {"role_arn": aws_role(AWS_A2), "external_id": "wrong-external-id"},
        ],
        "account_failure": policy,
    }
    state = {
        "bookmarks": {
            "ssm_commands": {
                "partitions": [
                    {
                        "context": {"AccountId": AWS_A2, "Region": "us-east-1"},
                        "replication_key": "RequestedDateTime",
                        "replication_key_value": "2026-01-01T00:00:00.000000+00:00",
                    }
                ]
            }
        }
    }

    run = run_tap(tmp_path, config, state=state)

    errors = [line for line in run.stderr.splitlines() if "AccessDenied" in line]
    assert "wrong-external-id" not in run.stderr
    if policy == "fail":
        assert run.returncode == 1
        assert run.stderr.strip().splitlines()[-1].startswith("tap-cloudcommands: error: AWS")
        assert "AccessDenied" in run.stderr.strip().splitlines()[-1]
        assert not [m for m in run.messages if m["type"] == "RECORD"]
        return
    assert run.returncode == 0, run.stderr
    assert len(errors) == 1, errors
    assert aws_role(AWS_A2) in errors[0]
    assert {r["AccountId"] for r in run.records["ssm_commands"]} == {EMULATOR_AWS_ACCOUNT_ID}
    kept = [
        p
        for p in run.final_state["bookmarks"]["ssm_commands"]["partitions"]
        if p["context"]["AccountId"] == AWS_A2
    ]
    assert [p["replication_key_value"] for p in kept] == ["2026-01-01T00:00:00.000000+00:00"]


def test_a_state_without_accounts_is_adopted_by_the_tap_s_own_account(tmp_path, ssm, tat):
    aws_accounts(ssm, {EMULATOR_AWS_ACCOUNT_ID: ["us-east-1", "eu-west-1"]})
    config = emulator_config(ssm, None) | {"aws_regions": ["us-east-1", "eu-west-1"]}
    first = run_tap(tmp_path, config)
    assert first.returncode == 0, first.stderr
    # The same bookmarks as a state written before accounts existed: Region-only contexts.
    legacy = {
        "bookmarks": {
            name: {
                "partitions": [
                    dict(p) | {"context": {"Region": p["context"]["Region"]}}
                    for p in stream["partitions"]
                ]
            }
            for name, stream in first.final_state["bookmarks"].items()
            if stream.get("partitions")
        }
    }
    new = ssm.add_command("us-east-1", RequestedDateTime=dt.datetime.now(dt.UTC), Status="Success")

    native = run_tap(tmp_path, config, state=first.final_state)
    second = run_tap(tmp_path, config, state=legacy)

    assert native.returncode == 0, native.stderr
    assert second.returncode == 0, second.stderr
    # The old bookmarks were used, not thrown away: the same records as with today's state
    # (the new command, and the running ones followed by id), far fewer than all.
    ids = sorted(r["CommandId"] for r in second.records["ssm_commands"])
    assert ids == sorted(r["CommandId"] for r in native.records["ssm_commands"])
    assert new["CommandId"] in ids
    assert len(ids) < len(first.records["ssm_commands"])
    for name in ("ssm_commands", "ssm_command_invocations"):
        assert partitions(second, name) == partitions(native, name)
    contexts = [p["context"] for p in second.final_state["bookmarks"]["ssm_commands"]["partitions"]]
    assert sorted(c["Region"] for c in contexts) == ["eu-west-1", "us-east-1"]
    assert all(c["AccountId"] == EMULATOR_AWS_ACCOUNT_ID for c in contexts)
    assert "now belong to account 123456789012" in second.stderr


def test_shards_cover_every_partition_exactly_once(tmp_path, ssm, tat):
    aws_accounts(
        ssm,
        {
            EMULATOR_AWS_ACCOUNT_ID: ["us-east-1", "eu-west-1"],
            AWS_A2: ["us-east-1", "eu-west-1"],
            AWS_A3: ["us-east-1", "eu-west-1"],
        },
    )
    tencent_accounts(
        tat,
        {
            EMULATOR_TENCENT_ACCOUNT_ID: ["ap-guangzhou", "ap-singapore"],
            TENCENT_A2: ["ap-guangzhou"],
        },
    )
    base = emulator_config(ssm, tat) | {
        "aws_regions": ["us-east-1", "eu-west-1"],
        "aws_accounts": [
            {},
            {"role_arn": aws_role(AWS_A2), "external_id": EXTERNAL_ID},
            {"role_arn": aws_role(AWS_A3), "external_id": EXTERNAL_ID},
        ],
        "tencent_regions": ["ap-guangzhou", "ap-singapore"],
        "tencent_accounts": [
            {},
            {
                "role_arn": tencent_role(TENCENT_A2),
                "external_id": EXTERNAL_ID,
                "regions": ["ap-guangzhou"],
            },
        ],
    }
    everything = run_tap(tmp_path, base)
    assert everything.returncode == 0, everything.stderr
    shards = []
    for index in range(3):
        run = run_tap(tmp_path, base | {"shard_count": 3, "shard_index": index})
        assert run.returncode == 0, run.stderr
        shards.append(run)
    for stream, fields in (
        ("ssm_commands", ("AccountId", "Region", "CommandId")),
        ("tat_invocations", ("AccountId", "Region", "InvocationId")),
    ):
        whole = keys(everything.records[stream], *fields)
        parts = [keys(run.records.get(stream, []), *fields) for run in shards]
        assert sum(parts, Counter()) == whole, stream  # complete, and nothing twice
        assert sum(1 for part in parts if part) >= 2, "the hash should spread 8 partitions"
        owned = [
            partitions(run, stream) for run in shards if stream in run.final_state["bookmarks"]
        ]
        assert sum(len(p) for p in owned) == len(set().union(*owned))


def test_an_expired_role_session_is_renewed_mid_sync(tmp_path, ssm, tat):
    aws_accounts(ssm, {AWS_A2: ["us-east-1", "eu-west-1"]})
    tencent_accounts(tat, {TENCENT_A2: ["ap-guangzhou", "ap-singapore"]})
    config = emulator_config(ssm, tat) | {
        "aws_regions": ["us-east-1", "eu-west-1"],
        "aws_accounts": [{"role_arn": aws_role(AWS_A2), "external_id": EXTERNAL_ID}],
        "tencent_regions": ["ap-guangzhou", "ap-singapore"],
        "tencent_accounts": [{"role_arn": tencent_role(TENCENT_A2), "external_id": EXTERNAL_ID}],
        "max_concurrent_partitions": 1,
    }
    # After the first data call of each cloud, the cloud ends every session early.
    expired = set()

    def expire(emulator: SSMEmulator | TATEmulator, action: str) -> t.Callable[[t.Any], None]:
        def hook(call: t.Any) -> None:
            if call.action == action and action not in expired:
                expired.add(action)
                emulator.expire_credentials()

        return hook

    ssm.after_response = expire(ssm, "ListCommands")
    tat.after_response = expire(tat, "DescribeCommands")

    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr
    assert expired == {"ListCommands", "DescribeCommands"}
    assert len(ssm.calls_for("AssumeRole")) >= 2
    assert len(tat.calls_for("AssumeRole")) >= 2
    assert {r["Region"] for r in run.records["ssm_commands"]} == {"us-east-1", "eu-west-1"}
    assert {r["Region"] for r in run.records["tat_commands"]} == {"ap-guangzhou", "ap-singapore"}


def test_an_account_failing_mid_sync_is_skipped_and_every_other_account_finishes(tmp_path, ssm):
    """A role that can be assumed but may not list commands: the rest of the sync goes on."""
    aws_accounts(ssm, {EMULATOR_AWS_ACCOUNT_ID: ["us-east-1"], AWS_A2: ["eu-west-1"]})
    config = emulator_config(ssm, None) | {
        "aws_regions": ["us-east-1"],
        "aws_accounts": [
            {},
            {"role_arn": aws_role(AWS_A2), "external_id": EXTERNAL_ID, "regions": ["eu-west-1"]},
        ],
        "account_failure": "skip",
    }
    kept = "2026-01-01T00:00:00.000000+00:00"
    state = {
        "bookmarks": {
            stream: {
                "partitions": [
                    {
                        "context": {"AccountId": AWS_A2, "Region": "eu-west-1"},
                        "replication_key": "RequestedDateTime",
                        "replication_key_value": kept,
                    }
                ]
            }
            for stream in ("ssm_commands", "ssm_command_invocations")
        }
    }
    # Only A2 reads eu-west-1: its listing is refused on every call, past its first page.
    ssm.inject(Fault("auth", action="ListCommands", region="eu-west-1", count=10_000))

    run = run_tap(tmp_path, config, state=state)

    assert run.returncode == 0, run.stderr
    errors = [line for line in run.stderr.splitlines() if "| ERROR" in line]
    assert len(errors) == 1, errors
    assert AWS_A2 in errors[0]
    # The tap's own account is read by every stream; A2 by none after its failure.
    for stream in ("ssm_commands", "ssm_command_invocations"):
        assert {r["AccountId"] for r in run.records[stream]} == {EMULATOR_AWS_ACCOUNT_ID}
        bookmarks = {
            p["context"]["AccountId"]: p.get("replication_key_value")
            for p in run.final_state["bookmarks"][stream]["partitions"]
        }
        assert bookmarks[AWS_A2] == kept, stream
        assert bookmarks[EMULATOR_AWS_ACCOUNT_ID] > kept
    assert not ssm.calls_for("ListCommandInvocations", region="eu-west-1")
    summary = [line for line in run.stderr.splitlines() if "Sync summary" in line]
    assert any(AWS_A2 in line and "failed" in line for line in summary), summary


def test_a_state_without_accounts_is_refused_when_the_settings_list_accounts(tmp_path, ssm):
    aws_accounts(ssm, {EMULATOR_AWS_ACCOUNT_ID: ["us-east-1"], AWS_A2: ["us-east-1"]})
    config = emulator_config(ssm, None) | {
        "aws_regions": ["us-east-1"],
        "aws_accounts": [{}, {"role_arn": aws_role(AWS_A2), "external_id": EXTERNAL_ID}],
    }
    legacy = {
        "bookmarks": {
            "ssm_commands": {
                "partitions": [
                    {
                        "context": {"Region": "us-east-1"},
                        "replication_key": "RequestedDateTime",
                        "replication_key_value": "2026-11-01T00:00:00.000000+00:00",
                    }
                ]
            }
        }
    }

    run = run_tap(tmp_path, config, state=legacy)

    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("tap-cloudcommands: error: State for stream ssm_commands")
    assert "without AccountId" in last
    assert not [m for m in run.messages if m["type"] == "RECORD"]
    assert not ssm.calls_for("ListCommands")


def test_without_sts_endpoints_the_identity_is_asked_at_the_base_endpoints(tmp_path, ssm, tat):
    """A configuration from before accounts (no STS endpoints) reaches only its own hosts."""
    aws_accounts(ssm, {EMULATOR_AWS_ACCOUNT_ID: ["us-east-1"]})
    tencent_accounts(tat, {EMULATOR_TENCENT_ACCOUNT_ID: ["ap-guangzhou"]})
    config = emulator_config(ssm, tat) | {
        "aws_regions": ["us-east-1"],
        "tencent_regions": ["ap-guangzhou"],
    }
    del config["aws_sts_endpoint_url"], config["tencent_sts_endpoint_url"]

    run = run_tap(tmp_path, config)

    assert run.returncode == 0, run.stderr
    assert {r["AccountId"] for r in run.records["ssm_commands"]} == {EMULATOR_AWS_ACCOUNT_ID}
    assert {r["AccountId"] for r in run.records["tat_commands"]} == {EMULATOR_TENCENT_ACCOUNT_ID}
    assert len(ssm.calls_for("GetCallerIdentity")) == 1
    assert len(tat.calls_for("GetCallerIdentity")) == 1
