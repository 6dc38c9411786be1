"""The streams: AWS SSM Run Command and Tencent Cloud TAT, commands and execution history."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import itertools
import typing as t

from typing_extensions import override

from tap_cloudcommands.aws.connector import (
    LIST_COMMAND_INVOCATIONS,
    LIST_COMMANDS,
    SSM_MAX_PAGE_SIZE,
    SSMListing,
)
from tap_cloudcommands.client import PartitionKey, RegionPartitionedStream, partition_key
from tap_cloudcommands.errors import CloudAPIError
from tap_cloudcommands.schemas import (
    SSM_COMMAND_INVOCATION_SCHEMA,
    SSM_COMMAND_SCHEMA,
    TAT_COMMAND_SCHEMA,
    TAT_INVOCATION_SCHEMA,
    TAT_INVOCATION_TASK_SCHEMA,
)
from tap_cloudcommands.tencent.connector import TAT_MAX_PAGE_SIZE
from tap_cloudcommands.timestamps import EPOCH, instant_and_text, parse_timestamp

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

    from tap_cloudcommands.aws.connector import AWSConnector
    from tap_cloudcommands.scope import Scope
    from tap_cloudcommands.tencent.connector import TencentConnector
    from tap_cloudcommands.tencent.scan import OffsetScan

# A command or invocation in any other status may still change, so it is read again.
SSM_FINAL_STATUSES = frozenset({"Success", "Cancelled", "Failed", "TimedOut"})
# Run Command keeps about 30 days of history: a command older than that cannot be read.
DEFAULT_SSM_STATUS_LOOKBACK_DAYS = 30
# Commands followed by id per region and stream; beyond it the oldest are left to the
# bookmark, which then holds at the newest of them (the listing reads them again).
MAX_PENDING_COMMANDS = 1000
PENDING_KEY = "pending_commands"
DEFAULT_TAT_TASK_OUTPUT_MAX_CHARS = 8192
# A TAT run changes only while it runs, and a command's Timeout is at most 86,400 s (the
# SDK models of RunCommand, InvokeCommand and CreateCommand: "取值范围[1, 86400]").
TAT_MAX_RUN_SECONDS = 86_400
# On top of that: delivery delays, the agent's last report, clocks apart.
DEFAULT_TAT_HISTORY_MARGIN_SECONDS = 3_600


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


class SSMStream(RegionPartitionedStream):
    """An AWS Systems Manager Run Command list, per region, by ``RequestedDateTime``.

    Each sync asks for items requested at or after the region's bookmark (the
    ``InvokedAfter`` filter, inclusive) and drops older ones itself, in case a proxy or
    emulator ignores the filter. A command still running (for the invocations stream: a
    command with an invocation still running) is kept by id in the partition's state
    (``pending_commands``: CommandId -> RequestedDateTime) and read again by id
    (``CommandId``) on every sync until it is final, older than
    ``ssm_status_lookback_days`` or no longer listed; the bookmark moves on with the
    newest record.
    """

    replication_key = "RequestedDateTime"
    regions_setting = "aws_regions"
    listing: t.ClassVar[SSMListing]
    timestamp_fields: t.ClassVar[tuple[str, ...]]

    def __init__(self, tap: Tap, scope: Scope) -> None:
        """Attach the AWS connector shared by the tap's AWS streams.

        Args:
            tap: The tap.
            scope: The cloud's accounts and regions, and a connector per account.
        """
        super().__init__(tap, scope)
        self.timestamps = TimestampFields(self, self.timestamp_fields)
        self._rereads: dict[PartitionKey, dict[str, str]] = {}

    @override
    def connector(self, context: Context) -> AWSConnector:
        return t.cast("AWSConnector", super().connector(context))

    @property
    def status_lookback(self) -> dt.timedelta:
        """How long a running command is read again by id."""
        days = self.config.get("ssm_status_lookback_days", DEFAULT_SSM_STATUS_LOOKBACK_DAYS)
        return dt.timedelta(days=days)

    def request_extra(self) -> dict[str, t.Any]:
        """Request members beyond paging and the time filter."""
        return {}

    def pending(self, context: Context) -> dict[str, str]:
        """The commands this stream follows in a region, from the state.

        Args:
            context: The region partition.

        Returns:
            CommandId -> RequestedDateTime (RFC 3339).
        """
        value = self.state_manager.get_context_state(context).get(PENDING_KEY)
        return dict(value) if isinstance(value, dict) else {}

    def followed(self, context: Context) -> dict[str, str]:
        """The commands whose status this stream reads again, from the state.

        Args:
            context: The region partition.

        Returns:
            CommandId -> RequestedDateTime.
        """
        return self.pending(context)

    def commands_still_running(self, context: Context) -> dict[str, str]:  # noqa: ARG002
        """Commands known, from elsewhere, to be running now: followed whatever was read.

        Args:
            context: The region partition.

        Returns:
            CommandId -> RequestedDateTime.
        """
        return {}

    def commands_to_reread(self, context: Context) -> dict[str, str]:
        """Followed commands the listing will not bring: requested before its start.

        Args:
            context: The region partition.

        Returns:
            CommandId -> RequestedDateTime of the commands read by id this sync.
        """
        start = self.starting_time(context)
        if start is None:
            return {}
        return {
            command_id: requested
            for command_id, requested in self.followed(context).items()
            if parse_timestamp(requested) < start
        }

    @override
    def fetch_pages(self, context: Context, region: str) -> Iterable[list[dict[str, t.Any]]]:
        rereads = self.commands_to_reread(context)
        self._rereads[partition_key(context)] = rereads
        page_size = self.config.get("ssm_page_size", SSM_MAX_PAGE_SIZE)
        listing = self.connector(context).list_pages(
            region,
            self.listing,
            invoked_after=self.starting_time(context),
            page_size=page_size,
            extra=self.request_extra(),
        )

        def by_id(command_id: str) -> Iterator[list[dict[str, t.Any]]]:
            try:
                yield from self.connector(context).list_pages(
                    region,
                    self.listing,
                    invoked_after=None,
                    page_size=page_size,
                    extra=self.request_extra(),
                    command_id=command_id,
                )
            except CloudAPIError as error:
                # A command SSM no longer knows: region_records drops it with a log line.
                if error.code != "InvalidCommandId":
                    raise

        return itertools.chain(listing, *(by_id(command_id) for command_id in rereads))

    @override
    def region_records(
        self, context: Context, region: str, objects: Iterator[dict[str, t.Any]]
    ) -> Iterator[dict[str, t.Any]]:
        start = self.starting_time(context)
        rereads = self._rereads.get(partition_key(context), {})
        pending = self.pending(context)
        running: set[str] = set()
        seen: set[str] = set()
        for item in objects:
            record = dict(item)
            requested = self.timestamps.normalise(record)
            if self.conform(record, region) is None:
                continue
            command_id = str(record["CommandId"])
            if (
                command_id not in rereads
                and start is not None
                and requested is not None
                and requested < start
            ):
                continue
            seen.add(command_id)
            if record.get("Status") not in SSM_FINAL_STATUSES and requested is not None:
                running.add(command_id)
                pending[command_id] = str(record["RequestedDateTime"])
            yield record
        for command_id, requested_at in self.commands_still_running(context).items():
            pending.setdefault(command_id, requested_at)
            running.add(command_id)
        held = self._settle_pending(context, region, pending, seen=seen, running=running)
        # The ceiling only now: it needs the cloud's clock from the first answer. The
        # listing was complete: the bookmark may reach the ceiling.
        ceiling = self.bookmark_ceiling
        if held is None:
            self.advance_bookmark(context, ceiling)
        self.cap_bookmark(context, ceiling if held is None else min(ceiling, held))

    def _settle_pending(
        self,
        context: Context,
        region: str,
        pending: dict[str, str],
        *,
        seen: set[str],
        running: set[str],
    ) -> dt.datetime | None:
        """Write the commands to follow next time; return where the bookmark must hold.

        Returns:
            None, or the newest RequestedDateTime of commands over the bound, which the
            listing must read again.
        """
        rereads = self._rereads.get(partition_key(context), {})
        oldest = self.sync_started_at - self.status_lookback
        kept: dict[str, str] = {}
        for command_id, requested in pending.items():
            if command_id in seen and command_id not in running:
                continue  # final now
            if command_id in rereads and command_id not in seen and command_id not in running:
                self.logger.info(
                    "Stream %s, region %s: command %s is no longer listed by SSM; "
                    "its last status stays as loaded",
                    self.name,
                    region,
                    command_id,
                )
                continue
            if parse_timestamp(requested) < oldest:
                self.logger.info(
                    "Stream %s, region %s: command %s is still not final after %d days "
                    "(ssm_status_lookback_days); no longer read again",
                    self.name,
                    region,
                    command_id,
                    self.status_lookback.days,
                )
                continue
            kept[command_id] = requested
        newest_first = sorted(kept.items(), key=lambda entry: entry[1], reverse=True)
        followed = dict(newest_first[:MAX_PENDING_COMMANDS])
        over = newest_first[MAX_PENDING_COMMANDS:]
        state = self.state_manager.get_context_state(context)
        state[PENDING_KEY] = followed
        if over:
            self.logger.warning(
                "Stream %s, region %s: %d commands still running beyond the %d followed by "
                "id; the bookmark holds at the newest of them",
                self.name,
                region,
                len(over),
                MAX_PENDING_COMMANDS,
            )
            return parse_timestamp(over[0][1])
        return None


class SSMCommandsStream(SSMStream):
    """Run Command commands (``ListCommands``): one row per command, per region."""

    name = "ssm_commands"
    primary_keys = ("AccountId", "Region", "CommandId")
    schema = SSM_COMMAND_SCHEMA
    listing = LIST_COMMANDS
    timestamp_fields = ("RequestedDateTime", "ExpiresAfter")


class SSMCommandInvocationsStream(SSMStream):
    """Run Command invocations (``ListCommandInvocations``): one row per command and node.

    Listed directly with ``InvokedAfter`` and NextToken paging, not one call per command.
    ``CommandPlugins`` (per-step status, exit code, times and output) is filled only with
    ``ssm_invocation_details`` on: AWS returns it only for ``Details=true``.
    """

    name = "ssm_command_invocations"
    primary_keys = ("AccountId", "Region", "CommandId", "InstanceId")
    schema = SSM_COMMAND_INVOCATION_SCHEMA
    listing = LIST_COMMAND_INVOCATIONS
    timestamp_fields = (
        "RequestedDateTime",
        "CommandPlugins.ResponseStartDateTime",
        "CommandPlugins.ResponseFinishDateTime",
    )

    @override
    def request_extra(self) -> dict[str, t.Any]:
        return {"Details": bool(self.config.get("ssm_invocation_details", False))}

    @override
    def followed(self, context: Context) -> dict[str, str]:
        """Also the commands ``ssm_commands`` last saw running.

        Their invocations may all have ended while SSM still creates new ones (rate
        control, tag targets).

        Args:
            context: The region partition.

        Returns:
            CommandId -> RequestedDateTime.
        """
        return self.commands_still_running(context) | self.pending(context)

    @override
    def commands_still_running(self, context: Context) -> dict[str, str]:
        """The commands ``ssm_commands`` follows in this region, as the state says now.

        An invocation may appear for a running command after this stream last read it,
        stamped with the command's ``RequestedDateTime`` (behind the bookmark). So a
        command stays followed here while ``ssm_commands`` follows it, and is read once
        more after that: only a read after the command ended is sure to hold its last
        invocation. Streams sync in name order, so this one runs before ``ssm_commands``
        in a sync; the rule holds in either order.

        Args:
            context: The region partition.

        Returns:
            CommandId -> RequestedDateTime.
        """
        commands = self.tap_state.get("bookmarks", {}).get(SSMCommandsStream.name, {})
        for partition in commands.get("partitions", []):
            if partition.get("context") == context:
                return dict(partition.get(PENDING_KEY) or {})
        return {}


class TATStream(RegionPartitionedStream):
    """A Tencent Cloud TAT Describe* list, per region, by ``UpdatedTime``.

    The TAT APIs have no time filter: each sync pages through the list, newest first,
    with a scan that proves it skipped nothing (``tencent.scan``), and keeps items updated at
    or after the region's bookmark. Lists of runs (:attr:`history`) end the scan at
    items created before the bookmark minus :data:`TAT_MAX_RUN_SECONDS` and the margin
    setting: older runs ended before the bookmark, so they cannot have changed since.
    The bookmark advances only after a scan shown complete.
    """

    replication_key = "UpdatedTime"
    regions_setting = "tencent_regions"
    action: t.ClassVar[str]
    item_key: t.ClassVar[str]
    id_key: t.ClassVar[str]
    timestamp_fields: t.ClassVar[tuple[str, ...]]
    # Runs stop changing when they end; saved commands can be edited at any time.
    history: t.ClassVar[bool] = True

    def __init__(self, tap: Tap, scope: Scope) -> None:
        """Attach the Tencent connector shared by the tap's TAT streams.

        Args:
            tap: The tap.
            scope: The cloud's accounts and regions, and a connector per account.
        """
        super().__init__(tap, scope)
        self.timestamps = TimestampFields(self, self.timestamp_fields)
        self._scans: dict[PartitionKey, OffsetScan] = {}

    @override
    def connector(self, context: Context) -> TencentConnector:
        return t.cast("TencentConnector", super().connector(context))

    def request_params(self) -> dict[str, t.Any]:
        """Request members beyond Offset and Limit."""
        return {}

    def prepare(self, record: dict[str, t.Any]) -> None:
        """Adjust an API object before it is conformed (in place).

        Args:
            record: A copy of one API object.
        """

    def scan_stop_before(self, start: dt.datetime | None) -> dt.datetime | None:
        """Runs created before this instant cannot have changed since ``start``.

        Args:
            start: The region's bookmark or ``start_date``; None reads everything.

        Returns:
            None (read the whole list) for saved commands or without a start.
        """
        if not self.history or start is None:
            return None
        margin = self.config.get("tat_history_margin_seconds", DEFAULT_TAT_HISTORY_MARGIN_SECONDS)
        return start - dt.timedelta(seconds=TAT_MAX_RUN_SECONDS + margin)

    @override
    def fetch_pages(self, context: Context, region: str) -> Iterable[list[dict[str, t.Any]]]:
        scan = self.connector(context).scan(
            region,
            self.action,
            self.item_key,
            self.id_key,
            page_size=self.config.get("tat_page_size", TAT_MAX_PAGE_SIZE),
            params=self.request_params(),
            stop_before=self.scan_stop_before(self.starting_time(context)),
            stop=self.feed_group.stop,
        )
        self._scans[partition_key(context)] = scan
        return scan.pages()

    @override
    def region_records(
        self, context: Context, region: str, objects: Iterator[dict[str, t.Any]]
    ) -> Iterator[dict[str, t.Any]]:
        start = self.starting_time(context)
        for item in objects:
            record = dict(item)
            updated = self.timestamps.normalise(record)
            self.prepare(record)
            if self.conform(record, region) is None:
                continue
            if start is not None and updated is not None and updated < start:
                continue
            yield record
        scan = self._scans.pop(partition_key(context))
        if scan.exact:
            ceiling = self.bookmark_ceiling
            self.advance_bookmark(context, ceiling)
            self.cap_bookmark(context, ceiling)
        else:
            self.logger.warning(
                "Stream %s, region %s: the scan could not be shown complete; bookmark not "
                "advanced, the next sync reads the same stretch again",
                self.name,
                region,
            )
            self.cap_bookmark(context, start or EPOCH)


class TATCommandsStream(TATStream):
    """TAT commands (``DescribeCommands``): saved command definitions, not runs."""

    name = "tat_commands"
    primary_keys = ("AccountId", "Region", "CommandId")
    schema = TAT_COMMAND_SCHEMA
    action = "DescribeCommands"
    item_key = "CommandSet"
    id_key = "CommandId"
    history = False
    timestamp_fields = ("UpdatedTime", "CreatedTime")


class TATInvocationsStream(TATStream):
    """TAT invocations (``DescribeInvocations``): one row per run of a command."""

    name = "tat_invocations"
    primary_keys = ("AccountId", "Region", "InvocationId")
    schema = TAT_INVOCATION_SCHEMA
    action = "DescribeInvocations"
    item_key = "InvocationSet"
    id_key = "InvocationId"
    timestamp_fields = ("UpdatedTime", "CreatedTime", "StartTime", "EndTime")


class TATInvocationTasksStream(TATStream):
    """TAT invocation tasks (``DescribeInvocationTasks``): one row per run on one instance.

    Output stays hidden (``HideOutput``) unless ``tat_task_output`` is on; then it is
    decoded from base64 when it is UTF-8 text, kept as the API's base64 otherwise, and
    cut to ``tat_task_output_max_chars``.
    """

    name = "tat_invocation_tasks"
    primary_keys = ("AccountId", "Region", "InvocationTaskId")
    schema = TAT_INVOCATION_TASK_SCHEMA
    action = "DescribeInvocationTasks"
    item_key = "InvocationTaskSet"
    id_key = "InvocationTaskId"
    timestamp_fields = (
        "UpdatedTime",
        "CreatedTime",
        "StartTime",
        "EndTime",
        "TaskResult.ExecStartTime",
        "TaskResult.ExecEndTime",
    )

    @property
    def with_output(self) -> bool:
        """Whether task output is asked for and emitted."""
        return bool(self.config.get("tat_task_output", False))

    @override
    def request_params(self) -> dict[str, t.Any]:
        return {"HideOutput": not self.with_output}

    @override
    def prepare(self, record: dict[str, t.Any]) -> None:
        result = record.get("TaskResult")
        if not isinstance(result, dict):
            return
        result = record["TaskResult"] = dict(result)
        output = result.get("Output")
        if not self.with_output or not isinstance(output, str):
            result["Output"] = None
            return
        max_chars = int(
            self.config.get("tat_task_output_max_chars", DEFAULT_TAT_TASK_OUTPUT_MAX_CHARS)
        )
        text, encoding = decode_output(output, cut_by_api=bool(result.get("Dropped")))
        kept = max_chars if encoding == "text" else max_chars - max_chars % 4
        result["Output"] = text[:kept]
        result["OutputEncoding"] = encoding
        result["OutputCapped"] = len(text) > kept


# A UTF-8 character is at most 4 bytes: a byte cut splits at most its last 3.
_UTF8_TAIL = 3


def decode_output(output: str, *, cut_by_api: bool = False) -> tuple[str, str]:
    """Decode TAT's base64 task output when it is UTF-8 text.

    Args:
        output: ``TaskResult.Output`` as the API gives it.
        cut_by_api: TAT cut the output at 24 KB (``Dropped`` > 0), possibly inside a
            character; an incomplete last character is then left out.

    Returns:
        ``(text, "text")`` for base64 of valid UTF-8, else ``(output, "base64")``
        unchanged (binary output, or a value that is not base64 at all). Base64 output
        is cut, if at all, at a multiple of 4 characters by the caller.
    """
    try:
        data = base64.b64decode(output, validate=True)
    except binascii.Error:
        return output, "base64"
    try:
        return data.decode("utf-8"), "text"
    except UnicodeDecodeError as error:
        incomplete_last_character = (
            error.reason == "unexpected end of data" and error.start >= len(data) - _UTF8_TAIL
        )
        if cut_by_api and incomplete_last_character:
            return data[: error.start].decode("utf-8"), "text"
        return output, "base64"
