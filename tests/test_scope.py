"""Which partitions a sync covers: region wildcards, shards, failing accounts, settings."""

from __future__ import annotations

import datetime as dt
import logging
import typing as t

import pytest

from tap_cloudcommands.errors import CloudAuthError
from tap_cloudcommands.scope import AWS, TENCENT, AccountEntry, Scope, pick_regions, shard_of
from tap_cloudcommands.settings import settings_errors

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
LOGGER = logging.getLogger("test_scope")


class FakeConnector:
    """An account that answers from memory (or refuses, like a role that cannot be assumed)."""

    def __init__(self, account_id: str, regions: list[str], *, refuse: bool = False) -> None:
        self._account_id = account_id
        self._regions = regions
        self.refuse = refuse
        self.region_calls = 0

    @property
    def account_id(self) -> str:
        if self.refuse:
            raise CloudAuthError(
                cloud="AWS",
                region="us-east-1",
                operation="AssumeRole",
                code="AccessDenied",
                message="not trusted",
            )
        return self._account_id

    def enabled_regions(self) -> list[str]:
        self.region_calls += 1
        return self._regions


def scope_of(entries: list[AccountEntry], **config: t.Any) -> Scope:
    return Scope(AWS, entries[0].connector, lambda: entries, config, LOGGER)


def test_names_are_kept_and_wildcards_pick_from_the_enabled_regions() -> None:
    enabled = ["ap-southeast-1", "eu-central-1", "eu-west-1", "us-east-1"]
    calls: list[int] = []

    def listing() -> list[str]:
        calls.append(1)
        return enabled

    assert pick_regions(["us-west-2", "eu-*"], listing) == [
        "us-west-2",
        "eu-central-1",
        "eu-west-1",
    ]
    assert pick_regions(["*"], listing) == sorted(enabled)
    assert pick_regions(["us-east-1", "us-*"], listing) == ["us-east-1"]
    assert len(calls) == 3
    # No wildcard: no call.
    assert pick_regions(["us-east-1"], listing) == ["us-east-1"]
    assert len(calls) == 3


@pytest.mark.parametrize("count", [2, 3, 7])
def test_shards_are_disjoint_and_complete(count: int) -> None:
    partitions = [
        (cloud, f"{account:012d}", region)
        for cloud in (AWS, TENCENT)
        for account in range(20)
        for region in ("r-a-1", "r-b-1", "r-c-1", "r-d-1")
    ]
    shards = [{p for p in partitions if shard_of(*p, count) == index} for index in range(count)]
    assert set().union(*shards) == set(partitions)
    assert sum(len(shard) for shard in shards) == len(partitions)
    # Every shard gets a share: the hash spreads 160 partitions.
    assert all(len(shard) > len(partitions) / count / 3 for shard in shards)


def test_a_scope_reads_every_account_once_and_keeps_its_shard() -> None:
    first = FakeConnector("111111111111", ["us-east-1", "eu-west-1"])
    second = FakeConnector("222222222222", ["us-east-1"])
    entries = [
        AccountEntry(first, ["*"], "first"),
        AccountEntry(second, ["us-east-1", "us-west-2"], "second"),
        AccountEntry(first, ["us-east-1"], "first again"),  # the organization lists it too
    ]
    scope = scope_of(entries)
    got = [(p.account_id, p.region) for p in scope.partitions()]
    assert got == [
        ("111111111111", "eu-west-1"),
        ("111111111111", "us-east-1"),
        ("222222222222", "us-east-1"),
        ("222222222222", "us-west-2"),
    ]
    assert scope.connector("222222222222") is second
    assert second.region_calls == 0  # no wildcard, no listing
    halves = [
        {
            (p.account_id, p.region)
            for p in scope_of(entries, shard_count=2, shard_index=i).partitions()
        }
        for i in (0, 1)
    ]
    assert halves[0] | halves[1] == set(got)
    assert not halves[0] & halves[1]


def test_a_failing_account_fails_the_sync_by_default() -> None:
    entries = [
        AccountEntry(FakeConnector("111111111111", []), ["us-east-1"], "good"),
        AccountEntry(FakeConnector("222222222222", [], refuse=True), ["us-east-1"], "bad-role"),
    ]
    with pytest.raises(CloudAuthError, match="AccessDenied"):
        scope_of(entries).partitions()


