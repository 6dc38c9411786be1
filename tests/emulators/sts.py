"""A minimal STS (query protocol, XML answers) for assume-role tests.

Only AssumeRole and GetCallerIdentity are emulated; the XML mirrors what AWS STS
answers so botocore's query parser reads it unchanged.
"""

from __future__ import annotations

import random
import re
import string
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .base import Reply

STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
XML_CONTENT_TYPE = "text/xml"
ROLE_ARN_PATTERN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)$")
SESSION_NAME_PATTERN = re.compile(r"^[\w+=,.@-]{2,64}$")
MIN_DURATION_SECONDS = 900
MAX_DURATION_SECONDS = 43200
DEFAULT_DURATION_SECONDS = 3600
_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
# System randomness: issued keys must not collide across emulators or test runs.
_random = random.SystemRandom()


@dataclass(frozen=True)
class IssuedCredentials:
    """Temporary credentials handed out by AssumeRole, and what they were issued for."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    role_arn: str
    role_session_name: str
    external_id: str | None
    assumed_role_id: str
    assumed_role_arn: str


class StsError(Exception):
    """An STS error answer."""

    def __init__(
        self, code: str, message: str, status: int = 400, fault_type: str = "Sender"
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fault_type = fault_type


def _random_text(alphabet: str, length: int) -> str:
    return "".join(_random.choice(alphabet) for _ in range(length))


def _xml(root: ET.Element) -> bytes:
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=False))


def _child(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def error_reply(error: StsError) -> Reply:
    """Render an STS error as AWS does (``ErrorResponse`` XML)."""
    root = ET.Element("ErrorResponse", {"xmlns": STS_NAMESPACE})
    detail = _child(root, "Error")
    _child(detail, "Type", error.fault_type)
    _child(detail, "Code", error.code)
    _child(detail, "Message", error.message)
    _child(root, "RequestId", str(uuid.uuid4()))
    return Reply(error.status, _xml(root), XML_CONTENT_TYPE, error_code=error.code)


def issue_credentials(params: dict[str, str], now: datetime) -> IssuedCredentials:
    """Validate AssumeRole parameters and mint temporary credentials.

    Args:
        params: The form parameters (RoleArn, RoleSessionName, ExternalId, DurationSeconds).
        now: The issue time.

    Returns:
        The new credentials.

    Raises:
        StsError: On an invalid parameter.
    """
    role_arn = params.get("RoleArn", "")
    session_name = params.get("RoleSessionName", "")
    match = ROLE_ARN_PATTERN.match(role_arn)
    if match is None:
        raise StsError("ValidationError", f"{role_arn} is invalid")
    if not SESSION_NAME_PATTERN.match(session_name):
        raise StsError(
            "ValidationError",
            f"1 validation error detected: Value '{session_name}' at 'roleSessionName' "
            "failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        )
    try:
        duration = int(params.get("DurationSeconds", DEFAULT_DURATION_SECONDS))
    except ValueError:
        raise StsError("ValidationError", "DurationSeconds must be an integer") from None
    if not MIN_DURATION_SECONDS <= duration <= MAX_DURATION_SECONDS:
        raise StsError(
            "ValidationError",
            "The requested DurationSeconds exceeds the allowed range "
            f"{MIN_DURATION_SECONDS}-{MAX_DURATION_SECONDS}",
        )
    account_id, role_name = match.group(1), match.group(2)
    return IssuedCredentials(
        access_key_id="ASIA" + _random_text(_KEY_ALPHABET, 16),
        secret_access_key=_random_text(_SECRET_ALPHABET, 40),
        session_token="FwoGZXIvYXdzE" + _random_text(_SECRET_ALPHABET, 300),
        expiration=(now + timedelta(seconds=duration)).replace(microsecond=0),
        role_arn=role_arn,
        role_session_name=session_name,
        external_id=params.get("ExternalId"),
        assumed_role_id=f"AROA{_random_text(_KEY_ALPHABET, 17)}:{session_name}",
        assumed_role_arn=f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}",
    )


def iso8601_z(value: datetime) -> str:
    """Format like STS: ``2026-01-01T12:00:00Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def assume_role_reply(credentials: IssuedCredentials) -> Reply:
    """Render a successful AssumeRole answer."""
    root = ET.Element("AssumeRoleResponse", {"xmlns": STS_NAMESPACE})
    result = _child(root, "AssumeRoleResult")
    issued = _child(result, "Credentials")
    _child(issued, "AccessKeyId", credentials.access_key_id)
    _child(issued, "SecretAccessKey", credentials.secret_access_key)
    _child(issued, "SessionToken", credentials.session_token)
    _child(issued, "Expiration", iso8601_z(credentials.expiration))
    user = _child(result, "AssumedRoleUser")
    _child(user, "AssumedRoleId", credentials.assumed_role_id)
    _child(user, "Arn", credentials.assumed_role_arn)
    metadata = _child(root, "ResponseMetadata")
    _child(metadata, "RequestId", str(uuid.uuid4()))
    return Reply(200, _xml(root), XML_CONTENT_TYPE)


def caller_identity_reply(user_id: str, account: str, arn: str) -> Reply:
    """Render a successful GetCallerIdentity answer."""
    root = ET.Element("GetCallerIdentityResponse", {"xmlns": STS_NAMESPACE})
    result = _child(root, "GetCallerIdentityResult")
    _child(result, "UserId", user_id)
    _child(result, "Account", account)
    _child(result, "Arn", arn)
    metadata = _child(root, "ResponseMetadata")
    _child(metadata, "RequestId", str(uuid.uuid4()))
    return Reply(200, _xml(root), XML_CONTENT_TYPE)
