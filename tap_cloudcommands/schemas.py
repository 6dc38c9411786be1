"""Record schemas under the APIs' own field names, plus ``Region``.

They cover every member of botocore's ``ssm`` ``Command`` shape and every attribute of
``tencentcloud.tat.v20201028.models.Command``.

tests/test_schema_coverage.py fails when an installed SDK model has a member missing here.
"""

from __future__ import annotations

from singer_sdk import typing as th

REGION = th.Property(
    "Region", th.StringType, required=True, description="Region the record was read from."
)

_SSM_TARGET = th.ObjectType(
    th.Property("Key", th.StringType),
    th.Property("Values", th.ArrayType(th.StringType)),
)

SSM_COMMAND_SCHEMA = th.PropertiesList(
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
    th.Property(
        "NotificationConfig",
        th.ObjectType(
            th.Property("NotificationArn", th.StringType),
            th.Property("NotificationEvents", th.ArrayType(th.StringType)),
            th.Property("NotificationType", th.StringType),
        ),
    ),
    th.Property(
        "CloudWatchOutputConfig",
        th.ObjectType(
            th.Property("CloudWatchLogGroupName", th.StringType),
            th.Property("CloudWatchOutputEnabled", th.BooleanType),
        ),
    ),
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

TAT_COMMAND_SCHEMA = th.PropertiesList(
    REGION,
    th.Property("CommandId", th.StringType, required=True, description="e.g. cmd-dvstpcyy."),
    th.Property("CommandName", th.StringType),
    th.Property("Description", th.StringType),
    th.Property(
        "Content", th.StringType, description="Base64 of the command text. May hold secrets."
    ),
    th.Property("CommandType", th.StringType, description="SHELL, POWERSHELL or BAT."),
    th.Property("WorkingDirectory", th.StringType),
    th.Property("Timeout", th.IntegerType, description="Seconds."),
    th.Property("CreatedTime", th.DateTimeType, description="UTC."),
    th.Property(
        "UpdatedTime",
        th.DateTimeType,
        description="UTC; the replication key.",
    ),
    th.Property("EnableParameter", th.BooleanType),
    th.Property(
        "DefaultParameters",
        th.StringType,
        description="JSON text of default parameter values, as the API gives it.",
    ),
    th.Property(
        "DefaultParameterConfs",
        th.ArrayType(
            th.ObjectType(
                th.Property("ParameterName", th.StringType),
                th.Property("ParameterValue", th.StringType),
                th.Property("ParameterDescription", th.StringType),
            )
        ),
    ),
    th.Property("Scenes", th.ArrayType(th.StringType)),
    th.Property("FormattedDescription", th.StringType),
    th.Property("CreatedBy", th.StringType, description="TAT (public command) or USER."),
    th.Property(
        "Tags",
        th.ArrayType(
            th.ObjectType(
                th.Property("Key", th.StringType),
                th.Property("Value", th.StringType),
            )
        ),
    ),
    th.Property("Username", th.StringType),
    th.Property("OutputCOSBucketUrl", th.StringType),
    th.Property("OutputCOSKeyPrefix", th.StringType),
).to_dict()
