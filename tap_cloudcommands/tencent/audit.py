"""The CloudAudit audit stream: who asked TAT to run, schedule or cancel a command.

``tat_audit_events`` reads Tencent CloudAudit ``LookUpEvents`` by event time, one
partition per account (the CloudAudit region), late-delivery-safe (``audit.AuditStream``).
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t

from singer_sdk import typing as th
from typing_extensions import override

from tap_cloudcommands.audit import AuditStream, as_mapping, as_strings, as_text
from tap_cloudcommands.client import partition_key
from tap_cloudcommands.schemas import ACCOUNT_ID
from tap_cloudcommands.scope import TENCENT
from tap_cloudcommands.tencent.connector import TransientResponseError
from tap_cloudcommands.timestamps import UTC

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers.types import Context

    from tap_cloudcommands.tencent.connector import TencentConnector

# CloudAudit LookUpEvents documents a default limit of 20 requests per second.
DEFAULT_CLOUDAUDIT_REQUESTS_PER_SECOND = 20
DEFAULT_CLOUDAUDIT_REGION = "ap-guangzhou"
# The TAT events that start runs (RunCommand, InvokeCommand: each creates an invocation),
# schedule them (CreateInvoker: its runs later come from the invoker), or stop one
# (CancelInvocation); all are in CloudAudit's list of audited TAT operations.
CLOUDAUDIT_EVENT_NAMES = ("RunCommand", "InvokeCommand", "CreateInvoker", "CancelInvocation")
# CloudAudit keeps 90 days, and a query spans less than 30 days (DescribeEvents reference;
# LookUpEvents states neither): windows of 7 days stay well inside both.
CLOUDAUDIT_RETENTION = dt.timedelta(days=90)
CLOUDAUDIT_WINDOW = dt.timedelta(days=7)
CLOUDAUDIT_MAX_PAGE_SIZE = 50
CLOUDAUDIT_AUTH_HINT = (
    "check the Tencent credentials, and that the CAM policy allows cloudaudit:LookUpEvents "
    "(or deselect tat_audit_events)"
)

TAT_AUDIT_EVENT_SCHEMA = th.PropertiesList(
    ACCOUNT_ID,
    th.Property(
        "Region",
        th.StringType,
        required=True,
        description="The CloudAudit region queried (tencent_cloudaudit_region).",
    ),
    th.Property("EventId", th.StringType, required=True, description="CloudAudit event id."),
    th.Property(
        "EventTime",
        th.DateTimeType,
        description="When the API call was made (UTC); the replication key.",
    ),
    th.Property(
        "EventName",
        th.StringType,
        description="RunCommand, InvokeCommand, CreateInvoker or CancelInvocation.",
    ),
    th.Property("EventRegion", th.StringType, description="Region of the call."),
    th.Property("ResourceRegion", th.StringType),
    th.Property("EventSource", th.StringType),
    th.Property(
        "Username",
        th.StringType,
        description="root for the main account, the sub-account id, or roleUser.",
    ),
    th.Property("SecretId", th.StringType, description="The SecretId that signed the call."),
    th.Property(
        "EventAccountId", th.StringType, description="The event's AccountID (main account UIN)."
    ),
    th.Property("PrincipalId", th.StringType, description="userIdentity.principalId."),
    th.Property("SourceIPAddress", th.StringType),
    th.Property("UserAgent", th.StringType),
    th.Property("RequestId", th.StringType, description="The event's RequestID."),
    th.Property("ErrorCode", th.IntegerType, description="0 for success."),
    th.Property(
        "InvocationId",
        th.StringType,
        description="From responseElements (RunCommand, InvokeCommand), else "
        "requestParameters (CancelInvocation); null for CreateInvoker.",
    ),
    th.Property("CommandId", th.StringType),
    th.Property("InstanceIds", th.ArrayType(th.StringType)),
    th.Property(
        "RequestedBy",
        th.StringType,
        description="The principal: userIdentity.principalId (UIN of the account, "
        "sub-account or role), else userIdentity.userName, else Username.",
    ),
    th.Property(
        "CloudAuditEvent",
        th.StringType,
        description="The raw event JSON (audit_raw_events only). May hold secrets.",
    ),
).to_dict()


def _json_mapping(value: object) -> dict[str, t.Any]:
    """An object given as an object or as JSON text (CloudAudit nests JSON text)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    mapping = as_mapping(value)
    # API 3.0 answers wrap their members in "Response".
    inner = mapping.get("Response")
    return inner if isinstance(inner, dict) else mapping


