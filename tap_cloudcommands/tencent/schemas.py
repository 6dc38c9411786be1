"""The TAT streams' record schemas under the API's own field names, plus the partition.

They cover every attribute of the ``tencentcloud.tat.v20201028.models`` ``Command``,
``Invocation`` and ``InvocationTask`` models; tests/test_schema_coverage.py fails when an
installed SDK model has a member missing here.
"""

from __future__ import annotations

from singer_sdk import typing as th

from tap_cloudcommands.schemas import ACCOUNT_ID, REGION

_TAT_TAGS = th.ArrayType(
    th.ObjectType(
        th.Property("Key", th.StringType),
        th.Property("Value", th.StringType),
    )
)

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
