"""Run both emulators with sample data until SIGTERM/SIGINT.

Example:
    python -m tests.emulators --ssm-port 9000 --tat-port 9001 \
        --regions us-east-1,eu-west-1 --tat-regions ap-guangzhou,ap-singapore --per-region 150

For benchmarks (another process drives the tap and reads the emulators' stats):
    python -m tests.emulators --tat-per-region 200000 --ssm-per-region 1000 \
        --latency 0.05 --rate-limit 20 --ready-file /tmp/emulators.json
then wait for /tmp/emulators.json ({"ssm": url, "tat": url}), use
``GET <url>/_emulator/stats`` and ``POST <url>/_emulator/reset-calls``, and stop the
process with SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import signal
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from .credentials import (
    EMULATOR_AWS_ACCESS_KEY_ID,
    EMULATOR_AWS_SECRET_ACCESS_KEY,
    EMULATOR_TAT_SECRET_ID,
    EMULATOR_TAT_SECRET_KEY,
)
from .demo_accounts import add_demo_accounts
from .sample_data import (
    DEFAULT_SEED,
    DEFAULT_TAT_INVOCATIONS_PER_REGION,
    DEFAULT_TAT_MAX_TASKS,
    populate_ssm,
    populate_tat,
)
from .ssm import SSMEmulator
from .tat import TATEmulator

# The CLI serves benchmarks with up to 200,000 commands per region: one invocation per
# targeted instance of every command would be ~5 per command, so the CLI caps them.
CLI_SSM_INVOCATIONS_PER_REGION = 20_000


def _region_list(text: str) -> list[str]:
    return [region.strip() for region in text.split(",") if region.strip()]


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also rejects NaN
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.emulators", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--ssm-port", type=int, default=0, help="SSM/STS port on 127.0.0.1 (0 = any free port)"
    )
    parser.add_argument(
        "--tat-port", type=int, default=0, help="TAT port on 127.0.0.1 (0 = any free port)"
    )
    parser.add_argument(
        "--regions", type=_region_list, default=["us-east-1", "eu-west-1"], help="AWS regions"
    )
    parser.add_argument(
        "--tat-regions",
        type=_region_list,
        default=["ap-guangzhou", "ap-singapore"],
        help="Tencent regions",
    )
    parser.add_argument(
        "--per-region",
        type=_non_negative_int,
        default=150,
        help="commands created per region (default of --ssm-per-region and --tat-per-region)",
    )
    parser.add_argument(
        "--ssm-per-region",
        type=_non_negative_int,
        default=None,
        help="SSM commands per AWS region (default: --per-region)",
    )
    parser.add_argument(
        "--tat-per-region",
        type=_non_negative_int,
        default=None,
        help="TAT commands per Tencent region (default: --per-region)",
    )
    parser.add_argument(
        "--ssm-invocations",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also create SSM command invocations (ListCommandInvocations; default: on)",
    )
    parser.add_argument(
        "--ssm-invocations-per-region",
        type=_non_negative_int,
        default=CLI_SSM_INVOCATIONS_PER_REGION,
        metavar="N",
        help="at most N SSM invocations per region, for the newest commands "
        f"(default {CLI_SSM_INVOCATIONS_PER_REGION}; 0 = none)",
    )
    parser.add_argument(
        "--tat-invocations-per-region",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help="TAT invocations per region, each with 1..--tat-max-tasks tasks "
        f"(default: as many as commands, at most {DEFAULT_TAT_INVOCATIONS_PER_REGION}; 0 = none)",
    )
    parser.add_argument(
        "--tat-max-tasks",
        type=_positive_int,
        default=DEFAULT_TAT_MAX_TASKS,
        metavar="N",
        help=f"most tasks (instances) per TAT invocation (default {DEFAULT_TAT_MAX_TASKS})",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="sample data seed")
    parser.add_argument(
        "--accounts",
        type=_positive_int,
        default=1,
        metavar="N",
        help="accounts per cloud, the default one included (default 1); each gets its own "
        "keys and sample data (seed + index), a role cloudcommands-reader the default "
        "account may assume with ExternalId cloudcommands-demo, and the default AWS "
        "account manages an organization of them; their keys are printed as JSON",
    )
    parser.add_argument(
        "--latency",
        type=_non_negative_float,
        default=0.0,
        metavar="SECONDS",
        help="answer every API request this long after it arrived (both servers; "
        "concurrent requests wait side by side)",
    )
    parser.add_argument(
        "--rate-limit",
        type=_positive_int,
        default=None,
        metavar="N",
        help="TAT answers RequestLimitExceeded to requests beyond N per second "
        "(sliding 1 s window, per region and action)",
    )
    parser.add_argument(
        "--ssm-rate-limit",
        type=_positive_int,
        default=None,
        metavar="N",
        help="SSM answers ThrottlingException beyond N requests per second "
        "(per region and action; default: no limit)",
    )
    parser.add_argument(
        "--audit-events",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also serve CloudTrail SendCommand and CloudAudit RunCommand/InvokeCommand "
        "events for most runs, on the SSM and TAT ports (default: off)",
    )
    parser.add_argument(
        "--prerender",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="serialise every command before announcing readiness, so that no page is "
        "slow on its first read (~25 us a command; default: on)",
    )
    parser.add_argument(
        "--ready-file",
        type=Path,
        default=None,
        metavar="PATH",
        help='once both servers listen with their data, write {"ssm": url, "tat": url} '
        "to PATH (atomically; removed again on exit)",
    )
    return parser.parse_args(argv)


def _write_ready_file(path: Path, urls: dict[str, Any]) -> None:
    # Write-then-rename, so a poller never reads half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(urls, handle)
    Path(temporary).replace(path)


def main(argv: list[str] | None = None) -> None:
    """Start the emulators, print how to reach them, and serve until signalled."""
    args = _parse_args(argv)
    started = time.monotonic()
    now = datetime.now(UTC)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if args.ready_file is not None:
        # A file left by an earlier run must not announce this one too early.
        args.ready_file.unlink(missing_ok=True)
    ssm_per_region = args.per_region if args.ssm_per_region is None else args.ssm_per_region
    tat_per_region = args.per_region if args.tat_per_region is None else args.tat_per_region
    try:
        with SSMEmulator(port=args.ssm_port) as ssm, TATEmulator(port=args.tat_port) as tat:
            ssm.latency_seconds = tat.latency_seconds = args.latency
            ssm.rate_limit_per_second = args.ssm_rate_limit
            tat.rate_limit_per_second = args.rate_limit
            fill = {"now": now, "seed": args.seed, "copies": False, "prerender": args.prerender}
            populate_ssm(
                ssm,
                args.regions,
                ssm_per_region,
                invocations=args.ssm_invocations,
                invocations_per_region=args.ssm_invocations_per_region,
                audit_events=args.audit_events,
                **fill,
            )
            populate_tat(
                tat,
                args.tat_regions,
                tat_per_region,
                invocations_per_region=args.tat_invocations_per_region,
                max_tasks_per_invocation=args.tat_max_tasks,
                audit_events=args.audit_events,
                **fill,
            )
            accounts = add_demo_accounts(
                ssm,
                tat,
                args.accounts,
                fill_ssm=lambda account, index: populate_ssm(
                    ssm,
                    args.regions,
                    ssm_per_region,
                    invocations=args.ssm_invocations,
                    invocations_per_region=args.ssm_invocations_per_region,
                    **{**fill, "seed": args.seed + index},
                    account=account,
                ),
                fill_tat=lambda account, index: populate_tat(
                    tat,
                    args.tat_regions,
                    tat_per_region,
                    invocations_per_region=args.tat_invocations_per_region,
                    max_tasks_per_invocation=args.tat_max_tasks,
                    **{**fill, "seed": args.seed + index},
                    account=account,
                ),
            )
            # The sample data lives as long as the process: keep the cyclic GC from
            # walking it again and again while requests are being timed.
            gc.collect()
            gc.freeze()
            print(f"SSM/STS emulator: {ssm.url}  regions={','.join(args.regions)}")
            print(f"  AWS_ENDPOINT_URL_SSM={ssm.url} AWS_ENDPOINT_URL_STS={ssm.url}")
            print(f"  AWS_ACCESS_KEY_ID={EMULATOR_AWS_ACCESS_KEY_ID}")
            print(f"  AWS_SECRET_ACCESS_KEY={EMULATOR_AWS_SECRET_ACCESS_KEY}")
            tat_regions = ",".join(args.tat_regions)
            print(f"TAT emulator: {tat.url}  endpoint=127.0.0.1:{tat.port}  regions={tat_regions}")
            print(
                f"  commands per region: ssm={ssm_per_region} tat={tat_per_region}; "
                f"latency={args.latency}s; rate limit: tat={args.rate_limit} "
                f"ssm={args.ssm_rate_limit}; ready in {time.monotonic() - started:.1f}s"
            )
            ssm_history = sum(len(ssm._invocations.records(r)) for r in args.regions)
            tat_history = sum(len(tat._invocations.records(r)) for r in args.tat_regions)
            tat_tasks = sum(len(tat._tasks.records(r)) for r in args.tat_regions)
            print(
                f"  history: ssm invocations={ssm_history}; "
                f"tat invocations={tat_history} tasks={tat_tasks}"
            )
            print(f"  stats: GET {ssm.url}/_emulator/stats, GET {tat.url}/_emulator/stats")
            if args.accounts > 1:
                # Test-only keys of local emulators, printed on purpose for demos.
                print("ACCOUNTS " + json.dumps(accounts))
            if args.ready_file is not None:
                _write_ready_file(
                    args.ready_file, {"ssm": ssm.url, "tat": tat.url, "accounts": accounts}
                )
            print(
                f"  secret_id={EMULATOR_TAT_SECRET_ID} secret_key={EMULATOR_TAT_SECRET_KEY}",
                flush=True,
            )
            while not stop.wait(0.5):
                pass
    finally:
        if args.ready_file is not None:
            with contextlib.suppress(OSError):
                args.ready_file.unlink(missing_ok=True)
    print("emulators stopped", flush=True)


if __name__ == "__main__":
    main()
