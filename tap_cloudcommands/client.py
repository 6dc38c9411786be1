"""The base stream: one partition and one bookmark per region, capped so none is lost."""

from __future__ import annotations

import abc
import datetime as dt
import typing as t

from singer_sdk.streams import Stream
from typing_extensions import override

from tap_cloudcommands.conform import compile_conformer
from tap_cloudcommands.errors import CloudCommandsError
from tap_cloudcommands.timestamps import UTC, format_timestamp, parse_timestamp

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

# Records requested or updated during a sync may carry a cloud timestamp slightly behind
# the tap's clock; the bookmark stays this far behind the sync start so they are re-read.
CLOCK_SKEW_ALLOWANCE = dt.timedelta(minutes=5)


class StateError(CloudCommandsError):
    """The incoming state cannot be used."""


class RegionPartitionedStream(Stream):
    """A stream with one state partition per region of its cloud.

    The SDK keeps the largest replication-key value seen in a partition as its bookmark.
    Subclasses lower that with :meth:`cap_bookmark` (the SDK's per-partition signpost):
    never above the sync start minus :data:`CLOCK_SKEW_ALLOWANCE`, and lower still when
    something seen must be read again next time.
    """

    is_sorted = False
    regions_setting: t.ClassVar[str]

    def __init__(self, tap: Tap) -> None:
        """Remember when the sync started: the ceiling of every bookmark it writes.

        Args:
            tap: The tap this stream belongs to.
        """
        super().__init__(tap)
        self.sync_started_at = dt.datetime.now(UTC)
        self._conform = compile_conformer(self.schema)

    @property
    def partitions(self) -> list[dict[str, t.Any]] | None:
        """One partition per configured region: its own bookmark, its own Region value."""
        return [{"Region": region} for region in self.config.get(self.regions_setting) or []]

    def get_replication_key_signpost(self, context: Context | None = None) -> None:  # noqa: ARG002
        """Disable the SDK's stream-level signpost: partitions are capped one by one.

        Args:
            context: Unused.
        """
        return

    def compare_start_date(self, value: str, start_date_value: str) -> str:
        """Start from the later of the bookmark and ``start_date``.

        Args:
            value: The bookmark from the state.
            start_date_value: The ``start_date`` setting.

        Returns:
            The later of the two, as given.
        """
        bookmark = self._parse_bookmark(value)
        start_date = parse_timestamp(start_date_value)
        return value if bookmark >= start_date else start_date_value

    def starting_time(self, context: Context | None) -> dt.datetime | None:
        """The first instant this partition's sync must cover.

        Args:
            context: The region partition.

        Returns:
            The bookmark or ``start_date``, whichever is later; None means everything.
        """
        value = self.get_starting_replication_key_value(context)
        return None if value is None else self._parse_bookmark(value)

    def _parse_bookmark(self, value: object) -> dt.datetime:
        try:
            return parse_timestamp(value)
        except ValueError:
            msg = (
                f"State for stream {self.name} holds replication_key_value {value!r}, "
                "which is not a timestamp: fix or remove that bookmark from the state"
            )
            raise StateError(msg) from None

    @property
    def bookmark_ceiling(self) -> dt.datetime:
        """The highest bookmark this sync may write."""
        return self.sync_started_at - CLOCK_SKEW_ALLOWANCE

    def cap_bookmark(self, context: Context | None, ceiling: dt.datetime) -> None:
        """Keep this partition's next bookmark at or below ``ceiling``.

        Args:
            context: The region partition.
            ceiling: Records at or after this instant are read again next sync.
        """
        self.state_manager.write_replication_key_signpost(
            format_timestamp(ceiling), context=context
        )

    def conform(self, record: dict[str, t.Any], region: str) -> dict[str, t.Any] | None:
        """Make an API object fit the schema; None for one that has no key to load it by.

        Args:
            record: One API object (changed in place).
            region: Where it came from, for the log.

        Returns:
            The record, or None when it lacks a usable primary key.
        """
        problems: list[str] = []
        self._conform(record, problems, self.name)
        key = record.get("CommandId")
        if not isinstance(key, str) or not key:
            self.logger.warning(
                "Stream %s, region %s: skipped an object without a CommandId: %.200r",
                self.name,
                region,
                record,
            )
            return None
        if problems:
            self.logger.warning(
                "Stream %s, region %s, %s: values that did not fit the schema were nulled: %s",
                self.name,
                region,
                key,
                "; ".join(problems),
            )
        return record

    @override
    def get_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        if context is None:
            self.logger.info(
                "Stream %s: no %s configured, nothing to sync", self.name, self.regions_setting
            )
            return
        # The SDK writes STATE only at the end of a stream; writing it as each region
        # starts lets a sync killed in one region resume after the regions already done.
        self._write_state_message()
        yield from self.region_records(context, str(context["Region"]))

    @abc.abstractmethod
    def region_records(self, context: Context, region: str) -> Iterator[dict[str, t.Any]]:
        """Yield one region's records and cap its bookmark.

        Args:
            context: The region partition.
            region: Its region name.
        """
