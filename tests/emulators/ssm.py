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
from datetime import UTC, datetime
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl

from .base import (
    ApiRequest,
    EmulatorServer,
    Fault,
    Reply,
    RequestRejectedError,
)
from .cloudtrail import CLOUDTRAIL_TARGET_PREFIX, CloudTrail
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
    DEFAULT_ACCOUNT_ID,
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
    """

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
        # CloudTrail LookupEvents, served on this port too (cloudtrail.py).
        self.trail = CloudTrail()
        self._store = CommandStore("RequestedDateTime")
        self._invocations = CommandStore(
            "RequestedDateTime", id_field=("CommandId", "InstanceId"), group_field="CommandId"
        )

    # ----------------------------------------------------------------- data
    def add_command(self, region: str, **fields: Any) -> dict[str, Any]:
        """Store a command, filling every Command member the caller left out.

        Args:
            region: The region to store it in.
            **fields: Command members (API names). Timestamps are aware datetimes
                (kept in UTC, truncated to milliseconds); None omits a member on the wire.

        Returns:
            A copy of the stored command.
        """
        return self.add_commands(region, [fields])[0]

    def add_commands(
        self,
        region: str,
        commands: Iterable[dict[str, Any]],
        *,
        copies: bool = True,
        take_ownership: bool = False,
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

        Returns:
            Copies of the stored commands, in the given order (or [] if not ``copies``).
        """
        now = datetime.now(UTC)
        built = [new_command(region, f, now, copy=not take_ownership) for f in commands]
        with self.lock:
            self._store.add_new(region, built)
        return [clone(c) for c in built] if copies else []

    def update_command(self, region: str, command_id: str, **fields: Any) -> dict[str, Any]:
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
        with self.lock:
            return clone(self._store.update(region, command_id, changes))

    def delete_command(self, region: str, command_id: str) -> None:
        """Remove a command (as if it aged out of SSM's ~30-day history).

        Raises:
            KeyError: If there is no such command.
        """
        with self.lock:
            self._store.delete(region, command_id)

    def commands(self, region: str) -> list[dict[str, Any]]:
        """Copies of a region's stored commands, in insertion order."""
        with self.lock, gc_paused():
            return [clone(c) for c in self._store.records(region)]

    def _sort(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.sort_records(
            records, lambda c: c["RequestedDateTime"], lambda c: c["CommandId"]
        )

    # ---------------------------------------------------------- invocations
    def add_invocation(self, region: str, **fields: Any) -> dict[str, Any]:
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
        return self.add_invocations(region, [fields])[0]

    def add_invocations(
        self,
        region: str,
        invocations: Iterable[dict[str, Any]],
        *,
        copies: bool = True,
        take_ownership: bool = False,
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
        now = datetime.now(UTC)
        with self.lock:
            built = [
                new_invocation(
                    region,
                    fields,
                    now,
                    self._command_or_none(region, fields.get("CommandId")),
                    copy=not take_ownership,
                )
                for fields in invocations
            ]
            self._invocations.add_new(region, built)
        return [clone(i) for i in built] if copies else []

    def update_invocation(
        self, region: str, command_id: str, instance_id: str, **fields: Any
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
        with self.lock:
            current = self._invocations.get(region, key)
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
            return clone(self._invocations.update(region, key, changes))

    def delete_invocation(self, region: str, command_id: str, instance_id: str) -> None:
        """Remove an invocation.

        Raises:
            KeyError: If there is no such invocation.
        """
        with self.lock:
            self._invocations.delete(region, (command_id, instance_id))

    def invocations(self, region: str) -> list[dict[str, Any]]:
        """Copies of a region's stored invocations, in insertion order."""
        with self.lock, gc_paused():
            return [clone(i) for i in self._invocations.records(region)]

    def add_command_with_invocations(
        self,
        region: str,
        instance_ids: Sequence[str],
        *,
        invocation_statuses: Sequence[str | tuple[str, str]] | None = None,
        invocation_fields: dict[str, Any] | None = None,
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
            command = self.add_command(region, **command_fields)
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
            protocol = JSON_PROTOCOL
            action = (
                (target or "").partition(".")[2]
                if (target or "").startswith(SSM_TARGET_PREFIX + ".")
                else ""
            )
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

    def authenticate(self, request: ApiRequest) -> Reply | None:
        """Refuse unknown access keys, and assumed-role keys without their session token."""
        key = request.access_key_id
        if request.session_token and request.session_token in self.expired_session_tokens:
            return _json_error(
                "ExpiredTokenException", "The security token included in the request is expired"
            )
        if self.valid_access_keys is not None and key not in self.valid_access_keys:
            return self._auth_error(request)
        issued = next((c for c in self.issued_credentials if c.access_key_id == key), None)
        if issued is not None and request.session_token != issued.session_token:
            return self._auth_error(request)
        return None

    def dispatch(self, request: ApiRequest) -> Reply:
        """Answer ListCommands, ListCommandInvocations or an STS action."""
        if request.protocol == QUERY_PROTOCOL:
            try:
                return self._dispatch_sts(request)
            except StsError as error:
                return error_reply(error)
        if (request.headers.get("X-Amz-Target") or "").startswith(CLOUDTRAIL_TARGET_PREFIX):
            return self.trail.answer(request)
        if request.action == "ListCommandInvocations":
            return self._list_command_invocations(request)
        if request.action != "ListCommands":
            return _json_error(
                "UnknownOperationException", f"Operation {request.action} is not emulated"
            )
        try:
            query = parse_list_query(request.region, request.params)
            matching = self._store.window(
                request.region,
                order=self.order,
                seed=self.order_seed,
                sort=self._sort,
                view_key=query.fingerprint,
                predicates=query.predicates,
                after=query.invoked_after,
                before=query.invoked_before,
                ids=None if query.command_id is None else (query.command_id,),
            )
            body = list_page(matching, query, lambda c: self._render(request.region, c))
        except SsmApiError as error:
            return _json_error(error.code, error.message, error.status)
        return Reply(200, body, JSON_CONTENT_TYPE, {"x-amzn-RequestId": str(uuid.uuid4())})

    def _list_command_invocations(self, request: ApiRequest) -> Reply:
        region = request.region
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
        issued = next(
            (c for c in self.issued_credentials if c.access_key_id == access_key_id), None
        )
        return (
            issued.assumed_role_arn
            if issued
            else f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:user/emulator"
        )

    def _dispatch_sts(self, request: ApiRequest) -> Reply:
        params = {k: str(v) for k, v in request.params.items()}
        caller = self._caller_arn(request.access_key_id)
        if request.action == "GetCallerIdentity":
            return caller_identity_reply(request.access_key_id or "", DEFAULT_ACCOUNT_ID, caller)
        if request.action != "AssumeRole":
            raise StsError(
                "InvalidAction", f"Could not find operation {request.action} for version 2011-06-15"
            )
        denied = self.assume_role_denied or (
            self.required_external_id is not None
            and params.get("ExternalId") != self.required_external_id
        )
        if denied:
            role_arn = params.get("RoleArn")
            message = f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: "
            raise StsError("AccessDenied", message + str(role_arn), 403)
        issued = issue_credentials(params, datetime.now(UTC))
        self.issued_credentials.append(issued)
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
