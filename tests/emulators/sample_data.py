"""Deterministic, realistic sample data for the emulators.

Everything comes from a seeded ``random.Random`` and the caller's ``now``, so the
same arguments always create the same commands (ids included).
"""

from __future__ import annotations

import base64
import json
import random
import string
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .seeded import SeededRandom

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .ssm import SSMEmulator
    from .tat import TATEmulator

DEFAULT_SEED = 20260101
SSM_HISTORY = timedelta(days=25)
TAT_HISTORY = timedelta(days=240)

# Mostly successes, some failures, a few still running: what a busy account shows.
_SSM_STATUS_WEIGHTS = {
    "Success": 70,
    "Failed": 9,
    "TimedOut": 5,
    "Cancelled": 6,
    "InProgress": 6,
    "Pending": 3,
    "Cancelling": 1,
}
_SSM_DOCUMENTS = {
    "AWS-RunShellScript": 35,
    "AWS-RunPowerShellScript": 15,
    "AWS-ApplyPatchBaseline": 10,
    "AWS-RunPatchBaseline": 10,
    "AWS-ConfigureAWSPackage": 5,
    "Custom-DeployApplication": 15,
    "Custom-RotateLogs": 10,
}
_SHELL_SNIPPETS = (
    "uptime",
    "df -h",
    "systemctl restart nginx",
    "yum -y update --security",
    "journalctl -u app --since '1 hour ago' | tail -n 50",
    "cat /etc/os-release",
)
_POWERSHELL_SNIPPETS = (
    "Get-Service",
    "Get-HotFix | Select-Object -First 5",
    "Restart-Service W3SVC",
)
_COMMENTS = (
    "",
    "",
    "nightly patch scan",
    "deploy release 2026.11",
    "ad-hoc diagnostics",
    "log rotation",
)
_TAT_TYPES = {"SHELL": 70, "POWERSHELL": 20, "BAT": 10}
_TAT_SCRIPTS = {
    "SHELL": (
        "uptime",
        "df -h",
        "ps aux --sort=-%mem | head",
        "cat /proc/loadavg",
        "systemctl status sshd",
    ),
    "POWERSHELL": ("Get-Process", "Get-EventLog -LogName System -Newest 20", "Get-Disk"),
    "BAT": ("ipconfig /all", "dir C:\\", "systeminfo"),
}
_TAG_VALUES = {
    "env": ("prod", "staging", "dev"),
    "team": ("ops", "data", "web"),
    "app": ("billing", "search"),
}


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _instance_id(rng: random.Random) -> str:
    return "i-" + "".join(rng.choice("0123456789abcdef") for _ in range(17))


def _ssm_parameters(rng: random.Random, document: str) -> dict[str, list[str]]:
    if document == "AWS-RunShellScript":
        return {
            "commands": rng.sample(_SHELL_SNIPPETS, rng.randint(1, 3)),
            "executionTimeout": ["3600"],
        }
    if document == "AWS-RunPowerShellScript":
        return {
            "commands": rng.sample(_POWERSHELL_SNIPPETS, rng.randint(1, 2)),
            "workingDirectory": [""],
        }
    if document in ("AWS-ApplyPatchBaseline", "AWS-RunPatchBaseline"):
        return {"Operation": [rng.choice(["Scan", "Install"])], "RebootOption": ["RebootIfNeeded"]}
    if document == "AWS-ConfigureAWSPackage":
        return {"action": ["Install"], "name": ["AmazonCloudWatchAgent"], "version": [""]}
    if document == "Custom-DeployApplication":
        return {
            "version": [f"2026.{rng.randint(1, 11)}.{rng.randint(0, 9)}"],
            "environment": ["prod"],
        }
    return {"retentionDays": [str(rng.choice([7, 14, 30]))]}


