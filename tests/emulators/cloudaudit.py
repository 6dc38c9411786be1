"""Tencent CloudAudit LookUpEvents (API 3.0, TC3, version 2019-03-19), served by the TAT
emulator on its own port.

The SDK's ``CloudauditClient`` signs with service ``cloudaudit`` and sends
``X-TC-Version: 2019-03-19``; :class:`tests.emulators.tat.TATEmulator` routes such
requests to its ``audit`` (a :class:`CloudAudit`), after the same signature check, so one
URL serves TAT and CloudAudit: set both ``tencent_endpoint_url`` and
``tencent_cloudaudit_endpoint_url`` to it. Throttling comes from the TAT emulator's faults
and ``rate_limit_per_second`` with action ``LookUpEvents`` (``RequestLimitExceeded``).

Behaviour, from the LookUpEvents and DescribeEvents references and the SDK model:

- ``StartTime``/``EndTime`` required, Unix seconds, inclusive; start after end is
  ``InvalidParameterValue.Time``;
- a span of 30 days or more, or a ``StartTime`` older than the 90 days kept, is refused
  (DescribeEvents states both; LookUpEvents states neither, so the stricter reading);
- ``MaxResults`` at most 50 (default 10) else ``InvalidParameterValue.MaxResult``;
- ``LookupAttributes`` all must match (EventName, Username, ResourceType, ResourceName,
  RequestId, AccessKeyId, PrincipalId, ActionType).

Where the references are silent, the least convenient reading:

- ``EventTime`` is Unix seconds as a string; ``ErrorCode`` an integer; ``requestParameters``
  and ``responseElements`` in ``CloudAuditEvent`` are JSON text inside the JSON text;
- the last page still carries a ``NextToken``, with ``ListOver`` true;
- events come newest first; a ``NextToken`` is an offset into the list as it is at each
  call, valid only with the same query;
- an event is visible only from its ``delivered_at`` on (late delivery), with its original
  ``EventTime``.
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

API_VERSION = "2019-03-19"
SERVICE = "cloudaudit"
ACTION = "LookUpEvents"
MAX_RESULTS = 50
DEFAULT_RESULTS = 10
RETENTION = timedelta(days=90)
MAX_SPAN = timedelta(days=30)
ATTRIBUTE_KEYS = frozenset(
    {
        "EventName",
        "Username",
        "ResourceType",
        "ResourceName",
        "RequestId",
        "AccessKeyId",
        "PrincipalId",
        "ActionType",
    }
)
ACCOUNT_ID = "100000000001"


class CloudAuditApiError(Exception):
    """An error answered in the body (HTTP 200), as every API 3.0 error is."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class AuditEvent:
    """One stored CloudAudit event."""

    event_id: str
    event_name: str
    event_time: datetime
    delivered_at: datetime
    event_region: str
    username: str
    principal_id: str
    secret_id: str
    source_ip: str
    request_id: str
    error_code: int
    detail: dict[str, Any] = field(default_factory=dict)

    def attribute(self, key: str) -> str:
        """The value a lookup attribute matches against."""
        return {
            "EventName": self.event_name,
            "Username": self.username,
            "ResourceType": "tat",
            "ResourceName": str(self.detail.get("resourceName", "")),
            "RequestId": self.request_id,
            "AccessKeyId": self.secret_id,
            "PrincipalId": self.principal_id,
            "ActionType": "Write",
        }[key]

    def wire(self) -> dict[str, Any]:
        """The ``Event`` model as the API sends it."""
        return {
            "EventId": self.event_id,
            "Username": self.username,
            "EventTime": str(int(self.event_time.timestamp())),
            "CloudAuditEvent": json.dumps(self.detail),
            "ResourceTypeCn": "自动化助手",
            "ErrorCode": self.error_code,
            "EventName": self.event_name,
            "SecretId": self.secret_id,
            "EventSource": "tat.tencentcloudapi.com",
            "RequestID": self.request_id,
            "ResourceRegion": self.event_region,
            "AccountID": int(ACCOUNT_ID),
            "SourceIPAddress": self.source_ip,
            "EventNameCn": self.event_name,
            "Resources": {"ResourceType": "tat", "ResourceName": self.detail.get("resourceName")},
            "EventRegion": self.event_region,
            "Location": "",
        }


