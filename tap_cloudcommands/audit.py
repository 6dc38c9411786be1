"""The audit-trail streams: who asked each cloud to run a command (CloudTrail, CloudAudit).

SSM and TAT record what ran; only each cloud's audit trail records who asked for it.
``aws_send_command_events`` reads CloudTrail ``LookupEvents`` and ``tat_audit_events``
reads Tencent CloudAudit ``LookUpEvents``, both by event time, per region.

Audit trails deliver events late: an event becomes visible minutes after its
``EventTime``, with that original time. So each sync reads up to now but lets the
region's bookmark reach only the sync start minus the delivery delay setting: the next
sync reads that stretch again and picks up what arrived late (records are keyed by
``EventId``, so a re-read event is an upsert, not a duplicate).
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t

from singer_sdk import typing as th
from typing_extensions import override

from tap_cloudcommands.client import PartitionKey, RegionPartitionedStream, partition_key
from tap_cloudcommands.rate_limit import SlidingWindowRateLimiter
from tap_cloudcommands.schemas import ACCOUNT_ID
from tap_cloudcommands.scope import TENCENT
from tap_cloudcommands.tencent.connector import TransientResponseError
from tap_cloudcommands.timestamps import UTC, instant_and_text

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

    from tap_cloudcommands.aws.connector import AWSConnector
    from tap_cloudcommands.scope import Scope
    from tap_cloudcommands.tencent.connector import TencentConnector

# The Run Command events of CloudTrail (eventSource ssm.amazonaws.com): SendCommand starts
# a run, CancelCommand stops one. Other SSM events (StartSession, CreateAssociation, ...)
# are not Run Command.
CLOUDTRAIL_EVENT_NAMES = ("SendCommand", "CancelCommand")
# The LookupEvents reference: events of "a Region within the last 90 days" can be read.
CLOUDTRAIL_RETENTION = dt.timedelta(days=90)
# A minute inside the retention, so a StartTime computed here is still inside it when the
# request arrives.
RETENTION_MARGIN = dt.timedelta(minutes=1)
# "The rate of lookup requests is limited to two per second, per account, per Region."
DEFAULT_CLOUDTRAIL_REQUESTS_PER_SECOND = 2
# CloudTrail "typically delivers logs within an average of about 5 minutes of an API call.
# This time is not guaranteed": three times that by default.
DEFAULT_DELIVERY_DELAY_SECONDS = 900
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
# The value CloudTrail writes in place of parameters it does not log.
HIDDEN_VALUE = "HIDDEN_DUE_TO_SECURITY_REASONS"

_RESOURCES = th.ArrayType(
    th.ObjectType(
        th.Property("ResourceType", th.StringType),
        th.Property("ResourceName", th.StringType),
    )
)

AWS_SEND_COMMAND_EVENT_SCHEMA = th.PropertiesList(
    ACCOUNT_ID,
    th.Property(
        "Region", th.StringType, required=True, description="Region the event was read from."
    ),
    th.Property("EventId", th.StringType, required=True, description="CloudTrail event id."),
    th.Property(
        "EventTime",
        th.DateTimeType,
        description="When the API call was made (UTC); the replication key.",
    ),
    th.Property("EventName", th.StringType, description="SendCommand or CancelCommand."),
    th.Property("Username", th.StringType),
    th.Property("AccessKeyId", th.StringType),
    th.Property("EventSource", th.StringType),
    th.Property("ReadOnly", th.StringType, description='"true" or "false", as CloudTrail sends.'),
    th.Property("Resources", _RESOURCES),
    th.Property("UserIdentityType", th.StringType),
    th.Property("UserIdentityArn", th.StringType),
    th.Property("UserIdentityAccountId", th.StringType),
    th.Property("UserIdentityPrincipalId", th.StringType),
    th.Property("SessionIssuerArn", th.StringType),
    th.Property("SourceIPAddress", th.StringType),
    th.Property("UserAgent", th.StringType),
    th.Property("DocumentName", th.StringType),
    th.Property("InstanceIds", th.ArrayType(th.StringType)),
    th.Property(
        "Targets",
        th.ArrayType(
            th.ObjectType(
                th.Property("Key", th.StringType),
                th.Property("Values", th.ArrayType(th.StringType)),
            )
        ),
    ),
    th.Property(
        "Parameters",
        th.ObjectType(additional_properties=th.ArrayType(th.StringType)),
        description="Document parameters as logged: name to list of values; null when "
        "CloudTrail hid them. May hold secrets.",
    ),
    th.Property(
        "CommandId",
        th.StringType,
        description="The command sent (responseElements.command.commandId), or the one "
        "cancelled (requestParameters.commandId).",
    ),
    th.Property("ErrorCode", th.StringType),
    th.Property("ErrorMessage", th.StringType),
    th.Property(
        "RequestedBy",
        th.StringType,
        description="The principal: userIdentity.arn, else the session issuer's arn, "
        "else Username.",
    ),
    th.Property(
        "CloudTrailEvent",
        th.StringType,
        description="The raw event JSON (audit_raw_events only). May hold secrets.",
    ),
).to_dict()


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


def _mapping(value: object) -> dict[str, t.Any]:
    return value if isinstance(value, dict) else {}


def _json_mapping(value: object) -> dict[str, t.Any]:
    """An object given as an object or as JSON text (CloudAudit nests JSON text)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    mapping = _mapping(value)
    # API 3.0 answers wrap their members in "Response".
    inner = mapping.get("Response")
    return inner if isinstance(inner, dict) else mapping


