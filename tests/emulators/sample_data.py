"""Deterministic, realistic sample data for the emulators.

Everything comes from a seeded ``random.Random`` and the caller's ``now``, so the
same arguments always create the same commands (ids included).

Execution history (SSM command invocations; TAT invocations and their tasks) is
drawn from a second generator seeded from the same seed, after the commands, so
adding it changed none of the commands a seed gives.

Filling is built for size (200,000 commands in a region take seconds): commands are
generated and stored in batches through ``add_commands``, which checks field names and
takes the freshly generated values over without copying them.
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
from .ssm_invocations import plugin_name, plugin_status, response_code
from .store import gc_paused
from .tat_invocations import UNFINISHED_TASK_STATUSES, exit_code

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from .ssm import SSMEmulator
    from .tat import TATEmulator

DEFAULT_SEED = 20260101
# Execution history draws from its own generator, so that the commands stay pinned.
HISTORY_SEED_OFFSET = 0x5EED
# Audit events draw from their own generator: turning them on changes no other sample.
AUDIT_SEED_OFFSET = 0xA0D1
# About one run in this many has no audit event (a trail that was off, another account).
AUDIT_GAP_ONE_IN = 6
# Audit events are delivered up to this late (CloudTrail: "about 5 minutes" on average).
AUDIT_MAX_DELAY_SECONDS = 600
# Defaults of the history sizes (see populate_ssm / populate_tat).
DEFAULT_SSM_INVOCATIONS_PER_REGION: int | None = None  # every command's invocations
DEFAULT_TAT_INVOCATIONS_PER_REGION = 2000  # at most; never more than the commands
DEFAULT_TAT_MAX_TASKS = 4
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
    invocations: bool = True,
    invocations_per_region: int | None = DEFAULT_SSM_INVOCATIONS_PER_REGION,
    account: str | None = None,
    audit_events: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """Fill an SSM emulator with realistic commands and their invocations.

    Args:
        emulator: The emulator to fill.
        regions: Regions to fill.
        per_region: Commands per region.
        now: Reference time (aware); RequestedDateTime spreads over the 25 days before it.
        seed: Seed of the generator.
        copies: Return copies of the stored commands; False returns empty lists, which
            saves time and memory on huge fills.
        prerender: Also serialise every command (and invocation) now (``emulator.warm``):
            ~25 us a command at fill time, then ~1 ms per 100-command page instead of
            ~3 ms on a page's first read. The result order is built either way.
        invocations: Also store the commands' invocations: one per targeted instance
            (TargetCount of them; InstanceIds when the command lists them), with
            statuses matching the command's Status and counts (CompletedCount = Success,
            Failed or TimedOut invocations; ErrorCount = Failed or TimedOut;
            DeliveryTimedOutCount = StatusDetails DeliveryTimedOut). Read them with
            ``emulator.invocations(region)``.
        invocations_per_region: At most this many invocations per region (None = no
            cap): the newest commands get theirs first, each command all or none.
        account: The account to fill (None = the default account).
        audit_events: Also store a CloudTrail SendCommand event (``emulator.trail``) for
            about five commands in six: same CommandId and time, by an IAM user or an
            assumed role, delivered up to 10 minutes late.

    Returns:
        The stored commands (copies) by region.
    """
    rng = SeededRandom(seed)
    history = SeededRandom(seed + HISTORY_SEED_OFFSET)
    audit = SeededRandom(seed + AUDIT_SEED_OFFSET)
    created: dict[str, list[dict[str, Any]]] = {}
    with gc_paused():
        for region in regions:
            instances = [_instance_id(rng) for _ in range(30)]
            created[region] = []
            commands = (_ssm_command(rng, region, now, instances) for _ in range(per_region))
            for batch in _batches(commands):
                created[region] += emulator.add_commands(
                    region, batch, copies=copies, take_ownership=True, account=account
                )
            if invocations and invocations_per_region != 0:
                _fill_ssm_invocations(
                    emulator, region, instances, history, invocations_per_region, account
                )
            if audit_events:
                _fill_send_command_events(emulator, region, audit, account)
        emulator.warm([emulator._store_key(r, account) for r in created], render=prerender)
    return created


_AUDIT_PRINCIPALS = (
    {"user_arn": "arn:aws:iam::123456789012:user/alice", "username": "alice"},
    {"user_arn": "arn:aws:iam::123456789012:user/bob", "username": "bob"},
    {
        "user_arn": "arn:aws:sts::123456789012:assumed-role/ops-automation/deploy-bot",
        "identity_type": "AssumedRole",
        "session_issuer_arn": "arn:aws:iam::123456789012:role/ops-automation",
        "username": "ops-automation",
        "access_key_id": "ASIAEXAMPLEROLE00001",
    },
)


def _fill_send_command_events(
    emulator: SSMEmulator, region: str, rng: random.Random, account: str | None = None
) -> None:
    for command in emulator.commands(region, account=account):
        if rng.randrange(AUDIT_GAP_ONE_IN) == 0:
            continue
        principal = rng.choice(_AUDIT_PRINCIPALS)
        emulator.trail_for(account).add_send_command_event(
            region,
            command,
            delay=timedelta(seconds=rng.uniform(0, AUDIT_MAX_DELAY_SECONDS)),
            source_ip=f"198.51.100.{rng.randint(1, 254)}",
            **principal,
        )


def _fill_ssm_invocations(
    emulator: SSMEmulator,
    region: str,
    instances: list[str],
    rng: random.Random,
    limit: int | None,
    account: str | None = None,
) -> None:
    names = {
        instance: f"ip-10-0-{index // 8}-{10 + index}.{region}.compute.internal"
        if index % 4
        else ""
        for index, instance in enumerate(instances)
    }
    budget = limit

    def generate() -> Iterator[dict[str, Any]]:
        nonlocal budget
        key = emulator._store_key(region, account)
        for command in emulator._stored_newest_first(emulator._store, key):
            count = command["TargetCount"]
            if budget is not None:
                if count > budget:
                    return
                budget -= count
            yield from _ssm_invocations(rng, region, command, instances, names)

    for batch in _batches(generate()):
        emulator.add_invocations(region, batch, copies=False, take_ownership=True, account=account)


# Long outputs (longer than the 2,500 characters ListCommandInvocations returns).
_LONG_SSM_OUTPUTS = tuple(
    "".join(
        f"{step:05d} {line}\n"
        for step in range(lines)
        for line in ("Resolving dependencies", "Package nginx-1.24.0-1.x86_64 will be updated")
    )
    + "=== END OF OUTPUT ===\n"
    for lines in (40, 90)
)
_SSM_OUTPUTS = {
    "AWS-RunShellScript": " 12:01:02 up 41 days,  3:12,  0 users,  load average: 0.08\n",
    "AWS-RunPowerShellScript": "Status   Name     DisplayName\n------   ----     -----------\n"
    "Running  W3SVC    World Wide Web Publishing Service\n",
    "AWS-ApplyPatchBaseline": "Patch scan complete: 0 missing, 312 installed.\n",
    "AWS-RunPatchBaseline": "Patch operation completed. Reboot not required.\n",
    "AWS-ConfigureAWSPackage": "Successfully installed AmazonCloudWatchAgent\n",
    "Custom-DeployApplication": "Deployed release; health check passed.\n",
    "Custom-RotateLogs": "Rotated 14 log files.\n",
}


def _ssm_statuses(rng: random.Random, command: dict[str, Any]) -> list[tuple[str, str]]:
    status = command["Status"]
    targets = command["TargetCount"]
    completed, errors = command["CompletedCount"], command["ErrorCount"]
    if status == "Failed":
        return [("Failed", "Failed")] * errors + [("Success", "Success")] * (targets - errors)
    if status == "TimedOut":
        return [("TimedOut", "DeliveryTimedOut")] * errors + [("Success", "Success")] * (
            targets - errors
        )
    if status in ("Cancelled", "Cancelling", "InProgress"):
        rest = []
        for _ in range(targets - completed):
            waiting = status == "InProgress" and rng.random() < 0.2
            rest.append(("Delayed", "Delayed") if waiting else (status, status))
        return [("Success", "Success")] * completed + rest
    return [(status, status)] * targets


def _ssm_invocations(
    rng: random.Random,
    region: str,
    command: dict[str, Any],
    instances: list[str],
    names: dict[str, str],
) -> list[dict[str, Any]]:
    instance_ids = command["InstanceIds"] or rng.sample(instances, command["TargetCount"])
    command_id = command["CommandId"]
    document = command["DocumentName"]
    requested = command["RequestedDateTime"]
    bucket, prefix = command["OutputS3BucketName"], command["OutputS3KeyPrefix"]
    step = plugin_name(document)
    step_dir = step.replace(":", "")
    result = []
    for instance_id, (status, details) in zip(
        instance_ids, _ssm_statuses(rng, command), strict=True
    ):
        plugin_state = plugin_status(status)
        started = plugin_state != "Pending"
        finished = plugin_state in ("Success", "Failed", "TimedOut", "Cancelled")
        start = requested + timedelta(milliseconds=rng.randint(300, 30_000)) if started else None
        end = (
            start + timedelta(milliseconds=rng.randint(500, 180_000))
            if start and finished
            else None
        )
        if plugin_state == "Success":
            output = (
                rng.choice(_LONG_SSM_OUTPUTS) if rng.random() < 0.05 else _SSM_OUTPUTS[document]
            )
        elif plugin_state == "Failed":
            output = "----------ERROR-------\nfailed to run commands: exit status 1\n"
        else:
            output = ""
        if bucket:
            base = f"https://s3.{region}.amazonaws.com/{bucket}/{prefix}/{command_id}/{instance_id}"
            stdout = f"{base}/{step_dir}/stdout"
            stderr = f"{base}/{step_dir}/stderr"
        else:
            stdout = stderr = ""
        plugin = {
            "Name": step,
            "Status": plugin_state,
            "StatusDetails": details if plugin_state == status else plugin_state,
            "ResponseCode": response_code(plugin_state),
            "ResponseStartDateTime": start,
            "ResponseFinishDateTime": end,
            "Output": output,
            "StandardOutputUrl": stdout,
            "StandardErrorUrl": stderr,
            "OutputS3Region": region,
            "OutputS3BucketName": bucket,
            "OutputS3KeyPrefix": prefix,
        }
        result.append(
            {
                "CommandId": command_id,
                "InstanceId": instance_id,
                "InstanceName": names.get(instance_id, ""),
                "Comment": command["Comment"],
                "DocumentName": document,
                "DocumentVersion": command["DocumentVersion"],
                "RequestedDateTime": requested,
                "Status": status,
                "StatusDetails": details,
                "TraceOutput": "",
                "StandardOutputUrl": stdout,
                "StandardErrorUrl": stderr,
                "CommandPlugins": [plugin],
                "ServiceRole": command["ServiceRole"],
                "NotificationConfig": command["NotificationConfig"],
                "CloudWatchOutputConfig": command["CloudWatchOutputConfig"],
            }
        )
    return result


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
    invocations_per_region: int | None = None,
    max_tasks_per_invocation: int = DEFAULT_TAT_MAX_TASKS,
    account: str | None = None,
    audit_events: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """Fill a TAT emulator with realistic commands, invocations and invocation tasks.

    Args:
        emulator: The emulator to fill.
        regions: Regions to fill.
        per_region: Commands per region.
        now: Reference time (aware); CreatedTime spreads over the 240 days before it,
            UpdatedTime lies between CreatedTime and now.
        seed: Seed of the generator.
        copies: Return copies of the stored commands; False returns empty lists, which
            saves time and memory on huge fills.
        prerender: Also serialise every record now (``emulator.warm``): ~25 us a
            command at fill time, then ~1 ms per 100-command page instead of ~3 ms on
            a page's first read. The result order is built either way.
        invocations_per_region: Invocations per region (None = as many as commands, at
            most 2,000; 0 = none). Each runs a stored command (CommandId, CommandName,
            CommandType, CommandContent, Username, WorkingDirectory, Timeout and the
            COS settings copied from it), created after the command, on 1 to
            ``max_tasks_per_invocation`` instances. Read them with
            ``emulator.invocations(region)`` / ``emulator.invocation_tasks(region)``.
        max_tasks_per_invocation: Most tasks (instances) per invocation.
        account: The account to fill (None = the default account).
        audit_events: Also store a CloudAudit RunCommand or InvokeCommand event
            (``emulator.audit``) for about five invocations in six created in the 90
            days CloudAudit keeps: same InvocationId, CommandId, instances and time, by
            a sub-account, a role or the root account, delivered up to 10 minutes late.

    Returns:
        The stored commands (copies) by region.
    """
    rng = SeededRandom(seed)
    history = SeededRandom(seed + HISTORY_SEED_OFFSET)
    audit = SeededRandom(seed + AUDIT_SEED_OFFSET)
    created: dict[str, list[dict[str, Any]]] = {}
    with gc_paused():
        for region in regions:
            created[region] = []
            commands = (_tat_command(rng, region, now, i) for i in range(per_region))
            for batch in _batches(commands):
                created[region] += emulator.add_commands(
                    region, batch, copies=copies, take_ownership=True, account=account
                )
            count = (
                min(per_region, DEFAULT_TAT_INVOCATIONS_PER_REGION)
                if invocations_per_region is None
                else invocations_per_region
            )
            if count > 0 and per_region > 0:
                _fill_tat_invocations(
                    emulator,
                    region,
                    now,
                    history,
                    count,
                    max(1, max_tasks_per_invocation),
                    account,
                )
            if audit_events:
                _fill_invocation_events(emulator, region, now, audit, account)
        emulator.warm([emulator._store_key(r, account) for r in created], render=prerender)
    return created


_TAT_FINAL_WEIGHTS = {
    "SUCCESS": 88,
    "FAILED": 5,
    "TIMEOUT": 4,
    "DELIVER_FAILED": 2,
    "START_FAILED": 1,
    "CANCELLED": 2,
    "TERMINATED": 2,
}
_TAT_FINAL_PICK = _Weighted(_TAT_FINAL_WEIGHTS)
_TAT_ACTIVE_PICK = _Weighted({"RUNNING": 5, "PENDING": 2, "DELIVERING": 1, "SUCCESS": 4})
# Output that is not valid UTF-8: GBK-encoded Chinese, as Windows instances print it,
# and a stray 0xff byte.
_NON_UTF8_OUTPUTS = ("执行成功\r\n".encode("gbk"), b"\xff\xfe binary \x80\x81 log\n")
# Output beyond TAT's 24 KB (cut on the wire, Dropped counts the rest), and just below.
_LONG_TAT_OUTPUTS = (
    b"".join(b"%06d kernel: eth0 link up, 10000 Mbps full duplex\n" % i for i in range(700)),
    b"".join(b"%06d ok\n" % i for i in range(2000)),
)


_TAT_AUDIT_PRINCIPALS = (
    {"principal_id": "100000000011", "username": "100000000011", "identity_type": "CAMUser"},
    {"principal_id": "100000000001", "username": "root", "identity_type": "root"},
    {
        "principal_id": "4611686018427397919",
        "username": "roleUser",
        "identity_type": "AssumedRole",
        "secret_id": "AKIDEXAMPLEROLE0000001",
    },
)
# CloudAudit keeps 90 days; older invocations get no event.
_AUDIT_RETENTION = timedelta(days=89)


def _fill_invocation_events(
    emulator: TATEmulator,
    region: str,
    now: datetime,
    rng: random.Random,
    account: str | None = None,
) -> None:
    for invocation in emulator.invocations(region, account=account):
        created = invocation["CreatedTime"]
        if isinstance(created, str):
            created = datetime.fromisoformat(created)
        if created < now - _AUDIT_RETENTION or rng.randrange(AUDIT_GAP_ONE_IN) == 0:
            continue
        instances = [
            task["InstanceId"]
            for task in emulator.tasks_of(region, invocation["InvocationId"], account=account)
        ]
        event = emulator.audit_for(account).add_invocation_event(
            region,
            {**invocation, "CreatedTime": created},
            instances,
            delay=timedelta(seconds=rng.uniform(0, AUDIT_MAX_DELAY_SECONDS)),
            source_ip=f"198.51.100.{rng.randint(1, 254)}",
            **rng.choice(_TAT_AUDIT_PRINCIPALS),
        )
        if rng.random() < 0.5:
            # RunCommand: a temporary command, created and run in one call.
            event.event_name = event.detail["eventName"] = "RunCommand"
            event.detail["responseElements"] = json.dumps(
                {
                    "CommandId": invocation.get("CommandId"),
                    "InvocationId": invocation["InvocationId"],
                }
            )


def _tat_instances(rng: random.Random) -> list[tuple[str, str]]:
    cvm = [("CVM", _tat_command_id(rng).replace("cmd-", "ins-")) for _ in range(20)]
    lighthouse = [("LIGHTHOUSE", _tat_command_id(rng).replace("cmd-", "lhins-")) for _ in range(5)]
    return cvm + lighthouse


def _tat_output(rng: random.Random, command: dict[str, Any], status: str) -> bytes:
    if status in ("PENDING", "DELIVERING", "DELIVER_FAILED", "START_FAILED", "CANCELLED"):
        return b""
    draw = rng.random()
    if draw < 0.03:
        return rng.choice(_NON_UTF8_OUTPUTS)
    if draw < 0.06:
        return rng.choice(_LONG_TAT_OUTPUTS)
    script = base64.b64decode(command["Content"]).decode()
    if status == "FAILED":
        return f"{script}: command failed\n".encode()
    if status in ("TIMEOUT", "TERMINATED"):
        return f"{script}: partial output before the command stopped\n".encode()
    return f"$ {script}\n 12:01:02 up 41 days, load average: 0.08, 0.03, 0.01\n".encode()


def _fill_tat_invocations(
    emulator: TATEmulator,
    region: str,
    now: datetime,
    rng: random.Random,
    count: int,
    max_tasks: int,
    account: str | None = None,
) -> None:
    commands = emulator._store.records(emulator._store_key(region, account))
    instances = _tat_instances(rng)
    by_kind = {
        kind: [instance for k, instance in instances if k == kind] for kind in ("CVM", "LIGHTHOUSE")
    }
    seen_ids: set[str] = set()

    def fresh_id(prefix: str) -> str:
        while True:
            candidate = _tat_command_id(rng).replace("cmd-", prefix + "-")
            if candidate not in seen_ids:
                seen_ids.add(candidate)
                return candidate

    def generate() -> Iterator[dict[str, Any]]:
        for _ in range(count):
            command = rng.choice(commands)
            yield _tat_invocation(rng, command, now, by_kind, fresh_id, max_tasks)

    for batch in _batches(generate()):
        emulator.add_invocations(region, batch, copies=False, take_ownership=True, account=account)


def _tat_invocation(
    rng: random.Random,
    command: dict[str, Any],
    now: datetime,
    by_kind: dict[str, list[str]],
    fresh_id: Any,
    max_tasks: int,
) -> dict[str, Any]:
    origin = command["CreatedTime"]
    # Most runs are recent; a few are still going.
    created = (now - (now - origin) * rng.random() ** 3).replace(microsecond=0)
    recent = now - created < timedelta(minutes=15)
    kind = "LIGHTHOUSE" if rng.random() < 0.15 else "CVM"
    targets = rng.sample(by_kind[kind], min(len(by_kind[kind]), rng.randint(1, max_tasks)))
    invocation_id = fresh_id("inv")
    timeout = command["Timeout"]
    tasks = []
    for instance_id in targets:
        status = (_TAT_ACTIVE_PICK if recent else _TAT_FINAL_PICK).pick(rng)
        started = status not in ("PENDING", "DELIVERING", "CANCELLED", "DELIVER_FAILED")
        start = created + timedelta(seconds=rng.randint(0, 3)) if started else None
        if status in UNFINISHED_TASK_STATUSES:
            end = None
        elif status == "TIMEOUT":
            end = (start or created) + timedelta(seconds=timeout)
        else:
            end = (start or created) + timedelta(seconds=rng.randint(0, min(timeout, 120)))
        ran = started and status != "START_FAILED"
        output = _tat_output(rng, command, status) if ran else b""
        tasks.append(
            {
                "InvocationTaskId": fresh_id("invt"),
                "TaskStatus": status,
                "InstanceId": instance_id,
                "StartTime": start,
                "EndTime": end,
                "UpdatedTime": end or start or created,
                "TaskResult": {
                    "ExitCode": exit_code(status) if ran and end is not None else 0,
                    "ExecStartTime": start if ran else None,
                    "ExecEndTime": end if ran else None,
                    "OutputUrl": (
                        f"{command['OutputCOSBucketUrl']}/{command['OutputCOSKeyPrefix']}/"
                        f"{invocation_id}/{instance_id}.log"
                        if command["OutputCOSBucketUrl"] and ran
                        else ""
                    ),
                },
                "output": output,
            }
        )
    updated = max(t["UpdatedTime"] for t in tasks)
    parameters = command["DefaultParameters"] if command["EnableParameter"] else "{}"
    return {
        "InvocationId": invocation_id,
        "CommandId": command["CommandId"],
        "Description": "scheduled run" if rng.random() < 0.1 else "",
        "StartTime": created,
        "CreatedTime": created,
        "UpdatedTime": updated,
        "Parameters": parameters,
        "InstanceKind": kind,
        "InvocationSource": "INVOKER" if rng.random() < 0.1 else "USER",
        "tasks": tasks,
    }
