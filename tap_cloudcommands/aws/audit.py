"""The CloudTrail audit stream: who asked SSM to run (or stop) a command.

``aws_send_command_events`` reads CloudTrail ``LookupEvents`` by event time, per account
and region, late-delivery-safe (``audit.AuditStream``).
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
from tap_cloudcommands.timestamps import UTC

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers.types import Context

    from tap_cloudcommands.aws.connector import AWSConnector

# The Run Command events of CloudTrail (eventSource ssm.amazonaws.com): SendCommand starts
# a run, CancelCommand stops one. Other SSM events (StartSession, CreateAssociation, ...)
# are not Run Command.
CLOUDTRAIL_EVENT_NAMES = ("SendCommand", "CancelCommand")
# The LookupEvents reference: events of "a Region within the last 90 days" can be read.
CLOUDTRAIL_RETENTION = dt.timedelta(days=90)
# "The rate of lookup requests is limited to two per second, per account, per Region."
DEFAULT_CLOUDTRAIL_REQUESTS_PER_SECOND = 2
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
        {"Key": as_text(target.get("key")), "Values": as_strings(target.get("values"))}
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
        detail = as_mapping(json.loads(text)) if isinstance(text, str) else {}
    except ValueError:
        detail = {}
    identity = as_mapping(detail.get("userIdentity"))
    issuer = as_mapping(as_mapping(identity.get("sessionContext")).get("sessionIssuer"))
    request = as_mapping(detail.get("requestParameters"))
    command = as_mapping(as_mapping(detail.get("responseElements")).get("command"))
    username = as_text(event.get("Username"))
    arn = as_text(identity.get("arn"))
    issuer_arn = as_text(issuer.get("arn"))
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
        "UserIdentityType": as_text(identity.get("type")),
        "UserIdentityArn": arn,
        "UserIdentityAccountId": as_text(identity.get("accountId")),
        "UserIdentityPrincipalId": as_text(identity.get("principalId")),
        "SessionIssuerArn": issuer_arn,
        "SourceIPAddress": as_text(detail.get("sourceIPAddress")),
        "UserAgent": as_text(detail.get("userAgent")),
        "DocumentName": as_text(request.get("documentName")),
        "InstanceIds": as_strings(request.get("instanceIds")),
        "Targets": _targets(request.get("targets")),
        "Parameters": _parameters(request.get("parameters")),
        "CommandId": as_text(command.get("commandId")) or as_text(request.get("commandId")),
        "ErrorCode": as_text(detail.get("errorCode")),
        "ErrorMessage": as_text(detail.get("errorMessage")),
        "RequestedBy": arn or issuer_arn or username,
        "CloudTrailEvent": text if raw and isinstance(text, str) else None,
    }


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
    def event_record(self, event: dict[str, t.Any], region: str) -> dict[str, t.Any]:
        return send_command_record(event, region, raw=self.raw_events)