def _cloudaudit_time(value: object) -> object:
    """CloudAudit's EventTime: Unix seconds, as a number or as digits."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _strings(value: object) -> list[str] | None:
    if not isinstance(value, list):
        return None
    return [item for item in value if isinstance(item, str)]


def _parameters(value: object) -> dict[str, list[str]] | None:
    """Parameters as ssm_commands has them: name -> list of values; None when hidden."""
    if not isinstance(value, dict):
        return None  # HIDDEN_DUE_TO_SECURITY_REASONS, or absent
    return {
        str(name): [str(item) for item in values] if isinstance(values, list) else [str(values)]
        for name, values in value.items()
    }


def _targets(value: object) -> list[dict[str, t.Any]] | None:
    if not isinstance(value, list):
        return None
    return [
        {"Key": _text(target.get("key")), "Values": _strings(target.get("values"))}
        for target in value
        if isinstance(target, dict)
    ]


def send_command_record(event: dict[str, t.Any], region: str, *, raw: bool) -> dict[str, t.Any]:
    """Flatten one LookupEvents event into an ``aws_send_command_events`` record.

    Args:
        event: One ``Events`` item as boto3 returns it (CloudTrailEvent is JSON text).
        region: The region it was read from.
        raw: Keep the raw ``CloudTrailEvent`` text (``audit_raw_events``).

    Returns:
        The record; fields the event lacks are null.
    """
    text = event.get("CloudTrailEvent")
    try:
        detail = _mapping(json.loads(text)) if isinstance(text, str) else {}
    except ValueError:
        detail = {}
    identity = _mapping(detail.get("userIdentity"))
    issuer = _mapping(_mapping(identity.get("sessionContext")).get("sessionIssuer"))
    request = _mapping(detail.get("requestParameters"))
    command = _mapping(_mapping(detail.get("responseElements")).get("command"))
    username = _text(event.get("Username"))
    arn = _text(identity.get("arn"))
    issuer_arn = _text(issuer.get("arn"))
    return {
        "Region": region,
        "EventId": event.get("EventId"),
        "EventTime": event.get("EventTime"),
        "EventName": event.get("EventName"),
        "Username": username,
        "AccessKeyId": event.get("AccessKeyId"),
        "EventSource": event.get("EventSource"),
        "ReadOnly": event.get("ReadOnly"),
        "Resources": event.get("Resources"),
        "UserIdentityType": _text(identity.get("type")),
        "UserIdentityArn": arn,
        "UserIdentityAccountId": _text(identity.get("accountId")),
        "UserIdentityPrincipalId": _text(identity.get("principalId")),
        "SessionIssuerArn": issuer_arn,
        "SourceIPAddress": _text(detail.get("sourceIPAddress")),
        "UserAgent": _text(detail.get("userAgent")),
        "DocumentName": _text(request.get("documentName")),
        "InstanceIds": _strings(request.get("instanceIds")),
        "Targets": _targets(request.get("targets")),
        "Parameters": _parameters(request.get("parameters")),
        "CommandId": _text(command.get("commandId")) or _text(request.get("commandId")),
        "ErrorCode": _text(detail.get("errorCode")),
        "ErrorMessage": _text(detail.get("errorMessage")),
        "RequestedBy": arn or issuer_arn or username,
        "CloudTrailEvent": text if raw and isinstance(text, str) else None,
    }


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
    username = _text(event.get("Username"))
    principal = _text(str(p)) if (p := identity.get("principalId")) is not None else None
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
        "SourceIPAddress": _text(event.get("SourceIPAddress"))
        or _text(detail.get("sourceIPAddress")),
        "UserAgent": _text(detail.get("userAgent")),
        "RequestId": event.get("RequestID"),
        "ErrorCode": error_code if isinstance(error_code, int) else None,
        "InvocationId": _text(response.get("InvocationId")) or _text(request.get("InvocationId")),
        "CommandId": _text(response.get("CommandId")) or _text(request.get("CommandId")),
        "InstanceIds": _strings(request.get("InstanceIds")),
        "RequestedBy": principal or _text(identity.get("userName")) or username,
        "CloudAuditEvent": text if raw and isinstance(text, str) else None,
    }


class AuditStream(RegionPartitionedStream):
    """An audit trail's events, per region, by ``EventTime``, read late-delivery-safe.

    Each sync asks for events from the region's bookmark (or ``start_date``, and never
    before the trail's retention) up to now, and caps the bookmark at the sync start
    minus :attr:`delay_setting`: events delivered late are read by the next sync.
    """

    replication_key = "EventTime"
    primary_keys: t.ClassVar[tuple[str, ...]] = ("AccountId", "Region", "EventId")
    retention: t.ClassVar[dt.timedelta]
    delay_setting: t.ClassVar[str]
    rate_setting: t.ClassVar[str]
    default_rate: t.ClassVar[int]
    endpoint_setting: t.ClassVar[str]
    base_endpoint_setting: t.ClassVar[str]

    def __init__(self, tap: Tap, scope: Scope) -> None:
        """Prepare per-partition rate limiters.

        Args:
            tap: The tap.
            scope: The cloud's accounts and regions, and a connector per account.
        """
        super().__init__(tap, scope)
        self._limiters: dict[PartitionKey, SlidingWindowRateLimiter] = {}
        self._starts: dict[PartitionKey, dt.datetime] = {}

    @property
    def raw_events(self) -> bool:
        """Whether the raw event JSON is emitted (``audit_raw_events``)."""
        return bool(self.config.get("audit_raw_events", False))

    @property
    def delivery_delay(self) -> dt.timedelta:
        """How late the trail may deliver an event."""
        seconds = self.config.get(self.delay_setting, DEFAULT_DELIVERY_DELAY_SECONDS)
        return dt.timedelta(seconds=int(seconds))

    @property
    def endpoint_url(self) -> str | None:
        """The audit API's endpoint setting, None for the public one."""
        return self.config.get(self.endpoint_setting) or None

    @property
    def blocked(self) -> bool:
        """True when calling would reach a host the user did not configure.

        With the cloud's base endpoint set (an emulator, a VPC endpoint, a proxy) and
        this API's own endpoint not set, the public endpoint is not what the user meant.
        """
        return bool(self.config.get(self.base_endpoint_setting)) and self.endpoint_url is None

    def limiter(self, key: PartitionKey) -> SlidingWindowRateLimiter:
        """The rate limiter of one account and region (one per key, made once).

        Args:
            key: The (account, region): the limit's scope.

        Returns:
            The limiter every call of this stream in that scope waits for.
        """
        if key not in self._limiters:
            rate = int(self.config.get(self.rate_setting, self.default_rate))
            self._limiters[key] = SlidingWindowRateLimiter(rate)
        return self._limiters[key]

    def query_start(self, context: Context, now: dt.datetime) -> dt.datetime:
        """The first instant to ask for: bookmark or start_date, inside the retention.

        Args:
            context: The region partition.
            now: The time of the query.

        Returns:
            The later of the bookmark/start_date and the retention's start.
        """
        floor = now - self.retention + RETENTION_MARGIN
        start = self.starting_time(context)
        return floor if start is None or start < floor else start

    def say_blocked(self) -> None:
        """Say once, at INFO, why this stream calls nothing."""
        self.once.info(
            f"Stream {self.name}: {self.base_endpoint_setting} is set but "
            f"{self.endpoint_setting} is not; not calling the public endpoint, nothing "
            f"synced (set {self.endpoint_setting} to read this stream)"
        )

    def finish_region(self, context: Context) -> None:
        """Cap the region's bookmark below what the trail may still deliver.

        Args:
            context: The region partition.
        """
        ceiling = self.bookmark_ceiling - self.delivery_delay
        self.advance_bookmark(context, ceiling)
        self.cap_bookmark(context, ceiling)