def _ssm_counts(rng: random.Random, status: str, targets: int) -> dict[str, int]:
    completed, errors, timed_out = targets, 0, 0
    if status == "Failed":
        errors = rng.randint(1, targets)
    elif status == "TimedOut":
        errors = timed_out = rng.randint(1, targets)
    elif status in ("Cancelled", "Cancelling", "InProgress"):
        completed = rng.randint(0, max(0, targets - 1))
    elif status == "Pending":
        completed = 0
    return {
        "TargetCount": targets,
        "CompletedCount": completed,
        "ErrorCount": errors,
        "DeliveryTimedOutCount": timed_out,
    }


def _ssm_command(
    rng: random.Random, region: str, now: datetime, instances: list[str]
) -> dict[str, Any]:
    status = _weighted(rng, _SSM_STATUS_WEIGHTS)
    document = _weighted(rng, _SSM_DOCUMENTS)
    # Running commands are recent; finished ones spread over the retained history.
    age = (
        rng.uniform(0, 7200)
        if status in ("Pending", "InProgress", "Cancelling")
        else rng.uniform(0, 1) * SSM_HISTORY.total_seconds()
    )
    requested = now - timedelta(seconds=age)
    timeout = rng.choice([600, 3600, 7200])
    by_tag = rng.random() < 0.3
    instance_ids = [] if by_tag else rng.sample(instances, rng.randint(1, 5))
    targets = (
        [{"Key": "tag:Environment", "Values": [rng.choice(["prod", "staging"])]}]
        if by_tag
        else [{"Key": "InstanceIds", "Values": list(instance_ids)}]
    )
    target_count = rng.randint(1, 20) if by_tag else len(instance_ids)
    notify = rng.random() < 0.1
    to_s3 = rng.random() < 0.3
    to_cloudwatch = rng.random() < 0.3
    alarm = rng.random() < 0.15
    return {
        "CommandId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "DocumentName": document,
        "DocumentVersion": rng.choice(["$DEFAULT", "$DEFAULT", "$LATEST", "1", "3"]),
        "Comment": rng.choice(_COMMENTS),
        "ExpiresAfter": requested + timedelta(seconds=timeout),
        "Parameters": _ssm_parameters(rng, document),
        "InstanceIds": instance_ids,
        "Targets": targets,
        "RequestedDateTime": requested,
        "Status": status,
        "StatusDetails": status,
        "OutputS3Region": region,
        "OutputS3BucketName": f"ssm-output-{region}" if to_s3 else "",
        "OutputS3KeyPrefix": f"runs/{document.lower()}" if to_s3 else "",
        "MaxConcurrency": rng.choice(["50", "10", "25%", "100%"]),
        "MaxErrors": rng.choice(["0", "1", "10%"]),
        **_ssm_counts(rng, status, target_count),
        "ServiceRole": "arn:aws:iam::123456789012:role/ssm-notifications" if notify else "",
        "NotificationConfig": {
            "NotificationArn": f"arn:aws:sns:{region}:123456789012:ssm-events" if notify else "",
            "NotificationEvents": ["Failed", "TimedOut"] if notify else [],
            "NotificationType": "Command" if notify else "",
        },
        "CloudWatchOutputConfig": {
            "CloudWatchLogGroupName": f"/aws/ssm/{document}" if to_cloudwatch else "",
            "CloudWatchOutputEnabled": to_cloudwatch,
        },
        "TimeoutSeconds": timeout,
        "AlarmConfiguration": (
            {"IgnorePollAlarmFailure": rng.random() < 0.5, "Alarms": [{"Name": "high-cpu"}]}
            if alarm
            else None
        ),
        "TriggeredAlarms": [{"Name": "high-cpu", "State": "ALARM"}]
        if alarm and status == "Cancelled"
        else None,
    }


