"""The tap's settings: the JSON schema shown by ``--about``, and checks it cannot express.

Both run before any API call.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import typing as t
from difflib import get_close_matches
from urllib.parse import urlsplit

from singer_sdk import typing as th

from tap_cloudcommands.audit import DEFAULT_DELIVERY_DELAY_SECONDS
from tap_cloudcommands.aws.audit import DEFAULT_CLOUDTRAIL_REQUESTS_PER_SECOND
from tap_cloudcommands.aws.connector import DEFAULT_MAX_ATTEMPTS as DEFAULT_AWS_MAX_ATTEMPTS
from tap_cloudcommands.aws.connector import SSM_MAX_PAGE_SIZE
from tap_cloudcommands.aws.streams import DEFAULT_SSM_STATUS_LOOKBACK_DAYS
from tap_cloudcommands.scope import is_pattern
from tap_cloudcommands.tencent.audit import (
    DEFAULT_CLOUDAUDIT_REGION,
    DEFAULT_CLOUDAUDIT_REQUESTS_PER_SECOND,
)
from tap_cloudcommands.tencent.connector import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_REQUESTS_PER_SECOND,
    TAT_MAX_PAGE_SIZE,
)
from tap_cloudcommands.tencent.streams import (
    DEFAULT_TAT_HISTORY_MARGIN_SECONDS,
    DEFAULT_TAT_TASK_OUTPUT_MAX_CHARS,
)
from tap_cloudcommands.timestamps import UTC, parse_timestamp

if t.TYPE_CHECKING:
    from collections.abc import Collection, Mapping

AWS_REGION_PATTERN = r"^[a-z]{2}(-(gov|iso|isob|isoe|isof))?-[a-z]+-[0-9]{1,2}$"
TENCENT_REGION_PATTERN = r"^[a-z]{2,3}-[a-z]+(-[a-z0-9]+)*$"
# A region name or a wildcard over the account's enabled regions ("*", "eu-*"); names
# are checked against the cloud's form in settings_errors.
REGION_OR_GLOB_PATTERN = r"^[a-z0-9*?-]+$"
ACCOUNT_ID_PATTERN = r"^[0-9]{12}$"
TENCENT_ROLE_ARN_PATTERN = r"^qcs::cam::uin/[0-9]+:role(Name)?/[\w+=,.@/-]+$"
DEFAULT_REQUEST_TIMEOUT_SECONDS = 60
ENDPOINT_URL_PATTERN = r"^https?://[^/\s?#]+/?$"
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$"
SESSION_NAME_PATTERN = r"^[\w+=,.@-]{2,64}$"


def _endpoint_url(name: str, example: str) -> th.Property[str]:
    return th.Property(
        name,
        th.StringType(pattern=ENDPOINT_URL_PATTERN),
        description=(
            f"Scheme and host[:port] of an alternative API endpoint, e.g. {example} "
            "(emulators, VPC endpoints, proxies). Leave unset for the public endpoint."
        ),
    )


CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "start_date",
        th.DateTimeType,
        description="Earliest record time to sync when there is no bookmark (RFC 3339). "
        "Unset: everything the APIs still hold.",
    ),
    # AWS
    th.Property("aws_access_key_id", th.StringType, secret=True, description="AWS access key id."),
    th.Property("aws_secret_access_key", th.StringType, secret=True, description="AWS secret key."),
    th.Property("aws_session_token", th.StringType, secret=True, description="AWS session token."),
    th.Property(
        "aws_profile",
        th.StringType,
        description="Named profile from ~/.aws/config, used when no access key is set.",
    ),
    th.Property(
        "aws_regions",
        th.ArrayType(th.StringType(pattern=REGION_OR_GLOB_PATTERN)),
        description='AWS regions to read, e.g. ["us-east-1", "eu-west-1"]; "*" or a glob '
        '("eu-*") means the regions each account has enabled (Account ListRegions). Also '
        "the default of every account below. Empty: the ssm_* streams emit nothing.",
    ),
    th.Property(
        "aws_accounts",
        th.ArrayType(
            th.ObjectType(
                th.Property(
                    "role_arn",
                    th.StringType(pattern=ROLE_ARN_PATTERN),
                    description="Role assumed in the account; unset: the tap's own identity.",
                ),
                th.Property("external_id", th.StringType, secret=True),
                th.Property("session_name", th.StringType(pattern=SESSION_NAME_PATTERN)),
                th.Property("regions", th.ArrayType(th.StringType(pattern=REGION_OR_GLOB_PATTERN))),
                additional_properties=False,
            )
        ),
        description="AWS accounts to read, each through a role assumed from the tap's own "
        "identity: [{role_arn, external_id, session_name, regions}]. Unset (and no "
        "aws_organization): the tap's own account only.",
    ),
    th.Property(
        "aws_organization",
        th.ObjectType(
            th.Property("member_role_name", th.StringType, required=True),
            th.Property("external_id", th.StringType, secret=True),
            th.Property("session_name", th.StringType(pattern=SESSION_NAME_PATTERN)),
            th.Property(
                "include_accounts", th.ArrayType(th.StringType(pattern=ACCOUNT_ID_PATTERN))
            ),
            th.Property(
                "exclude_accounts", th.ArrayType(th.StringType(pattern=ACCOUNT_ID_PATTERN))
            ),
            th.Property("organizational_units", th.ArrayType(th.StringType)),
            th.Property("regions", th.ArrayType(th.StringType(pattern=REGION_OR_GLOB_PATTERN))),
            additional_properties=False,
        ),
        description="Read every ACTIVE account of the AWS organization (Organizations "
        "ListAccounts, from the management or a delegated administrator account) through "
        "the role member_role_name in each; include_accounts, exclude_accounts and "
        "organizational_units (with the OUs under them) narrow it.",
    ),
    th.Property(
        "aws_organizations_endpoint_url",
        th.StringType(pattern=ENDPOINT_URL_PATTERN),
        description="Scheme and host[:port] of the Organizations (aws_organization) "
        "endpoint. Unset: boto3's AWS_ENDPOINT_URL_<SERVICE>, else aws_endpoint_url when "
        "set, else the public one.",
    ),
    th.Property(
        "aws_account_endpoint_url",
        th.StringType(pattern=ENDPOINT_URL_PATTERN),
        description="Scheme and host[:port] of the Account ListRegions (region wildcards) "
        "endpoint. Unset: boto3's AWS_ENDPOINT_URL_<SERVICE>, else aws_endpoint_url when "
        "set, else the public one.",
    ),
    _endpoint_url("aws_endpoint_url", "http://127.0.0.1:9000"),
    th.Property(
        "aws_sts_endpoint_url",
        th.StringType(pattern=ENDPOINT_URL_PATTERN),
        description="Scheme and host[:port] of the STS endpoint (AssumeRole, "
        "GetCallerIdentity), e.g. https://sts.eu-west-1.amazonaws.com or an emulator. "
        "Required with aws_endpoint_url and a role (else boto3's AWS_ENDPOINT_URL_STS); "
        "GetCallerIdentity alone falls back to aws_endpoint_url, else the public endpoint.",
    ),
    th.Property(
        "aws_assume_role_arn",
        th.StringType(pattern=ROLE_ARN_PATTERN),
        description="Role to assume on top of the credentials above.",
    ),
    th.Property(
        "aws_assume_role_external_id",
        th.StringType,
        secret=True,
        description="External id the role's trust policy requires.",
    ),
    th.Property(
        "aws_assume_role_session_name",
        th.StringType(pattern=SESSION_NAME_PATTERN),
        default="tap-cloudcommands",
        description="Session name shown in CloudTrail for the assumed role.",
    ),
    th.Property(
        "aws_max_attempts",
        th.IntegerType(minimum=1, maximum=20),
        default=DEFAULT_AWS_MAX_ATTEMPTS,
        description="Total attempts per AWS call, first try included (botocore retries).",
    ),
    th.Property(
        "aws_retry_mode",
        th.StringType,
        allowed_values=["standard", "adaptive"],
        default="standard",
        description="botocore retry mode; adaptive also slows the client when throttled.",
    ),
    th.Property(
        "ssm_page_size",
        th.IntegerType(minimum=1, maximum=SSM_MAX_PAGE_SIZE),
        default=SSM_MAX_PAGE_SIZE,
        description="ListCommands and ListCommandInvocations MaxResults (1-50).",
    ),
    th.Property(
        "ssm_status_lookback_days",
        th.IntegerType(minimum=0, maximum=30),
        default=DEFAULT_SSM_STATUS_LOOKBACK_DAYS,
        description="A command still running (or with an invocation still running) is read "
        "again by id on every sync until it is final, for at most this many days after it "
        "was requested (SSM keeps about 30); it does not hold the bookmark back.",
    ),
    th.Property(
        "ssm_invocation_details",
        th.BooleanType,
        default=False,
        description="Ask ListCommandInvocations for Details: fills CommandPlugins (per-step "
        "status, exit code, times, and output that AWS cuts to 2,500 characters; output may "
        "hold secrets).",
    ),
    th.Property(
        "account_failure",
        th.StringType,
        allowed_values=["fail", "skip"],
        default="fail",
        description="What an account that cannot be reached (role, credentials, region "
        "listing) does: fail the sync, or skip it with one error line, its bookmarks kept.",
    ),
    th.Property(
        "max_concurrent_partitions",
        th.IntegerType(minimum=1, maximum=64),
        default=8,
        description="Partitions (account and region) of a stream fetched at once: the one "
        "being written and the next ones in line.",
    ),
    th.Property(
        "shard_count",
        th.IntegerType(minimum=1, maximum=1000),
        default=1,
        description="Split the (cloud, account, region) partitions into this many shards, "
        "by a hash: N jobs with shard_index 0..N-1 (and their own state ids) cover each "
        "partition exactly once.",
    ),
    th.Property(
        "shard_index",
        th.IntegerType(minimum=0, maximum=999),
        default=0,
        description="Which shard this job reads, 0 .. shard_count - 1.",
    ),
    th.Property(
        "request_timeout_seconds",
        th.IntegerType(minimum=1, maximum=600),
        default=DEFAULT_REQUEST_TIMEOUT_SECONDS,
        description="Seconds to wait to connect and for each answer, on both clouds; a "
        "call that takes longer counts as a failed attempt and is retried.",
    ),
    # Tencent Cloud
    th.Property("tencent_secret_id", th.StringType, secret=True, description="Tencent SecretId."),
    th.Property("tencent_secret_key", th.StringType, secret=True, description="Tencent SecretKey."),
    th.Property(
        "tencent_token", th.StringType, secret=True, description="Temporary credential token."
    ),
    th.Property(
        "tencent_regions",
        th.ArrayType(th.StringType(pattern=REGION_OR_GLOB_PATTERN)),
        description='Tencent Cloud regions to read, e.g. ["ap-guangzhou"]; "*" or a glob '
        '("ap-*") means the regions TAT serves each account in (DescribeRegions, AVAILABLE '
        "only). Also the default of every account below. Empty: the tat_* streams emit "
        "nothing.",
    ),
    th.Property(
        "tencent_accounts",
        th.ArrayType(
            th.ObjectType(
                th.Property(
                    "role_arn",
                    th.StringType(pattern=TENCENT_ROLE_ARN_PATTERN),
                    description="CAM role assumed in the account (qcs::cam::uin/UIN:roleName/"
                    "NAME); unset: the tap's own identity.",
                ),
                th.Property("external_id", th.StringType, secret=True),
                th.Property("session_name", th.StringType(pattern=SESSION_NAME_PATTERN)),
                th.Property("regions", th.ArrayType(th.StringType(pattern=REGION_OR_GLOB_PATTERN))),
                additional_properties=False,
            )
        ),
        description="Tencent Cloud accounts to read, each through a CAM role assumed from "
        "the tap's own identity with STS AssumeRole (ExternalId passed; credentials renewed "
        "before they expire). Unset: the tap's own account only.",
    ),
    _endpoint_url("tencent_endpoint_url", "http://127.0.0.1:9001"),
    th.Property(
        "tencent_sts_endpoint_url",
        th.StringType(pattern=ENDPOINT_URL_PATTERN),
        description="Scheme and host[:port] of the STS endpoint (GetCallerIdentity, "
        "AssumeRole), e.g. an emulator. Unset: tencent_endpoint_url when that is set, else "
        "the public endpoint.",
    ),
    th.Property(
        "tencent_requests_per_second",
        th.IntegerType(minimum=1, maximum=1000),
        default=DEFAULT_REQUESTS_PER_SECOND,
        description="Most calls per second per region and API (TAT documents 20).",
    ),
    th.Property(
        "tencent_max_attempts",
        th.IntegerType(minimum=1, maximum=20),
        default=DEFAULT_MAX_ATTEMPTS,
        description="Total attempts per TAT call; throttling, internal and network errors "
        "are retried with exponential backoff and jitter.",
    ),
    th.Property(
        "tat_page_size",
        th.IntegerType(minimum=1, maximum=TAT_MAX_PAGE_SIZE),
        default=TAT_MAX_PAGE_SIZE,
        description="DescribeCommands, DescribeInvocations and DescribeInvocationTasks "
        "Limit (1-100; pages overlap by one item, so 1 is read as 2).",
    ),
    th.Property(
        "tat_history_margin_seconds",
        th.IntegerType(minimum=0, maximum=30 * 86_400),
        default=DEFAULT_TAT_HISTORY_MARGIN_SECONDS,
        description="Incremental tat_invocations and tat_invocation_tasks scans stop at runs "
        "created before the bookmark minus TAT's longest run (86,400 s) minus this margin "
        "(delivery delays, clocks apart).",
    ),
    th.Property(
        "tat_task_output",
        th.BooleanType,
        default=False,
        description="Read task output (DescribeInvocationTasks HideOutput=false) into "
        "TaskResult.Output: decoded when it is UTF-8 text, else kept as base64. Output may "
        "hold secrets.",
    ),
    th.Property(
        "tat_task_output_max_chars",
        th.IntegerType(minimum=1, maximum=1_000_000),
        default=DEFAULT_TAT_TASK_OUTPUT_MAX_CHARS,
        description="Longest TaskResult.Output emitted, in characters; longer output is "
        "cut and TaskResult.OutputCapped set.",
    ),
    # Audit trails (aws/audit.py, tencent/audit.py)
    th.Property(
        "aws_cloudtrail_endpoint_url",
        th.StringType(pattern=ENDPOINT_URL_PATTERN),
        description="Scheme and host[:port] of the CloudTrail endpoint for "
        "aws_send_command_events, e.g. http://127.0.0.1:9000. Unset: the public endpoint, "
        "except with aws_endpoint_url set, when the stream calls nothing.",
    ),
    th.Property(
        "cloudtrail_requests_per_second",
        th.IntegerType(minimum=1, maximum=DEFAULT_CLOUDTRAIL_REQUESTS_PER_SECOND),
        default=DEFAULT_CLOUDTRAIL_REQUESTS_PER_SECOND,
        description="Most LookupEvents calls per second per region (CloudTrail allows 2 "
        "per account and region).",
    ),
    th.Property(
        "cloudtrail_delivery_delay_seconds",
        th.IntegerType(minimum=0, maximum=86_400),
        default=DEFAULT_DELIVERY_DELAY_SECONDS,
        description="How late CloudTrail may deliver an event (it documents about 5 "
        "minutes on average, not guaranteed): the aws_send_command_events bookmark stays "
        "this far behind the sync start, so late events are read by the next sync.",
    ),
    th.Property(
        "tencent_cloudaudit_endpoint_url",
        th.StringType(pattern=ENDPOINT_URL_PATTERN),
        description="Scheme and host[:port] of the CloudAudit endpoint for "
        "tat_audit_events, e.g. http://127.0.0.1:9001. Unset: the public endpoint, except "
        "with tencent_endpoint_url set, when the stream calls nothing.",
    ),
    th.Property(
        "tencent_cloudaudit_region",
        th.StringType(pattern=TENCENT_REGION_PATTERN),
        default=DEFAULT_CLOUDAUDIT_REGION,
        description="Region whose CloudAudit endpoint tat_audit_events queries (its Region field).",
    ),
    th.Property(
        "cloudaudit_requests_per_second",
        th.IntegerType(minimum=1, maximum=DEFAULT_CLOUDAUDIT_REQUESTS_PER_SECOND),
        default=DEFAULT_CLOUDAUDIT_REQUESTS_PER_SECOND,
        description="Most CloudAudit LookUpEvents calls per second (CloudAudit documents 20).",
    ),
    th.Property(
        "cloudaudit_delivery_delay_seconds",
        th.IntegerType(minimum=0, maximum=86_400),
        default=DEFAULT_DELIVERY_DELAY_SECONDS,
        description="How late CloudAudit may deliver an event: the tat_audit_events "
        "bookmark stays this far behind the sync start.",
    ),
    th.Property(
        "audit_raw_events",
        th.BooleanType,
        default=False,
        description="Also emit each audit event's raw JSON (CloudTrailEvent, "
        "CloudAuditEvent). It holds the request parameters, which may hold secrets.",
    ),
).to_dict()

# The tap's own settings; the SDK later appends its built-in ones to CONFIG_SCHEMA.
TAP_SETTING_NAMES = tuple(CONFIG_SCHEMA["properties"])

CREDENTIAL_SETTINGS = (
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "tencent_secret_id",
    "tencent_secret_key",
    "tencent_token",
)
CREDENTIAL_PAIRS = (
    ("aws_access_key_id", "aws_secret_access_key"),
    ("aws_secret_access_key", "aws_access_key_id"),
    ("tencent_secret_id", "tencent_secret_key"),
    ("tencent_secret_key", "tencent_secret_id"),
    ("aws_session_token", "aws_access_key_id"),
    ("tencent_token", "tencent_secret_id"),
)


def settings_errors(
    config: Mapping[str, t.Any],
    *,
    known: Collection[str] = TAP_SETTING_NAMES,
    now: dt.datetime | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """Check what the JSON schema cannot: names, dates, pairs of credentials, URLs.

    Args:
        config: The tap's settings.
        known: Every accepted setting name (the SDK adds its own to the tap's).
        now: The current time (injectable for tests).
        environ: Environment variables (default: the process's), for boto3's own
            endpoint settings.

    Returns:
        One line per problem, each naming the setting and how to fix it.
    """
    errors = [
        f"unknown setting {name!r}"
        + (f": did you mean {close[0]!r}?" if (close := get_close_matches(name, known, 1)) else "")
        for name in config
        if name not in known
    ]
    errors += _start_date_errors(config.get("start_date"), now or dt.datetime.now(UTC))
    errors += [
        f"{key} is set but {pair} is not: set both or neither"
        for key, pair in CREDENTIAL_PAIRS
        if config.get(key) and not config.get(pair)
    ]
    errors += [
        f"{name} has spaces around it: paste the value without them"
        for name in CREDENTIAL_SETTINGS
        if isinstance(config.get(name), str) and config[name] != config[name].strip()
    ]
    errors += [
        f"{name} lists a region twice: list each region once"
        for name in ("aws_regions", "tencent_regions")
        if len(set(config.get(name) or [])) != len(config.get(name) or [])
    ]
    errors += [
        f"{name} {config[name]!r} must be scheme and host[:port], e.g. http://127.0.0.1:9000"
        for name in ENDPOINT_SETTINGS
        if config.get(name) and not _is_endpoint_url(config[name])
    ]
    errors += _sts_endpoint_errors(config, os.environ if environ is None else environ)
    errors += _region_errors(config)
    errors += _account_errors(config)
    return errors


ENDPOINT_SETTINGS = (
    "aws_endpoint_url",
    "aws_sts_endpoint_url",
    "aws_organizations_endpoint_url",
    "aws_account_endpoint_url",
    "tencent_endpoint_url",
    "tencent_sts_endpoint_url",
    "aws_cloudtrail_endpoint_url",
    "tencent_cloudaudit_endpoint_url",
)


def _all_regions(config: Mapping[str, t.Any], cloud: str) -> list[tuple[str, str]]:
    """(setting, value) of every region a cloud's settings name."""
    found = [(f"{cloud}_regions", r) for r in config.get(f"{cloud}_regions") or []]
    for index, account in enumerate(config.get(f"{cloud}_accounts") or []):
        found += [(f"{cloud}_accounts[{index}].regions", r) for r in account.get("regions") or []]
    if cloud == "aws" and isinstance(organization := config.get("aws_organization"), dict):
        found += [("aws_organization.regions", r) for r in organization.get("regions") or []]
    return found


def _region_errors(config: Mapping[str, t.Any]) -> list[str]:
    errors = []
    for cloud, pattern, example in (
        ("aws", AWS_REGION_PATTERN, "us-east-1"),
        ("tencent", TENCENT_REGION_PATTERN, "ap-guangzhou"),
    ):
        errors += [
            f"{setting} {region!r} is not a region name: use one such as {example}, or a "
            'wildcard such as "*"'
            for setting, region in _all_regions(config, cloud)
            if not is_pattern(region) and not re.match(pattern, region)
        ]
    return errors


def _account_errors(config: Mapping[str, t.Any]) -> list[str]:
    errors = []
    count = config.get("shard_count") or 1
    if (config.get("shard_index") or 0) >= count:
        errors.append(
            f"shard_index {config.get('shard_index')} is not below shard_count {count}: "
            f"use 0 .. {count - 1}"
        )
    for cloud in ("aws", "tencent"):
        arns = [a.get("role_arn") for a in config.get(f"{cloud}_accounts") or []]
        if len(arns) != len(set(arns)):
            errors.append(f"{cloud}_accounts lists the same role_arn twice: list each once")
    return errors


def _sts_endpoint_errors(config: Mapping[str, t.Any], environ: Mapping[str, str]) -> list[str]:
    """A role assumed through the public STS endpoint while SSM goes elsewhere.

    boto3's STS client does not take the SSM client's endpoint: with ``aws_endpoint_url``
    set (an emulator, a VPC endpoint, a proxy), AssumeRole would still go to the public
    STS endpoint, a host the user did not configure.
    """
    sts_configured = config.get("aws_sts_endpoint_url") or any(
        environ.get(name) for name in ("AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL")
    )
    if not config.get("aws_endpoint_url") or sts_configured:
        return []
    if config.get("aws_assume_role_arn"):
        return [
            (
                "aws_assume_role_arn with aws_endpoint_url needs aws_sts_endpoint_url (or "
                "AWS_ENDPOINT_URL_STS): else AssumeRole goes to the public STS endpoint"
            )
        ]
    roles = [a for a in config.get("aws_accounts") or [] if a.get("role_arn")]
    if roles or config.get("aws_organization"):
        return [
            (
                "aws_accounts roles or aws_organization with aws_endpoint_url need "
                "aws_sts_endpoint_url (or AWS_ENDPOINT_URL_STS): else AssumeRole goes to the "
                "public STS endpoint"
            )
        ]
    return []


def _start_date_errors(start_date: str | None, now: dt.datetime) -> list[str]:
    if start_date is None:
        return []
    try:
        start = parse_timestamp(start_date)
    except ValueError:
        return [
            f"start_date {start_date!r} is not a date-time: use RFC 3339, e.g. 2026-01-01T00:00:00Z"
        ]
    if start > now:
        return [f"start_date {start_date!r} is in the future: nothing would ever sync"]
    return []


def _is_endpoint_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)
