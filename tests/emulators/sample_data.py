"""Deterministic, realistic sample data for the emulators.

Everything comes from a seeded ``random.Random`` and the caller's ``now``, so the
same arguments always create the same commands (ids included).

Filling is built for size (200,000 commands in a region take seconds): commands are
generated and stored in batches through ``add_commands``, which checks field names
once per batch and takes the freshly generated values over without copying them.
The generators draw exactly the same random numbers as the straightforward
``rng.choices``/``rng.choice`` calls they replace, so a seed still means the same data.
"""

from __future__ import annotations

import base64
import json
import random
import string
from bisect import bisect
from datetime import datetime, timedelta
from itertools import accumulate, islice
from typing import TYPE_CHECKING, Any

from .seeded import SeededRandom
from .store import gc_paused

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from .ssm import SSMEmulator
    from .tat import TATEmulator

DEFAULT_SEED = 20260101
SSM_HISTORY = timedelta(days=25)
TAT_HISTORY = timedelta(days=240)
# Commands generated and stored per add_commands call: bounds the time the data lock
# is held, so a server that is already answering stays responsive during a fill.
BATCH_SIZE = 2000

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


class _Weighted:
    """``rng.choices(list(weights), weights=list(weights.values()))[0]``, precomputed.

    ``choices`` accumulates the weights on every call; this does it once and then
    draws exactly as ``choices`` does (one ``rng.random()``, one bisect).
    """

    def __init__(self, weights: dict[str, int]) -> None:
        self.population = tuple(weights)
        self.cumulative = list(accumulate(weights.values()))
        self.total = self.cumulative[-1] + 0.0
        self.high = len(self.population) - 1

    def pick(self, rng: random.Random) -> str:
        return self.population[bisect(self.cumulative, rng.random() * self.total, 0, self.high)]


_SSM_STATUS_PICK = _Weighted(_SSM_STATUS_WEIGHTS)
_SSM_DOCUMENT_PICK = _Weighted(_SSM_DOCUMENTS)
_TAT_TYPE_PICK = _Weighted(_TAT_TYPES)
_TAT_ID_ALPHABET = string.ascii_lowercase + string.digits
_TAG_KEYS = list(_TAG_VALUES)
# What Random.choice draws with unless a subclass replaces random() without getrandbits().
_RANDBELOW_WITH_GETRANDBITS = getattr(random.Random, "_randbelow_with_getrandbits", None)


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
    status = _SSM_STATUS_PICK.pick(rng)
    document = _SSM_DOCUMENT_PICK.pick(rng)
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
        "CommandId": _uuid4(rng.getrandbits(128)),
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


def _uuid4(bits: int) -> str:
    """``str(uuid.UUID(int=bits, version=4))`` without building a UUID object."""
    bits &= ~(0xC000 << 48)
    bits |= 0x8000 << 48
    bits &= ~(0xF000 << 64)
    bits |= 4 << 76
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _batches(commands: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    while batch := list(islice(commands, BATCH_SIZE)):
        yield batch


def populate_ssm(
    emulator: SSMEmulator,
    regions: Iterable[str],
    per_region: int,
    *,
    now: datetime,
    seed: int = DEFAULT_SEED,
    copies: bool = True,
    prerender: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """Fill an SSM emulator with realistic commands.

    Args:
        emulator: The emulator to fill.
        regions: Regions to fill.
        per_region: Commands per region.
        now: Reference time (aware); RequestedDateTime spreads over the 25 days before it.
        seed: Seed of the generator.
        copies: Return copies of the stored commands; False returns empty lists, which
            saves time and memory on huge fills.
        prerender: Also serialise every command now (``emulator.warm``): ~25 us a
            command at fill time, then ~1 ms per 100-command page instead of ~3 ms on
            a page's first read. The result order is built either way.

    Returns:
        The stored commands (copies) by region.
    """
    rng = SeededRandom(seed)
    created: dict[str, list[dict[str, Any]]] = {}
    with gc_paused():
        for region in regions:
            instances = [_instance_id(rng) for _ in range(30)]
            created[region] = []
            commands = (_ssm_command(rng, region, now, instances) for _ in range(per_region))
            for batch in _batches(commands):
                created[region] += emulator.add_commands(
                    region, batch, copies=copies, take_ownership=True
                )
        emulator.warm(created, render=prerender)
    return created


def _tat_command_id(rng: random.Random) -> str:
    # rng.choice(_TAT_ID_ALPHABET) eight times, inlined: choice draws
    # _randbelow(36), i.e. 6-bit getrandbits until one is below 36.
    if getattr(type(rng), "_randbelow", None) is not _RANDBELOW_WITH_GETRANDBITS:
        return "cmd-" + "".join(rng.choice(_TAT_ID_ALPHABET) for _ in range(8))
    getrandbits = rng.getrandbits
    chars = []
    for _ in range(8):
        drawn = getrandbits(6)
        while drawn >= 36:  # len(_TAT_ID_ALPHABET)
            drawn = getrandbits(6)
        chars.append(_TAT_ID_ALPHABET[drawn])
    return "cmd-" + "".join(chars)


def _tat_command(rng: random.Random, region: str, now: datetime, index: int) -> dict[str, Any]:
    command_type = _TAT_TYPE_PICK.pick(rng)
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
    tag_keys = rng.sample(_TAG_KEYS, rng.randint(0, 3))
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
    copies: bool = True,
    prerender: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """Fill a TAT emulator with realistic commands.

    Args:
        emulator: The emulator to fill.
        regions: Regions to fill.
        per_region: Commands per region.
        now: Reference time (aware); CreatedTime spreads over the 240 days before it,
            UpdatedTime lies between CreatedTime and now.
        seed: Seed of the generator.
        copies: Return copies of the stored commands; False returns empty lists, which
            saves time and memory on huge fills.
        prerender: Also serialise every command now (``emulator.warm``): ~25 us a
            command at fill time, then ~1 ms per 100-command page instead of ~3 ms on
            a page's first read. The result order is built either way.

    Returns:
        The stored commands (copies) by region.
    """
    rng = SeededRandom(seed)
    created: dict[str, list[dict[str, Any]]] = {}
    with gc_paused():
        for region in regions:
            created[region] = []
            commands = (_tat_command(rng, region, now, i) for i in range(per_region))
            for batch in _batches(commands):
                created[region] += emulator.add_commands(
                    region, batch, copies=copies, take_ownership=True
                )
        emulator.warm(created, render=prerender)
    return created
