"""AWS Organizations listings (JSON 1.1) and Account ListRegions (rest-json) for the SSM emulator.

Only what account discovery needs: ListAccounts, ListAccountsForParent,
ListOrganizationalUnitsForParent and Account ListRegions, with the paging the
references allow at their least convenient (see README: the first page of every
Organizations listing is empty but carries a NextToken).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .base import Reply

ORGANIZATIONS_TARGET_PREFIX = "AWSOrganizationsV20161128"
ORGANIZATIONS_CONTENT_TYPE = "application/x-amz-json-1.1"
REST_JSON_CONTENT_TYPE = "application/json"
ORG_ACTIONS = frozenset(
    {"ListAccounts", "ListAccountsForParent", "ListOrganizationalUnitsForParent"}
)
# Organizations MaxResults is 1..20 (botocore model); Account ListRegions 1..50.
ORG_MAX_RESULTS = 20
# The service picks the page size when MaxResults is absent; the reference names none.
ORG_DEFAULT_PAGE = 10
REGIONS_MAX_RESULTS = 50
REGIONS_DEFAULT_PAGE = 20
ACCOUNT_STATES = frozenset(
    {"PENDING_ACTIVATION", "ACTIVE", "SUSPENDED", "PENDING_CLOSURE", "CLOSED"}
)
# Status (to be retired 2026-09-09 per the model) has fewer values than State.
_STATUS_OF_STATE = {
    "ACTIVE": "ACTIVE",
    "SUSPENDED": "SUSPENDED",
    "PENDING_CLOSURE": "PENDING_CLOSURE",
    # Closed accounts were long shown as SUSPENDED; PENDING_ACTIVATION has no Status.
    "CLOSED": "SUSPENDED",
}
AWS_REGION_STATES = frozenset(
    {"ENABLED", "ENABLED_BY_DEFAULT", "DISABLED", "ENABLING", "DISABLING"}
)
ORGANIZATION_ID = "o-emulator01"
ROOT_ID = "r-emu0"
# A fixed join time: the listings must be deterministic.
JOINED = datetime(2024, 1, 1, tzinfo=UTC)


class AwsApiError(Exception):
    """An error answer of Organizations or Account."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclass
class Organization:
    """An emulated AWS organization.

    Attributes:
        management_account: The management account.
        accounts: Member accounts (management included) -> State.
        delegated_admins: Accounts that may list the organization too.
        parents: Account -> OU id (absent: the root).
        ous: OU id -> parent OU id (absent or not an OU: the root).
    """

    management_account: str
    accounts: dict[str, str]
    delegated_admins: frozenset[str] = frozenset()
    parents: dict[str, str] = field(default_factory=dict)
    ous: dict[str, str] = field(default_factory=dict)

    def parent_of_ou(self, ou: str) -> str:
        """An OU's parent id (the root id when its parent is no known OU)."""
        parent = self.ous.get(ou, ROOT_ID)
        return parent if parent in self.ous else ROOT_ID

    def parent_of_account(self, account: str) -> str:
        """An account's parent id (the root id unless it sits in a known OU)."""
        parent = self.parents.get(account, ROOT_ID)
        return parent if parent in self.ous else ROOT_ID

    def may_list(self, caller: str) -> bool:
        """Only the management account and delegated administrators may list."""
        return caller == self.management_account or caller in self.delegated_admins


def build_organization(
    management_account: str,
    accounts: dict[str, str],
    *,
    delegated_admins: Iterable[str] = (),
    parents: dict[str, str] | None = None,
    ous: dict[str, str] | None = None,
) -> Organization:
    """Validate and build an organization (the management account is always a member).

    Raises:
        ValueError: On an unknown account state.
    """
    members = {management_account: "ACTIVE", **accounts}
    bad = {a: s for a, s in members.items() if s not in ACCOUNT_STATES}
    if bad:
        raise ValueError(f"unknown account states {bad}; allowed: {sorted(ACCOUNT_STATES)}")
    return Organization(
        management_account,
        members,
        frozenset(delegated_admins),
        dict(parents or {}),
        dict(ous or {}),
    )


def _account_entry(org: Organization, account: str) -> dict[str, Any]:
    state = org.accounts[account]
    entry: dict[str, Any] = {
        "Id": account,
        "Arn": (
            f"arn:aws:organizations::{org.management_account}:account/{ORGANIZATION_ID}/{account}"
        ),
        "Email": f"aws+{account}@example.com",
        "Name": f"account-{account}",
        "State": state,
        "JoinedMethod": "CREATED" if account == org.management_account else "INVITED",
        "JoinedTimestamp": JOINED.timestamp(),
    }
    status = _STATUS_OF_STATE.get(state)
    if status is not None:
        entry["Status"] = status
    return entry


def _ou_entry(org: Organization, ou: str) -> dict[str, Any]:
    return {
        "Id": ou,
        "Arn": f"arn:aws:organizations::{org.management_account}:ou/{ORGANIZATION_ID}/{ou}",
        "Name": f"ou-name-{ou.rsplit('-', 1)[-1]}",
    }


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _token(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([offset, fingerprint]).encode()).decode()


def _offset(token: Any, fingerprint: str, error: AwsApiError) -> int:
    try:
        offset, bound = json.loads(base64.urlsafe_b64decode(str(token).encode()))
    except (ValueError, TypeError):
        raise error from None
    if bound != fingerprint or not isinstance(offset, int) or offset < 0:
        raise error
    return offset


