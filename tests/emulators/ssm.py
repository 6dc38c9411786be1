"""AWS Systems Manager emulator (AWS JSON 1.1), with a small STS beside it.

One server answers every region: the region (and the access key id) come from
the SigV4 ``Authorization`` credential scope, exactly as botocore signs them. A
form-encoded POST carrying ``Action=...`` is routed to the STS emulation, so
``AWS_ENDPOINT_URL_STS`` can point at the same server.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl

from .accounts import AccountRegistry, KeyInfo, Role, random_text, region_key
from .aws_org import (
    AWS_REGION_STATES,
    ORG_ACTIONS,
    ORGANIZATIONS_TARGET_PREFIX,
    AwsApiError,
    Organization,
    build_organization,
    org_error,
    org_page,
    org_reply,
    regions_page,
    rest_error,
)
from .aws_signing import sigv4_matches
from .base import (
    ApiRequest,
    EmulatorServer,
    Fault,
    Reply,
    RequestRejectedError,
)
from .cloudtrail import CLOUDTRAIL_TARGET_PREFIX, CloudTrail
from .credentials import (
    EMULATOR_AWS_ACCESS_KEY_ID,
    EMULATOR_AWS_ACCOUNT_ID,
    EMULATOR_AWS_SECRET_ACCESS_KEY,
)
from .ssm_invocations import (
    command_counts,
    default_plugin,
    new_invocation,
    render_invocation,
)
from .ssm_invocations import invocation_statuses as invocation_statuses_for
from .ssm_invocations import normalise_fields as normalise_invocation_fields
from .ssm_list import SsmApiError, list_page, parse_list_query
from .ssm_model import (
    new_command,
    normalise_fields,
    render_command,
)
from .store import CommandStore, clone, gc_paused
from .sts import (
    ROLE_ARN_PATTERN,
    IssuedCredentials,
    StsError,
    assume_role_reply,
    caller_identity_reply,
    error_reply,
    issue_credentials,
)

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
SSM_TARGET_PREFIX = "AmazonSSM"
JSON_PROTOCOL = "json"
QUERY_PROTOCOL = "query"
ORGANIZATIONS_PROTOCOL = "organizations"
ACCOUNT_PROTOCOL = "account-rest-json"
LIST_REGIONS_PATH = "/listRegions"
# Region states of a new account (account ListRegions), until set_regions.
DEFAULT_AWS_REGIONS = {
    "us-east-1": "ENABLED_BY_DEFAULT",
    "us-west-2": "ENABLED_BY_DEFAULT",
    "eu-west-1": "ENABLED_BY_DEFAULT",
    "ap-southeast-1": "ENABLED_BY_DEFAULT",
    "af-south-1": "DISABLED",
}
ROLE_CHAINING_MAX_SECONDS = 3600
_AWS_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_EXPIRED_MESSAGE = "The security token included in the request is expired"
_CREDENTIAL_SCOPE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request")
_INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid."


def _json_error(code: str, message: str, status: int = 400) -> Reply:
    body = json.dumps({"__type": code, "message": message}).encode()
    headers = {
        "x-amzn-RequestId": str(uuid.uuid4()),
        # Real services append a Coral namespace after ':'; botocore must strip it.
        "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazonaws.ssm/",
    }
    return Reply(status, body, JSON_CONTENT_TYPE, headers, error_code=code)


def _server_error_code(status: int) -> str:
    return "ServiceUnavailable" if status == 503 else "InternalServerError"


class SSMEmulator(EmulatorServer):
    """Emulates SSM ListCommands and ListCommandInvocations (all regions), and STS
    AssumeRole/GetCallerIdentity.

    Commands and their invocations are stored separately, as SSM keeps them:
    :meth:`add_command` creates no invocations (:meth:`add_command_with_invocations`
    stores both, consistently).

    Attributes:
        valid_access_keys: Access key ids accepted (None = accept any). Keys issued by
            AssumeRole are added to it when it is a set.
        assume_role_denied: When True, AssumeRole answers 403 AccessDenied.
        required_external_id: When set, AssumeRole without this ExternalId is denied.
        issued_credentials: Every credential set AssumeRole handed out, oldest first.
        organization: The organization set by :meth:`set_organization` (None: none).
    """

    region_states = AWS_REGION_STATES

    def __init__(self, *, port: int = 0, valid_access_keys: set[str] | None = None) -> None:
        """Create the emulator (call :meth:`start` to serve).

        Args:
            port: TCP port on 127.0.0.1; 0 picks a free one.
            valid_access_keys: Access key ids to accept; None accepts any.
        """
        super().__init__(port=port)
        self.valid_access_keys = valid_access_keys
        self.assume_role_denied = False
        # Session tokens answered with ExpiredTokenException, as AWS does once they lapse.
        self.expired_session_tokens: set[str] = set()
        self.required_external_id: str | None = None
        self.issued_credentials: list[IssuedCredentials] = []
        self.organization: Organization | None = None
        self.registry = AccountRegistry(EMULATOR_AWS_ACCOUNT_ID, DEFAULT_AWS_REGIONS)
        # The default key is known but its signature is not checked: older tests sign
        # with any secret (see README).
        self.registry.add_key(
            KeyInfo(
                EMULATOR_AWS_ACCESS_KEY_ID, EMULATOR_AWS_SECRET_ACCESS_KEY, EMULATOR_AWS_ACCOUNT_ID
            )
        )
        # CloudTrail LookupEvents, served on this port too (cloudtrail.py): one trail per
        # account (``trail`` is the default account's, ``trail_for`` any account's).
        self.trail = CloudTrail()
        self._trails: dict[str, CloudTrail] = {EMULATOR_AWS_ACCOUNT_ID: self.trail}
        self._store = CommandStore("RequestedDateTime")
        self._invocations = CommandStore(
            "RequestedDateTime", id_field=("CommandId", "InstanceId"), group_field="CommandId"
        )

    # ------------------------------------------------------------- accounts
    def trail_for(self, account: str | None) -> CloudTrail:
        """The CloudTrail events of an account (None = the default account).

        Args:
            account: The account.

        Returns:
            Its trail, made on first use.
        """
        key = account or EMULATOR_AWS_ACCOUNT_ID
        if key not in self._trails:
            self._trails[key] = CloudTrail(account_id=key)
        return self._trails[key]

    def add_account(self, account_id: str) -> tuple[str, str]:
        """Add an account with its own data and a base key pair.

        From now on, keys the emulator does not know are refused
        (``UnrecognizedClientException`` / ``InvalidClientTokenId``), and the new
        account's requests must carry a valid SigV4 signature.

        Args:
            account_id: A 12-digit account id.

        Returns:
            (access key id, secret access key) of the account's base credentials.

        Raises:
            ValueError: On a malformed or existing account id.
        """
        if len(account_id) != 12 or not account_id.isdigit():
            raise ValueError(f"an AWS account id has 12 digits, not {account_id!r}")
        key_id = "AKIA" + random_text(_AWS_KEY_ALPHABET, 16)
        secret = random_text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 40)
        self.registry.add_account(account_id, key_id, secret)
        return key_id, secret

    def add_role(
        self,
        role_arn: str,
        *,
        external_id: str | None = None,
        trusted: Iterable[str] | None = None,
    ) -> None:
        """Add a role that AssumeRole hands out credentials of its account for.

        Args:
            role_arn: ``arn:aws:iam::<account>:role/<name>`` of a known account.
            external_id: The ExternalId the caller must pass (None: none needed).
            trusted: Accounts whose principals may assume it (None: every known account).

        Raises:
            ValueError: On a malformed ARN or an unknown account.
        """
        match = ROLE_ARN_PATTERN.match(role_arn)
        if match is None:
            raise ValueError(f"not a role ARN: {role_arn}")
        self.registry.add_role(
            Role(
                arn=role_arn,
                account=match.group(1),
                name=match.group(2),
                role_id="AROA" + random_text(_AWS_KEY_ALPHABET, 17),
                external_id=external_id,
                trusted=None if trusted is None else frozenset(trusted),
            )
        )

    def set_organization(
        self,
        management_account: str,
        accounts: dict[str, str],
        *,
        delegated_admins: Iterable[str] = (),
        parents: dict[str, str] | None = None,
        ous: dict[str, str] | None = None,
    ) -> None:
        """Put accounts in an AWS organization (Organizations listings answer from it).

        Args:
            management_account: The management account (always a member, ACTIVE).
            accounts: Member account -> State (ACTIVE, SUSPENDED, PENDING_CLOSURE,
                PENDING_ACTIVATION, CLOSED); Status is derived (see README).
            delegated_admins: Member accounts that may list the organization too.
            parents: Account -> OU id (absent: the root, ``aws_org.ROOT_ID``).
            ous: OU id (``ou-xxxx-xxxxxxxx``) -> parent OU id (anything else: the root).
        """
        with self.lock:
            self.organization = build_organization(
                management_account,
                accounts,
                delegated_admins=delegated_admins,
                parents=parents,
                ous=ous,
            )

    # ----------------------------------------------------------------- data
    def add_command(
        self, region: str, *, account: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Store a command, filling every Command member the caller left out.

        Args:
            region: The region to store it in.
            account: The account (None = the default account).
            **fields: Command members (API names). Timestamps are aware datetimes
                (kept in UTC, truncated to milliseconds); None omits a member on the wire.

        Returns:
            A copy of the stored command.
        """
        return self.add_commands(region, [fields], account=account)[0]

    def add_commands(
        self,
        region: str,
        commands: Iterable[dict[str, Any]],
        *,
        copies: bool = True,
        take_ownership: bool = False,
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        """Store many commands at once, as :meth:`add_command` would one by one.

        The batch is stored all or nothing (a bad or duplicate command stores none of it).

        Args:
            region: The region to store them in.
            commands: Command members by name, one dict per command.
            copies: Return copies of the stored commands; False returns [] (faster
                and lighter for huge fills).
            take_ownership: The store may keep the given dicts' nested values instead
                of copying them; only for callers that never touch them again.
            account: The account (None = the default account).

        Returns:
            Copies of the stored commands, in the given order (or [] if not ``copies``).
        """
        key = self._store_key(region, account)
        now = datetime.now(UTC)
        built = [new_command(region, f, now, copy=not take_ownership) for f in commands]
        with self.lock:
            self._store.add_new(key, built)
        return [clone(c) for c in built] if copies else []

    def update_command(
        self, region: str, command_id: str, *, account: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Change stored members of a command.

        A new Status also becomes the StatusDetails unless that is given too.

        Args:
            region: The command's region.
            command_id: The command to change.
            **fields: Members to overwrite (CommandId cannot change).

        Returns:
            A copy of the updated command.

        Raises:
            KeyError: If there is no such command.
        """
        changes = normalise_fields(fields)
        if "CommandId" in changes and changes["CommandId"] != command_id:
            raise ValueError("CommandId cannot change")
        if "Status" in changes and "StatusDetails" not in changes:
            changes["StatusDetails"] = changes["Status"]
        key = self._store_key(region, account)
        with self.lock:
            return clone(self._store.update(key, command_id, changes))

    def delete_command(self, region: str, command_id: str, *, account: str | None = None) -> None:
        """Remove a command (as if it aged out of SSM's ~30-day history).

        Raises:
            KeyError: If there is no such command.
        """
        key = self._store_key(region, account)
        with self.lock:
            self._store.delete(key, command_id)

    def commands(self, region: str, *, account: str | None = None) -> list[dict[str, Any]]:
        """Copies of a region's stored commands, in insertion order."""
        key = self._store_key(region, account)
        with self.lock, gc_paused():
            return [clone(c) for c in self._store.records(key)]

    def _sort(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.sort_records(
            records, lambda c: c["RequestedDateTime"], lambda c: c["CommandId"]
        )

    # ---------------------------------------------------------- invocations
    def add_invocation(
        self, region: str, *, account: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Store a command invocation, filling every member the caller left out.

        Members left out come from the stored command of the same CommandId when there
        is one (Comment, DocumentName, DocumentVersion, RequestedDateTime, ServiceRole,
        NotificationConfig, CloudWatchOutputConfig), else from fixed defaults. Omitted
        CommandPlugins become one plugin consistent with Status; plugins given as
        partial dicts are completed the same way. A plugin Output may be longer than
        2,500 characters: the API cuts it.

        Args:
            region: The region to store it in.
            **fields: CommandInvocation members (API names); timestamps are aware datetimes.

        Returns:
            A copy of the stored invocation.
        """
        return self.add_invocations(region, [fields], account=account)[0]

    def add_invocations(
        self,
        region: str,
        invocations: Iterable[dict[str, Any]],
        *,
        copies: bool = True,
        take_ownership: bool = False,
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        """Store many invocations at once (all or nothing), as :meth:`add_invocation` would.

        Args:
            region: The region to store them in.
            invocations: CommandInvocation members by name, one dict per invocation.
            copies: Return copies of the stored invocations; False returns [].
            take_ownership: The store may keep the given dicts' nested values.

        Returns:
            Copies of the stored invocations, in the given order (or [] if not ``copies``).

        Raises:
            ValueError: On an unknown member or a duplicate (CommandId, InstanceId).
        """
        key = self._store_key(region, account)
        now = datetime.now(UTC)
        with self.lock:
            built = [
                new_invocation(
                    region,
                    fields,
                    now,
                    self._command_or_none(key, fields.get("CommandId")),
                    copy=not take_ownership,
                )
                for fields in invocations
            ]
            self._invocations.add_new(key, built)
        return [clone(i) for i in built] if copies else []

    def update_invocation(
        self,
        region: str,
        command_id: str,
        instance_id: str,
        *,
        account: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Change stored members of an invocation.

        A new Status also becomes the StatusDetails unless that is given too, and the
        plugins follow it (Status, StatusDetails, ResponseCode, times) unless
        CommandPlugins is given; given plugins may be partial.

        Returns:
            A copy of the updated invocation.

        Raises:
            KeyError: If there is no such invocation.
        """
        changes = normalise_invocation_fields(fields)
        if "Status" in changes and "StatusDetails" not in changes:
            changes["StatusDetails"] = changes["Status"]
        key = (command_id, instance_id)
        store_key = self._store_key(region, account)
        with self.lock:
            current = self._invocations.get(store_key, key)
            merged = {**current, **changes}
            if "CommandPlugins" in changes and changes["CommandPlugins"] is not None:
                changes["CommandPlugins"] = [
                    default_plugin(merged, region, **p) for p in changes["CommandPlugins"]
                ]
            elif "Status" in changes:
                followed = ("Status", "StatusDetails", "ResponseCode", "ResponseFinishDateTime")
                changes["CommandPlugins"] = [
                    {
                        **plugin,
                        **{
                            name: value
                            for name, value in default_plugin(merged, region).items()
                            if name in followed
                            or (name == "ResponseStartDateTime" and plugin.get(name) is None)
                        },
                    }
                    for plugin in current.get("CommandPlugins") or []
                ]
            return clone(self._invocations.update(store_key, key, changes))

    def delete_invocation(
        self, region: str, command_id: str, instance_id: str, *, account: str | None = None
    ) -> None:
        """Remove an invocation.

        Raises:
            KeyError: If there is no such invocation.
        """
        key = self._store_key(region, account)
        with self.lock:
            self._invocations.delete(key, (command_id, instance_id))

    def invocations(self, region: str, *, account: str | None = None) -> list[dict[str, Any]]:
        """Copies of a region's stored invocations, in insertion order."""
        key = self._store_key(region, account)
        with self.lock, gc_paused():
            return [clone(i) for i in self._invocations.records(key)]

    def add_command_with_invocations(
        self,
        region: str,
        instance_ids: Sequence[str],
        *,
        invocation_statuses: Sequence[str | tuple[str, str]] | None = None,
        invocation_fields: dict[str, Any] | None = None,
        account: str | None = None,
        **command_fields: Any,
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Store a command and one invocation per instance, consistently.

        The invocations share the command's CommandId, DocumentName, DocumentVersion,
        Comment, RequestedDateTime, ServiceRole, NotificationConfig and
        CloudWatchOutputConfig. Their statuses follow the command's Status (see
        :func:`ssm_invocations.invocation_statuses`) unless ``invocation_statuses``
        gives them (a Status, or a (Status, StatusDetails) pair, per instance). The
        command's TargetCount, CompletedCount, ErrorCount and DeliveryTimedOutCount are
        computed from the invocations unless given; InstanceIds defaults to
        ``instance_ids``.

        Args:
            region: The region.
            instance_ids: One invocation per id, in this order.
            invocation_statuses: Per-instance statuses (None = derived).
            invocation_fields: Extra members for every invocation (e.g. InstanceName).
            account: The account (None = the default account).
            **command_fields: Command members, as for :meth:`add_command`.

        Returns:
            (copy of the command, copies of its invocations).
        """
        command_fields.setdefault("InstanceIds", list(instance_ids))
        status = command_fields.get("Status", "Success")
        if invocation_statuses is None:
            pairs = invocation_statuses_for(status, len(instance_ids))
        else:
            if len(invocation_statuses) != len(instance_ids):
                raise ValueError("invocation_statuses needs one status per instance")
            pairs = [(s, s) if isinstance(s, str) else (s[0], s[1]) for s in invocation_statuses]
        counts = command_counts([{"Status": s, "StatusDetails": d} for s, d in pairs])
        for name, value in counts.items():
            command_fields.setdefault(name, value)
        with self.lock:
            command = self.add_command(region, account=account, **command_fields)
            invocations = self.add_invocations(
                region,
                [
                    {
                        **(invocation_fields or {}),
                        "CommandId": command["CommandId"],
                        "InstanceId": instance_id,
                        "Status": status_pair[0],
                        "StatusDetails": status_pair[1],
                    }
                    for instance_id, status_pair in zip(instance_ids, pairs, strict=True)
                ],
                account=account,
            )
        return command, invocations

    def _command_or_none(self, region: str, command_id: Any) -> dict[str, Any] | None:
        if isinstance(command_id, str) and self._store.has(region, command_id):
            return self._store.get(region, command_id)
        return None

    def _sort_invocations(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.sort_records(
            records, lambda i: i["RequestedDateTime"], lambda i: (i["CommandId"], i["InstanceId"])
        )

    def _render_invocation(
        self, region: str, invocation: dict[str, Any], *, details: bool = False
    ) -> bytes:
        return self._invocations.fragment(
            region, invocation, details, lambda: render_invocation(invocation, details=details)
        )

    def _warm_targets(
        self,
    ) -> list[tuple[CommandStore, Callable[[list[Any]], list[Any]], Callable[[str, Any], bytes]]]:
        return [
            (self._store, self._sort, self._render),
            (self._invocations, self._sort_invocations, self._render_invocation),
        ]

    # ------------------------------------------------------------- protocol
    def parse_request(self, method: str, path: str, headers: Message, body: bytes) -> ApiRequest:
        """Decode an AWS JSON 1.1 (SSM) or query-protocol (STS) request."""
        scope = _CREDENTIAL_SCOPE.search(headers.get("Authorization") or "")
        access_key_id = scope.group(1) if scope else None
        region = scope.group(3) if scope else ""
        target = headers.get("X-Amz-Target")
        content_type = (headers.get("Content-Type") or "").lower()
        if target is None and content_type.startswith("application/x-www-form-urlencoded"):
            params: dict[str, Any] = dict(
                parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            )
            protocol = QUERY_PROTOCOL
            action = str(params.get("Action", ""))
        else:
            prefix, _, operation = (target or "").partition(".")
            protocol = JSON_PROTOCOL
            action = operation if prefix == SSM_TARGET_PREFIX else ""
            if prefix == ORGANIZATIONS_TARGET_PREFIX:
                protocol, action = ORGANIZATIONS_PROTOCOL, operation
            elif target is None and path.split("?", 1)[0] == LIST_REGIONS_PATH:
                # Account is rest-json: the operation is the path, not a target header.
                protocol, action = ACCOUNT_PROTOCOL, "ListRegions"
            if (target or "").startswith(CLOUDTRAIL_TARGET_PREFIX + "."):
                action = (target or "").rpartition(".")[2]
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                raise RequestRejectedError(
                    _json_error("SerializationException", "Request body is not valid JSON"),
                    action=action,
                    region=region,
                    access_key_id=access_key_id,
                ) from None
            if not isinstance(params, dict):
                raise RequestRejectedError(
                    _json_error("SerializationException", "Request body must be a JSON object"),
                    action=action,
                    region=region,
                )
            if method != "POST" or not action:
                raise RequestRejectedError(
                    _json_error(
                        "UnknownOperationException", f"Unknown operation target {target!r}"
                    ),
                    region=region,
                    access_key_id=access_key_id,
                    params=params,
                )
        if scope is None:
            missing = (
                error_reply(
                    StsError(
                        "MissingAuthenticationToken", "Request is missing Authentication Token", 403
                    )
                )
                if protocol == QUERY_PROTOCOL
                else _json_error(
                    "MissingAuthenticationTokenException", "Missing Authentication Token"
                )
            )
            raise RequestRejectedError(missing, action=action, params=params)
        return ApiRequest(
            action=action,
            region=region,
            params=params,
            access_key_id=access_key_id,
            method=method,
            path=path,
            headers=headers,
            body=body,
            session_token=headers.get("X-Amz-Security-Token"),
            protocol=protocol,
        )

    def _auth_error(self, request: ApiRequest) -> Reply:
        if request.protocol == QUERY_PROTOCOL:
            return error_reply(StsError("InvalidClientTokenId", _INVALID_TOKEN_MESSAGE, 403))
        return _json_error("UnrecognizedClientException", _INVALID_TOKEN_MESSAGE)

    def _expired_error(self, request: ApiRequest) -> Reply:
        if request.protocol == QUERY_PROTOCOL:
            return error_reply(StsError("ExpiredToken", _EXPIRED_MESSAGE))
        if request.protocol == ACCOUNT_PROTOCOL:
            return rest_error(AwsApiError("ExpiredTokenException", _EXPIRED_MESSAGE, 403))
        return _json_error("ExpiredTokenException", _EXPIRED_MESSAGE)

    def _signature_error(self, request: ApiRequest) -> Reply:
        message = (
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )
        if request.protocol == QUERY_PROTOCOL:
            return error_reply(StsError("SignatureDoesNotMatch", message, 403))
        if request.protocol == ACCOUNT_PROTOCOL:
            return rest_error(AwsApiError("InvalidSignatureException", message, 403))
        return _json_error("InvalidSignatureException", message)

    def authenticate(self, request: ApiRequest) -> Reply | None:
        """Refuse unknown keys, bad signatures, and expired or token-less temporary keys.

        Keys of added accounts and temporary credentials are checked with botocore's
        own SigV4 signer; the default key is not (older tests sign with any secret).
        """
        key = request.access_key_id
        if request.session_token and request.session_token in self.expired_session_tokens:
            return self._expired_error(request)
        if self.valid_access_keys is not None and key not in self.valid_access_keys:
            return self._auth_error(request)
        info = self.registry.key(key)
        if info is None:
            # Unknown keys pass until an account was added (then they belong to no one).
            return self._auth_error(request) if self.registry.multi else None
        if info.temporary and request.session_token != info.session_token:
            return self._auth_error(request)
        if key != EMULATOR_AWS_ACCESS_KEY_ID and not sigv4_matches(
            request.method,
            request.path,
            request.headers,
            request.body,
            info.secret,
            request.session_token,
        ):
            return self._signature_error(request)
        if info.is_expired():
            return self._expired_error(request)
        return None

    def _dispatch_organizations(self, request: ApiRequest, caller: str) -> Reply:
        if request.action not in ORG_ACTIONS:
            return _json_error(
                "UnknownOperationException", f"Operation {request.action} is not emulated"
            )
        try:
            return org_reply(org_page(self.organization, caller, request.action, request.params))
        except AwsApiError as error:
            return org_error(error)

    def dispatch(self, request: ApiRequest) -> Reply:
        """Answer ListCommands, ListCommandInvocations or an STS action."""
        if request.protocol == QUERY_PROTOCOL:
            try:
                return self._dispatch_sts(request)
            except StsError as error:
                return error_reply(error)
        caller = self.registry.account_of_key(request.access_key_id)
        if request.protocol == ORGANIZATIONS_PROTOCOL:
            return self._dispatch_organizations(request, caller)
        if request.protocol == ACCOUNT_PROTOCOL:
            return self._list_regions(request, caller)
        if (request.headers.get("X-Amz-Target") or "").startswith(CLOUDTRAIL_TARGET_PREFIX):
            return self.trail_for(caller).answer(request)
        if request.action == "ListCommandInvocations":
            return self._list_command_invocations(request)
        if request.action != "ListCommands":
            return _json_error(
                "UnknownOperationException", f"Operation {request.action} is not emulated"
            )
        region = self._request_key(request)
        try:
            query = parse_list_query(region, request.params)
            matching = self._store.window(
                region,
                order=self.order,
                seed=self.order_seed,
                sort=self._sort,
                view_key=query.fingerprint,
                predicates=query.predicates,
                after=query.invoked_after,
                before=query.invoked_before,
                ids=None if query.command_id is None else (query.command_id,),
            )
            body = list_page(matching, query, lambda c: self._render(region, c))
        except SsmApiError as error:
            return _json_error(error.code, error.message, error.status)
        return Reply(200, body, JSON_CONTENT_TYPE, {"x-amzn-RequestId": str(uuid.uuid4())})

    def _request_key(self, request: ApiRequest) -> str:
        # The signing account's data: other accounts' commands are invisible to it.
        account = self.registry.account_of_key(request.access_key_id)
        return region_key(request.region, account, self.registry.default_account)

    def _list_regions(self, request: ApiRequest, caller: str) -> Reply:
        target = request.params.get("AccountId")
        org = self.organization
        # The reference: only the management account or a delegated administrator may
        # name another account, and only a member account of the same organization.
        if (
            target is not None
            and target != caller
            and (org is None or not org.may_list(caller) or target not in org.accounts)
        ):
            return rest_error(
                AwsApiError(
                    "AccessDeniedException",
                    f"User is not authorized to access account {target}.",
                    403,
                )
            )
        try:
            account = caller if target is None else str(target)
            states = (
                self.registry.regions_of(account)
                if account in self.registry.accounts()
                else dict(DEFAULT_AWS_REGIONS)
            )
            payload = regions_page(states, request.params, account)
        except AwsApiError as error:
            return rest_error(error)
        return Reply(
            200,
            json.dumps(payload).encode(),
            "application/json",
            {"x-amzn-RequestId": str(uuid.uuid4())},
        )

    def _list_command_invocations(self, request: ApiRequest) -> Reply:
        region = self._request_key(request)
        try:
            query = parse_list_query(region, request.params, invocations=True)
            ids = (
                None
                if query.command_id is None
                else self._invocations.group(region, query.command_id)
            )
            matching = self._invocations.window(
                region,
                order=self.order,
                seed=self.order_seed,
                sort=self._sort_invocations,
                view_key=query.fingerprint,
                predicates=query.predicates,
                after=query.invoked_after,
                before=query.invoked_before,
                ids=ids,
            )
            body = list_page(
                matching,
                query,
                lambda i: self._render_invocation(region, i, details=query.details),
                "CommandInvocations",
            )
        except SsmApiError as error:
            return _json_error(error.code, error.message, error.status)
        return Reply(200, body, JSON_CONTENT_TYPE, {"x-amzn-RequestId": str(uuid.uuid4())})

    def _render(self, region: str, command: dict[str, Any]) -> bytes:
        return self._store.fragment(region, command, None, lambda: render_command(command))

    def _caller_arn(self, access_key_id: str | None) -> str:
        info = self.registry.key(access_key_id)
        if info is not None and info.temporary and info.role_arn:
            match = ROLE_ARN_PATTERN.match(info.role_arn)
            name = match.group(2) if match else "role"
            return f"arn:aws:sts::{info.account}:assumed-role/{name}/{info.session_name}"
        account = self.registry.account_of_key(access_key_id)
        return f"arn:aws:iam::{account}:user/emulator"

    def _dispatch_sts(self, request: ApiRequest) -> Reply:
        params = {k: str(v) for k, v in request.params.items()}
        caller = self._caller_arn(request.access_key_id)
        caller_account = self.registry.account_of_key(request.access_key_id)
        if request.action == "GetCallerIdentity":
            info = self.registry.key(request.access_key_id)
            user_id = (
                f"{info.principal_id}:{info.session_name}"
                if info is not None and info.temporary
                else "AIDA" + (request.access_key_id or "")[4:]
            )
            return caller_identity_reply(user_id, caller_account, caller)
        if request.action != "AssumeRole":
            raise StsError(
                "InvalidAction", f"Could not find operation {request.action} for version 2011-06-15"
            )
        role_arn = params.get("RoleArn", "")
        role = self.registry.role(role_arn)
        denied_message = (
            f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        )
        if role is None:
            # A role nobody added: with accounts in play it does not exist, which AWS
            # answers as AccessDenied; otherwise the older single-account behaviour.
            denied = (
                self.registry.multi
                or self.assume_role_denied
                or (
                    self.required_external_id is not None
                    and params.get("ExternalId") != self.required_external_id
                )
            )
        else:
            denied = (
                self.assume_role_denied
                or not self.registry.may_assume(role, caller_account)
                or (role.external_id is not None and params.get("ExternalId") != role.external_id)
            )
        if denied:
            raise StsError("AccessDenied", denied_message, 403)
        caller_key = self.registry.key(request.access_key_id)
        if (
            caller_key is not None
            and caller_key.temporary
            and int(params.get("DurationSeconds") or 0) > ROLE_CHAINING_MAX_SECONDS
        ):
            # The AssumeRole reference: role chaining limits a session to one hour.
            raise StsError(
                "ValidationError",
                "The requested DurationSeconds exceeds the 1 hour session limit "
                "for roles assumed by role chaining.",
            )
        issued = issue_credentials(params, datetime.now(UTC))
        if role is not None:
            # One role, one RoleId: every session of it shares the AROA... prefix.
            issued = replace(issued, assumed_role_id=f"{role.role_id}:{issued.role_session_name}")
        self.issued_credentials.append(issued)
        match = ROLE_ARN_PATTERN.match(role_arn)
        self.registry.add_key(
            KeyInfo(
                key_id=issued.access_key_id,
                secret=issued.secret_access_key,
                account=role.account if role else (match.group(1) if match else ""),
                session_token=issued.session_token,
                expiration=issued.expiration,
                role_arn=role_arn,
                session_name=issued.role_session_name,
                principal_id=(role.role_id if role else issued.assumed_role_id.split(":")[0]),
                assumed_by=caller_account,
            )
        )
        if self.valid_access_keys is not None:
            self.valid_access_keys.add(issued.access_key_id)
        return assume_role_reply(issued)

    def fault_reply(self, fault: Fault, request: ApiRequest) -> Reply:
        """Render a throttle, server_error or auth fault as SSM (or STS) would."""
        if request.protocol == QUERY_PROTOCOL:
            if fault.kind == "throttle":
                return error_reply(StsError("Throttling", "Rate exceeded"))
            if fault.kind == "auth":
                return self._auth_error(request)
            return error_reply(
                StsError(
                    _server_error_code(fault.status),
                    "An internal error occurred.",
                    fault.status,
                    "Receiver",
                )
            )
        if fault.kind == "throttle":
            return _json_error("ThrottlingException", "Rate exceeded")
        if fault.kind == "auth":
            return self._auth_error(request)
        return _json_error(
            _server_error_code(fault.status), "An internal error occurred.", fault.status
        )

    def internal_error_reply(self, request: ApiRequest | None) -> Reply:
        """An emulator bug, answered as a 500 InternalServerError."""
        return _json_error("InternalServerError", "The emulator failed; see emulator.errors.", 500)
