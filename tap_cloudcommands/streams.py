"""The streams: AWS SSM Run Command commands and Tencent Cloud TAT commands."""

from __future__ import annotations

import datetime as dt
import typing as t

from typing_extensions import override

from tap_cloudcommands.aws import SSM_MAX_PAGE_SIZE, AWSConnector
from tap_cloudcommands.client import RegionPartitionedStream
from tap_cloudcommands.schemas import SSM_COMMAND_SCHEMA, TAT_COMMAND_SCHEMA
from tap_cloudcommands.tencent import TAT_MAX_PAGE_SIZE, OffsetScan, TencentConnector
from tap_cloudcommands.timestamps import EPOCH, instant_and_text

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

# A command in any other status may still change, so it is read again (see lookback).
SSM_FINAL_STATUSES = frozenset({"Success", "Cancelled", "Failed", "TimedOut"})
DEFAULT_SSM_STATUS_LOOKBACK_DAYS = 7


class TimestampFields:
    """Normalises a record's timestamp fields in place to UTC RFC 3339."""

    def __init__(self, stream: RegionPartitionedStream, fields: Iterable[str]) -> None:
        """Remember which fields hold timestamps.

        Args:
            stream: Whose logger reports values that are not timestamps.
            fields: Top-level field names, the replication key first.
        """
        self._stream = stream
        self._fields = tuple(fields)

    def normalise(self, record: dict[str, t.Any]) -> dt.datetime | None:
        """Rewrite each timestamp field; return the instant of the first one.

        A value that is not a timestamp becomes null (with a warning) so the record
        still matches its schema.

        Args:
            record: One API object.

        Returns:
            The instant of the first field (the replication key), None when absent or
            unusable.
        """
        first: dt.datetime | None = None
        for index, field in enumerate(self._fields):
            value = record.get(field)
            if value is None:
                continue
            try:
                instant, record[field] = instant_and_text(value)
            except ValueError:
                record[field] = None
                self._stream.logger.warning(
                    "Stream %s: %s %r of %s is not a timestamp; emitted as null",
                    self._stream.name,
                    field,
                    value,
                    record.get("CommandId"),
                )
                continue
            if index == 0:
                first = instant
        return first


class SSMCommandsStream(RegionPartitionedStream):
    """AWS Systems Manager Run Command commands (``ListCommands``), per region.

    Each sync asks for commands requested at or after the region's bookmark (the
    ``InvokedAfter`` filter, inclusive) and drops older ones itself, in case a proxy or
    emulator ignores the filter. A command still running (any status outside
    :data:`SSM_FINAL_STATUSES`) holds the bookmark at its ``RequestedDateTime`` so later
    syncs read it again until it ends, unless it is older than
    ``ssm_status_lookback_days``.
    """

    name = "ssm_commands"
    primary_keys = ("Region", "CommandId")
    replication_key = "RequestedDateTime"
    schema = SSM_COMMAND_SCHEMA
    regions_setting = "aws_regions"

    def __init__(self, tap: Tap, connector: AWSConnector) -> None:
        """Attach the AWS connector shared by the tap's AWS streams.

        Args:
            tap: The tap.
            connector: Session and clients for AWS.
        """
        super().__init__(tap)
        self.connector = connector
        self.timestamps = TimestampFields(self, ("RequestedDateTime", "ExpiresAfter"))

    @property
    def status_lookback(self) -> dt.timedelta:
        """How long a running command may hold the bookmark back."""
        days = self.config.get("ssm_status_lookback_days", DEFAULT_SSM_STATUS_LOOKBACK_DAYS)
        return dt.timedelta(days=days)

    @override
    def fetch_pages(self, context: Context, region: str) -> Iterable[list[dict[str, t.Any]]]:
        return t.cast(
            "Iterable[list[dict[str, t.Any]]]",
            self.connector.list_command_pages(
                region,
                invoked_after=self.starting_time(context),
                page_size=self.config.get("ssm_page_size", SSM_MAX_PAGE_SIZE),
            ),
        )

    @override
    def region_records(
        self, context: Context, region: str, objects: Iterator[dict[str, t.Any]]
    ) -> Iterator[dict[str, t.Any]]:
        start = self.starting_time(context)
        ceiling = self.bookmark_ceiling
        oldest_worth_rereading = self.sync_started_at - self.status_lookback
        for command in objects:
            record = dict(command)
            requested = self.timestamps.normalise(record)
            if self.conform(record, region) is None:
                continue
            if start is not None and requested is not None and requested < start:
                continue
            if (
                requested is not None
                and record.get("Status") not in SSM_FINAL_STATUSES
                and requested >= oldest_worth_rereading
            ):
                ceiling = min(ceiling, requested)
            yield record
        self.cap_bookmark(context, ceiling)


class TATCommandsStream(RegionPartitionedStream):
    """Tencent Cloud TAT commands (``DescribeCommands``), per region.

    The API has no time filter, so each sync pages through every command and keeps those
    updated at or after the region's bookmark. A scan over a list that shifted under it
    is repeated; if it never settles, the bookmark does not move.
    """

    name = "tat_commands"
    primary_keys = ("Region", "CommandId")
    replication_key = "UpdatedTime"
    schema = TAT_COMMAND_SCHEMA
    regions_setting = "tencent_regions"

    def __init__(self, tap: Tap, connector: TencentConnector) -> None:
        """Attach the Tencent connector shared by the tap's TAT streams.

        Args:
            tap: The tap.
            connector: Clients, rate limits and retries for Tencent Cloud.
        """
        super().__init__(tap)
        self.connector = connector
        self.timestamps = TimestampFields(self, ("UpdatedTime", "CreatedTime"))
        self._scans: dict[str, OffsetScan] = {}

    @override
    def fetch_pages(self, context: Context, region: str) -> Iterable[list[dict[str, t.Any]]]:
        scan = self.connector.scan(
            region,
            "DescribeCommands",
            "CommandSet",
            page_size=self.config.get("tat_page_size", TAT_MAX_PAGE_SIZE),
        )
        self._scans[region] = scan
        return scan.pages()

    @override
    def region_records(
        self, context: Context, region: str, objects: Iterator[dict[str, t.Any]]
    ) -> Iterator[dict[str, t.Any]]:
        start = self.starting_time(context)
        for command in objects:
            record = dict(command)
            updated = self.timestamps.normalise(record)
            if self.conform(record, region) is None:
                continue
            if start is not None and updated is not None and updated < start:
                continue
            yield record
        if self._scans[region].consistent:
            self.cap_bookmark(context, self.bookmark_ceiling)
        else:
            self.logger.warning(
                "Stream %s, region %s: the list never held still; bookmark not advanced",
                self.name,
                region,
            )
            self.cap_bookmark(context, start or EPOCH)