class CloudAudit:
    """The account's events (all regions), and LookUpEvents over them.

    Attributes:
        clock: The current time (injectable); decides which events are delivered.
    """

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self._events: list[AuditEvent] = []
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- data
    def add_event(
        self,
        *,
        event_name: str,
        event_time: datetime,
        event_region: str = "ap-guangzhou",
        delay: timedelta = timedelta(0),
        principal_id: str = "100000000011",
        username: str = "100000000011",
        identity_type: str = "CAMUser",
        secret_id: str = "AKIDEXAMPLESUBUSER0001",  # noqa: S107 - an example key id
        source_ip: str = "203.0.113.20",
        user_agent: str = "TencentCloud-SDK-Python/3.1.106",
        request_parameters: dict[str, Any] | None = None,
        response_elements: dict[str, Any] | None = None,
        error_code: int = 0,
    ) -> AuditEvent:
        """Store an event, delivered ``delay`` after its ``event_time``."""
        event_time = event_time.astimezone(UTC).replace(microsecond=0)
        event_id = str(uuid.uuid4())
        request_id = str(uuid.uuid4())
        detail = {
            "actionType": "Write",
            "apiErrorCode": error_code,
            "apiVersion": "2020-10-28",
            "errorCode": error_code,
            "eventId": event_id,
            "eventName": event_name,
            "eventRegion": event_region,
            "eventSource": "tat.tencentcloudapi.com",
            "eventTime": int(event_time.timestamp()),
            "eventType": "ApiCall",
            "eventVersion": 2,
            "requestID": request_id,
            "requestParameters": json.dumps(request_parameters or {}),
            "resourceType": "tat",
            "responseElements": json.dumps(response_elements or {}),
            "sourceIPAddress": source_ip,
            "userAgent": user_agent,
            "userIdentity": {
                "accountId": ACCOUNT_ID,
                "principalId": principal_id,
                "secretId": secret_id,
                "sessionContext": "",
                "type": identity_type,
                "userName": username,
            },
        }
        event = AuditEvent(
            event_id=event_id,
            event_name=event_name,
            event_time=event_time,
            delivered_at=event_time + delay,
            event_region=event_region,
            username=username,
            principal_id=principal_id,
            secret_id=secret_id,
            source_ip=source_ip,
            request_id=request_id,
            error_code=error_code,
            detail=detail,
        )
        with self._lock:
            self._events.append(event)
        return event

    def add_invocation_event(
        self,
        region: str,
        invocation: dict[str, Any],
        instance_ids: list[str],
        *,
        delay: timedelta = timedelta(0),
        **identity: Any,
    ) -> AuditEvent:
        """Store the InvokeCommand event of a stored TAT invocation (same id and time)."""
        return self.add_event(
            event_name="InvokeCommand",
            event_time=invocation["CreatedTime"],
            event_region=region,
            delay=delay,
            request_parameters={
                "CommandId": invocation.get("CommandId"),
                "InstanceIds": instance_ids,
            },
            response_elements={"InvocationId": invocation["InvocationId"]},
            **identity,
        )

    def deliver(self, event_id: str, at: datetime | None = None) -> None:
        """Make an event visible from ``at`` (default: now) on."""
        with self._lock:
            for event in self._events:
                if event.event_id == event_id:
                    event.delivered_at = at or self.clock()

    def events(self) -> list[AuditEvent]:
        """Every stored event, delivered or not."""
        with self._lock:
            return list(self._events)

    # ------------------------------------------------------------- protocol
    def lookup_events(self, params: dict[str, Any]) -> dict[str, Any]:
        """One LookUpEvents page (the Response members), or CloudAuditApiError."""
        now = self.clock()
        start, end, max_results, attributes = _checked_query(params, now)
        fingerprint = hashlib.sha256(
            json.dumps(
                [attributes, params["StartTime"], params["EndTime"]], sort_keys=True
            ).encode()
        ).hexdigest()[:16]
        offset = 0
        if (token := params.get("NextToken")) is not None:
            offset = _token_offset(token, fingerprint)
        with self._lock:
            matching = [
                event
                for event in self._events
                if event.delivered_at <= now
                and start <= event.event_time <= end
                and all(
                    event.attribute(a["AttributeKey"]) == a["AttributeValue"] for a in attributes
                )
            ]
        matching.sort(key=lambda e: (e.event_time, e.event_id), reverse=True)
        page = matching[offset : offset + max_results]
        next_offset = offset + len(page)
        return {
            "Events": [event.wire() for event in page],
            "ListOver": next_offset >= len(matching),
            "TotalCount": len(page),
            "NextToken": base64.b64encode(
                json.dumps({"o": next_offset, "f": fingerprint}).encode()
            ).decode(),
        }


def _checked_query(
    params: dict[str, Any], now: datetime
) -> tuple[datetime, datetime, int, list[dict[str, Any]]]:
    """The query's start, end, page size and attributes, or CloudAuditApiError."""
    for name in ("StartTime", "EndTime"):
        value = params.get(name)
        if value is None:
            raise CloudAuditApiError(
                "MissingParameter", f"The request is missing a required parameter `{name}`."
            )
        if not isinstance(value, int) or isinstance(value, bool):
            raise CloudAuditApiError(
                "InvalidParameter", f"The parameter `{name}` must be an integer."
            )
    start = datetime.fromtimestamp(params["StartTime"], UTC)
    end = datetime.fromtimestamp(params["EndTime"], UTC)
    if start > end:
        raise CloudAuditApiError(
            "InvalidParameterValue.Time", "The start time cannot be after the end time."
        )
    if end - start >= MAX_SPAN:
        raise CloudAuditApiError(
            "InvalidParameterValue.Time", "The time range must be less than 30 days."
        )
    if start < now - RETENTION - timedelta(seconds=1):
        raise CloudAuditApiError(
            "InvalidParameterValue.Time", "Only the last 90 days can be queried."
        )
    max_results = params.get("MaxResults", DEFAULT_RESULTS)
    if not isinstance(max_results, int) or not 1 <= max_results <= MAX_RESULTS:
        raise CloudAuditApiError(
            "InvalidParameterValue.MaxResult", "MaxResults must be between 1 and 50."
        )
    attributes = params.get("LookupAttributes") or []
    for attribute in attributes:
        if (
            not isinstance(attribute, dict)
            or attribute.get("AttributeKey") not in ATTRIBUTE_KEYS
            or not isinstance(attribute.get("AttributeValue"), str)
        ):
            raise CloudAuditApiError(
                "InvalidParameterValue.AttributeKey", f"Invalid attribute {attribute!r}."
            )
    return start, end, max_results, attributes


def _token_offset(token: Any, fingerprint: str) -> int:
    try:
        decoded = json.loads(base64.b64decode(str(token)))
        offset = int(decoded["o"])
        same = decoded["f"] == fingerprint
    except (ValueError, KeyError, TypeError):
        same = False
        offset = 0
    if not same:
        raise CloudAuditApiError("InvalidParameterValue.NextToken", "The NextToken is invalid.")
    return offset
