"""The SSM Run Command streams: commands and their invocations, per account and region."""

from __future__ import annotations

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
from tap_cloudcommands.aws.schemas import SSM_COMMAND_INVOCATION_SCHEMA, SSM_COMMAND_SCHEMA
from tap_cloudcommands.client import (
    PartitionKey,
    RegionPartitionedStream,
    TimestampFields,
    partition_key,
)
from tap_cloudcommands.errors import CloudAPIError
from tap_cloudcommands.timestamps import parse_timestamp

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

    from tap_cloudcommands.aws.connector import AWSConnector
    from tap_cloudcommands.scope import Scope

# A command or invocation in any other status may still change, so it is read again.
SSM_FINAL_STATUSES = frozenset({"Success", "Cancelled", "Failed", "TimedOut"})
# Run Command keeps about 30 days of history: a command older than that cannot be read.
DEFAULT_SSM_STATUS_LOOKBACK_DAYS = 30
# Commands followed by id per region and stream; beyond it the oldest are left to the
# bookmark, which then holds at the newest of them (the listing reads them again).
MAX_PENDING_COMMANDS = 1000
PENDING_KEY = "pending_commands"


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