def _cloudaudit_time(value: object) -> object:
    """CloudAudit's EventTime: Unix seconds, as a number or as digits."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def tat_audit_record(event: dict[str, t.Any], region: str, *, raw: bool) -> dict[str, t.Any]:
    """Flatten one LookUpEvents event into a ``tat_audit_events`` record.

    The invocation id is ``InvocationId`` of the event's ``responseElements`` (what
    RunCommand and InvokeCommand answer), else of its ``requestParameters`` (what
    CancelInvocation is asked); each may be JSON text or an object, and a
    ``Response`` wrapper is looked through.

    Args:
        event: One ``Events`` item (CloudAuditEvent is JSON text).
        region: The CloudAudit region queried.
        raw: Keep the raw ``CloudAuditEvent`` text (``audit_raw_events``).

    Returns:
        The record; fields the event lacks are null.
    """
    text = event.get("CloudAuditEvent")
    detail = _json_mapping(text) if isinstance(text, str) else {}
    identity = _json_mapping(detail.get("userIdentity"))
    request = _json_mapping(detail.get("requestParameters"))
    response = _json_mapping(detail.get("responseElements"))
    username = as_text(event.get("Username"))
    principal = as_text(str(p)) if (p := identity.get("principalId")) is not None else None
    error_code = event.get("ErrorCode")
    return {
        "Region": region,
        "EventId": event.get("EventId"),
        "EventTime": _cloudaudit_time(event.get("EventTime")),
        "EventName": event.get("EventName"),
        "EventRegion": event.get("EventRegion"),
        "ResourceRegion": event.get("ResourceRegion"),
        "EventSource": event.get("EventSource"),
        "Username": username,
        "SecretId": event.get("SecretId"),
        "EventAccountId": None if event.get("AccountID") is None else str(event["AccountID"]),
        "PrincipalId": principal,
        "SourceIPAddress": as_text(event.get("SourceIPAddress"))
        or as_text(detail.get("sourceIPAddress")),
        "UserAgent": as_text(detail.get("userAgent")),
        "RequestId": event.get("RequestID"),
        "ErrorCode": error_code if isinstance(error_code, int) else None,
        "InvocationId": as_text(response.get("InvocationId"))
        or as_text(request.get("InvocationId")),
        "CommandId": as_text(response.get("CommandId")) or as_text(request.get("CommandId")),
        "InstanceIds": as_strings(request.get("InstanceIds")),
        "RequestedBy": principal or as_text(identity.get("userName")) or username,
        "CloudAuditEvent": text if raw and isinstance(text, str) else None,
    }


class TATAuditEventsStream(AuditStream):
    """CloudAudit events that run, schedule or cancel TAT commands: who asked for them.

    CloudAudit is queried in one region (``tencent_cloudaudit_region``, the partition)
    and answers for the whole account; ``EventRegion`` says where each call went. One
    LookUpEvents query per event name and 7-day window, 50 events per page, at most
    ``cloudaudit_requests_per_second`` calls per second.
    """

    name = "tat_audit_events"
    schema = TAT_AUDIT_EVENT_SCHEMA
    regions_setting = "tencent_regions"
    retention = CLOUDAUDIT_RETENTION
    delay_setting = "cloudaudit_delivery_delay_seconds"
    rate_setting = "cloudaudit_requests_per_second"
    default_rate = DEFAULT_CLOUDAUDIT_REQUESTS_PER_SECOND
    endpoint_setting = "tencent_cloudaudit_endpoint_url"
    base_endpoint_setting = "tencent_endpoint_url"

    @override
    def connector(self, context: Context) -> TencentConnector:
        return t.cast("TencentConnector", super().connector(context))

    @property
    @override
    def partitions(self) -> list[dict[str, t.Any]] | None:
        """One partition per account: the CloudAudit region, which answers for the account.

        With shards, the (account, CloudAudit region) pair is sharded like any partition,
        so exactly one shard reads an account's audit events.
        """
        if self._partitions is None:
            region = self.config.get("tencent_cloudaudit_region") or DEFAULT_CLOUDAUDIT_REGION
            self.scope.partitions()  # resolves the accounts
            self._partitions = [
                {"AccountId": account, "Region": region}
                for account in self.scope.connectors
                if self.scope.in_shard(TENCENT, account, region)
            ]
        return self._partitions

    def windows(self, start: dt.datetime, end: dt.datetime) -> list[tuple[int, int]]:
        """Query windows, in Unix seconds, covering ``start``..``end`` inclusively.

        Args:
            start: The first instant (rounded down to its second).
            end: The last instant (rounded up).

        Returns:
            Consecutive (StartTime, EndTime) pairs no longer than 7 days.
        """
        first = int(start.timestamp())
        last = -int(-end.timestamp() // 1)
        span = int(CLOUDAUDIT_WINDOW.total_seconds())
        return [(low, min(low + span, last)) for low in range(first, max(last, first + 1), span)]

    def lookup_pages(
        self, context: Context, event_name: str, window: tuple[int, int]
    ) -> Iterator[list[dict[str, t.Any]]]:
        """Every page of one event name in one window.

        The list ends at ``ListOver`` true or without a ``NextToken``.

        Args:
            context: The partition (account, CloudAudit region).
            event_name: The ``EventName`` lookup attribute.
            window: (StartTime, EndTime), Unix seconds.

        Yields:
            Each page's Events.
        """
        request: dict[str, t.Any] = {
            "StartTime": window[0],
            "EndTime": window[1],
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": event_name}],
            "MaxResults": CLOUDAUDIT_MAX_PAGE_SIZE,
        }

        def check(response: dict[str, t.Any]) -> None:
            events = response.get("Events")
            if events is not None and not isinstance(events, list):
                raise TransientResponseError("MalformedResponse", "Events is not a list")

        region = str(context["Region"])
        connector = self.connector(context)
        while True:
            response = connector.call(
                region,
                "LookUpEvents",
                request,
                check=check,
                stop=self.feed_group(context).stop,
                client=connector.cloudaudit_client(region),
                limiter=self.limiter(partition_key(context)),
                hint=CLOUDAUDIT_AUTH_HINT,
            )
            yield [e for e in response.get("Events") or [] if isinstance(e, dict)]
            token = response.get("NextToken")
            if response.get("ListOver") is True or not token:
                return
            request["NextToken"] = token

    @override
    def fetch_pages(self, context: Context, region: str) -> Iterable[list[dict[str, t.Any]]]:
        if self.blocked:
            return ()
        now = dt.datetime.now(UTC)
        start = self._starts[partition_key(context)] = self.query_start(context, now)
        windows = self.windows(start, now)

        def pages() -> Iterator[list[dict[str, t.Any]]]:
            for event_name in CLOUDAUDIT_EVENT_NAMES:
                for window in windows:
                    yield from self.lookup_pages(context, event_name, window)

        return pages()

    # Windows share their boundary second: an event there comes twice.
    repeats_events = True

    @override
    def event_record(self, event: dict[str, t.Any], region: str) -> dict[str, t.Any]:
        return tat_audit_record(event, region, raw=self.raw_events)
