"""AWS connector: one account's boto3 session, identity and regions, SSM and CloudTrail pages.

Assumed roles refresh themselves; the organization's accounts come from Organizations,
an account's enabled regions from Account ListRegions, its id from STS.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
import typing as t
from functools import cached_property

import backoff
import boto3
import botocore.session
from botocore import xform_name
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from tap_cloudcommands import __name__ as package_name
from tap_cloudcommands.clock import ServerClock
from tap_cloudcommands.errors import CloudAPIError, CloudAuthError, Redactor
from tap_cloudcommands.scope import (
    DEFAULT_ROLE_SESSION_NAME,
    AccountEntry,
    RoleSpec,
    is_pattern,
    listed_entries,
)
from tap_cloudcommands.timestamps import UTC

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterator, Mapping

    from botocore.loaders import Loader
    from mypy_boto3_cloudtrail import CloudTrailClient
    from mypy_boto3_ssm import SSMClient

    from tap_cloudcommands.rate_limit import SlidingWindowRateLimiter

CLOUD = "AWS"
SSM_MAX_PAGE_SIZE = 50
# LookupEvents: "Possible values are 1 through 50" (CloudTrail API reference).
CLOUDTRAIL_MAX_PAGE_SIZE = 50
DEFAULT_MAX_ATTEMPTS = 5


class MalformedPageError(Exception):
    """An answer that parsed but lacks its item list."""


@dataclasses.dataclass(frozen=True)
class SSMListing:
    """An SSM list operation paged with NextToken and filtered by InvokedAfter."""

    operation: str
    item_key: str


# Region of the global APIs' clients (STS, Organizations, Account) when none is given.
GLOBAL_REGION = "us-east-1"
# Account ListRegions: the regions an account can use now.
ENABLED_REGION_STATUSES = ("ENABLED", "ENABLED_BY_DEFAULT")

LIST_COMMANDS = SSMListing("ListCommands", "Commands")
LIST_COMMAND_INVOCATIONS = SSMListing("ListCommandInvocations", "CommandInvocations")


# Codes that mean "these credentials or this permission will not work": no retry helps.
AUTH_ERROR_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthFailure",
        "ExpiredToken",
        "ExpiredTokenException",
        "IncompleteSignature",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "MissingAuthenticationToken",
        "SignatureDoesNotMatch",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
    }
)
EXPIRED_TOKEN_CODES = frozenset({"ExpiredToken", "ExpiredTokenException"})
AUTH_HINT = (
    "check aws_access_key_id/aws_secret_access_key/aws_session_token, aws_profile or "
    "aws_assume_role_arn, and that the identity may call ssm:ListCommands and "
    "ssm:ListCommandInvocations"
)
ROLE_HINT = (
    "check the role's trust policy (the tap's identity may assume it), its ExternalId, "
    "and the role ARN in aws_assume_role_arn, aws_accounts or aws_organization"
)
ACCOUNT_HINTS = {
    "AssumeRole": ROLE_HINT,
    "ListAccounts": "check that the tap's identity is the organization's management or a "
    "delegated administrator account and may call organizations:ListAccounts",
    "ListRegions": "check that the identity may call account:ListRegions (region wildcards)",
}
CLOUDTRAIL_AUTH_HINT = (
    "check the AWS credentials, and that the identity may call cloudtrail:LookupEvents "
    "(or deselect aws_send_command_events)"
)


def utc_timestamp(value: str | float) -> dt.datetime:
    """Parse a timestamp of an AWS answer into an aware UTC datetime.

    botocore's default parser returns epoch timestamps (SSM's wire form) in ``tzlocal()``,
    whose offset lookups cost more than the rest of parsing a Command together; the
    instant is the same either way.

    Args:
        value: Epoch seconds, or a timestamp string (STS answers).

    Returns:
        The instant, with ``tzinfo`` UTC for epoch values.
    """
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, UTC)
    return botocore_parse_timestamp(value)


_LOADER_LOCK = threading.Lock()
_SHARED_LOADER: list[Loader] = []


def botocore_session() -> botocore.session.Session:
    """A botocore session whose clients parse timestamps with :func:`utc_timestamp`.

    Every session shares one data loader: each would otherwise parse and keep its own
    copy of the service models and endpoint data, several MB per account
    (BENCHMARKS.md, scenario 9).
    """
    session = botocore.session.Session()
    with _LOADER_LOCK:
        if not _SHARED_LOADER:
            _SHARED_LOADER.append(session.get_component("data_loader"))
        session.register_component("data_loader", _SHARED_LOADER[0])
    session.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=utc_timestamp
    )
    return session


class AWSConnector:
    """Builds one boto3 session for the tap and one SSM client per region.

    Credentials come from explicit keys (plus session token), else a named profile, else
    boto3's default chain; an assume-role ARN is then applied on top of any of them with
    credentials that refresh themselves before they expire.
    """

    def __init__(
        self,
        config: Mapping[str, t.Any],
        logger: logging.Logger,
        *,
        role: RoleSpec | None = None,
        source: AWSConnector | None = None,
    ) -> None:
        """Keep the settings; nothing is called until a client is needed.

        Args:
            config: The tap's settings.
            logger: Where to say which credential source is used (never the values).
            role: For another account: the role assumed there.
            source: For another account: the connector whose identity assumes ``role``
                (the tap's own identity, after ``aws_assume_role_arn``).
        """
        self._config = config
        self._logger = logger
        self._clients: dict[str, SSMClient] = {}
        self._cloudtrail_clients: dict[str, CloudTrailClient] = {}
        self._lock = threading.Lock()
        self.role = role
        self._source = source
        # One cloud, one clock: every account's answers move the same ceiling.
        self.clock: ServerClock = source.clock if source is not None else ServerClock()
        self._redact = Redactor(
            [
                config.get("aws_access_key_id"),
                config.get("aws_secret_access_key"),
                config.get("aws_session_token"),
                config.get("aws_assume_role_external_id"),
                role.external_id if role is not None else None,
            ]
        )

    def error(self, message: str) -> None:
        """Log an error about this identity's settings that the sync goes on after.

        Args:
            message: The line.
        """
        self._logger.error(message)

    def warn(self, message: str) -> None:
        """Log a warning about this identity's settings.

        Args:
            message: The line.
        """
        self._logger.warning(message)

    def for_role(self, role: RoleSpec) -> AWSConnector:
        """A connector for another account, reached by assuming ``role`` from this one.

        Args:
            role: The role in the other account.

        Returns:
            A connector whose credentials refresh themselves during long syncs.
        """
        return AWSConnector(self._config, self._logger, role=role, source=self)

    @cached_property
    def session(self) -> boto3.Session:
        """The boto3 session every regional client is made from."""
        if self._source is not None and self.role is not None:
            return self._assumed(self._source.session, self.role)
        source = self._source_session()
        role_arn = self._config.get("aws_assume_role_arn")
        if not role_arn:
            return source
        return self._assumed(
            source,
            RoleSpec(
                role_arn,
                self._config.get("aws_assume_role_external_id"),
                self._config.get("aws_assume_role_session_name") or DEFAULT_ROLE_SESSION_NAME,
            ),
        )

    @property
    def global_region(self) -> str:
        """The region global APIs are called in: the first region named, else us-east-1."""
        names = [r for r in self._config.get("aws_regions") or [] if not is_pattern(r)]
        return names[0] if names else GLOBAL_REGION

    def _assumed(self, source: boto3.Session, role: RoleSpec) -> boto3.Session:
        """A session with ``role``'s credentials, assumed from ``source``, refreshing."""
        role_arn = role.role_arn
        self._logger.info("AWS: assuming role %s", role_arn)
        extra_args = {"RoleSessionName": role.session_name}
        if role.external_id:
            extra_args["ExternalId"] = role.external_id
        sts_region = self.global_region

        # STS never inherits aws_endpoint_url: only its own setting (else boto3's
        # AWS_ENDPOINT_URL_STS or the public endpoint; settings_errors refuses a role with
        # aws_endpoint_url but neither).
        sts_endpoint = self._config.get("aws_sts_endpoint_url") or None

        def create_sts_client(_service_name: str, **kwargs: t.Any) -> t.Any:  # noqa: ANN401
            return source.client("sts", region_name=sts_region, endpoint_url=sts_endpoint, **kwargs)

        source_credentials = source.get_credentials()
        if source_credentials is None:
            raise CloudAuthError(
                cloud=CLOUD,
                region=sts_region,
                operation="AssumeRole",
                code="NoCredentials",
                message="no credentials to assume the role with",
                hint=AUTH_HINT,
            )
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=create_sts_client,
            source_credentials=source_credentials,
            role_arn=role_arn,
            extra_args=extra_args,
        )
        assumed = botocore_session()
        # botocore has no public setter for a session's credentials; this is the
        # documented-by-use way to give a session self-refreshing assumed-role keys.
        assumed._credentials = DeferredRefreshableCredentials(  # type: ignore[attr-defined]  # noqa: SLF001
            refresh_using=fetcher.fetch_credentials, method="assume-role"
        )
        return boto3.Session(botocore_session=assumed)

    def _client_config(self) -> Config:
        return Config(
            retries={
                "mode": self._config.get("aws_retry_mode", "standard"),
                "total_max_attempts": self._config.get("aws_max_attempts", DEFAULT_MAX_ATTEMPTS),
            },
            user_agent_extra=package_name.replace("_", "-"),
            connect_timeout=self._config.get("request_timeout_seconds", 60),
            read_timeout=self._config.get("request_timeout_seconds", 60),
        )

    def _global_call(
        self, service: str, operation: str, endpoint_setting: str, call: Callable[[t.Any], t.Any]
    ) -> t.Any:  # noqa: ANN401 - botocore's answers
        """Call a global API (STS, Organizations, Account) through its own endpoint setting.

        Args:
            service: The botocore service name.
            operation: The first operation it calls, for the error line.
            endpoint_setting: The setting that points it elsewhere (never aws_endpoint_url:
                settings_errors asks for it whenever aws_endpoint_url is set).
            call: Makes the calls with the client.

        Returns:
            What ``call`` returns.

        Raises:
            CloudAPIError: If the call fails (CloudAuthError when refused).
        """
        region = self.global_region
        try:
            client = self.session.client(
                service,  # type: ignore[call-overload]
                region_name=region,
                endpoint_url=self.global_endpoint(service, endpoint_setting),
                config=self._client_config(),
            )
            return call(client)
        except ClientError as exc:
            raise self._api_error(region, exc) from None
        except BotoCoreError as exc:
            raise CloudAPIError(
                cloud=CLOUD,
                region=region,
                operation=operation,
                code=type(exc).__name__,
                message=self._redact(str(exc)),
                hint=f"check the network, {endpoint_setting} and the credential source",
            ) from None

    def global_endpoint(self, service: str, endpoint_setting: str) -> str | None:
        """Where a global API (STS, Organizations, Account) is called.

        Its own setting; else boto3's own ``AWS_ENDPOINT_URL_<SERVICE>``/``AWS_ENDPOINT_URL``
        (None lets boto3 read them); else ``aws_endpoint_url``, a host the user chose
        (emulators and proxies that answer every service on one address); else the
        public endpoint. Never a host the user did not configure.

        Args:
            service: The botocore service name.
            endpoint_setting: The API's own endpoint setting.

        Returns:
            The endpoint URL, or None for boto3's choice.
        """
        if own := self._config.get(endpoint_setting):
            return str(own)
        variable = f"AWS_ENDPOINT_URL_{service.upper()}"
        if os.environ.get(variable) or os.environ.get("AWS_ENDPOINT_URL"):
            return None
        return self._config.get("aws_endpoint_url") or None

    @cached_property
    def caller_identity(self) -> dict[str, t.Any]:
        """STS GetCallerIdentity of this identity (called once)."""
        return t.cast(
            "dict[str, t.Any]",
            self._global_call(
                "sts",
                "GetCallerIdentity",
                "aws_sts_endpoint_url",
                lambda client: client.get_caller_identity(),
            ),
        )

    @property
    def account_id(self) -> str:
        """This identity's account."""
        return str(self.caller_identity["Account"])

    @property
    def known_account(self) -> str | None:
        """The account, once STS said it (or the role's, from its ARN); for error lines."""
        if (identity := self.__dict__.get("caller_identity")) is not None:
            return str(identity.get("Account"))
        if self.role is not None:
            return self.role.role_arn.split(":")[4]
        return None

    @property
    def arn_partition(self) -> str:
        """The identity's ARN partition (aws, aws-cn, aws-us-gov), for member role ARNs."""
        arn = str(self.caller_identity.get("Arn") or "arn:aws:")
        return arn.split(":")[1] or "aws"

    def enabled_regions(self) -> list[str]:
        """The regions this account has enabled (Account ListRegions, opt-in ones only if on).

        Returns:
            Region names, sorted.
        """

        def list_regions(client: t.Any) -> list[str]:  # noqa: ANN401 - the Account client
            pages = client.get_paginator("list_regions").paginate(
                RegionOptStatusContains=list(ENABLED_REGION_STATUSES)
            )
            return [
                str(region["RegionName"])
                for page in pages
                for region in page.get("Regions", [])
                if region.get("RegionOptStatus") in ENABLED_REGION_STATUSES
            ]

        return sorted(
            set(
                self._global_call(
                    "account", "ListRegions", "aws_account_endpoint_url", list_regions
                )
            )
        )

    def organization_accounts(self, organizational_units: list[str] | None = None) -> list[str]:
        """The organization's ACTIVE accounts (Organizations ListAccounts / ...ForParent).

        Args:
            organizational_units: Only accounts in these OUs and the OUs under them.

        Returns:
            Account ids, sorted.
        """

        def active(page: dict[str, t.Any]) -> list[str]:
            # Status is deprecated in favour of State; either may be the one sent.
            return [
                str(account["Id"])
                for account in page.get("Accounts", [])
                if (account.get("State") or account.get("Status")) == "ACTIVE"
            ]

        def list_accounts(client: t.Any) -> list[str]:  # noqa: ANN401 - the Organizations client
            if not organizational_units:
                pages = client.get_paginator("list_accounts").paginate()
                return [account for page in pages for account in active(page)]
            found: list[str] = []
            parents = list(organizational_units)
            seen: set[str] = set()
            while parents:
                parent = parents.pop()
                if parent in seen:
                    continue
                seen.add(parent)
                for page in client.get_paginator("list_accounts_for_parent").paginate(
                    ParentId=parent
                ):
                    found += active(page)
                for page in client.get_paginator("list_organizational_units_for_parent").paginate(
                    ParentId=parent
                ):
                    parents += [str(unit["Id"]) for unit in page.get("OrganizationalUnits", [])]
            return found

        return sorted(
            set(
                self._global_call(
                    "organizations", "ListAccounts", "aws_organizations_endpoint_url", list_accounts
                )
            )
        )

    def _source_session(self) -> boto3.Session:
        config = self._config
        if config.get("aws_access_key_id"):
            self._logger.info("AWS: using the configured access keys")
            return boto3.Session(
                aws_access_key_id=config["aws_access_key_id"],
                aws_secret_access_key=config.get("aws_secret_access_key"),
                aws_session_token=config.get("aws_session_token"),
                botocore_session=botocore_session(),
            )
        if profile := config.get("aws_profile"):
            self._logger.info("AWS: using profile %s", profile)
            return boto3.Session(profile_name=profile, botocore_session=botocore_session())
        self._logger.info("AWS: using boto3's default credential chain")
        return boto3.Session(botocore_session=botocore_session())

    def client(self, region: str) -> SSMClient:
        """Return the SSM client for a region, creating it once.

        Args:
            region: An AWS region name.

        Returns:
            A boto3 SSM client with the configured retry mode and attempts.
        """
        with self._lock:
            if region not in self._clients:
                self._clients[region] = self.session.client(
                    "ssm",
                    region_name=region,
                    endpoint_url=self._config.get("aws_endpoint_url") or None,
                    config=self._client_config(),
                )
            return self._clients[region]

    def release(self, region: str) -> None:
        """Drop a region's client once its partition is read (memory stays flat per account).

        Args:
            region: The region whose partition is done; a later stream makes a new client.
        """
        with self._lock:
            self._clients.pop(region, None)
            self._cloudtrail_clients.pop(region, None)

    def cloudtrail_client(self, region: str, endpoint_url: str | None) -> CloudTrailClient:
        """Return the CloudTrail client for a region, creating it once.

        Args:
            region: An AWS region name.
            endpoint_url: ``aws_cloudtrail_endpoint_url``, or None for boto3's own choice.

        Returns:
            A boto3 CloudTrail client with the same retries and timeouts as SSM's.
        """
        with self._lock:
            if region not in self._cloudtrail_clients:
                self._cloudtrail_clients[region] = self.session.client(
                    "cloudtrail",
                    region_name=region,
                    endpoint_url=endpoint_url,
                    config=Config(
                        retries={
                            "mode": self._config.get("aws_retry_mode", "standard"),
                            "total_max_attempts": self._config.get(
                                "aws_max_attempts", DEFAULT_MAX_ATTEMPTS
                            ),
                        },
                        user_agent_extra=package_name.replace("_", "-"),
                        connect_timeout=self._config.get("request_timeout_seconds", 60),
                        read_timeout=self._config.get("request_timeout_seconds", 60),
                    ),
                )
            return self._cloudtrail_clients[region]

    def lookup_event_pages(  # noqa: PLR0913 - the request's parts
        self,
        region: str,
        *,
        event_name: str,
        start: dt.datetime,
        end: dt.datetime,
        endpoint_url: str | None,
        limiter: SlidingWindowRateLimiter,
        page_size: int = CLOUDTRAIL_MAX_PAGE_SIZE,
    ) -> Iterator[list[dict[str, t.Any]]]:
        """Yield every page of CloudTrail LookupEvents for one event name.

        LookupEvents takes one lookup attribute per call, so each event name is its
        own query; each call waits for ``limiter`` (CloudTrail allows two lookups per
        second per account and region), and botocore retries throttling.

        Args:
            region: An AWS region name.
            event_name: The ``EventName`` lookup attribute, e.g. "SendCommand".
            start: ``StartTime`` (inclusive).
            end: ``EndTime`` (inclusive).
            endpoint_url: Where CloudTrail is called (None: boto3's default).
            limiter: The region's LookupEvents rate limiter.
            page_size: ``MaxResults``, 1..50.

        Yields:
            Each page's Events as boto3 returns them.

        Raises:
            CloudAuthError: If AWS refuses the credentials or the permission.
            CloudAPIError: If a call fails after botocore's retries.
        """
        request: dict[str, t.Any] = {
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": event_name}],
            "StartTime": start,
            "EndTime": end,
            "MaxResults": page_size,
        }
        max_attempts = int(self._config.get("aws_max_attempts", DEFAULT_MAX_ATTEMPTS))

        @backoff.on_exception(
            backoff.expo,
            MalformedPageError,
            max_tries=max_attempts,
            factor=0.5,
            max_value=20,
            jitter=backoff.full_jitter,
            logger=None,
        )
        def call_once() -> dict[str, t.Any]:
            # The client first: creating it takes longer than the limiter's margin.
            client = self.cloudtrail_client(region, endpoint_url)
            limiter.acquire()
            page = t.cast("dict[str, t.Any]", client.lookup_events(**request))
            self.clock.observe(page.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date"))
            if not isinstance(page.get("Events"), list):
                raise MalformedPageError
            return page

        while True:
            try:
                try:
                    page = call_once()
                except ClientError as exc:
                    if not self._renew_if_expired(exc):
                        raise
                    page = call_once()
            except ClientError as exc:
                raise self._api_error(region, exc, hint=CLOUDTRAIL_AUTH_HINT) from None
            except MalformedPageError:
                raise CloudAPIError(
                    cloud=CLOUD,
                    region=region,
                    operation="LookupEvents",
                    code="MalformedResponse",
                    message=f"answer without an Events list [{max_attempts} attempt(s)]",
                ) from None
            except BotoCoreError as exc:
                raise CloudAPIError(
                    cloud=CLOUD,
                    region=region,
                    operation="LookupEvents",
                    code=type(exc).__name__,
                    message=self._redact(str(exc)),
                    hint="check the network, aws_cloudtrail_endpoint_url and the credentials",
                ) from None
            yield page["Events"]
            if not (token := page.get("NextToken")):
                return
            request["NextToken"] = token

    def list_pages(  # noqa: PLR0913 - the request's parts
        self,
        region: str,
        listing: SSMListing,
        *,
        invoked_after: dt.datetime | None,
        page_size: int = SSM_MAX_PAGE_SIZE,
        extra: Mapping[str, t.Any] | None = None,
        command_id: str | None = None,
    ) -> Iterator[list[dict[str, t.Any]]]:
        """Yield every page of a region's list, requested at or after a time.

        Args:
            region: An AWS region name.
            listing: Which SSM list to read (ListCommands, ListCommandInvocations).
            invoked_after: Passed as the inclusive ``InvokedAfter`` filter (whole
                seconds, rounded down, so nothing at the boundary is missed).
            page_size: ``MaxResults`` per call, 1..50.
            extra: More request members, e.g. ``{"Details": True}``.
            command_id: Only this command (ListCommands) or its invocations
                (ListCommandInvocations).

        Yields:
            Each page's items as boto3 returns them.

        Raises:
            CloudAuthError: If AWS refuses the credentials or the permission.
            CloudAPIError: If a call fails after botocore's retries.
        """
        request: dict[str, t.Any] = {"MaxResults": page_size, **(extra or {})}
        if command_id is not None:
            request["CommandId"] = command_id
        if invoked_after is not None:
            value = invoked_after.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            request["Filters"] = [{"key": "InvokedAfter", "value": value}]
        while True:
            page = self._page(region, listing, request)
            yield page[listing.item_key]
            if not (token := page.get("NextToken")):
                return
            request["NextToken"] = token

    def _page(
        self, region: str, listing: SSMListing, request: dict[str, t.Any]
    ) -> dict[str, t.Any]:
        """One call; a body without the item list is asked for again.

        botocore reads a truncated 200 answer as an empty page without NextToken, which
        would end the listing early and silently; botocore's own retries never see it.
        """
        max_attempts = int(self._config.get("aws_max_attempts", DEFAULT_MAX_ATTEMPTS))

        @backoff.on_exception(
            backoff.expo,
            MalformedPageError,
            max_tries=max_attempts,
            factor=0.5,
            max_value=20,
            jitter=backoff.full_jitter,
            logger=None,
        )
        def call_once() -> dict[str, t.Any]:
            method = getattr(self.client(region), xform_name(listing.operation))
            page = t.cast("dict[str, t.Any]", method(**request))
            self.clock.observe(page.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date"))
            if not isinstance(page.get(listing.item_key), list):
                raise MalformedPageError
            return page

        try:
            try:
                return call_once()
            except ClientError as exc:
                if not self._renew_if_expired(exc):
                    raise
                return call_once()
        except ClientError as exc:
            raise self._api_error(region, exc) from None
        except MalformedPageError:
            raise CloudAPIError(
                cloud=CLOUD,
                region=region,
                operation=listing.operation,
                code="MalformedResponse",
                message=f"answer without a {listing.item_key} list [{max_attempts} attempt(s)]",
            ) from None
        except BotoCoreError as exc:
            raise CloudAPIError(
                cloud=CLOUD,
                region=region,
                operation=listing.operation,
                code=type(exc).__name__,
                message=self._redact(str(exc)),
                hint="check the network, aws_endpoint_url and the credential source",
            ) from None

    def _renew_if_expired(self, exc: ClientError) -> bool:
        """Start a new assumed-role session when AWS says the keys expired early.

        botocore renews assumed-role keys by their stated expiry; keys the cloud ends
        sooner (a revoked session, clocks apart) would fail every later call.

        Args:
            exc: What the call raised.

        Returns:
            Whether a new session was made (the caller tries once more).
        """
        code = exc.response.get("Error", {}).get("Code")
        if code not in EXPIRED_TOKEN_CODES:
            return False
        return self._renew()

    def _renew(self) -> bool:
        """Drop this identity's session (and, for a chained role, its source's).

        Returns:
            Whether there was an assumed role to renew.
        """
        role_arn = self.role.role_arn if self.role else self._config.get("aws_assume_role_arn")
        if not role_arn:
            return False
        if self._source is not None:
            # A role assumed from an assumed role: the source's keys may be what expired.
            self._source._renew()  # noqa: SLF001 - the same class
        self._logger.info("AWS: renewing the credentials of role %s", role_arn)
        with self._lock:
            self.__dict__.pop("session", None)  # the cached_property: built again on use
            self._clients.clear()
            self._cloudtrail_clients.clear()
        return True

    def _api_error(self, region: str, exc: ClientError, *, hint: str = AUTH_HINT) -> CloudAPIError:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        message = self._redact(str(error.get("Message") or exc))
        operation = exc.operation_name or "ListCommands"
        hint = ACCOUNT_HINTS.get(operation, hint)
        if code in AUTH_ERROR_CODES:
            return CloudAuthError(
                cloud=CLOUD,
                region=region,
                operation=operation,
                code=code,
                message=message,
                hint=hint,
                account=self.known_account,
            )
        attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
        return CloudAPIError(
            cloud=CLOUD,
            region=region,
            operation=operation,
            code=code,
            message=f"{message} [{attempts} attempt(s)]",
            account=self.known_account,
        )


def account_entries(base: AWSConnector, config: Mapping[str, t.Any]) -> list[AccountEntry]:
    """The AWS accounts a sync reads: listed, discovered, or the tap's own identity.

    Args:
        base: The tap's own identity (after ``aws_assume_role_arn``).
        config: The tap's settings.

    Returns:
        One entry per account to read (an account listed twice is read once).
    """
    default_regions = config.get("aws_regions") or []
    listed = config.get("aws_accounts") or []
    organization = config.get("aws_organization")
    # With an organization and no list, only the organization's accounts.
    entries = listed_entries(base, listed, default_regions) if listed or not organization else []
    if organization:
        regions = organization.get("regions") or default_regions
        if regions:
            # An account listed explicitly is read as listed (its role, its regions).
            try:
                listed_ids = {
                    account["role_arn"].split(":")[4]
                    if account.get("role_arn")
                    else base.account_id
                    for account in listed
                }
                entries += _organization_entries(base, organization, regions, listed_ids)
            except CloudAPIError as error:
                if config.get("account_failure") != "skip" or not entries:
                    raise
                # The accounts listed explicitly are still read.
                base.error(
                    "AWS organization not read (account_failure=skip), the accounts in "
                    f"aws_accounts are: {error}"
                )
    return entries


def _organization_entries(
    base: AWSConnector,
    organization: Mapping[str, t.Any],
    regions: list[str],
    listed_ids: set[str],
) -> list[AccountEntry]:
    """The organization's ACTIVE accounts not listed in aws_accounts, through the member role."""
    found = base.organization_accounts(organization.get("organizational_units"))
    include = set(organization.get("include_accounts") or found)
    exclude = set(organization.get("exclude_accounts") or []) | listed_ids
    if missing := sorted(include - set(found)):
        base.warn(
            "AWS: include_accounts names accounts that are not ACTIVE accounts of the "
            f"organization (or of its organizational_units), not read: {', '.join(missing)}"
        )
    own = base.account_id
    partition = base.arn_partition
    entries = []
    for account_id in found:
        if account_id not in include or account_id in exclude:
            continue
        if account_id == own:
            # The management (or delegated administrator) account reads with the
            # identity it was discovered with: it rarely holds the member role.
            entries.append(AccountEntry(base, regions, account_id))
            continue
        role = RoleSpec(
            f"arn:{partition}:iam::{account_id}:role/{organization['member_role_name']}",
            organization.get("external_id"),
            organization.get("session_name") or DEFAULT_ROLE_SESSION_NAME,
        )
        entries.append(AccountEntry(base.for_role(role), regions, account_id))
    return entries
