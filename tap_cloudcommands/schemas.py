"""Record schemas under the APIs' own field names, plus ``AccountId`` and ``Region``.

They cover every member of botocore's ``ssm`` ``Command`` and ``CommandInvocation``
shapes and every attribute of the ``tencentcloud.tat.v20201028.models`` ``Command``,
``Invocation`` and ``InvocationTask`` models.

tests/test_schema_coverage.py fails when an installed SDK model has a member missing here.
"""

from __future__ import annotations

from singer_sdk import typing as th

ACCOUNT_ID = th.Property(
    "AccountId",
    th.StringType,
    required=True,
    description="Account the record was read from (AWS account id, Tencent Cloud main "
    "account UIN), from STS GetCallerIdentity.",
)
REGION = th.Property(
    "Region", th.StringType, required=True, description="Region the record was read from."
)

_SSM_NOTIFICATION_CONFIG = th.ObjectType(
    th.Property("NotificationArn", th.StringType),
    th.Property("NotificationEvents", th.ArrayType(th.StringType)),
    th.Property("NotificationType", th.StringType),
)
_SSM_CLOUDWATCH_OUTPUT_CONFIG = th.ObjectType(
    th.Property("CloudWatchLogGroupName", th.StringType),
    th.Property("CloudWatchOutputEnabled", th.BooleanType),
)
_TAT_TAGS = th.ArrayType(
    th.ObjectType(
        th.Property("Key", th.StringType),
        th.Property("Value", th.StringType),
    )
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

TAT_COMMAND_SCHEMA = th.PropertiesList(
    ACCOUNT_ID,
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
    th.Property("Tags", _TAT_TAGS),
    th.Property("Username", th.StringType),
    th.Property("OutputCOSBucketUrl", th.StringType),
    th.Property("OutputCOSKeyPrefix", th.StringType),
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

TAT_INVOCATION_SCHEMA = th.PropertiesList(
    ACCOUNT_ID,
    REGION,
    th.Property("InvocationId", th.StringType, required=True, description="e.g. inv-0d9hdy0x."),
    th.Property("CommandId", th.StringType, description="The command run."),
    th.Property("CommandName", th.StringType),
    th.Property(
        "InvocationStatus",
        th.StringType,
        description="PENDING, RUNNING, CANCELLING, SUCCESS, TIMEOUT, FAILED, CANCELLED, "
        "PARTIAL_FAILED or PARTIAL_CANCELLED.",
    ),
    th.Property(
        "InvocationTaskBasicInfoSet",
        th.ArrayType(
            th.ObjectType(
                th.Property("InvocationTaskId", th.StringType),
                th.Property("TaskStatus", th.StringType),
                th.Property("InstanceId", th.StringType),
            )
        ),
        description="One entry per instance the invocation ran on.",
    ),
    th.Property("Description", th.StringType),
    th.Property("StartTime", th.DateTimeType, description="UTC."),
    th.Property("EndTime", th.DateTimeType, description="UTC; null while running."),
    th.Property("CreatedTime", th.DateTimeType, description="UTC."),
    th.Property("UpdatedTime", th.DateTimeType, description="UTC; the replication key."),
    th.Property(
        "Parameters",
        th.StringType,
        description="JSON text of the parameter values used. May hold secrets.",
    ),
    th.Property("DefaultParameters", th.StringType, description="JSON text."),
    th.Property("InstanceKind", th.StringType, description="CVM or LIGHTHOUSE."),
    th.Property("Username", th.StringType),
    th.Property("InvocationSource", th.StringType, description="USER or INVOKER (scheduled)."),
    th.Property(
        "CommandContent",
        th.StringType,
        description="Base64 of the command text run. May hold secrets.",
    ),
    th.Property("CommandType", th.StringType, description="SHELL, POWERSHELL or BAT."),
    th.Property("Timeout", th.IntegerType, description="Seconds."),
    th.Property("WorkingDirectory", th.StringType),
    th.Property("OutputCOSBucketUrl", th.StringType),
    th.Property("OutputCOSKeyPrefix", th.StringType),
).to_dict()

TAT_INVOCATION_TASK_SCHEMA = th.PropertiesList(
    ACCOUNT_ID,
    REGION,
    th.Property(
        "InvocationTaskId", th.StringType, required=True, description="e.g. invt-0d9hdy0x."
    ),
    th.Property("InvocationId", th.StringType),
    th.Property("CommandId", th.StringType),
    th.Property("CommandName", th.StringType),
    th.Property(
        "TaskStatus",
        th.StringType,
        description="PENDING, DELIVERING, DELIVER_DELAYED, DELIVER_FAILED, START_FAILED, "
        "RUNNING, SUCCESS, FAILED, TIMEOUT, TASK_TIMEOUT, CANCELLING, CANCELLED or TERMINATED.",
    ),
    th.Property("InstanceId", th.StringType),
    th.Property(
        "TaskResult",
        th.ObjectType(
            th.Property("ExitCode", th.IntegerType),
            th.Property(
                "Output",
                th.StringType,
                description="Null unless tat_task_output is on; then the output as text "
                "when it is UTF-8, else the API's base64 (see OutputEncoding), cut to "
                "tat_task_output_max_chars. May hold secrets.",
            ),
            th.Property("ExecStartTime", th.DateTimeType, description="UTC."),
            th.Property("ExecEndTime", th.DateTimeType, description="UTC."),
            th.Property(
                "Dropped", th.IntegerType, description="Output bytes the API cut (24 KB cap)."
            ),
            th.Property("OutputUrl", th.StringType),
            th.Property("OutputUploadCOSErrorInfo", th.StringType),
            th.Property(
                "OutputEncoding",
                th.StringType,
                description="Added by the tap: text (decoded UTF-8) or base64 (as the API "
                "gave it, not valid UTF-8); null without output.",
            ),
            th.Property(
                "OutputCapped",
                th.BooleanType,
                description="Added by the tap: Output was cut to tat_task_output_max_chars.",
            ),
        ),
    ),
    th.Property("StartTime", th.DateTimeType, description="UTC."),
    th.Property("EndTime", th.DateTimeType, description="UTC; null while running."),
    th.Property("CreatedTime", th.DateTimeType, description="UTC."),
    th.Property("UpdatedTime", th.DateTimeType, description="UTC; the replication key."),
    th.Property(
        "CommandDocument",
        th.ObjectType(
            th.Property(
                "Content",
                th.StringType,
                description="Base64 of the command text. May hold secrets.",
            ),
            th.Property("CommandType", th.StringType),
            th.Property("Timeout", th.IntegerType),
            th.Property("WorkingDirectory", th.StringType),
            th.Property("Username", th.StringType),
            th.Property("OutputCOSBucketUrl", th.StringType),
            th.Property("OutputCOSKeyPrefix", th.StringType),
        ),
    ),
    th.Property("ErrorInfo", th.StringType),
    th.Property("InvocationSource", th.StringType, description="USER or INVOKER (scheduled)."),
).to_dict()
