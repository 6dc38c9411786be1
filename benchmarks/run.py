"""Benchmarks: the real `tap-cloudcommands` CLI against the emulators, side by side.

Each scenario starts the emulators in their own process (so their CPU and memory are not
the tap's), runs the measurement several times and reports the median. Usage:

    make bench            # or: python -m benchmarks.run [--runs N] [--quick]

Prints a Markdown table; BENCHMARKS.md records a run of it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Self

from tests.emulators import (
    EMULATOR_AWS_ACCESS_KEY_ID,
    EMULATOR_AWS_SECRET_ACCESS_KEY,
    EMULATOR_TAT_SECRET_ID,
    EMULATOR_TAT_SECRET_KEY,
)

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
HERMETIC = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
# Sample execution history off: these scenarios measure the commands streams.
NO_HISTORY: dict[str, Any] = {"ssm_invocations": False, "tat_invocations_per_region": 0}
TAT = ["tat_commands"]
HISTORY = {
    "ssm_command_invocations": ("ListCommandInvocations", 50),
    "tat_invocations": ("DescribeInvocations", 100),
    "tat_invocation_tasks": ("DescribeInvocationTasks", 100),
}
COMMANDS = ["ssm_commands", "tat_commands"]
SYNC_DURATION = re.compile(r'"metric":"sync_duration","value":([0-9.]+),"tags":\{"stream":"(\w+)"')


class Emulators:
    """The emulators in a child process, with their stats endpoint."""

    def __init__(self, **options: Any) -> None:
        self.options = options

    def __enter__(self) -> Self:
        ready = Path(tempfile.mkdtemp()) / "ready.json"
        command = [
            PYTHON,
            "-m",
            "tests.emulators",
            "--ssm-port",
            "0",
            "--tat-port",
            "0",
            "--ready-file",
            str(ready),
        ]
        for name, value in self.options.items():
            flag = name.replace("_", "-")
            if isinstance(value, bool):
                command.append(f"--{flag}" if value else f"--no-{flag}")
            else:
                command += [f"--{flag}", str(value)]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while not ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                msg = f"emulators did not start: {command}"
                raise RuntimeError(msg)
            time.sleep(0.1)
        time.sleep(0.1)
        urls = json.loads(ready.read_text())
        self.ssm, self.tat = urls["ssm"], urls["tat"]
        self.accounts = urls.get("accounts", {})
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def stats(self, which: str, kind: str = "stats") -> dict[str, Any]:
        with urllib.request.urlopen(f"{getattr(self, which)}/_emulator/{kind}") as answer:
            return json.loads(answer.read())

    def reset(self) -> None:
        for url in (self.ssm, self.tat):
            request = urllib.request.Request(f"{url}/_emulator/reset-calls", method="POST")
            urllib.request.urlopen(request).close()


def tap_config(
    emulators: Emulators, *, aws: list[str], tencent: list[str], rps: int = 20
) -> dict[str, Any]:
    return {
        "aws_access_key_id": EMULATOR_AWS_ACCESS_KEY_ID,
        "aws_secret_access_key": EMULATOR_AWS_SECRET_ACCESS_KEY,
        "aws_regions": aws,
        "aws_endpoint_url": emulators.ssm,
        "aws_sts_endpoint_url": emulators.ssm,
        "tencent_secret_id": EMULATOR_TAT_SECRET_ID,
        "tencent_secret_key": EMULATOR_TAT_SECRET_KEY,
        "tencent_regions": tencent,
        "tencent_endpoint_url": emulators.tat,
        "tencent_sts_endpoint_url": emulators.tat,
        "tencent_requests_per_second": rps,
    }


def measure(command: list[str], stdout: Any = subprocess.DEVNULL) -> dict[str, Any]:
    """Run a command; wall time, peak RSS and stderr of that one child."""
    stderr_file = tempfile.TemporaryFile()  # noqa: SIM115 - read back after the child ends
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=stdout, stderr=stderr_file, env=os.environ | HERMETIC
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    stderr_file.seek(0)
    stderr = stderr_file.read().decode(errors="replace")
    if status != 0:
        msg = f"{command[:4]} exited {status}: {stderr[-2000:]}"
        raise RuntimeError(msg)
    durations = {stream: float(value) for value, stream in SYNC_DURATION.findall(stderr)}
    return {"wall": wall, "rss_mb": usage.ru_maxrss / 1024, "sync": durations}


def run_tap(
    config: dict[str, Any],
    state: dict | None = None,
    stdout: Any = subprocess.DEVNULL,
    streams: list[str] | None = None,
) -> dict[str, Any]:
    """Run the tap CLI once; ``streams`` limits the sync to those (through a catalog)."""
    folder = Path(tempfile.mkdtemp())
    (folder / "config.json").write_text(json.dumps(config))
    command = [PYTHON, "-m", "tap_cloudcommands", "--config", str(folder / "config.json")]
    if state is not None:
        (folder / "state.json").write_text(json.dumps(state))
        command += ["--state", str(folder / "state.json")]
    if streams is not None:
        (folder / "catalog.json").write_text(json.dumps(catalog(config, streams)))
        command += ["--catalog", str(folder / "catalog.json")]
    return measure(command, stdout)


def catalog(config: dict[str, Any], streams: list[str]) -> dict[str, Any]:
    """The tap's discovered catalog with only ``streams`` selected."""
    folder = Path(tempfile.mkdtemp())
    (folder / "config.json").write_text(json.dumps(config))
    discovered = json.loads(
        subprocess.run(
            [
                PYTHON,
                "-m",
                "tap_cloudcommands",
                "--config",
                str(folder / "config.json"),
                "--discover",
            ],
            cwd=ROOT,
            env=os.environ | HERMETIC,
            capture_output=True,
            check=True,
        ).stdout
    )
    for entry in discovered["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return discovered


def median(values: list[float]) -> float:
    return statistics.median(values)


def raw_loop(cloud: str, url: str, region: str) -> dict[str, float]:
    """Run the raw SDK loop once: process wall time and its own loop time."""
    with tempfile.TemporaryFile() as output:
        result = measure([PYTHON, "-m", "benchmarks.raw_loop", cloud, url, region], output)
        output.seek(0)
        _count, loop_seconds = output.read().split()
    return {"wall": result["wall"], "loop": float(loop_seconds)}


def overhead(runs: int, count: int) -> list[tuple[str, str, str, str]]:
    """Scenario 1: tap records/s against the raw SDK loop, per cloud (no latency).

    The goal is judged on records/s while syncing: the tap's ``sync_duration`` metric
    against the raw loop's own first-call-to-last-item time. Process wall times, start-up
    included (singer-sdk alone takes ~0.8 s to import), are shown beside them.
    """
    rows = []
    with Emulators(
        regions="us-east-1",
        tat_regions="ap-guangzhou",
        ssm_per_region=count,
        tat_per_region=count,
        **NO_HISTORY,
    ) as emulators:
        for cloud, stream, aws, tencent in (
            ("ssm", "ssm_commands", ["us-east-1"], []),
            ("tat", "tat_commands", [], ["ap-guangzhou"]),
        ):
            config = tap_config(emulators, aws=aws, tencent=tencent, rps=1000)
            url = emulators.ssm if cloud == "ssm" else emulators.tat
            region = "us-east-1" if cloud == "ssm" else "ap-guangzhou"
            raw = [raw_loop(cloud, url, region) for _ in range(runs)]
            tap = [run_tap(config, streams=[stream]) for _ in range(runs)]
            raw_loop_s = median([r["loop"] for r in raw])
            tap_sync_s = median([r["sync"][stream] for r in tap])
            raw_wall = median([r["wall"] for r in raw])
            tap_wall = median([r["wall"] for r in tap])
            ratio = raw_loop_s / tap_sync_s
            rows.append(
                (
                    f"1. overhead, {cloud}: {count:,} commands, records/s while syncing",
                    (
                        f"tap {count / tap_sync_s:,.0f} vs raw {count / raw_loop_s:,.0f} "
                        f"(process wall, start-up included: tap {tap_wall:.2f} s vs raw "
                        f"{raw_wall:.2f} s = {raw_wall / tap_wall:.2f} x)"
                    ),
                    ">= 0.8 x raw",
                    f"{ratio:.2f} x {'ok' if ratio >= 0.8 else 'MISSED'}",
                )
            )
    return rows


def rate_limited(runs: int) -> list[tuple[str, str, str, str]]:
    """Scenarios 2 and 3: TAT at 20 calls/s and 100 ms a call, one region and eight."""
    rows = []
    regions8 = [
        "ap-guangzhou",
        "ap-shanghai",
        "ap-beijing",
        "ap-chengdu",
        "ap-hongkong",
        "ap-singapore",
        "ap-tokyo",
        "eu-frankfurt",
    ]
    with (
        Emulators(
            regions="us-east-1",
            tat_regions=",".join(regions8),
            ssm_per_region=1,
            tat_per_region=2000,
            latency=0.1,
            rate_limit=20,
        ) as small,
        Emulators(
            regions="us-east-1",
            tat_regions="ap-guangzhou",
            ssm_per_region=1,
            tat_per_region=20000,
            latency=0.1,
            rate_limit=20,
        ) as big,
    ):
        syncs, walls = [], []
        for _ in range(runs):
            big.reset()
            result = run_tap(tap_config(big, aws=[], tencent=["ap-guangzhou"]), streams=TAT)
            syncs.append(result["sync"]["tat_commands"])
            walls.append(result["wall"])
        stats = big.stats("tat")
        peak = stats["max_requests_per_second"]["ap-guangzhou"]["DescribeCommands"]
        rate = 20000 / median(syncs)
        rows.append(
            (
                "2. TAT 20,000 commands, 1 region, 20 calls/s, 100 ms latency",
                (
                    f"{rate:,.0f} commands/s ({rate / 2000:.0%} of 2,000; sync "
                    f"{median(syncs):.2f} s, process {median(walls):.2f} s; peak {peak} calls/s)"
                ),
                ">= 90% of 2,000/s, never > 20/s",
                "ok" if rate >= 1800 and peak <= 20 else "MISSED",
            )
        )
        one, eight, peaks = [], [], []
        for _ in range(runs):
            small.reset()
            one.append(
                run_tap(tap_config(small, aws=[], tencent=regions8[:1]), streams=TAT)["wall"]
            )
            small.reset()
            eight.append(run_tap(tap_config(small, aws=[], tencent=regions8), streams=TAT)["wall"])
            peaks.append(
                max(
                    v["DescribeCommands"]
                    for v in small.stats("tat")["max_requests_per_second"].values()
                )
            )
        ratio = median(eight) / median(one)
        rows.append(
            (
                "3. TAT 8 regions x 2,000 vs 1 region, 100 ms latency (process wall)",
                (
                    f"{median(eight):.2f} s vs {median(one):.2f} s = {ratio:.2f} x "
                    f"(peak {max(peaks)} calls/s in a region)"
                ),
                "<= 1.5 x, never > 20/s",
                "ok" if ratio <= 1.5 and max(peaks) <= 20 else "MISSED",
            )
        )
    return rows


def api_calls() -> list[tuple[str, str, str, str]]:
    """Scenario 4: calls per full sync and per incremental SSM sync with nothing new."""
    rows = []
    ssm_n, tat_n = 1234, 2345
    with Emulators(
        regions="us-east-1,eu-west-1",
        tat_regions="ap-guangzhou,ap-singapore",
        ssm_per_region=ssm_n,
        tat_per_region=tat_n,
    ) as emulators:
        config = tap_config(
            emulators,
            aws=["us-east-1", "eu-west-1"],
            tencent=["ap-guangzhou", "ap-singapore"],
            rps=1000,
        )
        output = Path(tempfile.mkdtemp()) / "out.jsonl"
        with output.open("w") as sink:
            run_tap(config | {"ssm_status_lookback_days": 0}, stdout=sink, streams=COMMANDS)
        ssm_calls = emulators.stats("ssm")["calls"]
        tat_calls = emulators.stats("tat")["calls"]
        full_ssm = max(ssm_calls[r]["ListCommands"] for r in ("us-east-1", "eu-west-1"))
        full_tat = max(tat_calls[r]["DescribeCommands"] for r in ("ap-guangzhou", "ap-singapore"))
        rows.append(
            (
                f"4. full sync calls per region: SSM {ssm_n:,}, TAT {tat_n:,} commands",
                (
                    f"SSM {full_ssm} (ceil = {math.ceil(ssm_n / 50)}), "
                    f"TAT {full_tat} (ceil = {math.ceil(tat_n / 100)})"
                ),
                "ceil(N/page) + 1 at most",
                "ok"
                if full_ssm <= math.ceil(ssm_n / 50) + 1 and full_tat <= math.ceil(tat_n / 100) + 1
                else "MISSED",
            )
        )
        state = None
        for line in output.read_text().splitlines():
            message = json.loads(line)
            if message["type"] == "STATE":
                state = message["value"]
        emulators.reset()
        run_tap(config | {"ssm_status_lookback_days": 0}, state=state, streams=COMMANDS)
        again = emulators.stats("ssm")["calls"]
        incremental = max(again[r]["ListCommands"] for r in ("us-east-1", "eu-west-1"))
        rows.append(
            (
                "4. incremental SSM sync, nothing new (look-back off: no running commands held)",
                f"{incremental} call(s) per region",
                "1 per region",
                "ok" if incremental == 1 else "MISSED",
            )
        )
        rows.append(history_calls(emulators, config))
    return rows


def history_calls(emulators: Emulators, config: dict[str, Any]) -> tuple[str, str, str, str]:
    """Scenario 4 for the execution-history streams: calls per region against ceil(N/page)."""
    emulators.reset()
    output = Path(tempfile.mkdtemp()) / "history.jsonl"
    with output.open("w") as sink:
        run_tap(config, stdout=sink, streams=list(HISTORY))
    counts: dict[tuple[str, str], int] = {}
    for line in output.read_text().splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            key = (message["stream"], message["record"]["Region"])
            counts[key] = counts.get(key, 0) + 1
    calls = emulators.stats("ssm")["calls"] | emulators.stats("tat")["calls"]
    worst, figures = 0, []
    for (stream, region), records in sorted(counts.items()):
        action, page = HISTORY[stream]
        made = calls[region][action]
        worst = max(worst, made - math.ceil(records / page))
        figures.append(f"{action} {region}: {made} for {records:,}")
    return (
        "4. full sync calls per region, execution history (records as counted in the output)",
        "; ".join(figures),
        "ceil(N/page) + 1 at most",
        "ok" if worst <= 1 and figures else "MISSED",
    )


def memory(small: int, large: int) -> list[tuple[str, str, str, str]]:
    """Scenario 5: peak RSS of the tap for a small and a large region."""
    peaks = {}
    for count in (small, large):
        with Emulators(
            regions="us-east-1", tat_regions="ap-guangzhou", ssm_per_region=1, tat_per_region=count
        ) as emulators:
            config = tap_config(emulators, aws=[], tencent=["ap-guangzhou"], rps=1000)
            peaks[count] = run_tap(config, streams=TAT)["rss_mb"]
    growth = peaks[large] - peaks[small]
    return [
        (
            f"5. peak RSS, TAT {small:,} vs {large:,} commands",
            f"{peaks[small]:.0f} MB vs {peaks[large]:.0f} MB (+{growth:.1f} MB)",
            "+20 MB at most",
            "ok" if growth <= 20 else "MISSED",
        )
    ]


def accounts(runs: int, *, count: int, per_partition: int) -> list[tuple[str, str, str, str]]:
    """Scenario 9: `count` accounts x 4 regions x 2 clouds against one partition per cloud.

    The same number of commands either way (ssm_commands and tat_commands), TAT at its
    20 calls/s per account, region and API, every call answered after 20 ms.
    """
    aws4 = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"]
    tencent4 = ["ap-guangzhou", "ap-shanghai", "ap-singapore", "ap-beijing"]
    total = count * len(aws4) * per_partition
    common = {"latency": 0.02, "rate_limit": 20, "ssm_invocations": False}
    with (
        Emulators(
            regions=",".join(aws4),
            tat_regions=",".join(tencent4),
            per_region=per_partition,
            tat_invocations_per_region=0,
            accounts=count,
            **common,
        ) as many,
        Emulators(
            regions=aws4[0],
            tat_regions=tencent4[0],
            per_region=total,
            tat_invocations_per_region=0,
            **common,
        ) as one,
    ):
        roles = {
            cloud: [
                {"role_arn": a["role_arn"], "external_id": a["external_id"]}
                if a["role_arn"]
                else {}
                for a in many.accounts[cloud]["accounts"]
            ]
            for cloud in ("aws", "tencent")
        }
        config = tap_config(many, aws=aws4, tencent=tencent4) | {
            "aws_accounts": roles["aws"],
            "tencent_accounts": roles["tencent"],
        }
        single_config = tap_config(one, aws=aws4[:1], tencent=tencent4[:1])
        walls, single_walls, rss, single_rss = [], [], [], []
        for _ in range(runs):
            many.reset()
            result = run_tap(config, streams=COMMANDS)
            walls.append(result["wall"])
            rss.append(result["rss_mb"])
            one.reset()
            result = run_tap(single_config, streams=COMMANDS)
            single_walls.append(result["wall"])
            single_rss.append(result["rss_mb"])
        peaks = [
            peak
            for which in ("ssm", "tat")
            for regions in many.stats(which, "account-stats")["max_requests_per_second"].values()
            for actions in regions.values()
            for action, peak in actions.items()
            if action in {"ListCommands", "DescribeCommands"}
        ]
    ratio = median(walls) / median(single_walls)
    growth = median(rss) - median(single_rss)
    return [
        (
            (
                f"9. {count} accounts x 4 regions x 2 clouds x {per_partition:,} commands vs "
                f"the same {2 * total:,} in one partition per cloud (20 ms latency, 20 calls/s)"
            ),
            (
                f"wall {median(walls):.2f} s vs {median(single_walls):.2f} s = {ratio:.2f} x; "
                f"peak RSS {median(rss):.0f} MB vs {median(single_rss):.0f} MB "
                f"({growth:+.1f} MB); busiest (account, region, API) {max(peaks)} calls/s"
            ),
            "<= 1.5 x, <= +30 MB, never > 20/s",
            "ok" if ratio <= 1.5 and growth <= 30 and max(peaks) <= 20 else "MISSED",
        )
    ]


def history_scenarios(*, quick: bool) -> list[tuple[str, str, str, str]]:
    """Scenarios 6 and 7 (benchmarks/history.py), which builds on this module."""
    from benchmarks.history import history  # noqa: PLC0415 - it imports this module

    return history(quick)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per timing (median)")
    parser.add_argument("--quick", action="store_true", help="smaller data, one run")
    parser.add_argument(
        "--only",
        default="overhead,rates,calls,memory,history,accounts",
        help="comma-separated scenarios to run (default: all): overhead (1), rates (2, 3), "
        "calls (4), memory (5), history (6, 7, 8), accounts (9)",
    )
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    scenarios = {
        "overhead": lambda: overhead(runs, 5000 if args.quick else 20000),
        "rates": lambda: rate_limited(runs),
        "calls": api_calls,
        "memory": lambda: memory(10_000, 50_000 if args.quick else 200_000),
        "history": lambda: history_scenarios(quick=args.quick),
        "accounts": lambda: accounts(
            runs, count=5 if args.quick else 20, per_partition=100 if args.quick else 500
        ),
    }
    chosen = args.only.split(",")
    if unknown := set(chosen) - set(scenarios):
        parser.error(f"unknown scenario(s) {sorted(unknown)}; choose from {sorted(scenarios)}")
    rows = [row for name in scenarios if name in chosen for row in scenarios[name]()]
    print(
        f"\n{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"medians of {runs} run(s)\n"
    )
    print("| measurement | figure | goal | result |")
    print("|:--|:--|:--|:--|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if any(row[3].endswith("MISSED") or row[3] == "MISSED" for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
