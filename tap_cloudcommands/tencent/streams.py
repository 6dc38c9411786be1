"""The TAT streams: commands, invocations and their tasks, per account and region."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import typing as t

from typing_extensions import override

from tap_cloudcommands.client import (
    PartitionKey,
    RegionPartitionedStream,
    TimestampFields,
    partition_key,
)
from tap_cloudcommands.tencent.connector import TAT_MAX_PAGE_SIZE
from tap_cloudcommands.tencent.schemas import (
    TAT_COMMAND_SCHEMA,
    TAT_INVOCATION_SCHEMA,
    TAT_INVOCATION_TASK_SCHEMA,
)
from tap_cloudcommands.timestamps import EPOCH

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

    from tap_cloudcommands.scope import Scope
    from tap_cloudcommands.tencent.connector import TencentConnector
    from tap_cloudcommands.tencent.scan import OffsetScan

DEFAULT_TAT_TASK_OUTPUT_MAX_CHARS = 8192
# A TAT run changes only while it runs, and a command's Timeout is at most 86,400 s (the
# SDK models of RunCommand, InvokeCommand and CreateCommand: "取值范围[1, 86400]").
TAT_MAX_RUN_SECONDS = 86_400
# On top of that: delivery delays, the agent's last report, clocks apart.
DEFAULT_TAT_HISTORY_MARGIN_SECONDS = 3_600


class TATStream(RegionPartitionedStream):
    """A Tencent Cloud TAT Describe* list, per region, by ``UpdatedTime``.

    The TAT APIs have no time filter: each sync pages through the list, newest first,
    with a scan that proves it skipped nothing (``tencent.scan``), and keeps items
    updated at or after the region's bookmark. Lists of runs (:attr:`history`) end the
    scan at items created before the bookmark minus :data:`TAT_MAX_RUN_SECONDS` and the
    margin setting: older runs ended before the bookmark, so they cannot have changed
    since.
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
            stop=self.feed_group(context).stop,
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
