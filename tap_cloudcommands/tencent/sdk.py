"""The Tencent SDK's TAT client, with two per-call costs paid once or not at all.

Eight regions paged at 20 calls/s each keep one interpreter busy, and about a third of
the CPU a page cost went to two things the tap does not need (BENCHMARKS.md):

- ``AbstractClient.call`` parses every JSON answer with ``json.loads`` only to look for
  ``Response.Error``, then returns the raw body. ``TencentConnector.call`` decodes that
  body once (msgspec) and raises the same ``TencentCloudSDKException`` for an Error
  object, so the SDK's own parse is skipped.
- The SDK's ``requests`` session re-reads the environment on every call (proxy variables
  and their bypass list, twice, and ``~/.netrc``). The environment of a run does not
  change, so the proxies ``requests`` would pick are resolved once per client with
  ``requests``' own function, and the per-call lookups are turned off. A ``.netrc`` entry
  can no longer replace the signed ``Authorization`` header with Basic auth.

Both reach into SDK internals and degrade safely: if the SDK renames them, the client
falls back to the SDK's own behaviour, which is slower but equally correct.
"""

from __future__ import annotations

import typing as t

import requests
from tencentcloud.cloudaudit.v20190319 import cloudaudit_client
from tencentcloud.tat.v20201028 import tat_client

if t.TYPE_CHECKING:
    from tencentcloud.common.profile.client_profile import ClientProfile

    from tap_cloudcommands.clock import ServerClock


class CallerChecked:
    """The two savings for any SDK client: body left to the caller, environment read once.

    Listed before the SDK's client class in the bases.
    """

    request: t.Any

    def __init__(
        self,
        credential: t.Any,  # noqa: ANN401 - the SDK's credential classes share no base
        region: str,
        profile: ClientProfile,
        *,
        clock: ServerClock | None = None,
    ) -> None:
        """Create the SDK client and resolve its environment settings once.

        Args:
            credential: An SDK credential object.
            region: A Tencent Cloud region (for CloudAudit, the region queried).
            profile: The client profile (endpoint, timeout, language).
            clock: Told the Date header of the answers.
        """
        super().__init__(credential, region, profile)  # type: ignore[call-arg]
        self.clock = clock
        resolve_environment_once(self.request)

    def _check_error(self, resp: requests.Response) -> None:
        """Leave the body to the caller, which decodes it once and raises its Error.

        Only the answer's Date goes to the clock (the bookmark ceiling needs it).

        Args:
            resp: The HTTP response; its status was checked already.
        """
        if self.clock is not None:
            self.clock.observe(resp.headers.get("Date"))


# The SDK has no type hints, so its classes are Any to mypy.
class TatClient(CallerChecked, tat_client.TatClient):  # type: ignore[misc]
    """A TAT client whose caller checks each answer's body itself."""


class CloudAuditClient(CallerChecked, cloudaudit_client.CloudauditClient):  # type: ignore[misc]
    """A CloudAudit client with the same two savings as :class:`TatClient`."""


def resolve_environment_once(api_request: t.Any) -> None:  # noqa: ANN401 - the SDK's ApiRequest
    """Give the SDK's session fixed proxies from the environment and stop per-call lookups.

    Args:
        api_request: The SDK client's ``request`` (an ``ApiRequest``).
    """
    session = getattr(getattr(api_request, "conn", None), "_session", None)
    host = getattr(api_request, "host", None)
    if not isinstance(session, requests.Session) or not isinstance(host, str):
        return
    scheme = "http" if getattr(api_request, "is_http", False) else "https"
    # The SDK passes its own proxy (profile or HTTP(S)_PROXY) with each call; those still
    # win over the session's, exactly as they won over the environment's before.
    session.proxies.update(requests.utils.get_environ_proxies(f"{scheme}://{host}"))
    session.trust_env = False
