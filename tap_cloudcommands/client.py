"""The base stream: a partition and a bookmark per (account, region), capped so none is lost.

A partition's pages are fetched ahead, a bounded number of partitions at a time; each
record's timestamp fields are normalised to UTC RFC 3339 (``TimestampFields``).
"""

from __future__ import annotations

import abc
import copy
import dataclasses
import datetime as dt
import threading
import typing as t
from functools import cached_property

import singer_sdk.singerlib as singer

# The SDK's names for a partition's not-yet-final bookmark, which advance_bookmark sets
# (tests/test_units.py fails if the SDK stops promoting it).
from singer_sdk.helpers._state import PROGRESS_MARKER_NOTE, PROGRESS_MARKERS
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams import Stream
from typing_extensions import override

from tap_cloudcommands.conform import Findings, compile_conformer, compile_fit_check
from tap_cloudcommands.errors import CloudAPIError, CloudCommandsError
from tap_cloudcommands.feeds import FeedGroup, FeedStoppedError, PageFeed
from tap_cloudcommands.scope import DEFAULT_MAX_CONCURRENT_PARTITIONS
from tap_cloudcommands.timestamps import (
    UTC,
    format_timestamp,
    instant_and_text,
    parse_timestamp,
    utc_now,
)

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Generator, Iterable, Iterator

    from singer_sdk.helpers.types import Context, Record
    from singer_sdk.tap_base import Tap

    from tap_cloudcommands.scope import Scope

UNSORTED_NOTE = "Progress is not resumable if interrupted."
FULL_TABLE = "FULL_TABLE"

# Records requested or updated during a sync may carry a cloud timestamp slightly behind
# the tap's clock; the bookmark stays this far behind the sync start so they are re-read.
CLOCK_SKEW_ALLOWANCE = dt.timedelta(minutes=5)


class StateError(CloudCommandsError):
    """The incoming state cannot be used."""


RESUMING_NOTE = (
    "Resuming: STATE is written as each stream's partition (account and region) starts, "
    "so a sync stopped midway starts again at the partition it had not finished, from "
    "that partition's last bookmark; partitions already done are not read again."
)
# A partition: (AccountId, Region).
PartitionKey = tuple[str, str]


def partition_key(context: Context) -> PartitionKey:
    """The (account, region) of a stream context.

    Args:
        context: A partition context.

    Returns:
        The pair.
    """
    return str(context.get("AccountId")), str(context["Region"])


class OnceLog:
    """Log lines that every stream would repeat, once per tap."""

    def __init__(self, logger: logging.Logger) -> None:
        """Start with nothing said.

        Args:
            logger: The tap's logger.
        """
        self._logger = logger
        self._said: set[str] = set()
        self._lock = threading.Lock()

    def info(self, message: str) -> None:
        """Log ``message`` at INFO unless it was said already.

        Args:
            message: The line.
        """
        with self._lock:
            if message in self._said:
                return
            self._said.add(message)
        self._logger.info(message)


@dataclasses.dataclass
class PartitionTally:
    """What one partition's sync did, over every stream of its cloud."""

    records: int = 0
    pages: int = 0
    failed: str = ""


class SyncSummary:
    """One line per cloud, account and region at the end of a sync: records, calls, result."""

    def __init__(self, logger: logging.Logger) -> None:
        """Start empty.

        Args:
            logger: The tap's logger.
        """
        self._logger = logger
        self._tallies: dict[tuple[str, str, str], PartitionTally] = {}
        self._lock = threading.Lock()
        self._logged = False

    def add(
        self, cloud: str, key: PartitionKey, *, records: int, pages: int, failed: str = ""
    ) -> None:
        """Count one stream's sync of a partition.

        Args:
            cloud: The partition's cloud.
            key: Its (account, region).
            records: Records emitted.
            pages: API pages read (one call each, retries aside).
            failed: What stopped it, if something did.
        """
        with self._lock:
            tally = self._tallies.setdefault((cloud, *key), PartitionTally())
            tally.records += records
            tally.pages += pages
            tally.failed = tally.failed or failed

    def log(self) -> None:
        """Log the lines, once."""
        with self._lock:
            if self._logged:
                return
            self._logged = True
            tallies = sorted(self._tallies.items())
        for (cloud, account, region), tally in tallies:
            self._logger.info(
                "Sync summary: %s account %s region %s: %d records, %d calls, %s",
                cloud,
                account,
                region,
                tally.records,
                tally.pages,
                f"failed: {tally.failed}" if tally.failed else "ok",
            )


