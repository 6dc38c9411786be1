"""Fixtures: emulators on 127.0.0.1 and a tap configuration that points at them."""

from __future__ import annotations

import os
import typing as t
import urllib.request
from pathlib import Path

import botocore.retries.standard
import pytest

from tests.emulators import (
    EMULATOR_AWS_ACCESS_KEY_ID,
    EMULATOR_AWS_SECRET_ACCESS_KEY,
    EMULATOR_TAT_SECRET_ID,
    EMULATOR_TAT_SECRET_KEY,
    SSMEmulator,
    TATEmulator,
)

AWS_REGIONS = ["us-east-1", "eu-west-1"]
TENCENT_REGIONS = ["ap-guangzhou", "ap-singapore"]


@pytest.fixture
def ssm() -> t.Iterator[SSMEmulator]:
    with SSMEmulator() as emulator:
        yield emulator


@pytest.fixture
def tat() -> t.Iterator[TATEmulator]:
    with TATEmulator(credentials={EMULATOR_TAT_SECRET_ID: EMULATOR_TAT_SECRET_KEY}) as emulator:
        yield emulator


def emulator_config(ssm: SSMEmulator | None, tat: TATEmulator | None) -> dict[str, t.Any]:
    """Settings that point the tap at the given emulators (and only at them)."""
    config: dict[str, t.Any] = {"tencent_max_attempts": 3, "aws_max_attempts": 3}
    if ssm is not None:
        config |= {
            "aws_access_key_id": EMULATOR_AWS_ACCESS_KEY_ID,
            "aws_secret_access_key": EMULATOR_AWS_SECRET_ACCESS_KEY,
            "aws_regions": AWS_REGIONS,
            "aws_endpoint_url": ssm.url,
            "aws_sts_endpoint_url": ssm.url,
        }
    if tat is not None:
        config |= {
            "tencent_secret_id": EMULATOR_TAT_SECRET_ID,
            "tencent_secret_key": EMULATOR_TAT_SECRET_KEY,
            "tencent_regions": TENCENT_REGIONS,
            "tencent_endpoint_url": tat.url,
            "tencent_sts_endpoint_url": tat.url,
        }
    return config


@pytest.fixture
def config(ssm: SSMEmulator, tat: TATEmulator) -> dict[str, t.Any]:
    return emulator_config(ssm, tat)


@pytest.fixture
def moto_server() -> t.Iterator[str]:
    """moto's SSM server on 127.0.0.1, emptied first: its backends are process-wide."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))  # noqa: S310 - loopback only
    yield url
    server.stop()


# ---------------------------------------------------------------- fault-suite report
FAULT_REPORT: list[tuple[str, int, int, int, str]] = []


@pytest.fixture
def report() -> t.Callable[..., None]:
    """Add a row to the fault-injection table printed at the end of the run."""

    def add(scenario: str, *, runs: int, expected: int, delivered: int, ok: bool) -> None:
        FAULT_REPORT.append((scenario, runs, expected, delivered, "pass" if ok else "FAIL"))

    return add


def pytest_terminal_summary(terminalreporter: t.Any) -> None:
    if not FAULT_REPORT:
        return
    write = terminalreporter.write_line
    write("")
    write("| scenario | runs | records expected | records delivered | result |")
    write("|:--|--:|--:|--:|:--|")
    for scenario, runs, expected, delivered, result in FAULT_REPORT:
        write(f"| {scenario} | {runs} | {expected} | {delivered} | {result} |")


@pytest.fixture
def isolated_sdk_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """For in-process SDK clients: no developer AWS config, endpoint override or proxy.

    botocore keeps its real retry decisions, minus the sleeping.
    """
    for name in list(os.environ):
        if name.startswith("AWS_") or name.lower() in {"http_proxy", "https_proxy", "all_proxy"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(
        botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda *_: 0.0
    )


@pytest.fixture
def ssm_emulator() -> t.Iterator[SSMEmulator]:
    """An SSM emulator that must end the test without an emulator error."""
    with SSMEmulator() as emulator:
        yield emulator
        assert emulator.errors == []


@pytest.fixture
def tat_emulator() -> t.Iterator[TATEmulator]:
    """A TAT emulator that must end the test without an emulator error."""
    with TATEmulator() as emulator:
        yield emulator
        assert emulator.errors == []
