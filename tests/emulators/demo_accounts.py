"""Several accounts per cloud for demos and the CLI (``python -m tests.emulators --accounts N``).

Each non-default account gets its own keys, sample data and a role
``cloudcommands-reader`` that the default account may assume with the ExternalId
``cloudcommands-demo``; the default AWS account manages an organization of them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .credentials import (
    EMULATOR_AWS_ACCESS_KEY_ID,
    EMULATOR_AWS_ACCOUNT_ID,
    EMULATOR_AWS_SECRET_ACCESS_KEY,
    EMULATOR_TAT_SECRET_ID,
    EMULATOR_TAT_SECRET_KEY,
    EMULATOR_TENCENT_ACCOUNT_ID,
)

if TYPE_CHECKING:
    from .ssm import SSMEmulator
    from .tat import TATEmulator

ROLE_NAME = "cloudcommands-reader"
EXTERNAL_ID = "cloudcommands-demo"


def aws_account_id(index: int) -> str:
    """The AWS account id of the index-th account (0 = the default account)."""
    return EMULATOR_AWS_ACCOUNT_ID if index == 0 else f"{200000000000 + index:012d}"


def tencent_account_id(index: int) -> str:
    """The Tencent UIN of the index-th account (0 = the default account)."""
    return (
        EMULATOR_TENCENT_ACCOUNT_ID if index == 0 else str(int(EMULATOR_TENCENT_ACCOUNT_ID) + index)
    )


def add_demo_accounts(
    ssm: SSMEmulator,
    tat: TATEmulator,
    count: int,
    *,
    fill_ssm: Callable[[str, int], None] | None = None,
    fill_tat: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Add ``count - 1`` accounts per cloud next to the default one, with roles and an organization.

    Args:
        ssm: The AWS emulator.
        tat: The Tencent emulator.
        count: Accounts per cloud, the default account included.
        fill_ssm: Called with (account id, index) for each new AWS account, to fill it.
        fill_tat: Called with (UIN, index) for each new Tencent account, to fill it.

    Returns:
        JSON-ready description: per cloud the endpoint, and per account its id, keys
        and the role to assume (None for the default account).
    """
    aws_accounts: list[dict[str, Any]] = [
        {
            "account_id": EMULATOR_AWS_ACCOUNT_ID,
            "access_key_id": EMULATOR_AWS_ACCESS_KEY_ID,
            "secret_access_key": EMULATOR_AWS_SECRET_ACCESS_KEY,
            "role_arn": None,
            "external_id": None,
        }
    ]
    tencent_accounts: list[dict[str, Any]] = [
        {
            "account_id": EMULATOR_TENCENT_ACCOUNT_ID,
            "secret_id": EMULATOR_TAT_SECRET_ID,
            "secret_key": EMULATOR_TAT_SECRET_KEY,
            "role_arn": None,
            "external_id": None,
        }
    ]
    for index in range(1, count):
        account = aws_account_id(index)
        key, secret = ssm.add_account(account)
        role = f"arn:aws:iam::{account}:role/{ROLE_NAME}"
        ssm.add_role(role, external_id=EXTERNAL_ID, trusted=[EMULATOR_AWS_ACCOUNT_ID])
        if fill_ssm is not None:
            fill_ssm(account, index)
        aws_accounts.append(
            {
                "account_id": account,
                "access_key_id": key,
                "secret_access_key": secret,
                "role_arn": role,
                "external_id": EXTERNAL_ID,
            }
        )
        uin = tencent_account_id(index)
        secret_id, secret_key = tat.add_account(uin)
        tencent_role = f"qcs::cam::uin/{uin}:roleName/{ROLE_NAME}"
        tat.add_role(tencent_role, external_id=EXTERNAL_ID, trusted=[EMULATOR_TENCENT_ACCOUNT_ID])
        if fill_tat is not None:
            fill_tat(uin, index)
        tencent_accounts.append(
            {
                "account_id": uin,
                "secret_id": secret_id,
                "secret_key": secret_key,
                "role_arn": tencent_role,
                "external_id": EXTERNAL_ID,
            }
        )
    ssm.set_organization(
        EMULATOR_AWS_ACCOUNT_ID, {a["account_id"]: "ACTIVE" for a in aws_accounts[1:]}
    )
    return {
        "aws": {
            "endpoint_url": ssm.url,
            "organization": {"management_account": EMULATOR_AWS_ACCOUNT_ID},
            "member_role_name": ROLE_NAME,
            "accounts": aws_accounts,
        },
        "tencent": {"endpoint": f"127.0.0.1:{tat.port}", "accounts": tencent_accounts},
    }
