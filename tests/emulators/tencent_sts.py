"""Tencent Cloud STS (2018-08-13) AssumeRole / GetCallerIdentity and TAT DescribeRegions answers.

Pure functions from the caller's registered key to the answer payload; the TAT
emulator routes TC3 requests signed for service ``sts`` here.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .accounts import AccountRegistry, KeyInfo

STS_SERVICE = "sts"
STS_VERSION = "2018-08-13"
TENCENT_REGION_STATES = frozenset({"AVAILABLE", "UNAVAILABLE"})
# Region states of a new account (TAT DescribeRegions), until set_regions.
DEFAULT_TENCENT_REGIONS = {
    "ap-guangzhou": "AVAILABLE",
    "ap-shanghai": "AVAILABLE",
    "ap-singapore": "AVAILABLE",
    "na-ashburn": "UNAVAILABLE",
}
REGION_NAMES = {
    "ap-guangzhou": "South China(Guangzhou)",
    "ap-shanghai": "East China(Shanghai)",
    "ap-singapore": "Southeast Asia(Singapore)",
    "ap-beijing": "North China(Beijing)",
    "ap-hongkong": "Hong Kong, Macau and Taiwan (China)(Hong Kong, China)",
    "na-ashburn": "US East(Virginia)",
    "eu-frankfurt": "Europe(Frankfurt)",
}
# The AssumeRole reference: DurationSeconds default 7200, maximum 43200;
# RoleSessionName 2-128 characters of [\w+=,.@-].
DEFAULT_DURATION_SECONDS = 7200
MAX_DURATION_SECONDS = 43200
ROLE_ARN_PATTERN = re.compile(r"^qcs::cam::uin/(\d+):roleName/([\w+=,.@-]+)$")
SESSION_NAME_PATTERN = re.compile(r"^[\w+=,.@-]{2,128}$")


class TencentApiError(Exception):
    """A Tencent Cloud API error (Response.Error)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _iso_z(info: KeyInfo) -> str:
    assert info.expiration is not None
    return info.expiration.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def assume_role(
    registry: AccountRegistry, caller: KeyInfo | None, params: dict[str, Any]
) -> dict[str, Any]:
    """Answer AssumeRole: temporary credentials of the role's account.

    Raises:
        TencentApiError: ``InvalidParameter.ParamError`` on bad input,
            ``ResourceNotFound.RoleNotFound`` for an unknown role,
            ``UnauthorizedOperation`` when the caller is not trusted or the ExternalId
            is wrong or missing (error codes of tencentcloud-sdk-python-sts
            ``v20180813/errorcodes.py``; the reference names no ExternalId-specific one).
    """
    role_arn = params.get("RoleArn")
    session_name = params.get("RoleSessionName")
    if not isinstance(role_arn, str) or ROLE_ARN_PATTERN.match(role_arn) is None:
        raise TencentApiError("InvalidParameter.ParamError", f"RoleArn {role_arn!r} is invalid.")
    if not isinstance(session_name, str) or SESSION_NAME_PATTERN.match(session_name) is None:
        raise TencentApiError(
            "InvalidParameter.ParamError", "RoleSessionName must match [\\w+=,.@-]{2,128}."
        )
    duration = params.get("DurationSeconds", DEFAULT_DURATION_SECONDS)
    if not isinstance(duration, int) or not 0 < duration <= MAX_DURATION_SECONDS:
        raise TencentApiError(
            "InvalidParameter.OverTimeError",
            f"DurationSeconds must be between 1 and {MAX_DURATION_SECONDS}.",
        )
    if caller is not None and caller.temporary:
        # Role chaining is not emulated; the error list has a code for exactly this.
        raise TencentApiError(
            "FailedOperation.TempKeyNotAllowed", "Temporary credentials cannot call this API."
        )
    role = registry.role(role_arn)
    if role is None:
        raise TencentApiError("ResourceNotFound.RoleNotFound", f"Role {role_arn} not found.")
    caller_account = caller.account if caller is not None else registry.default_account
    if not registry.may_assume(role, caller_account) or (
        role.external_id is not None and params.get("ExternalId") != role.external_id
    ):
        raise TencentApiError(
            "UnauthorizedOperation",
            f"uin {caller_account} is not authorized to assume role {role_arn}.",
        )
    info = registry.issue(
        role,
        session_name,
        duration,
        token_prefix="emu-token-",
        key_prefix="AKID",
        assumed_by=caller_account,
    )
    return {
        "Credentials": {
            "Token": info.session_token,
            "TmpSecretId": info.key_id,
            "TmpSecretKey": info.secret,
        },
        "ExpiredTime": int(info.expiration.timestamp()) if info.expiration else 0,
        "Expiration": _iso_z(info),
    }


def caller_identity(registry: AccountRegistry, caller: KeyInfo | None) -> dict[str, Any]:
    """Answer GetCallerIdentity for a base key (the root account) or a role session."""
    if caller is not None and caller.temporary:
        # The reference: UserId is roleId:roleSessionName, PrincipalId the UIN of the
        # account that asked for the role's credentials, Type CAMRole (its example).
        account = caller.account
        return {
            "Arn": f"qcs::sts:{account}:assumed-role/{caller.principal_id}",
            "AccountId": account,
            "UserId": f"{caller.principal_id}:{caller.session_name}",
            "PrincipalId": caller.assumed_by or account,
            "Type": "CAMRole",
        }
    account = caller.account if caller is not None else registry.default_account
    return {
        "Arn": f"qcs::cam::uin/{account}:uin/{account}",
        "AccountId": account,
        "UserId": account,
        "PrincipalId": account,
        "Type": "RootAccount",
    }


def describe_regions(states: dict[str, str]) -> dict[str, Any]:
    """Answer TAT DescribeRegions: every region of the account, UNAVAILABLE ones too."""
    region_set = [
        {"Region": region, "RegionName": REGION_NAMES.get(region, region), "RegionState": state}
        for region, state in sorted(states.items())
    ]
    return {"TotalCount": len(region_set), "RegionSet": region_set}
