"""Verification of Tencent Cloud TC3-HMAC-SHA256 request signatures.

The canonical request is rebuilt the way tencentcloud-sdk-python's
``AbstractClient._get_tc3_signature`` builds it, and signed with the SDK's own
``Sign.sign_tc3``, so a passing check proves the SDK signed what we received.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message

from tencentcloud.common.sign import Sign

ALGORITHM = "TC3-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_AUTHORIZATION = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<secret_id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})"
    r"/(?P<service>[^/]+)/tc3_request,"
    r"\s*SignedHeaders=(?P<signed_headers>[a-z0-9;-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Tc3Authorization:
    """The parts of a TC3 ``Authorization`` header."""

    secret_id: str
    date: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str | None) -> Tc3Authorization | None:
    """Split a TC3 ``Authorization`` header; None when it is missing or malformed."""
    match = _AUTHORIZATION.match((value or "").strip())
    if match is None:
        return None
    return Tc3Authorization(
        secret_id=match["secret_id"],
        date=match["date"],
        service=match["service"],
        signed_headers=tuple(match["signed_headers"].split(";")),
        signature=match["signature"],
    )


def canonical_request(
    method: str, path: str, headers: Message, signed_headers: tuple[str, ...], body: bytes
) -> str:
    """Rebuild the canonical request the client signed.

    Args:
        method: HTTP method.
        path: Request target, possibly with a query string.
        headers: The received headers (the SDK signs its Host header value, e.g. "127.0.0.1:PORT").
        signed_headers: Lower-case header names listed in SignedHeaders.
        body: The raw request body.

    Returns:
        The canonical request text.
    """
    uri, _, query = path.partition("?")
    # Tencent's rule is "lower-case and trimmed"; the SDK's values already are, so this
    # stays byte-identical to what the SDK signed.
    canonical_headers = "".join(
        f"{name}:{(headers.get(name) or '').strip().lower()}\n" for name in signed_headers
    )
    payload = (
        UNSIGNED_PAYLOAD.encode()
        if headers.get("X-TC-Content-SHA256") == UNSIGNED_PAYLOAD
        else body
    )
    return "\n".join(
        [
            method,
            uri or "/",
            query,
            canonical_headers,
            ";".join(signed_headers),
            hashlib.sha256(payload).hexdigest(),
        ]
    )


def string_to_sign(timestamp: str, date: str, service: str, canonical: str) -> str:
    """The TC3 string to sign."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{digest}"


def signature_matches(
    auth: Tc3Authorization,
    secret_key: str,
    method: str,
    path: str,
    headers: Message,
    body: bytes,
    timestamp: str,
) -> bool:
    """Tell whether the request's signature is the one ``secret_key`` produces.

    The scope date must also be the UTC date of the timestamp, as the SDK derives it.
    """
    try:
        expected_date = datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d")
    except (ValueError, OverflowError, OSError):
        return False
    if auth.date != expected_date:
        return False
    canonical = canonical_request(method, path, headers, auth.signed_headers, body)
    expected = Sign.sign_tc3(
        secret_key,
        auth.date,
        auth.service,
        string_to_sign(timestamp, auth.date, auth.service, canonical),
    )
    return hmac.compare_digest(str(expected), auth.signature)
