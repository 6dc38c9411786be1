"""CloudTrail LookupEvents (AWS JSON 1.1), served by the SSM emulator on its own port.

botocore sends ``X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.
LookupEvents``; :class:`tests.emulators.ssm.SSMEmulator` routes such requests to its
``trail`` (a :class:`CloudTrail`), so one URL serves SSM, STS and CloudTrail: set both
``aws_endpoint_url`` and ``aws_cloudtrail_endpoint_url`` to it. Throttling and other
faults come from the SSM emulator's fault queue and ``rate_limit_per_second`` with
action ``LookupEvents`` (answered as ``ThrottlingException``, the common AWS error).

Behaviour, from the API reference (API_LookupEvents) and botocore's model:

- one lookup attribute at most, key one of the eight documented ones
  (else ``InvalidLookupAttributesException``);
- ``StartTime``/``EndTime`` inclusive, epoch seconds on the wire; start after end is
  ``InvalidTimeRangeException``;
- ``MaxResults`` 1..50, default 50 (else ``InvalidMaxResultsException``);
- ``NextToken`` only with the parameters of the call that returned it (else
  ``InvalidNextTokenException``).

Where the reference is silent, the least convenient reading:

- a ``StartTime`` older than the 90 days retained is refused
  (``InvalidTimeRangeException``) rather than clipped;
- events come newest first, and pages are offsets into the list as it is at each call
  (an event delivered between two pages shifts the later pages);
- an event is visible only from its ``delivered_at`` on (late delivery), with its
  original ``EventTime``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .base import ApiRequest, Reply
from .credentials import EMULATOR_AWS_ACCOUNT_ID as DEFAULT_ACCOUNT_ID

CLOUDTRAIL_TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
LOOKUP_ATTRIBUTE_KEYS = frozenset(
    {
        "EventId",
        "EventName",
        "ReadOnly",
        "Username",
        "ResourceType",
        "ResourceName",
        "EventSource",
        "AccessKeyId",
    }
)
MAX_RESULTS = 50
RETENTION = timedelta(days=90)
DEFAULT_USER_ARN = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:user/alice"


class CloudTrailApiError(Exception):
    """An error CloudTrail answers with HTTP 400."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def json_error(code: str, message: str, status: int = 400) -> Reply:
    """A CloudTrail JSON 1.1 error answer."""
    body = json.dumps({"__type": code, "message": message}).encode()
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    return Reply(status, body, JSON_CONTENT_TYPE, headers, error_code=code)


@dataclass
class TrailEvent:
    """One stored event; :meth:`wire` renders it as LookupEvents returns it."""

    region: str
    event_id: str
    event_name: str
    event_time: datetime
    delivered_at: datetime
    username: str | None
    access_key_id: str | None
    event_source: str
    read_only: str
    resources: list[dict[str, str]]
    detail: dict[str, Any] = field(default_factory=dict)

    def attribute(self, key: str) -> list[str]:
        """The values a lookup attribute matches against."""
        values = {
            "EventId": [self.event_id],
            "EventName": [self.event_name],
            "ReadOnly": [self.read_only],
            "Username": [self.username or ""],
            "EventSource": [self.event_source],
            "AccessKeyId": [self.access_key_id or ""],
            "ResourceType": [r["ResourceType"] for r in self.resources],
            "ResourceName": [r["ResourceName"] for r in self.resources],
        }
        return values[key]

    def wire(self) -> dict[str, Any]:
        """The ``Event`` shape: epoch seconds, CloudTrailEvent as JSON text."""
        item: dict[str, Any] = {
            "EventId": self.event_id,
            "EventName": self.event_name,
            "ReadOnly": self.read_only,
            "EventTime": self.event_time.timestamp(),
            "EventSource": self.event_source,
            "Resources": self.resources,
            "CloudTrailEvent": json.dumps(self.detail),
        }
        if self.access_key_id is not None:
            item["AccessKeyId"] = self.access_key_id
        if self.username is not None:
            item["Username"] = self.username
        return item


