"""Benchmarks of execution-history syncs: incremental cost, busy regions, running commands.

The emulators run in this process (their CPU is not the tap's: the tap is the CLI in
a child process); TAT at 100 ms a call and 20 calls/s per region and API, as TAT documents.
Scenarios:

6. 100,000 finished runs (one task each, created over the 30 days up to two days ago)
   synced in full, then 50 new runs, then an incremental sync: calls per API and
   region, and records emitted.
7. A busy region: 20,000 runs over the last 30 days; during each sync a new run every
   100 ms and the oldest aged out every second; three syncs back to back: bookmark per
   sync, records re-emitted unchanged (the same id and UpdatedTime as in an earlier
   sync), calls.
8. SSM: 20,000 commands (one invocation each), 5 still running; a full sync, then an
   incremental one with nothing new: calls per operation and what it emits.

    python -m benchmarks.run --only history [--quick]
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import threading
from pathlib import Path
from typing import Any, Self

from benchmarks.run import PYTHON, catalog, measure
from tests.emulators import EMULATOR_TAT_SECRET_ID, EMULATOR_TAT_SECRET_KEY, TATEmulator

UTC = dt.UTC
REGION = "ap-guangzhou"
STREAMS = ["tat_invocations", "tat_invocation_tasks"]
ACTIONS = {
    "tat_invocations": "DescribeInvocations",
    "tat_invocation_tasks": "DescribeInvocationTasks",
}
ID_KEYS = {"tat_invocations": "InvocationId", "tat_invocation_tasks": "InvocationTaskId"}


def config(tat: TATEmulator) -> dict[str, Any]:
    return {
        "tencent_secret_id": EMULATOR_TAT_SECRET_ID,
        "tencent_secret_key": EMULATOR_TAT_SECRET_KEY,
        "tencent_regions": [REGION],
        "tencent_endpoint_url": tat.url,
        "tencent_sts_endpoint_url": tat.url,
    }


class Sync:
    """One run of the tap CLI with its Singer output read back."""

    def __init__(
        self,
        settings: dict[str, Any],
        state: dict[str, Any] | None,
        streams: list[str] | None = None,
    ) -> None:
        streams = streams or STREAMS
        folder = Path(tempfile.mkdtemp())
        (folder / "config.json").write_text(json.dumps(settings))
        (folder / "catalog.json").write_text(json.dumps(catalog(settings, streams)))
        command = [
            PYTHON,
            "-m",
            "tap_cloudcommands",
            "--config",
            str(folder / "config.json"),
            "--catalog",
            str(folder / "catalog.json"),
        ]
        if state is not None:
            (folder / "state.json").write_text(json.dumps(state))
            command += ["--state", str(folder / "state.json")]
        with tempfile.TemporaryFile() as output:
            self.result = measure(command, output)
            output.seek(0)
            messages = [json.loads(line) for line in output if line.startswith(b"{")]
        self.records: dict[str, list[dict[str, Any]]] = {stream: [] for stream in streams}
        self.state: dict[str, Any] = {}
        for message in messages:
            if message["type"] == "RECORD":
                self.records[message["stream"]].append(message["record"])
            elif message["type"] == "STATE":
                self.state = message["value"]

    def bookmark(self, stream: str) -> str | None:
        partitions = self.state["bookmarks"][stream].get("partitions", [])
        return next((p.get("replication_key_value") for p in partitions), None)

    def versions(self, stream: str) -> set[tuple[str, str]]:
        key = ID_KEYS[stream]
        return {(r[key], r["UpdatedTime"]) for r in self.records[stream]}


def finished_runs(
    count: int, newest: dt.datetime, span: dt.timedelta, prefix: str = "a"
) -> list[dict[str, Any]]:
    """Finished runs with one task each, newest first; ids inv-<prefix><7 digits>."""
    step = span / max(1, count)
    return [
        {
            "InvocationId": f"inv-{prefix}{i:07d}",
            "CreatedTime": newest - step * i,
            "InvocationStatus": "SUCCESS",
            "tasks": [{"TaskStatus": "SUCCESS"}],
        }
        for i in range(count)
    ]


def emulator() -> TATEmulator:
    tat = TATEmulator().start()
    tat.latency_seconds = 0.1
    tat.rate_limit_per_second = 20
    return tat


def calls(tat: TATEmulator) -> dict[str, int]:
    return {stream: len(tat.calls_for(action, REGION)) for stream, action in ACTIONS.items()}


def throttled(tat: TATEmulator) -> int:
    return sum(
        1
        for action in ACTIONS.values()
        for call in tat.calls_for(action, REGION)
        if call.error_code == "RequestLimitExceeded"
    )


def incremental(count: int) -> list[tuple[str, str, str, str]]:
    """Scenario 6: full sync, 50 new runs, incremental sync."""
    tat = emulator()
    try:
        now = dt.datetime.now(UTC)
        old = finished_runs(count, now - dt.timedelta(days=2), dt.timedelta(days=28))
        tat.add_invocations(REGION, old, copies=False, take_ownership=True)
        tat.warm()
        full = Sync(config(tat), None)
        full_calls = calls(tat) | {"throttled": throttled(tat)}
        seconds = full.result["sync"]
        tat.reset_calls()
        fresh = dt.datetime.now(UTC)
        tat.add_invocations(
            REGION,
            [
                {
                    "CreatedTime": fresh - dt.timedelta(seconds=i),
                    "tasks": [{"TaskStatus": "SUCCESS"}],
                }
                for i in range(50)
            ],
        )
        second = Sync(config(tat), full.state)
        second_calls = calls(tat)
        emitted = {stream: len(second.records[stream]) for stream in STREAMS}
    finally:
        tat.stop()
    rate = count / seconds["tat_invocations"]
    peak = max(second_calls.values())
    return [
        (
            f"6a. TAT full sync of {count:,} runs + {count:,} tasks, 100 ms, 20 calls/s",
            (
                f"DescribeInvocations {full_calls['tat_invocations']} calls, "
                f"DescribeInvocationTasks {full_calls['tat_invocation_tasks']} "
                f"({full_calls['throttled']} throttled); "
                f"{rate:,.0f} runs/s ({rate / 2000:.0%} of 2,000)"
            ),
            ">= 90% of 2,000/s",
            "ok" if rate >= 1800 else "MISSED",
        ),
        (
            f"6b. TAT incremental sync: {count:,} finished runs + 50 new",
            (
                f"DescribeInvocations {second_calls['tat_invocations']} calls, "
                f"DescribeInvocationTasks {second_calls['tat_invocation_tasks']}; emitted "
                f"{emitted['tat_invocations']} runs, {emitted['tat_invocation_tasks']} tasks"
            ),
            "<= 3 calls per API and region",
            "ok" if peak <= 3 else "MISSED",
        ),
    ]


class Churn:
    """A new run every 100 ms and the oldest aged out every second, until stopped."""

    def __init__(self, tat: TATEmulator, oldest_first: list[str]) -> None:
        self.tat = tat
        # Ids in creation order: the oldest run is aged out first.
        self.oldest_first = oldest_first
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.added = self.removed = 0

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def _run(self) -> None:
        tick = 0
        while not self.stop.wait(0.1):
            tick += 1
            added = self.tat.add_invocation(
                REGION, CreatedTime=dt.datetime.now(UTC), tasks=[{"TaskStatus": "RUNNING"}]
            )
            self.oldest_first.append(added["InvocationId"])
            self.added += 1
            if tick % 10 == 0:
                self.tat.delete_invocation(REGION, self.oldest_first.pop(0))
                self.removed += 1


def busy(count: int, syncs: int = 3) -> list[tuple[str, str, str, str]]:
    """Scenario 7: a region that never stops changing, synced back to back."""
    tat = emulator()
    figures = []
    try:
        now = dt.datetime.now(UTC)
        runs = finished_runs(count, now - dt.timedelta(minutes=1), dt.timedelta(days=30))
        tat.add_invocations(REGION, runs, copies=False, take_ownership=True)
        tat.warm()
        oldest_first = [run["InvocationId"] for run in reversed(runs)]
        state = None
        seen: dict[str, set[tuple[str, str]]] = {stream: set() for stream in STREAMS}
        bookmarks: list[str | None] = []
        for _ in range(syncs):
            tat.reset_calls()
            with Churn(tat, oldest_first):
                sync = Sync(config(tat), state)
            state = sync.state
            again = {s: len(sync.versions(s) & seen[s]) for s in STREAMS}
            for stream in STREAMS:
                seen[stream] |= sync.versions(stream)
            bookmarks.append(sync.bookmark("tat_invocations"))
            made = calls(tat) | {"throttled": throttled(tat)}
            figures.append((again, {s: len(sync.records[s]) for s in STREAMS}, made))
    finally:
        tat.stop()
    advanced = all(
        b is not None and (a is None or b > a)
        for a, b in zip([None, *bookmarks], bookmarks, strict=False)
    )
    worst = max(again[s] / count for again, _, _ in figures for s in STREAMS)
    detail = "; ".join(
        f"sync {n + 1}: {emitted['tat_invocations']} runs / {emitted['tat_invocation_tasks']} "
        f"tasks emitted, {again['tat_invocations']} / {again['tat_invocation_tasks']} again, "
        f"{made['tat_invocations']} + {made['tat_invocation_tasks']} calls "
        f"({made['throttled']} throttled)"
        for n, (again, emitted, made) in enumerate(figures)
    )
    return [
        (
            f"7. TAT busy region: {count:,} runs, +1 run / 100 ms, -1 / s, {syncs} syncs",
            f"bookmark advanced every sync: {advanced}; {detail}",
            "bookmark advances every sync; re-emitted < 2% of the list",
            "ok" if advanced and worst < 0.02 else "MISSED",
        )
    ]


def history(quick: bool) -> list[tuple[str, str, str, str]]:  # noqa: FBT001
    """Scenarios 6, 7 and 8."""
    return incremental(20_000 if quick else 100_000) + busy(20_000) + ssm_running()


SSM_STREAMS = ["ssm_commands", "ssm_command_invocations"]
SSM_REGION = "us-east-1"


def ssm_running(count: int = 20_000, running: int = 5) -> list[tuple[str, str, str, str]]:
    """Scenario 8: SSM incremental sync, ``running`` commands still running, nothing new."""
    from tests.emulators import (  # noqa: PLC0415 - only this scenario needs SSM
        EMULATOR_AWS_ACCESS_KEY_ID,
        EMULATOR_AWS_SECRET_ACCESS_KEY,
        SSMEmulator,
    )

    ssm = SSMEmulator().start()
    try:
        now = dt.datetime.now(UTC).replace(microsecond=0)
        step = dt.timedelta(days=20) / count
        running_ids = []
        for i in range(count):
            is_running = i % (count // running) == 0 and len(running_ids) < running
            command, _ = ssm.add_command_with_invocations(
                SSM_REGION,
                ["i-0123456789abcdef0"],
                invocation_statuses=["InProgress" if is_running else "Success"],
                RequestedDateTime=now - dt.timedelta(minutes=10) - step * i,
                Status="InProgress" if is_running else "Success",
            )
            if is_running:
                running_ids.append(command["CommandId"])
        settings = {
            "aws_access_key_id": EMULATOR_AWS_ACCESS_KEY_ID,
            "aws_secret_access_key": EMULATOR_AWS_SECRET_ACCESS_KEY,
            "aws_regions": [SSM_REGION],
            "aws_endpoint_url": ssm.url,
            "aws_sts_endpoint_url": ssm.url,
        }
        first = Sync(settings, None, SSM_STREAMS)
        ssm.reset_calls()
        second = Sync(settings, first.state, SSM_STREAMS)
        made = {
            op: len(ssm.calls_for(op, SSM_REGION))
            for op in ("ListCommands", "ListCommandInvocations")
        }
        emitted = {
            stream: sorted({r["CommandId"] for r in second.records[stream]})
            for stream in SSM_STREAMS
        }
    finally:
        ssm.stop()
    only_running = all(ids == sorted(running_ids) for ids in emitted.values())
    ok = max(made.values()) <= 1 + running and only_running
    return [
        (
            f"8. SSM incremental sync: {count:,} commands, {running} still running, nothing new",
            (
                f"ListCommands {made['ListCommands']} calls, ListCommandInvocations "
                f"{made['ListCommandInvocations']}; emitted {len(second.records['ssm_commands'])}"
                f" commands and {len(second.records['ssm_command_invocations'])} invocations, "
                f"all of the running commands: {only_running}"
            ),
            f"<= 1 + {running} calls per stream and region; only those {running} re-emitted",
            "ok" if ok else "MISSED",
        )
    ]