class RegionPartitionedStream(Stream):
    """A stream with one state partition per account and region of its cloud.

    The SDK keeps the largest replication-key value seen in a partition as its bookmark.
    Subclasses lower that with :meth:`cap_bookmark` (the SDK's per-partition signpost):
    never above the sync start minus :data:`CLOCK_SKEW_ALLOWANCE`, and lower still when
    something seen must be read again next time.
    """

    is_sorted = False
    # conform() already makes every record fit its schema, at a fraction of the cost.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    regions_setting: t.ClassVar[str]

    def __init__(self, tap: Tap, scope: Scope) -> None:
        """Remember when the sync started: the ceiling of every bookmark it writes.

        Args:
            tap: The tap this stream belongs to.
            scope: The cloud's accounts and regions, shared by its streams.
        """
        super().__init__(tap)
        self.sync_started_at = dt.datetime.now(UTC)
        self.scope = scope
        # The cloud's clock, from its answers, in any account.
        self.clock = scope.base.clock
        self.once = OnceLog(self.logger)
        self.summary = SyncSummary(self.logger)
        self._partitions: list[dict[str, t.Any]] | None = None
        self._conform = compile_conformer(self.schema)
        self._fits = compile_fit_check(self.schema)
        self._feeds: dict[PartitionKey, PageFeed] = {}
        self._started: set[PartitionKey] = set()
        # Every partition's fetching stops at the stream's first failure; with
        # account_failure=skip, only that account's (see feed_group).
        self._feed_groups: dict[str, FeedGroup] = {}
        self._dropped_fields: set[str] = set()
        self._highest_values: dict[object, str] = {}

    def feed_group(self, context: Context) -> FeedGroup:
        """The feeds that stop with this partition's: the stream's, or its account's.

        With ``account_failure: skip`` one account's failure stops only its own feeds.

        Args:
            context: The partition.

        Returns:
            The group (its ``stop`` event ends scans and retries).
        """
        key = str(context.get("AccountId")) if self.scope.skip_failing_accounts else "*"
        return self._feed_groups.setdefault(key, FeedGroup())

    def stop_all_feeds(self, error: BaseException) -> None:
        """Stop every partition's fetching, in every account (the sync is over).

        Args:
            error: Why; what a reader still waiting raises.
        """
        for group in list(self._feed_groups.values()):
            group.fail(error)

    def connector(self, context: Context) -> t.Any:  # noqa: ANN401 - the cloud's connector
        """The connector of a partition's account.

        Args:
            context: The partition.

        Returns:
            The account's AWSConnector or TencentConnector.
        """
        return self.scope.connector(str(context["AccountId"]))

    @property
    def partitions(self) -> list[dict[str, t.Any]] | None:
        """One partition per account and region: its own bookmark, AccountId and Region."""
        if self._partitions is None:
            partitions = [partition.context for partition in self.scope.partitions()]
            if partitions:
                self._adopt_region_only_state()
            self._partitions = partitions
        return self._partitions

    def _adopt_region_only_state(self) -> None:
        """Give bookmarks written before accounts existed to the tap's own account.

        Such a state has one partition per region (``{"Region": ...}``), all read with
        the tap's own identity; that identity's account now owns them. Asked only when
        such partitions exist (one STS call).
        """
        stream_state = self.tap_state.get("bookmarks", {}).get(self.name)
        if not isinstance(stream_state, dict):
            return
        partitions = stream_state.get("partitions")
        if not isinstance(partitions, list):
            return
        legacy = [
            p
            for p in partitions
            if isinstance(p, dict)
            and isinstance(p.get("context"), dict)
            and "AccountId" not in p["context"]
        ]
        if not legacy:
            return
        if self.scope.lists_accounts:
            # Such a state cannot say which account wrote it (a job per account, each
            # with its own aws_assume_role_arn, was the advice then): guessing could give
            # one account's bookmark to another and skip its rows.
            msg = (
                f"State for stream {self.name} has bookmarks without AccountId (written "
                "before accounts were supported) and the settings list accounts: run once "
                "with the settings that wrote it (no account list) to upgrade it, or drop "
                "those partitions from the state"
            )
            raise StateError(msg)
        account_id = self.scope.base.account_id
        known = {
            partition_key(p["context"])
            for p in partitions
            if isinstance(p, dict)
            and isinstance(p.get("context"), dict)
            and "AccountId" in p["context"]
        }
        for partition in legacy:
            region = partition["context"].get("Region")
            if (account_id, region) in known:
                partitions.remove(partition)  # the account's own bookmark wins
                continue
            partition["context"] = {"AccountId": account_id, "Region": region}
        self.logger.info(
            "Stream %s: %d region bookmark(s) from a state without accounts now belong to "
            "account %s",
            self.name,
            len(legacy),
            account_id,
        )

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

    def starting_time(self, context: Context) -> dt.datetime | None:
        """The first instant this partition's sync must cover.

        Read from the state directly (not the SDK's per-partition starting value) because
        regions are fetched ahead of their turn.

        Args:
            context: The region partition.

        Returns:
            The bookmark or ``start_date``, whichever is later; None means everything,
            as it does for a catalog that asks for FULL_TABLE (the SDK's own streams
            apply neither bookmark nor ``start_date`` then).
        """
        if self.replication_method == FULL_TABLE:
            return None
        state = self.state_manager.get_context_state(context)
        candidates = []
        bookmark = state.get("replication_key_value")
        if bookmark is not None and state.get("replication_key") == self.replication_key:
            candidates.append(self._parse_bookmark(bookmark))
        if (start_date := self.config.get("start_date")) is not None:
            candidates.append(parse_timestamp(start_date))
        return max(candidates, default=None)

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
        """The highest bookmark this sync may write.

        The sync's start on the cloud's clock (the earlier of ours and what the cloud's
        first answer said, see ``clock``), minus :data:`CLOCK_SKEW_ALLOWANCE`. Read it
        once the region's answers have come in.
        """
        behind = self.clock.behind if self.clock is not None else dt.timedelta(0)
        return self.sync_started_at - behind - CLOCK_SKEW_ALLOWANCE

    def cap_bookmark(self, context: Context | None, ceiling: dt.datetime) -> None:
        """Keep this partition's next bookmark at or below ``ceiling``.

        Args:
            context: The region partition.
            ceiling: Records at or after this instant are read again next sync.
        """
        self.state_manager.write_replication_key_signpost(
            format_timestamp(ceiling), context=context
        )

    def advance_bookmark(self, context: Context, instant: dt.datetime) -> None:
        """Let this partition's bookmark reach ``instant`` even if no record was that new.

        Only for a read shown complete up to ``instant``: then nothing at or before it was
        left unread, however quiet the region. Without this a quiet region's bookmark
        would stay at its newest record, and every sync would read back from there.

        Args:
            context: The region partition.
            instant: Every record updated before it has been emitted.
        """
        markers = self._progress_markers(context)
        value = format_timestamp(instant)
        current = markers.get("replication_key_value")
        if not isinstance(current, str) or current < value:
            markers["replication_key"] = self.replication_key
            markers["replication_key_value"] = value

    def _progress_markers(self, context: Context) -> dict[str, t.Any]:
        """The SDK's not-yet-final bookmark of a partition, created with its own note."""
        state = self.state_manager.get_context_state(context)
        markers: dict[str, t.Any] = state.setdefault(
            PROGRESS_MARKERS, {PROGRESS_MARKER_NOTE: UNSORTED_NOTE}
        )
        return markers

    @cached_property
    def api_keys(self) -> tuple[str, ...]:
        """The primary-key fields the API itself supplies (all but AccountId and Region)."""
        return tuple(key for key in self.primary_keys or () if key not in {"AccountId", "Region"})

    def record_label(self, record: dict[str, t.Any]) -> str | None:
        """The record's API key values joined by "/", for log lines; None if one is unusable.

        Args:
            record: One API object.

        Returns:
            For example ``cmd-abc`` or ``5f1e.../i-0abc``; None when a key is missing, empty
            or not a string.
        """
        keys = self.api_keys
        if len(keys) == 1:  # the common case, once per record: no list, no join
            value = record.get(keys[0])
            return value if type(value) is str and value else None
        values = [record.get(key) for key in keys]
        if not all(isinstance(value, str) and value for value in values):
            return None
        return "/".join(t.cast("list[str]", values))

    def conform(self, record: dict[str, t.Any], region: str) -> dict[str, t.Any] | None:
        """Make an API object fit the schema; None for one that has no key to load it by.

        Args:
            record: One API object (changed in place).
            region: Where it came from, for the log.

        Returns:
            The record, or None when it lacks a usable primary key.
        """
        problems: list[str] = []
        if not self._fits(record):
            findings = Findings()
            self._conform(record, findings, self.name)
            self._report_dropped(findings.dropped)
            problems = findings.problems
        key = self.record_label(record)
        if key is None:
            # Field names only: values (Parameters, command text) may hold secrets.
            self.logger.warning(
                "Stream %s, region %s: skipped an object without %s (fields: %s)",
                self.name,
                region,
                " and ".join(self.api_keys),
                ", ".join(sorted(record)),
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
    def _increment_stream_state(
        self, latest_record: Record, *, context: Context | None = None
    ) -> None:
        """Pass a record to the SDK's state only when it can move the progress marker.

        For an unsorted stream the SDK keeps the highest replication-key value seen (a
        string comparison); a value at or below it changes nothing, yet the SDK's path
        costs about as much per record as conforming one. Null values still go through,
        so the SDK reports them as before.

        Args:
            latest_record: The record just written.
            context: The region partition.
        """
        value = latest_record.get(self.replication_key or "")
        where = partition_key(context) if context else None
        highest = self._highest_values.get(where)
        if isinstance(value, str) and highest is not None and value <= highest:
            return
        if isinstance(value, str):
            self._highest_values[where] = value
        super()._increment_stream_state(latest_record, context=context)

    @override
    def generate_child_contexts(
        self, record: Record, context: Context | None
    ) -> Iterable[Context | None]:
        """None: these streams have no child streams.

        The SDK's default yields a context per record, which it then copies and hands to
        a child-sync loop that has nothing to do, at a cost per record.

        Args:
            record: Unused.
            context: Unused.

        Returns:
            No contexts.
        """
        return ()

    @cached_property
    def _records_need_pruning(self) -> bool:
        """Whether the catalog deselects a property or narrows the schema."""
        return not all(self.mask.values()) or self.effective_schema != self.schema

    @override
    def _generate_record_messages(
        self, record: Record
    ) -> Generator[singer.RecordMessage, None, None]:
        """Build RECORD messages as the SDK does, without its two per-record walks.

        conform() has already made the record fit the schema, so the SDK's pruning walk
        (selection mask, then unmapped properties) changes nothing unless the catalog
        deselects a property or narrows the schema; only then does it run. The walk
        costs about as much as everything else in the SDK's record path together.

        Args:
            record: One conformed record.

        Yields:
            One message per stream map that keeps the record.
        """
        if self._records_need_pruning:
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield singer.RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )

    def _report_dropped(self, dropped: list[str]) -> None:
        """Warn once per field the API sent that the schema lacks."""
        if dropped and (new_fields := set(dropped) - self._dropped_fields):
            self._dropped_fields |= new_fields
            self.logger.warning(
                "Stream %s: the API sent fields the schema lacks, not emitted: %s",
                self.name,
                ", ".join(sorted(new_fields)),
            )

    @override
    def get_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        if context is None:
            self.logger.info(
                "Stream %s: no partition to read (no %s configured, no account reached, or "
                "none in this shard), nothing to sync",
                self.name,
                self.regions_setting,
            )
            return
        # The SDK writes STATE only at the end of a stream; writing it as each region
        # starts lets a sync killed in one region resume after the regions already done.
        # Not with BATCH: earlier regions' records are still in the batcher, and a STATE
        # now would claim them before any BATCH message carried them.
        if not self.get_batch_config(self.config):
            self._write_state_message()
        region = str(context["Region"])
        where = partition_key(context)
        if where[0] in self.scope.skipped_accounts:
            return  # failed earlier in this sync (account_failure=skip): bookmark kept
        # The SDK's own note on unsorted progress, set before it would log a warning for
        # every stream and region; the tap says what matters once.
        self.once.info(RESUMING_NOTE)
        before = copy.deepcopy(self.state_manager.get_context_state(context))
        self._progress_markers(context)
        self._highest_values.pop(where, None)
        feed: PageFeed | None = None
        done = False
        records = 0
        failed = ""
        try:
            feed = self._feed(context)
            for record in self.region_records(context, region, feed.items()):
                records += 1
                yield record
            done = True
        except CloudAPIError as error:
            failed = str(error)
            if not self.scope.skip_failing_accounts:
                # Stop every partition's fetching now, not when the process exits.
                self.stop_all_feeds(error)
                raise
            self._skip_account(context, before, error)
            done = True
        except Exception as error:
            failed = str(error) or type(error).__name__
            self.stop_all_feeds(error)
            raise
        finally:
            self._end_partition(context, feed, records=records, failed=failed, done=done)

    def _end_partition(
        self, context: Context, feed: PageFeed | None, *, records: int, failed: str, done: bool
    ) -> None:
        """Close a partition's feed, count it in the summary, stop the rest if it broke off."""
        region = str(context["Region"])
        where = partition_key(context)
        if feed is not None:
            feed.close()
            self._feeds.pop(where, None)
            # Its client is made again if another stream reads this partition: a client
            # per account and region kept to the end would grow with both.
            self.connector(context).release(region)
        self.summary.add(
            self.scope.cloud,
            where,
            records=records,
            pages=feed.pages if feed is not None else 0,
            failed=failed,
        )
        if failed and not done:
            self.summary.log()  # the sync ends here: say what each partition did
        if not done:
            # Also when the SDK closes this generator early (a failed write, a record
            # limit): no partition of the stream keeps calling the cloud.
            self.stop_all_feeds(FeedStoppedError(f"{self.name} stopped in {region}"))

    def _skip_account(
        self, context: Context, before: dict[str, t.Any], error: CloudAPIError
    ) -> None:
        """Give up on a partition's account (``account_failure: skip``).

        Its feeds stop; this partition's state is put back as it was when the partition
        started (no progress marker the SDK would promote from a partial, unsorted
        listing, so its bookmark stays); its other partitions are passed over by every
        stream of the sync. Records already emitted stay emitted: read again next time.

        Args:
            context: The failing partition.
            before: Its state when it started.
            error: What failed.
        """
        self.feed_group(context).fail(error)
        state = self.state_manager.get_context_state(context)
        state.clear()
        state.update(before)
        self.scope.skip_account(partition_key(context)[0], error)

    @override
    def log_sync_costs(self) -> None:
        """The SDK's cost log, then (for the first stream to get here) the sync summary.

        The SDK calls this for every stream once every stream has synced.
        """
        super().log_sync_costs()
        self.summary.log()

    def _feed(self, context: Context) -> PageFeed:
        """This partition's feed, with the next few partitions' feeds started behind it.

        The SDK syncs partitions one after another; at most ``max_concurrent_partitions``
        feeds fetch at once (this one and those next in line), so threads and memory
        stay flat however many accounts and regions there are, and the next partitions'
        first pages are ready when their turn comes.
        """
        partitions = self.partitions or []
        ahead = int(self.config.get("max_concurrent_partitions", DEFAULT_MAX_CONCURRENT_PARTITIONS))
        keys = [partition_key(p) for p in partitions]
        where = partition_key(context)
        start = keys.index(where) if where in keys else 0
        for candidate in [context, *partitions[start + 1 : start + ahead]]:
            key = partition_key(candidate)
            if key in self._started or (key != where and key[0] in self.scope.skipped_accounts):
                continue
            self._started.add(key)
            self._feeds[key] = PageFeed(
                f"{self.name}-{key[0]}-{key[1]}",
                self.fetch_pages(candidate, str(candidate["Region"])),
                group=self.feed_group(candidate),
            )
        return self._feeds[where]

    @abc.abstractmethod
    def fetch_pages(self, context: Context, region: str) -> Iterable[list[dict[str, t.Any]]]:
        """Return a lazy iterable of one region's API pages (iterated on a feed thread).

        Args:
            context: The region partition.
            region: Its region name.
        """

    @abc.abstractmethod
    def region_records(
        self, context: Context, region: str, objects: Iterator[dict[str, t.Any]]
    ) -> Iterator[dict[str, t.Any]]:
        """Turn one region's API objects into records and cap its bookmark.

        Args:
            context: The region partition.
            region: Its region name.
            objects: The API objects, in the API's order.
        """


