"""The SSM streams' record schemas under the API's own field names, plus the partition.

They cover every member of botocore's ``ssm`` ``Command`` and ``CommandInvocation``
shapes; tests/test_schema_coverage.py fails when an installed SDK model has a member
missing here.
"""

from __future__ import annotations

from singer_sdk import typing as th

from tap_cloudcommands.schemas import ACCOUNT_ID, REGION

_SSM_NOTIFICATION_CONFIG = th.ObjectType(
    th.Property("NotificationArn", th.StringType),
    th.Property("NotificationEvents", th.ArrayType(th.StringType)),
    th.Property("NotificationType", th.StringType),
)
_SSM_CLOUDWATCH_OUTPUT_CONFIG = th.ObjectType(
    th.Property("CloudWatchLogGroupName", th.StringType),
    th.Property("CloudWatchOutputEnabled", th.BooleanType),
)

_SSM_TARGET = th.ObjectType(
    th.Property("Key", th.StringType),
    th.Property("Values", th.ArrayType(th.StringType)),
)

SSM_COMMAND_SCHEMA = th.PropertiesList(
    ACCOUNT_ID,
    REGION,
    th.Property("CommandId", th.StringType, required=True, description="UUID of the command."),
    th.Property("DocumentName", th.StringType),
    th.Property("DocumentVersion", th.StringType),
    th.Property("Comment", th.StringType),
    th.Property(
        "ExpiresAfter",
        th.DateTimeType,
        description="When the command stops being delivered (UTC).",
    ),
    th.Property(
        "Parameters",
        th.ObjectType(additional_properties=th.ArrayType(th.StringType)),
        description="Document parameters: name to list of values. May hold secrets.",
    ),
    th.Property("InstanceIds", th.ArrayType(th.StringType)),
    th.Property("Targets", th.ArrayType(_SSM_TARGET)),
    th.Property(
        "RequestedDateTime",
        th.DateTimeType,
        description="When the command was requested (UTC); the replication key.",
    ),
    th.Property(
        "Status",
        th.StringType,
        description="Pending, InProgress, Success, Cancelled, Failed, TimedOut or Cancelling.",
    ),
    th.Property("StatusDetails", th.StringType),
    th.Property("OutputS3Region", th.StringType),
    th.Property("OutputS3BucketName", th.StringType),
    th.Property("OutputS3KeyPrefix", th.StringType),
    th.Property("MaxConcurrency", th.StringType),
    th.Property("MaxErrors", th.StringType),
    th.Property("TargetCount", th.IntegerType),
    th.Property("CompletedCount", th.IntegerType),
    th.Property("ErrorCount", th.IntegerType),
    th.Property("DeliveryTimedOutCount", th.IntegerType),
    th.Property("ServiceRole", th.StringType),
    th.Property("NotificationConfig", _SSM_NOTIFICATION_CONFIG),
    th.Property("CloudWatchOutputConfig", _SSM_CLOUDWATCH_OUTPUT_CONFIG),
    th.Property("TimeoutSeconds", th.IntegerType),
    th.Property(
        "AlarmConfiguration",
        th.ObjectType(
            th.Property("IgnorePollAlarmFailure", th.BooleanType),
            th.Property("Alarms", th.ArrayType(th.ObjectType(th.Property("Name", th.StringType)))),
        ),
    ),
    th.Property(
        "TriggeredAlarms",
        th.ArrayType(
            th.ObjectType(
                th.Property("Name", th.StringType),
                th.Property("State", th.StringType),
            )
        ),
    ),
).to_dict()

_SSM_COMMAND_PLUGIN = th.ObjectType(
    th.Property("Name", th.StringType, description="Plugin (step) name, e.g. aws:runShellScript."),
    th.Property(
        "Status",
        th.StringType,
        description="Pending, InProgress, Success, TimedOut, Cancelled or Failed.",
    ),
    th.Property("StatusDetails", th.StringType),
    th.Property("ResponseCode", th.IntegerType, description="The plugin's exit code."),
    th.Property("ResponseStartDateTime", th.DateTimeType, description="UTC."),
    th.Property("ResponseFinishDateTime", th.DateTimeType, description="UTC."),
    th.Property(
        "Output",
        th.StringType,
        description="First 2,500 characters of the output (AWS truncates). May hold secrets.",
    ),
    th.Property("StandardOutputUrl", th.StringType),
    th.Property("StandardErrorUrl", th.StringType),
    th.Property("OutputS3Region", th.StringType),
    th.Property("OutputS3BucketName", th.StringType),
    th.Property("OutputS3KeyPrefix", th.StringType),
)

SSM_COMMAND_INVOCATION_SCHEMA = th.PropertiesList(
    ACCOUNT_ID,
    REGION,
    th.Property("CommandId", th.StringType, required=True, description="UUID of the command."),
    th.Property("InstanceId", th.StringType, required=True, description="Managed node id."),
    th.Property("InstanceName", th.StringType),
    th.Property("Comment", th.StringType),
    th.Property("DocumentName", th.StringType),
    th.Property("DocumentVersion", th.StringType),
    th.Property(
        "RequestedDateTime",
        th.DateTimeType,
        description="When the command was requested (UTC); the replication key.",
    ),
    th.Property(
        "Status",
        th.StringType,
        description="Pending, InProgress, Delayed, Success, Cancelled, TimedOut, Failed or "
        "Cancelling.",
    ),
    th.Property("StatusDetails", th.StringType),
    th.Property("TraceOutput", th.StringType),
    th.Property("StandardOutputUrl", th.StringType),
    th.Property("StandardErrorUrl", th.StringType),
    th.Property(
        "CommandPlugins",
        th.ArrayType(_SSM_COMMAND_PLUGIN),
        description="Per-plugin results; empty unless ssm_invocation_details is on.",
    ),
    th.Property("ServiceRole", th.StringType),
    th.Property("NotificationConfig", _SSM_NOTIFICATION_CONFIG),
    th.Property("CloudWatchOutputConfig", _SSM_CLOUDWATCH_OUTPUT_CONFIG),
).to_dict()