def populate_ssm(
    emulator: SSMEmulator,
    regions: Iterable[str],
    per_region: int,
    *,
    now: datetime,
    seed: int = DEFAULT_SEED,
) -> dict[str, list[dict[str, Any]]]:
    """Fill an SSM emulator with realistic commands.

    Args:
        emulator: The emulator to fill.
        regions: Regions to fill.
        per_region: Commands per region.
        now: Reference time (aware); RequestedDateTime spreads over the 25 days before it.
        seed: Seed of the generator.

    Returns:
        The stored commands (copies) by region.
    """
    rng = SeededRandom(seed)
    created: dict[str, list[dict[str, Any]]] = {}
    for region in regions:
        instances = [_instance_id(rng) for _ in range(30)]
        created[region] = [
            emulator.add_command(region, **_ssm_command(rng, region, now, instances))
            for _ in range(per_region)
        ]
    return created


def _tat_command_id(rng: random.Random) -> str:
    return "cmd-" + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(8))


def _tat_command(rng: random.Random, region: str, now: datetime, index: int) -> dict[str, Any]:
    command_type = _weighted(rng, _TAT_TYPES)
    script = rng.choice(_TAT_SCRIPTS[command_type])
    created = now - timedelta(seconds=rng.uniform(0, TAT_HISTORY.total_seconds()))
    # Half were never edited; the others were edited some time between creation and now.
    updated = created if rng.random() < 0.5 else created + (now - created) * rng.random()
    public = rng.random() < 0.15
    with_parameters = rng.random() < 0.4
    parameters = {
        "target": rng.choice(["nginx", "sshd", "app"]),
        "lines": str(rng.choice([20, 50])),
    }
    windows = command_type != "SHELL"
    tag_keys = rng.sample(list(_TAG_VALUES), rng.randint(0, 3))
    with_cos = rng.random() < 0.2
    return {
        "CommandId": _tat_command_id(rng),
        "CommandName": f"{'TAT_' if public else ''}{script.split()[0].lower()}-{index:04d}",
        "Description": f"runs `{script}`" if rng.random() < 0.7 else "",
        "Content": base64.b64encode(script.encode()).decode(),
        "CommandType": command_type,
        "WorkingDirectory": "C:\\Program Files\\qcloud\\tat_agent\\workdir" if windows else "/root",
        "Timeout": rng.choice([60, 300, 3600]),
        "CreatedTime": created,
        "UpdatedTime": updated,
        "EnableParameter": with_parameters,
        "DefaultParameters": json.dumps(parameters) if with_parameters else "{}",
        "DefaultParameterConfs": (
            [
                {
                    "ParameterName": name,
                    "ParameterValue": value,
                    "ParameterDescription": f"the {name}",
                }
                for name, value in parameters.items()
            ]
            if with_parameters
            else []
        ),
        "Scenes": [_tat_command_id(rng).replace("cmd-", "scene-")] if rng.random() < 0.1 else [],
        "FormattedDescription": "",
        "CreatedBy": "TAT" if public else "USER",
        "Tags": [{"Key": key, "Value": rng.choice(_TAG_VALUES[key])} for key in tag_keys],
        "Username": "System" if windows else "root",
        "OutputCOSBucketUrl": f"https://tat-logs-1250000000.cos.{region}.myqcloud.com"
        if with_cos
        else "",
        "OutputCOSKeyPrefix": "logs" if with_cos else "",
    }


def populate_tat(
    emulator: TATEmulator,
    regions: Iterable[str],
    per_region: int,
    *,
    now: datetime,
    seed: int = DEFAULT_SEED,
) -> dict[str, list[dict[str, Any]]]:
    """Fill a TAT emulator with realistic commands.

    Args:
        emulator: The emulator to fill.
        regions: Regions to fill.
        per_region: Commands per region.
        now: Reference time (aware); CreatedTime spreads over the 240 days before it,
            UpdatedTime lies between CreatedTime and now.
        seed: Seed of the generator.

    Returns:
        The stored commands (copies) by region.
    """
    rng = SeededRandom(seed)
    created: dict[str, list[dict[str, Any]]] = {}
    for region in regions:
        created[region] = [
            emulator.add_command(region, **_tat_command(rng, region, now, i))
            for i in range(per_region)
        ]
    return created
