"""Run both emulators with sample data until SIGTERM/SIGINT.

Example:
    python -m tests.emulators --ssm-port 9000 --tat-port 9001 \
        --regions us-east-1,eu-west-1 --tat-regions ap-guangzhou,ap-singapore --per-region 150
"""

from __future__ import annotations

import argparse
import signal
import threading
from datetime import UTC, datetime
from types import FrameType

from .credentials import (
    EMULATOR_AWS_ACCESS_KEY_ID,
    EMULATOR_AWS_SECRET_ACCESS_KEY,
    EMULATOR_TAT_SECRET_ID,
    EMULATOR_TAT_SECRET_KEY,
)
from .sample_data import DEFAULT_SEED, populate_ssm, populate_tat
from .ssm import SSMEmulator
from .tat import TATEmulator


def _region_list(text: str) -> list[str]:
    return [region.strip() for region in text.split(",") if region.strip()]


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
    parser.add_argument("--per-region", type=int, default=150, help="commands created per region")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="sample data seed")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Start the emulators, print how to reach them, and serve until signalled."""
    args = _parse_args(argv)
    now = datetime.now(UTC)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with SSMEmulator(port=args.ssm_port) as ssm, TATEmulator(port=args.tat_port) as tat:
        populate_ssm(ssm, args.regions, args.per_region, now=now, seed=args.seed)
        populate_tat(tat, args.tat_regions, args.per_region, now=now, seed=args.seed)
        print(f"SSM/STS emulator: {ssm.url}  regions={','.join(args.regions)}")
        print(f"  AWS_ENDPOINT_URL_SSM={ssm.url} AWS_ENDPOINT_URL_STS={ssm.url}")
        print(f"  AWS_ACCESS_KEY_ID={EMULATOR_AWS_ACCESS_KEY_ID}")
        print(f"  AWS_SECRET_ACCESS_KEY={EMULATOR_AWS_SECRET_ACCESS_KEY}")
        tat_regions = ",".join(args.tat_regions)
        print(f"TAT emulator: {tat.url}  endpoint=127.0.0.1:{tat.port}  regions={tat_regions}")
        print(
            f"  secret_id={EMULATOR_TAT_SECRET_ID} secret_key={EMULATOR_TAT_SECRET_KEY}", flush=True
        )
        while not stop.wait(0.5):
            pass
    print("emulators stopped", flush=True)


if __name__ == "__main__":
    main()
