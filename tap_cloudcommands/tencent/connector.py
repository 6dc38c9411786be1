"""Tencent Cloud connector: one account's TAT clients per region, rate limits, retries, scans.

Roles of other accounts are assumed with renewing credentials; STS says which account an
identity is, DescribeRegions which regions TAT serves it in.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import typing as t
from functools import cached_property
from urllib.parse import urlsplit

import backoff
import msgspec
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sts.v20180813.sts_client import StsClient

from tap_cloudcommands.clock import ServerClock
from tap_cloudcommands.errors import CloudAPIError, CloudAuthError, Redactor
from tap_cloudcommands.rate_limit import SlidingWindowRateLimiter
from tap_cloudcommands.scope import AccountEntry, RoleSpec, is_pattern, listed_entries
from tap_cloudcommands.tencent.scan import OffsetScan, Page, ScanStoppedError
from tap_cloudcommands.tencent.sdk import CloudAuditClient, TatClient

if t.TYPE_CHECKING:
    import datetime as dt
    import logging
    from collections.abc import Callable, Mapping

CLOUD = "Tencent Cloud"
# Region of STS calls and of DescribeRegions when no region is named.
GLOBAL_REGION = "ap-guangzhou"
# Assumed-role credentials are renewed this long before they expire.
REFRESH_MARGIN_SECONDS = 300
TAT_MAX_PAGE_SIZE = 100
DEFAULT_REQUESTS_PER_SECOND = 20
DEFAULT_MAX_ATTEMPTS = 5
REQUEST_TIMEOUT_SECONDS = 60

RETRYABLE_CODES = (
    "RequestLimitExceeded",
    "InternalError",
    "ClientNetworkError",
    "ServerNetworkError",
)
AUTH_CODE_PREFIXES = ("AuthFailure", "UnauthorizedOperation")
AUTH_HINT = (
    "check tencent_secret_id/tencent_secret_key/tencent_token and that the CAM policy "
    "allows tat:DescribeCommands, tat:DescribeInvocations and tat:DescribeInvocationTasks"
)


class TransientResponseError(Exception):
    """A response that may come out right when the call is repeated."""

    def __init__(self, code: str, message: str) -> None:
        """Keep the code and message the final error will report.

        Args:
            code: A short name for the fault.
            message: What was wrong with the response.
        """
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def is_retryable(exc: Exception) -> bool:
    """Tell whether a failed TAT call is worth repeating.

    Args:
        exc: What the call raised.

    Returns:
        True for throttling, internal errors, network faults and malformed bodies.
    """
    if isinstance(exc, TransientResponseError):
        return True
    code = str(getattr(exc, "code", "") or "")
    return code.startswith(RETRYABLE_CODES)


def _credentials_error(exc: TencentCloudSDKException, message: str, hint: str) -> CloudAuthError:
    return CloudAuthError(
        cloud=CLOUD,
        region="-",
        operation="credentials",
        code=str(exc.code),
        message=message,
        hint=hint,
    )


@dataclasses.dataclass(frozen=True)
class TemporaryKeys:
    """One set of STS credentials."""

    secret_id: str
    secret_key: str
    token: str
    expires_at: float


class RoleCredential:
    """A CAM role's temporary credentials, renewed before they expire.

    The SDK's ``STSAssumeRoleCredential`` cannot pass ``ExternalId`` and only speaks to
    the public STS endpoint over HTTPS; this one takes a function that calls AssumeRole
    (through the tap's STS endpoint, with ExternalId) and offers what the SDK's clients
    read: ``get_credential_info()`` and the key properties.
    """

    def __init__(self, assume: Callable[[], TemporaryKeys]) -> None:
        """Assume nothing yet: the first use does.

        Args:
            assume: Calls STS AssumeRole and returns the new keys.
        """
        self._assume = assume
        self._keys: TemporaryKeys | None = None
        self._lock = threading.Lock()

    def get_credential_info(self) -> tuple[str, str, str]:
        """The current keys, renewed first when they expire within the margin.

        Returns:
            SecretId, SecretKey, Token.
        """
        with self._lock:
            keys = self._keys
            if keys is None or keys.expires_at - time.time() < REFRESH_MARGIN_SECONDS:
                keys = self._keys = self._assume()
        return keys.secret_id, keys.secret_key, keys.token

    def renew(self) -> None:
        """Forget the keys (the cloud said they expired): the next use assumes again."""
        with self._lock:
            self._keys = None

    @property
    def secret_id(self) -> str:
        """SecretId (the SDK reads it for signing)."""
        return self.get_credential_info()[0]

    @property
    def secret_key(self) -> str:
        """SecretKey."""
        return self.get_credential_info()[1]

    @property
    def token(self) -> str:
        """Token."""
        return self.get_credential_info()[2]

    secretId = secret_id  # noqa: N815 - the SDK's older spelling
    secretKey = secret_key  # noqa: N815


class TencentConnector:
    """Builds TAT clients per region and calls them within the rate limit, with retries."""

    # Seconds of the first retry pause (full jitter, doubling up to 20 s).
    retry_base_seconds: t.ClassVar[float] = 0.5

    def __init__(
        self,
        config: Mapping[str, t.Any],
        logger: logging.Logger,
        *,
        role: RoleSpec | None = None,
        source: TencentConnector | None = None,
    ) -> None:
        """Keep the settings; nothing is called until a client is needed.

        Args:
            config: The tap's settings.
            logger: Where retries and shifts are reported.
            role: For another account: the CAM role assumed there.
            source: For another account: the connector whose identity assumes ``role``.
        """
        self.role = role
        self._source = source
        self._config = config
        self._logger = logger
        self._clients: dict[str, TatClient] = {}
        self._audit_clients: dict[str, CloudAuditClient] = {}
        self._limiters: dict[tuple[str, str], SlidingWindowRateLimiter] = {}
        self._lock = threading.Lock()
        self._redact = Redactor(
            [
                config.get("tencent_secret_id"),
                config.get("tencent_secret_key"),
                config.get("tencent_token"),
                role.external_id if role is not None else None,
            ]
        )
        self.max_attempts = int(config.get("tencent_max_attempts", DEFAULT_MAX_ATTEMPTS))
        # One cloud, one clock: every account's answers move the same ceiling.
        self.clock: ServerClock = source.clock if source is not None else ServerClock()
        self.requests_per_second = int(
            config.get("tencent_requests_per_second", DEFAULT_REQUESTS_PER_SECOND)
        )

    def for_role(self, role: RoleSpec) -> TencentConnector:
        """A connector for another account, reached by assuming ``role`` from this one.

        Args:
            role: The CAM role in the other account.

        Returns:
            A connector whose credentials renew themselves during long syncs.
        """
        return TencentConnector(self._config, self._logger, role=role, source=self)

    @property
    def global_region(self) -> str:
        """The region STS and DescribeRegions are called in."""
        names = [r for r in self._config.get("tencent_regions") or [] if not is_pattern(r)]
        return names[0] if names else GLOBAL_REGION

    @cached_property
    def sts_client(self) -> StsClient:
        """This identity's STS client, through ``tencent_sts_endpoint_url`` if set."""
        return StsClient(
            self.credential,
            self.global_region,
            # Its own endpoint, else the TAT one: a host the user chose (an emulator or
            # proxy answering every product on one address), never the public one then.
            self._profile(
                "tencent_sts_endpoint_url"
                if self._config.get("tencent_sts_endpoint_url")
                else "tencent_endpoint_url"
            ),
        )

    def assume_role(self, role: RoleSpec) -> TemporaryKeys:
        """Call STS AssumeRole with this identity (ExternalId included when set).

        Args:
            role: The role to assume.

        Returns:
            The temporary keys and when they expire.

        Raises:
            CloudAPIError: If STS refuses or answers without credentials.
        """
        self._logger.info("Tencent Cloud: assuming role %s", role.role_arn)
        params: dict[str, t.Any] = {
            "RoleArn": role.role_arn,
            "RoleSessionName": role.session_name,
        }
        if role.external_id:
            params["ExternalId"] = role.external_id
        response = self.call(self.global_region, "AssumeRole", params, client=self.sts_client)
        keys = response.get("Credentials")
        expires = response.get("ExpiredTime")
        if not isinstance(keys, dict) or not isinstance(expires, int | float):
            raise CloudAPIError(
                cloud=CLOUD,
                region=self.global_region,
                operation="AssumeRole",
                code="MalformedResponse",
                message="answer without Credentials and ExpiredTime",
            )
        return TemporaryKeys(
            str(keys.get("TmpSecretId")),
            str(keys.get("TmpSecretKey")),
            str(keys.get("Token")),
            float(expires),
        )

    @cached_property
    def account_id(self) -> str:
        """This identity's main account UIN (STS GetCallerIdentity, once)."""
        response = self.call(self.global_region, "GetCallerIdentity", {}, client=self.sts_client)
        return str(response.get("AccountId"))

    def enabled_regions(self) -> list[str]:
        """The regions TAT serves this account in (DescribeRegions, AVAILABLE only).

        Returns:
            Region names, sorted.
        """
        response = self.call(self.global_region, "DescribeRegions", {})
        return sorted(
            str(region["Region"])
            for region in response.get("RegionSet") or []
            if isinstance(region, dict) and region.get("RegionState") == "AVAILABLE"
        )

    @cached_property
    def credential(self) -> t.Any:  # noqa: ANN401 - the SDK's credential classes share no base
        """Explicit id/key (+token), else the SDK's default provider chain.

        For another account: the role's renewing credentials.
        """
        if self._source is not None and self.role is not None:
            source, role = self._source, self.role
            return RoleCredential(lambda: source.assume_role(role))
        secret_id = self._config.get("tencent_secret_id")
        if secret_id:
            self._logger.info("Tencent Cloud: using the configured secret id and key")
            try:
                return credential.Credential(
                    secret_id,
                    self._config.get("tencent_secret_key"),
                    self._config.get("tencent_token"),
                )
            except TencentCloudSDKException as exc:
                raise _credentials_error(
                    exc,
                    self._redact(str(exc.message)),
                    "check tencent_secret_id and tencent_secret_key",
                ) from None
        self._logger.info("Tencent Cloud: using the SDK's default credential chain")
        try:
            return credential.DefaultCredentialProvider().get_credentials()
        except TencentCloudSDKException as exc:
            raise _credentials_error(
                exc,
                "no credentials found in settings, environment, profile file or CVM role",
                "set tencent_secret_id and tencent_secret_key",
            ) from None

    def _profile(self, endpoint_setting: str = "tencent_endpoint_url") -> ClientProfile:
        http_profile = HttpProfile(
            reqTimeout=self._config.get("request_timeout_seconds", REQUEST_TIMEOUT_SECONDS),
            keepAlive=True,
        )
        if endpoint_url := self._config.get(endpoint_setting):
            parts = urlsplit(endpoint_url)
            http_profile.endpoint = parts.netloc
            http_profile.protocol = http_profile.scheme = parts.scheme
        # English error messages; the SDK's default language is zh-CN.
        return ClientProfile(httpProfile=http_profile, language="en-US")

    def client(self, region: str) -> TatClient:
        """Return the TAT client for a region, creating it once.

        Args:
            region: A Tencent Cloud region, e.g. ap-guangzhou.

        Returns:
            The SDK client (its own retryer left off: ours retries; ``call`` checks
            each answer's body).
        """
        with self._lock:
            if region not in self._clients:
                self._clients[region] = TatClient(
                    self.credential,
                    region,
                    self._profile(),
                    clock=self.clock,
                )
            return self._clients[region]

    def release(self, region: str) -> None:
        """Drop a region's client once its partition is read (its limiters stay).

        Args:
            region: The region whose partition is done; a later stream makes a new client.
        """
        with self._lock:
            self._clients.pop(region, None)

    def cloudaudit_client(self, region: str) -> CloudAuditClient:
        """Return the CloudAudit client for a region, creating it once.

        Its endpoint is ``tencent_cloudaudit_endpoint_url`` (unset: the public one);
        ``tencent_endpoint_url`` never applies to it.

        Args:
            region: The CloudAudit region queried.

        Returns:
            The SDK client, checked by ``call`` as the TAT ones are.
        """
        with self._lock:
            key = f"cloudaudit:{region}"
            if key not in self._audit_clients:
                self._audit_clients[key] = CloudAuditClient(
                    self.credential,
                    region,
                    self._profile("tencent_cloudaudit_endpoint_url"),
                    clock=self.clock,
                )
            return self._audit_clients[key]

    def limiter(self, region: str, action: str) -> SlidingWindowRateLimiter:
        """Return the rate limiter of one API in one region (TAT limits each API apart).

        Args:
            region: A Tencent Cloud region.
            action: The API action.

        Returns:
            The limiter shared by every call of that action in that region.
        """
        with self._lock:
            key = (region, action)
            if key not in self._limiters:
                self._limiters[key] = SlidingWindowRateLimiter(self.requests_per_second)
            return self._limiters[key]

    def call(  # noqa: PLR0913 - the call, its checks and the client it goes through
        self,
        region: str,
        action: str,
        params: dict[str, t.Any],
        *,
        check: Callable[[dict[str, t.Any]], None] | None = None,
        stop: threading.Event | None = None,
        client: t.Any = None,  # noqa: ANN401 - an SDK client
        limiter: SlidingWindowRateLimiter | None = None,
        hint: str = AUTH_HINT,
    ) -> dict[str, t.Any]:
        """Call a TAT action within the region's rate limit, retrying transient faults.

        Args:
            region: A Tencent Cloud region.
            action: The API action, e.g. "DescribeCommands".
            params: The request body.
            check: Raises TransientResponseError when an answer is not usable.
            stop: Once set, no further attempt is made (ScanStoppedError).
            client: Another service's client (CloudAudit); default the region's TAT one.
            limiter: Its rate limiter; default the region's and action's TAT one.
            hint: What to check when the credentials or permission are refused.

        Returns:
            The ``Response`` object of the answer.

        Raises:
            CloudAuthError: If the credentials or permission are refused.
            CloudAPIError: If the call fails for good.
        """
        client = client if client is not None else self.client(region)
        limiter = limiter if limiter is not None else self.limiter(region, action)

        def stop_if_asked() -> None:
            if stop is not None and stop.is_set():
                msg = f"{action} in {region}"
                raise ScanStoppedError(msg)

        def log_retry(details: t.Any) -> None:  # noqa: ANN401 - backoff's details dict
            # The sync failed elsewhere: neither wait nor log, stop here.
            stop_if_asked()
            exc = details["exception"]
            self._logger.warning(
                "Tencent Cloud %s in %s: %s; retry %d of %d in %.1fs",
                action,
                region,
                self._redact(str(getattr(exc, "code", None) or type(exc).__name__)),
                details["tries"],
                self.max_attempts - 1,
                details["wait"],
            )

        @backoff.on_exception(
            backoff.expo,
            (TencentCloudSDKException, TransientResponseError),
            giveup=lambda exc: not is_retryable(exc),
            max_tries=self.max_attempts,
            factor=self.retry_base_seconds,
            max_value=20,
            jitter=backoff.full_jitter,
            on_backoff=log_retry,
            logger=None,
        )
        def call_once() -> dict[str, t.Any]:
            stop_if_asked()
            limiter.acquire()
            stop_if_asked()
            try:
                # call() is what the SDK's own action methods use; the body is read
                # once, by msgspec in C (see tencent.sdk for the SDK's parse left out).
                body = msgspec.json.decode(client.call(action, params))
            except (ValueError, KeyError, TypeError, msgspec.DecodeError) as exc:
                # A truncated or non-JSON body, or JSON without Response/RequestId (a
                # proxy's own answer); ValueError and KeyError are how the SDK's own
                # parse fails on them, should a later SDK version parse again.
                reason = f"{type(exc).__name__}: {exc}"
                raise TransientResponseError("MalformedResponse", reason) from None
            response = self._checked_response(body)
            if check is not None:
                check(response)
            return response

        try:
            try:
                return call_once()
            except TencentCloudSDKException as exc:
                # Keys the cloud expired early (revoked session, clock apart): one
                # fresh AssumeRole, one more try.
                if not isinstance(self.credential, RoleCredential) or not str(
                    exc.code or ""
                ).startswith(AUTH_CODE_PREFIXES):
                    raise
                self._logger.info("Tencent Cloud: renewing the role's credentials")
                self.credential.renew()
                return call_once()
        except (TencentCloudSDKException, TransientResponseError) as exc:
            raise self._api_error(region, action, exc, hint=hint) from None

    @staticmethod
    def _checked_response(body: object) -> dict[str, t.Any]:
        # The only check of an answer's Error: the SDK's own is left out (tencent.sdk), and
        # it only looked when Content-Type was exactly application/json or text/plain.
        response = body.get("Response") if isinstance(body, dict) else None
        if not isinstance(response, dict):
            raise TransientResponseError("MalformedResponse", "no Response object in the body")
        if isinstance(error := response.get("Error"), dict):
            raise TencentCloudSDKException(
                error.get("Code"), error.get("Message"), response.get("RequestId")
            )
        return response

    def _api_error(
        self, region: str, action: str, exc: Exception, *, hint: str = AUTH_HINT
    ) -> CloudAPIError:
        code = str(getattr(exc, "code", None) or type(exc).__name__)
        message = self._redact(str(getattr(exc, "message", None) or exc))
        if code.startswith(AUTH_CODE_PREFIXES):
            return CloudAuthError(
                cloud=CLOUD,
                region=region,
                operation=action,
                code=code,
                message=message,
                hint=hint,
                account=self.known_account,
            )
        if is_retryable(exc):
            message = f"{message} [gave up after {self.max_attempts} attempt(s)]"
        return CloudAPIError(
            cloud=CLOUD,
            region=region,
            operation=action,
            code=code,
            message=message,
            account=self.known_account,
        )

    @property
    def known_account(self) -> str | None:
        """The account, once STS said it (or the role's, from its ARN); for error lines."""
        if (account := self.__dict__.get("account_id")) is not None:
            return str(account)
        if self.role is not None and "uin/" in self.role.role_arn:
            return self.role.role_arn.split("uin/", 1)[1].split(":", 1)[0]
        return None

    def fetch_page(  # noqa: PLR0913 - the request's parts
        self,
        region: str,
        action: str,
        item_key: str,
        offset: int,
        limit: int,
        *,
        params: Mapping[str, t.Any] | None = None,
        stop: threading.Event | None = None,
    ) -> Page:
        """Fetch one Offset/Limit page and check its shape.

        An answer without TotalCount or the item list is retried and then reported: an
        empty model must never pass for "no items".

        Args:
            region: A Tencent Cloud region.
            action: A Describe* action with Offset/Limit paging.
            item_key: The list member of the answer, e.g. "CommandSet".
            offset: Items to skip.
            limit: Items per page, at most 100.
            params: More request members, e.g. ``{"HideOutput": False}``.
            stop: Once set, no further attempt is made.

        Returns:
            The page.
        """

        def check(response: dict[str, t.Any]) -> None:
            total = response.get("TotalCount")
            items = response.get(item_key)
            if (
                not isinstance(total, int)
                or isinstance(total, bool)
                or not isinstance(items, list)
                or not all(isinstance(item, dict) for item in items)
            ):
                summary = json.dumps(response, default=str)[:200]
                raise TransientResponseError(
                    "MalformedResponse", f"expected TotalCount and a {item_key} list, got {summary}"
                )

        request = {**(params or {}), "Offset": offset, "Limit": limit}
        response = self.call(region, action, request, check=check, stop=stop)
        return Page(total=response["TotalCount"], items=response[item_key])

    def scan(  # noqa: PLR0913 - the list, its paging and when to stop
        self,
        region: str,
        action: str,
        item_key: str,
        id_key: str,
        *,
        page_size: int = TAT_MAX_PAGE_SIZE,
        params: Mapping[str, t.Any] | None = None,
        stop_before: dt.datetime | None = None,
        stop: threading.Event | None = None,
    ) -> OffsetScan:
        """Return an exact scan over a Describe* list (see ``tencent.scan``).

        Args:
            region: A Tencent Cloud region.
            action: A Describe* action with Offset/Limit paging.
            item_key: The list member of the answer.
            id_key: The member that identifies an item.
            page_size: Items per call, 1..100 (at least 2 are asked for).
            params: More request members of every call.
            stop_before: End the scan once items were created before this instant.
            stop: Set by the stream when the sync fails: the scan stops.

        Returns:
            An iterable scan; read its ``exact`` flag after iterating.
        """

        def fetch(offset: int, limit: int) -> Page:
            return self.fetch_page(
                region, action, item_key, offset, limit, params=params, stop=stop
            )

        return OffsetScan(
            fetch,
            page_size=page_size,
            describe=f"{action} in {region}",
            logger=self._logger,
            id_key=id_key,
            stop_before=stop_before,
            stop=stop,
        )


def account_entries(base: TencentConnector, config: Mapping[str, t.Any]) -> list[AccountEntry]:
    """The Tencent Cloud accounts a sync reads: listed, or the tap's own identity.

    Args:
        base: The tap's own identity.
        config: The tap's settings.

    Returns:
        One entry per account to read.
    """
    return listed_entries(
        base, config.get("tencent_accounts") or [], config.get("tencent_regions") or []
    )