class AWSSendCommandEventsStream(AuditStream):
    """CloudTrail SendCommand and CancelCommand events: who asked SSM to run (or stop) what.

    One LookupEvents query per event name and region (LookupEvents takes a single lookup
    attribute), 50 events per page, at most ``cloudtrail_requests_per_second`` calls per
    second per region.
    """

    name = "aws_send_command_events"
    schema = AWS_SEND_COMMAND_EVENT_SCHEMA
    regions_setting = "aws_regions"
    retention = CLOUDTRAIL_RETENTION
    delay_setting = "cloudtrail_delivery_delay_seconds"
    rate_setting = "cloudtrail_requests_per_second"
    default_rate = DEFAULT_CLOUDTRAIL_REQUESTS_PER_SECOND
    endpoint_setting = "aws_cloudtrail_endpoint_url"
    base_endpoint_setting = "aws_endpoint_url"

    @override
    def connector(self, context: Context) -> AWSConnector:
        return t.cast("AWSConnector", super().connector(context))

    @override
    def fetch_pages(self, context: Context, region: str) -> Iterable[list[dict[str, t.Any]]]:
        if self.blocked:
            return ()
        now = dt.datetime.now(UTC)
        start = self._starts[partition_key(context)] = self.query_start(context, now)
        limiter = self.limiter(partition_key(context))
        connector = self.connector(context)

        def pages() -> Iterator[list[dict[str, t.Any]]]:
            for event_name in CLOUDTRAIL_EVENT_NAMES:
                yield from connector.lookup_event_pages(
                    region,
                    event_name=event_name,
                    start=start,
                    end=now,
                    endpoint_url=self.endpoint_url,
                    limiter=limiter,
                )

        return pages()

    @override
    def region_records(
        self, context: Context, region: str, objects: Iterator[dict[str, t.Any]]
    ) -> Iterator[dict[str, t.Any]]:
        if self.blocked:
            self.say_blocked()
            return
        start = self._starts.get(partition_key(context))
        raw = self.raw_events
        for event in objects:
            record = send_command_record(event, region, raw=raw)
            try:
                instant, record["EventTime"] = instant_and_text(record["EventTime"])
            except ValueError:
                instant, record["EventTime"] = None, None
            if self.conform(record, region) is None:
                continue
            # StartTime is inclusive; an endpoint that ignores it must not move anything.
            if start is not None and instant is not None and instant < start:
                continue
            yield record
        self.finish_region(context)


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
                stop=self.feed_group.stop,
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

    @override
    def region_records(
        self, context: Context, region: str, objects: Iterator[dict[str, t.Any]]
    ) -> Iterator[dict[str, t.Any]]:
        if self.blocked:
            self.say_blocked()
            return
        start = self._starts.get(partition_key(context))
        raw = self.raw_events
        seen: set[str] = set()
        for event in objects:
            record = tat_audit_record(event, region, raw=raw)
            try:
                instant, record["EventTime"] = instant_and_text(record["EventTime"])
            except ValueError:
                instant, record["EventTime"] = None, None
            if self.conform(record, region) is None:
                continue
            # Windows share their boundary second: an event there comes twice.
            if record["EventId"] in seen:
                continue
            seen.add(record["EventId"])
            if start is not None and instant is not None and instant < start:
                continue
            yield record
        self.finish_region(context)
