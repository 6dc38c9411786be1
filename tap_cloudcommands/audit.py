"""The audit-trail base stream and what both clouds' audit streams share.

SSM and TAT record what ran; only each cloud's audit trail records who asked for it.
``aws_send_command_events`` (``aws.audit``) reads CloudTrail ``LookupEvents`` and
``tat_audit_events`` (``tencent.audit``) reads Tencent CloudAudit ``LookUpEvents``, both
by event time, per account and region.

Audit trails deliver events late: an event becomes visible minutes after its
``EventTime``, with that original time. So each sync reads up to now but lets the
region's bookmark reach only the sync start minus the delivery delay setting: the next
sync reads that stretch again and picks up what arrived late (records are keyed by
``EventId``, so a re-read event is an upsert, not a duplicate).
"""

from __future__ import annotations

import abc
import datetime as dt
import typing as t

from typing_extensions import override

from tap_cloudcommands.client import PartitionKey, RegionPartitionedStream, partition_key
from tap_cloudcommands.rate_limit import SlidingWindowRateLimiter
from tap_cloudcommands.timestamps import instant_and_text

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

    from tap_cloudcommands.scope import Scope

# A minute inside the retention, so a StartTime computed here is still inside it when the
# request arrives.
RETENTION_MARGIN = dt.timedelta(minutes=1)
# CloudTrail "typically delivers logs within an average of about 5 minutes of an API call.
# This time is not guaranteed": three times that by default.
DEFAULT_DELIVERY_DELAY_SECONDS = 900


def as_mapping(value: object) -> dict[str, t.Any]:
    """The value when it is an object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_text(value: object) -> str | None:
    """The value when it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def as_strings(value: object) -> list[str] | None:
    """The strings of a list, None when the value is not a list."""
    if not isinstance(value, list):
        return None
    return [item for item in value if isinstance(item, str)]


class AuditStream(RegionPartitionedStream):
    """An audit trail's events, per region, by ``EventTime``, read late-delivery-safe.

    Each sync asks for events from the region's bookmark (or ``start_date``, and never
    before the trail's retention) up to now, and caps the bookmark at the sync start
    minus :attr:`delay_setting`: events delivered late are read by the next sync.
    """

    replication_key = "EventTime"
    primary_keys: t.ClassVar[tuple[str, ...]] = ("AccountId", "Region", "EventId")
    # Whether one read may hand the same event twice (dropped then).
    repeats_events: t.ClassVar[bool] = False
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

    @abc.abstractmethod
    def event_record(self, event: dict[str, t.Any], region: str) -> dict[str, t.Any]:
        """Turn one API event into a record (``EventTime`` as the API gave it).

        Args:
            event: One event of a page.
            region: The partition's region.
        """

    @override
    def region_records(
        self, context: Context, region: str, objects: Iterator[dict[str, t.Any]]
    ) -> Iterator[dict[str, t.Any]]:
        if self.blocked:
            self.say_blocked()
            return
        start = self._starts.get(partition_key(context))
        seen: set[str] = set()
        for event in objects:
            record = self.event_record(event, region)
            try:
                instant, record["EventTime"] = instant_and_text(record["EventTime"])
            except ValueError:
                instant, record["EventTime"] = None, None
            if self.conform(record, region) is None:
                continue
            if self.repeats_events:
                if record["EventId"] in seen:
                    continue
                seen.add(record["EventId"])
            # StartTime is inclusive; an endpoint that ignores it must not move anything.
            if start is not None and instant is not None and instant < start:
                continue
            yield record
        self.finish_region(context)

    def finish_region(self, context: Context) -> None:
        """Cap the region's bookmark below what the trail may still deliver.

        Args:
            context: The region partition.
        """
        ceiling = self.bookmark_ceiling - self.delivery_delay
        self.advance_bookmark(context, ceiling)
        self.cap_bookmark(context, ceiling)