class CloudTrail:
    """The events of every region, and LookupEvents over them.

    Attributes:
        clock: The current time (injectable); decides which events are delivered.
    """

    def __init__(
        self, clock: Callable[[], datetime] | None = None, account_id: str = DEFAULT_ACCOUNT_ID
    ) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        # The account whose trail this is: its events name it.
        self.account_id = account_id
        self._events: dict[str, list[TrailEvent]] = {}
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- data
    def add_event(
        self,
        region: str,
        *,
        event_name: str,
        event_time: datetime,
        delay: timedelta = timedelta(0),
        user_arn: str | None = DEFAULT_USER_ARN,
        identity_type: str = "IAMUser",
        session_issuer_arn: str | None = None,
        username: str | None = "alice",
        access_key_id: str | None = "AKIAEXAMPLEUSER00001",
        source_ip: str = "203.0.113.10",
        user_agent: str = "aws-cli/2.15.0",
        request_parameters: dict[str, Any] | None = None,
        response_elements: dict[str, Any] | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        resources: list[dict[str, str]] | None = None,
        event_id: str | None = None,
    ) -> TrailEvent:
        """Store an event, delivered ``delay`` after its ``event_time``."""
        event_time = event_time.astimezone(UTC).replace(microsecond=0)
        identity: dict[str, Any] = {
            "type": identity_type,
            "principalId": "AIDAEXAMPLEPRINCIPAL1",
            "accountId": self.account_id,
            "accessKeyId": access_key_id,
        }
        if user_arn is not None:
            identity["arn"] = user_arn
        if username is not None and identity_type == "IAMUser":
            identity["userName"] = username
        if session_issuer_arn is not None:
            identity["sessionContext"] = {
                "sessionIssuer": {
                    "type": "Role",
                    "arn": session_issuer_arn,
                    "accountId": self.account_id,
                }
            }
        event_id = event_id or str(uuid.uuid4())
        detail: dict[str, Any] = {
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": event_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": "ssm.amazonaws.com",
            "eventName": event_name,
            "awsRegion": region,
            "sourceIPAddress": source_ip,
            "userAgent": user_agent,
            "requestParameters": request_parameters,
            "responseElements": response_elements,
            "requestID": str(uuid.uuid4()),
            "eventID": event_id,
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": self.account_id,
            "eventCategory": "Management",
        }
        if error_code is not None:
            detail["errorCode"] = error_code
            detail["errorMessage"] = error_message
        event = TrailEvent(
            region=region,
            event_id=event_id,
            event_name=event_name,
            event_time=event_time,
            delivered_at=event_time + delay,
            username=username,
            access_key_id=access_key_id,
            event_source="ssm.amazonaws.com",
            read_only="false",
            resources=resources or [],
            detail=detail,
        )
        with self._lock:
            self._events.setdefault(region, []).append(event)
        return event

    def add_send_command_event(
        self,
        region: str,
        command: dict[str, Any],
        *,
        delay: timedelta = timedelta(0),
        log_parameters: bool = False,
        **identity: Any,
    ) -> TrailEvent:
        """Store the SendCommand event of a stored SSM command (same CommandId, time).

        CloudTrail writes HIDDEN_DUE_TO_SECURITY_REASONS for SendCommand parameters;
        ``log_parameters`` logs the command's Parameters instead (the tap must then
        treat them as ssm_commands' Parameters).
        """
        instance_ids = list(command.get("InstanceIds") or [])
        request: dict[str, Any] = {
            "documentName": command.get("DocumentName"),
            "instanceIds": instance_ids or None,
            "targets": [
                {"key": t["Key"], "values": list(t["Values"])} for t in command.get("Targets") or []
            ]
            or None,
            # CloudTrail does not log SendCommand parameters.
            "parameters": dict(command.get("Parameters") or {})
            if log_parameters
            else "HIDDEN_DUE_TO_SECURITY_REASONS",
            "timeoutSeconds": command.get("TimeoutSeconds"),
        }
        response = {
            "command": {
                "commandId": command["CommandId"],
                "documentName": command.get("DocumentName"),
                "status": "Pending",
                "instanceIds": instance_ids,
            }
        }
        resources = [
            {"ResourceType": "AWS::EC2::Instance", "ResourceName": i} for i in instance_ids
        ]
        return self.add_event(
            region,
            event_name="SendCommand",
            event_time=command["RequestedDateTime"],
            delay=delay,
            request_parameters=request,
            response_elements=response,
            resources=resources,
            **identity,
        )

    def deliver(self, event_id: str, at: datetime | None = None) -> None:
        """Make an event visible from ``at`` (default: now) on."""
        with self._lock:
            for events in self._events.values():
                for event in events:
                    if event.event_id == event_id:
                        event.delivered_at = at or self.clock()

    def events(self, region: str) -> list[TrailEvent]:
        """Every stored event of a region, delivered or not."""
        with self._lock:
            return list(self._events.get(region, []))

    # ------------------------------------------------------------- protocol
    def answer(self, request: ApiRequest) -> Reply:
        """Answer a CloudTrail JSON 1.1 request (only LookupEvents is emulated)."""
        if request.action != "LookupEvents":
            return json_error(
                "UnknownOperationException", f"Operation {request.action} is not emulated"
            )
        try:
            body = self.lookup_events(request.region, request.params)
        except CloudTrailApiError as error:
            return json_error(error.code, error.message)
        return Reply(
            200,
            json.dumps(body).encode(),
            JSON_CONTENT_TYPE,
            {"x-amzn-RequestId": str(uuid.uuid4())},
        )

    def lookup_events(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        """One LookupEvents page, or CloudTrailApiError."""
        now = self.clock()
        attributes = params.get("LookupAttributes") or []
        if not isinstance(attributes, list) or len(attributes) > 1:
            raise CloudTrailApiError(
                "InvalidLookupAttributesException",
                "You cannot specify more than one lookup attribute.",
            )
        for attribute in attributes:
            if attribute.get("AttributeKey") not in LOOKUP_ATTRIBUTE_KEYS or not isinstance(
                attribute.get("AttributeValue"), str
            ):
                raise CloudTrailApiError(
                    "InvalidLookupAttributesException", f"Invalid lookup attribute {attribute!r}."
                )
        start = _instant(params.get("StartTime"), now - RETENTION)
        end = _instant(params.get("EndTime"), now)
        if start > end:
            raise CloudTrailApiError(
                "InvalidTimeRangeException", "Start time must be before end time."
            )
        if start < now - RETENTION - timedelta(seconds=1):
            raise CloudTrailApiError(
                "InvalidTimeRangeException", "Start time is outside the 90 days retained."
            )
        max_results = params.get("MaxResults", MAX_RESULTS)
        if not isinstance(max_results, int) or not 1 <= max_results <= MAX_RESULTS:
            raise CloudTrailApiError(
                "InvalidMaxResultsException", "MaxResults must be between 1 and 50."
            )
        fingerprint = hashlib.sha256(
            json.dumps(
                [attributes, params.get("StartTime"), params.get("EndTime")], sort_keys=True
            ).encode()
        ).hexdigest()[:16]
        offset = 0
        if (token := params.get("NextToken")) is not None:
            offset = _token_offset(token, fingerprint)
        with self._lock:
            matching = [
                event
                for event in self._events.get(region, [])
                if event.delivered_at <= now
                and start <= event.event_time <= end
                and all(
                    a["AttributeValue"] in event.attribute(a["AttributeKey"]) for a in attributes
                )
            ]
        matching.sort(key=lambda e: (e.event_time, e.event_id), reverse=True)
        page = matching[offset : offset + max_results]
        body: dict[str, Any] = {"Events": [event.wire() for event in page]}
        if offset + max_results < len(matching):
            body["NextToken"] = base64.b64encode(
                json.dumps({"o": offset + max_results, "f": fingerprint}).encode()
            ).decode()
        return body


def _instant(value: Any, default: datetime) -> datetime:
    if value is None:
        return default
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise CloudTrailApiError("InvalidTimeRangeException", f"Invalid time {value!r}.")
    return datetime.fromtimestamp(value, UTC)


def _token_offset(token: Any, fingerprint: str) -> int:
    try:
        decoded = json.loads(base64.b64decode(str(token)))
        offset = int(decoded["o"])
        same = decoded["f"] == fingerprint
    except (ValueError, KeyError, TypeError):
        same = False
        offset = 0
    if not same:
        raise CloudTrailApiError(
            "InvalidNextTokenException",
            "The token must be passed with the parameters of the call that returned it.",
        )
    return offset