def test_a_failing_account_is_skipped_with_one_error_line(caplog: pytest.LogCaptureFixture) -> None:
    entries = [
        AccountEntry(FakeConnector("111111111111", []), ["us-east-1"], "good"),
        AccountEntry(FakeConnector("222222222222", [], refuse=True), ["us-east-1"], "bad-role"),
    ]
    scope = scope_of(entries, account_failure="skip")
    with caplog.at_level(logging.ERROR, logger="test_scope"):
        partitions = scope.partitions()
    assert [(p.account_id, p.region) for p in partitions] == [("111111111111", "us-east-1")]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "bad-role" in errors[0]
    assert "AccessDenied" in errors[0]
    assert "skip" in errors[0]


BASE = {
    "aws_access_key_id": "AKIA1",
    "aws_secret_access_key": "s",
    "tencent_secret_id": "id",
    "tencent_secret_key": "key",
}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {
                "aws_regions": ["us-east-1"],
                "aws_organization": {"member_role_name": "reader"},
                "aws_endpoint_url": "http://127.0.0.1:9000",
            },
            "aws_organization with aws_endpoint_url need aws_sts_endpoint_url",
        ),
        (
            {
                "aws_regions": ["us-east-1"],
                "aws_accounts": [{"role_arn": "arn:aws:iam::111111111111:role/r"}],
                "aws_endpoint_url": "http://127.0.0.1:9000",
            },
            "aws_accounts roles or aws_organization with aws_endpoint_url need",
        ),
        ({"aws_regions": ["us-east1"]}, "aws_regions 'us-east1' is not a region name"),
        (
            {"tencent_accounts": [{"regions": ["guangzhou"]}]},
            "tencent_accounts[0].regions 'guangzhou' is not a region name",
        ),
        ({"shard_count": 4, "shard_index": 4}, "shard_index 4 is not below shard_count 4"),
        (
            {
                "aws_accounts": [
                    {"role_arn": "arn:aws:iam::111111111111:role/r"},
                    {"role_arn": "arn:aws:iam::111111111111:role/r"},
                ]
            },
            "aws_accounts lists the same role_arn twice",
        ),
    ],
)
def test_account_and_region_settings_are_checked(config: dict[str, t.Any], expected: str) -> None:
    errors = settings_errors(BASE | config, now=NOW, environ={})
    assert any(expected in error for error in errors), errors


def test_identity_and_listing_calls_go_to_the_configured_endpoint_without_their_own() -> None:
    # GetCallerIdentity, ListRegions and DescribeRegions fall back to the base endpoints
    # (hosts the user chose), so these need no endpoint setting of their own.
    config = BASE | {
        "aws_regions": ["*"],
        "aws_endpoint_url": "http://127.0.0.1:9000",
        "tencent_regions": ["ap-*"],
        "tencent_endpoint_url": "http://127.0.0.1:9001",
        "tencent_accounts": [{"role_arn": "qcs::cam::uin/100000000002:roleName/reader"}],
    }
    assert settings_errors(config, now=NOW, environ={}) == []


def test_wildcards_and_accounts_with_every_endpoint_set_are_accepted() -> None:
    url = "http://127.0.0.1:9000"
    config = BASE | {
        "aws_regions": ["*"],
        "aws_accounts": [{"role_arn": "arn:aws:iam::111111111111:role/r", "regions": ["eu-*"]}],
        "aws_organization": {"member_role_name": "reader", "exclude_accounts": ["222222222222"]},
        "aws_endpoint_url": url,
        "aws_sts_endpoint_url": url,
        "aws_account_endpoint_url": url,
        "aws_organizations_endpoint_url": url,
        "tencent_regions": ["ap-*"],
        "tencent_accounts": [{"role_arn": "qcs::cam::uin/100000000002:roleName/reader"}],
        "tencent_endpoint_url": "http://127.0.0.1:9001",
        "tencent_sts_endpoint_url": "http://127.0.0.1:9001",
        "shard_count": 3,
        "shard_index": 2,
    }
    assert settings_errors(config, now=NOW, environ={}) == []
