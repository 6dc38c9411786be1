"""Local HTTP emulators of AWS SSM (+STS) and Tencent Cloud TAT for tests.

They speak the real wire protocols, so tests drive the real boto3 and
tencentcloud-sdk-python clients against them on 127.0.0.1.
"""

from __future__ import annotations

from .base import Call, EmulatorServer
from .credentials import (
    EMULATOR_AWS_ACCESS_KEY_ID,
    EMULATOR_AWS_ACCOUNT_ID,
    EMULATOR_AWS_SECRET_ACCESS_KEY,
    EMULATOR_TAT_SECRET_ID,
    EMULATOR_TAT_SECRET_KEY,
    EMULATOR_TENCENT_ACCOUNT_ID,
)
from .faults import Fault
from .sample_data import populate_ssm, populate_tat
from .ssm import SSMEmulator
from .tat import TATEmulator

__all__ = [
    "EMULATOR_AWS_ACCESS_KEY_ID",
    "EMULATOR_AWS_ACCOUNT_ID",
    "EMULATOR_AWS_SECRET_ACCESS_KEY",
    "EMULATOR_TAT_SECRET_ID",
    "EMULATOR_TAT_SECRET_KEY",
    "EMULATOR_TENCENT_ACCOUNT_ID",
    "Call",
    "EmulatorServer",
    "Fault",
    "SSMEmulator",
    "TATEmulator",
    "populate_ssm",
    "populate_tat",
]
