"""AWS side: the boto3 session, assume role, and Systems Manager ListCommands pages."""

from __future__ import annotations

import dataclasses
import datetime as dt
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
from tap_cloudcommands.timestamps import UTC

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Iterator, Mapping

    from mypy_boto3_cloudtrail import CloudTrailClient
    from mypy_boto3_ssm import SSMClient

    from tap_cloudcommands.rate_limit import SlidingWindowRateLimiter

CLOUD = "AWS"
SSM_MAX_PAGE_SIZE = 50
# LookupEvents: "Possible values are 1 through 50" (CloudTrail API reference).
CLOUDTRAIL_MAX_PAGE_SIZE = 50
DEFAULT_ROLE_SESSION_NAME = "tap-cloudcommands"
DEFAULT_MAX_ATTEMPTS = 5


class MalformedPageError(Exception):
    """An answer that parsed but lacks its item list."""


@dataclasses.dataclass(frozen=True)
class SSMListing:
    """An SSM list operation paged with NextToken and filtered by InvokedAfter."""

    operation: str
    item_key: str


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
AUTH_HINT = (
    "check aws_access_key_id/aws_secret_access_key/aws_session_token, aws_profile or "
    "aws_assume_role_arn, and that the identity may call ssm:ListCommands and "
    "ssm:ListCommandInvocations"
)
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


def botocore_session() -> botocore.session.Session:
    """A botocore session whose clients parse timestamps with :func:`utc_timestamp`."""
    session = botocore.session.Session()
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

    def __init__(self, config: Mapping[str, t.Any], logger: logging.Logger) -> None:
        """Keep the settings; nothing is called until a client is needed.

        Args:
            config: The tap's settings.
            logger: Where to say which credential source is used (never the values).
        """
        self._config = config
        self._logger = logger
        self._clients: dict[str, SSMClient] = {}
        self._cloudtrail_clients: dict[str, CloudTrailClient] = {}
        self._lock = threading.Lock()
        self.clock = ServerClock()
        self._redact = Redactor(
            [
                config.get("aws_access_key_id"),
                config.get("aws_secret_access_key"),
                config.get("aws_session_token"),
                config.get("aws_assume_role_external_id"),
            ]
        )

    @cached_property
    def session(self) -> boto3.Session:
        """The boto3 session every regional client is made from."""
        source = self._source_session()
        role_arn = self._config.get("aws_assume_role_arn")
        if not role_arn:
            return source
        self._logger.info("AWS: assuming role %s", role_arn)
        extra_args = {
            "RoleSessionName": self._config.get("aws_assume_role_session_name")
            or DEFAULT_ROLE_SESSION_NAME
        }
        if external_id := self._config.get("aws_assume_role_external_id"):
            extra_args["ExternalId"] = external_id
        sts_region = (self._config.get("aws_regions") or ["us-east-1"])[0]

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
            return self._clients[region]

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

    def _api_error(self, region: str, exc: ClientError, *, hint: str = AUTH_HINT) -> CloudAPIError:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        message = self._redact(str(error.get("Message") or exc))
        operation = exc.operation_name or "ListCommands"
        if code in AUTH_ERROR_CODES:
            return CloudAuthError(
                cloud=CLOUD,
                region=region,
                operation=operation,
                code=code,
                message=message,
                hint=hint,
            )
        attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
        return CloudAPIError(
            cloud=CLOUD,
            region=region,
            operation=operation,
            code=code,
            message=f"{message} [{attempts} attempt(s)]",
        )