def _org_page_size(params: dict[str, Any]) -> int:
    value = params.get("MaxResults")
    if value is None:
        return ORG_DEFAULT_PAGE
    if not isinstance(value, int) or not 1 <= value <= ORG_MAX_RESULTS:
        raise AwsApiError(
            "InvalidInputException",
            f"You provided a value for MaxResults outside the range 1-{ORG_MAX_RESULTS}.",
        )
    return value


def org_page(
    org: Organization | None, caller: str, action: str, params: dict[str, Any]
) -> dict[str, Any]:
    """Answer one page of an Organizations listing.

    The first page of every listing is empty with a NextToken: the reference says
    these operations "can occasionally return an empty set of results even when there
    are more results available", so the emulator always does it once.

    Raises:
        AwsApiError: On a caller outside the organization, a non-admin caller, bad
            input or an unknown parent.
    """
    if org is None or caller not in org.accounts:
        raise AwsApiError(
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        )
    if not org.may_list(caller):
        raise AwsApiError(
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
        )
    size = _org_page_size(params)
    items: list[dict[str, Any]]
    parent = params.get("ParentId")
    if action == "ListAccounts":
        items = [_account_entry(org, a) for a in sorted(org.accounts)]
    else:
        if not isinstance(parent, str) or not parent:
            raise AwsApiError("InvalidInputException", "You must specify a ParentId.")
        if parent != ROOT_ID and parent not in org.ous:
            raise AwsApiError(
                "ParentNotFoundException", "We can't find a root or OU with the ParentId."
            )
        if action == "ListAccountsForParent":
            items = [
                _account_entry(org, a)
                for a in sorted(org.accounts)
                if org.parent_of_account(a) == parent
            ]
        else:
            items = [_ou_entry(org, ou) for ou in sorted(org.ous) if org.parent_of_ou(ou) == parent]
    fingerprint = _fingerprint(action, parent, caller)
    token = params.get("NextToken")
    # Offset -1 stands for "the empty first page is behind us, start at 0".
    if token is None:
        return {_list_key(action): [], "NextToken": _token(0, fingerprint)}
    offset = _offset(
        token,
        fingerprint,
        AwsApiError("InvalidInputException", "The NextToken is not valid for this request."),
    )
    page = items[offset : offset + size]
    answer: dict[str, Any] = {_list_key(action): page}
    if offset + size < len(items):
        answer["NextToken"] = _token(offset + size, fingerprint)
    return answer


def _list_key(action: str) -> str:
    return "OrganizationalUnits" if action == "ListOrganizationalUnitsForParent" else "Accounts"


def org_reply(payload: dict[str, Any]) -> Reply:
    """A successful Organizations answer."""
    return Reply(
        200,
        json.dumps(payload).encode(),
        ORGANIZATIONS_CONTENT_TYPE,
        {"x-amzn-RequestId": str(uuid.uuid4())},
    )


def org_error(error: AwsApiError) -> Reply:
    """An Organizations error (JSON 1.1 ``__type``)."""
    body = json.dumps({"__type": error.code, "Message": error.message}).encode()
    return Reply(
        error.status,
        body,
        ORGANIZATIONS_CONTENT_TYPE,
        {"x-amzn-RequestId": str(uuid.uuid4())},
        error_code=error.code,
    )


def rest_error(error: AwsApiError) -> Reply:
    """An Account (rest-json) error: the code in ``x-amzn-ErrorType``."""
    body = json.dumps({"message": error.message}).encode()
    return Reply(
        error.status,
        body,
        REST_JSON_CONTENT_TYPE,
        {"x-amzn-RequestId": str(uuid.uuid4()), "x-amzn-ErrorType": error.code},
        error_code=error.code,
    )


def regions_page(
    regions: dict[str, str], params: dict[str, Any], fingerprint_of: str
) -> dict[str, Any]:
    """One page of Account ListRegions over an account's region states.

    Raises:
        AwsApiError: On bad MaxResults, filter values or NextToken.
    """
    size = params.get("MaxResults", REGIONS_DEFAULT_PAGE)
    if not isinstance(size, int) or not 1 <= size <= REGIONS_MAX_RESULTS:
        raise AwsApiError(
            "ValidationException",
            f"MaxResults must be between 1 and {REGIONS_MAX_RESULTS}.",
        )
    wanted = params.get("RegionOptStatusContains")
    if wanted is not None and (
        not isinstance(wanted, list) or any(w not in AWS_REGION_STATES for w in wanted)
    ):
        raise AwsApiError("ValidationException", "Invalid RegionOptStatusContains value.")
    items = [
        {"RegionName": name, "RegionOptStatus": state}
        for name, state in sorted(regions.items())
        if wanted is None or state in wanted
    ]
    fingerprint = _fingerprint("ListRegions", fingerprint_of, sorted(wanted or []))
    token = params.get("NextToken")
    offset = (
        0
        if token is None
        else _offset(token, fingerprint, AwsApiError("ValidationException", "Invalid NextToken."))
    )
    answer: dict[str, Any] = {"Regions": items[offset : offset + size]}
    if offset + size < len(items):
        answer["NextToken"] = _token(offset + size, fingerprint)
    return answer