class TimestampFields:
    """Normalises a record's timestamp fields in place to UTC RFC 3339.

    A field is a top-level name, or ``Parent.Child`` for a member of an object (or of
    each object in an array) such as ``TaskResult.ExecEndTime``.
    """

    def __init__(self, stream: RegionPartitionedStream, fields: Iterable[str]) -> None:
        """Remember which fields hold timestamps.

        Args:
            stream: Whose logger reports values that are not timestamps.
            fields: Field names, the replication key first.
        """
        self._stream = stream
        fields = tuple(fields)
        self._top = tuple(field for field in fields if "." not in field)
        nested: dict[str, list[str]] = {}
        for field in fields:
            if "." in field:
                parent, child = field.split(".", 1)
                nested.setdefault(parent, []).append(child)
        self._nested = tuple((parent, tuple(children)) for parent, children in nested.items())

    def normalise(self, record: dict[str, t.Any]) -> dt.datetime | None:
        """Rewrite each timestamp field; return the instant of the first one.

        A value that is not a timestamp becomes null (with a warning) so the record still
        matches its schema; an empty string, which TAT sends for times not yet known,
        becomes null silently.

        Args:
            record: One API object.

        Returns:
            The instant of the first field (the replication key), None when absent or
            unusable.
        """
        first: dt.datetime | None = None
        for index, field in enumerate(self._top):
            instant = self._rewrite(record, field, record)
            if index == 0:
                first = instant
        for parent, children in self._nested:
            value = record.get(parent)
            for holder in value if isinstance(value, list) else [value]:
                if isinstance(holder, dict):
                    for child in children:
                        self._rewrite(holder, child, record)
        return first

    def _rewrite(
        self, holder: dict[str, t.Any], field: str, record: dict[str, t.Any]
    ) -> dt.datetime | None:
        value = holder.get(field)
        if value is None:
            return None
        if value == "":
            holder[field] = None
            return None
        try:
            instant, holder[field] = instant_and_text(value)
        except ValueError:
            holder[field] = None
            self._stream.logger.warning(
                "Stream %s: %s %r of %s is not a timestamp; emitted as null",
                self._stream.name,
                field,
                value,
                self._stream.record_label(record),
            )
            return None
        return instant
