"""Verification of AWS SigV4 request signatures with botocore's own signer.

The request is rebuilt from what arrived (only the headers the client listed as
signed) and signed again by ``botocore.auth.SigV4Auth`` at the client's
``X-Amz-Date``, so a match proves botocore signed exactly what was received.
"""

from __future__ import annotations

import hmac
import re
from email.message import Message

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request,\s*SignedHeaders=(?P<signed>[^,\s]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


def sigv4_matches(
    method: str,
    path: str,
    headers: Message,
    body: bytes,
    secret: str,
    session_token: str | None = None,
) -> bool:
    """Whether the request's SigV4 signature was made with ``secret``.

    Args:
        method: HTTP method.
        path: Request target (path and query string).
        headers: The received headers.
        body: The received body.
        secret: The secret access key the signer should have used.
        session_token: The session token of temporary credentials, if any.

    Returns:
        True when botocore's signer, fed the same request, gives the same signature.
    """
    match = _AUTHORIZATION.match((headers.get("Authorization") or "").strip())
    amz_date = headers.get("X-Amz-Date")
    host = headers.get("Host")
    if match is None or not amz_date or not host:
        return False
    signed = match["signed"].split(";")
    rebuilt = AWSRequest(method=method, url=f"http://{host}{path}", data=body)
    for name in signed:
        value = headers.get(name)
        if value is None:
            return False
        rebuilt.headers[name] = value
    credentials = Credentials(match["key"], secret, session_token)
    signer = SigV4Auth(credentials, match["service"], match["region"])
    # The signer's clock is the client's: sign at the X-Amz-Date it sent.
    rebuilt.context["timestamp"] = amz_date
    canonical = signer.canonical_request(rebuilt)
    string_to_sign = signer.string_to_sign(rebuilt, canonical)
    expected = signer.signature(string_to_sign, rebuilt)
    return hmac.compare_digest(expected, match["signature"])
