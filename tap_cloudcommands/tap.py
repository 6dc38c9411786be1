"""tap-cloudcommands: the tap class, its streams and its command line."""

from __future__ import annotations

import logging
import sys
import typing as t

from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from tap_cloudcommands.aws import connector as aws_connector
from tap_cloudcommands.aws.audit import AWSSendCommandEventsStream
from tap_cloudcommands.aws.connector import AWSConnector
from tap_cloudcommands.aws.streams import SSMCommandInvocationsStream, SSMCommandsStream
from tap_cloudcommands.client import OnceLog, SyncSummary
from tap_cloudcommands.errors import CloudCommandsError
from tap_cloudcommands.inputs import InputError, catalog_errors, json_file_errors, state_errors
from tap_cloudcommands.scope import AWS, TENCENT, Scope
from tap_cloudcommands.settings import CONFIG_SCHEMA, settings_errors
from tap_cloudcommands.tencent import connector as tencent_connector
from tap_cloudcommands.tencent.audit import TATAuditEventsStream
from tap_cloudcommands.tencent.connector import TencentConnector
from tap_cloudcommands.tencent.streams import (
    TATCommandsStream,
    TATInvocationsStream,
    TATInvocationTasksStream,
)
from tap_cloudcommands.writer import BatchingMsgSpecWriter

if t.TYPE_CHECKING:
    from singer_sdk.streams import Stream

    from tap_cloudcommands.client import RegionPartitionedStream

# Streams sync in this order (see TapCloudCommands.streams).
SYNC_ORDER = (
    SSMCommandsStream.name,
    SSMCommandInvocationsStream.name,
    TATCommandsStream.name,
    TATInvocationsStream.name,
    TATInvocationTasksStream.name,
    # Audit trails last: who ran the commands above.
    AWSSendCommandEventsStream.name,
    TATAuditEventsStream.name,
)
# The SDKs log request headers at DEBUG, and those carry the access key id.
QUIET_LOGGERS = ("botocore", "boto3", "urllib3", "tencentcloud_sdk_common", "s3transfer")


class TapCloudCommands(Tap):
    """Singer tap for AWS SSM Run Command and Tencent Cloud TAT commands and runs."""

    name = "tap-cloudcommands"
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = BatchingMsgSpecWriter

    def __init__(self, *args: t.Any, validate_config: bool = True, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Create the tap and check the settings the JSON schema cannot.

        Args:
            args: Passed to the SDK's Tap.
            validate_config: Whether settings are checked (not for discovery).
            kwargs: Passed to the SDK's Tap.

        Raises:
            ConfigValidationError: With one line per problem.
        """
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger(name).level))
        # A failed role refresh is logged there with a traceback; the tap reports the same
        # failure in one line (or skips the account with one line).
        logging.getLogger("botocore.credentials").setLevel(logging.ERROR)
        super().__init__(*args, validate_config=validate_config, **kwargs)
        if not validate_config:
            return
        known_settings = set(self.config_jsonschema["properties"])
        if errors := settings_errors(self.config, known=known_settings):
            raise ConfigValidationError("Config validation failed", errors=errors)
        replication_keys = {s.name: str(s.replication_key) for s in self.streams.values()}
        errors = state_errors(self.state, replication_keys)
        if self.input_catalog is not None:
            errors += catalog_errors(list(self.input_catalog), list(replication_keys))
        if errors:
            raise InputError("; ".join(errors))

    @property
    @override
    def streams(self) -> dict[str, Stream]:
        """The streams in sync order: each cloud's commands before their runs.

        The SDK sorts streams by name, which would sync ``ssm_command_invocations`` before
        ``ssm_commands`` (its ``load_streams`` is final, so the order is set here). The
        invocations stream follows the commands ``ssm_commands`` saw running in the same
        sync: an invocation SSM adds to a running command may carry the command's time,
        behind the bookmark, and only that following reads it.

        Returns:
            Stream name -> stream, in :data:`SYNC_ORDER` (others after, by name).
        """
        streams = super().streams
        rank = {name: index for index, name in enumerate(SYNC_ORDER)}
        ordered = sorted(streams, key=lambda name: (rank.get(name, len(rank)), name))
        return {name: streams[name] for name in ordered}

    @override
    def discover_streams(self) -> list[Stream]:
        config, logger = self.config, self.logger
        aws_base = AWSConnector(config, logger)
        aws_scope = Scope(
            AWS, aws_base, lambda: aws_connector.account_entries(aws_base, config), config, logger
        )
        tencent_base = TencentConnector(config, logger)
        tencent_scope = Scope(
            TENCENT,
            tencent_base,
            lambda: tencent_connector.account_entries(tencent_base, config),
            config,
            logger,
        )
        streams: list[RegionPartitionedStream] = [
            SSMCommandsStream(self, aws_scope),
            SSMCommandInvocationsStream(self, aws_scope),
            TATCommandsStream(self, tencent_scope),
            TATInvocationsStream(self, tencent_scope),
            TATInvocationTasksStream(self, tencent_scope),
            AWSSendCommandEventsStream(self, aws_scope),
            TATAuditEventsStream(self, tencent_scope),
        ]
        # What every stream would say, said once per sync (the SDK's sync_all is final).
        once = OnceLog(self.logger)
        summary = SyncSummary(self.logger)
        for stream in streams:
            stream.once = once
            stream.summary = summary
        return list(streams)


def main() -> None:
    """Run the CLI; an error meant for the user ends it with one line and exit code 1."""
    try:
        if errors := json_file_errors(sys.argv[1:]):
            raise InputError("; ".join(errors))
        TapCloudCommands.cli()
    except CloudCommandsError as exc:
        sys.stderr.write(f"tap-cloudcommands: error: {exc}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
