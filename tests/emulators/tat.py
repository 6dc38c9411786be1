"""Tencent Cloud TAT emulator (API 3.0, TC3-HMAC-SHA256, version 2020-10-28).

Every answer is HTTP 200 with a JSON ``{"Response": {...}}`` body, errors included,
as Tencent Cloud answers. The SDK only raises on an error body when the
Content-Type is exactly ``application/json`` (see FACTS.md), so
:attr:`TATEmulator.content_type` can be switched to reproduce that trap.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from email.message import Message
from http import HTTPStatus
from typing import Any

from .base import (
    BASE_FAULT_KINDS,
    ApiRequest,
    EmulatorServer,
    Fault,
    Reply,
    RequestRejectedError,
)
from .credentials import EMULATOR_TAT_SECRET_ID, EMULATOR_TAT_SECRET_KEY
from .jsonwire import encode_json
from .store import CommandStore, clone, gc_paused
from .tat_model import (
    DEFAULT_TIMESTAMP_STYLE,
    check_field_names,
    check_timestamp_style,
    json_default,
    new_command,
    normalise_fields,
    render_command,
    utc_seconds,
)
from .tat_query import TatApiError, describe_page, parse_describe_query
from .tat_signing import parse_authorization, signature_matches

API_VERSION = "2020-10-28"
SERVICE = "tat"
JSON_CONTENT_TYPE = "application/json"
REQUIRED_SIGNED_HEADERS = frozenset({"content-type", "host"})
THROTTLE_MESSAGE = "Your current request times per second exceeds the upper limit."
SIGNATURE_FAILURE_MESSAGE = (
    "The provided credentials could not be validated. Please check your signature is correct."
)
INTERNAL_ERROR_MESSAGE = (
    "An internal error has occurred. Retry your request, but if the problem persists, contact us."
)


class TATEmulator(EmulatorServer):
    """Emulates TAT DescribeCommands for any number of regions.

    Attributes:
        credentials: SecretId -> SecretKey pairs whose signatures are accepted.
        tokens: Accepted X-TC-Token values; None skips the token check.
        content_type: Content-Type of every JSON answer. The default is what the SDK
            needs to raise on errors; "application/json; charset=utf-8" makes the SDK
            silently ignore error bodies.
        clock_skew_seconds: Largest accepted |X-TC-Timestamp - now|.
        supported_regions: Regions answered (None = any); others get UnsupportedRegion.
    """

    supported_fault_kinds = BASE_FAULT_KINDS | {"internal"}

    def __init__(
        self,
        credentials: dict[str, str] | None = None,
        tokens: set[str] | None = None,
        *,
        port: int = 0,
    ) -> None:
        """Create the emulator (call :meth:`start` to serve).

        Args:
            credentials: SecretId -> SecretKey; defaults to the fixed emulator pair.
            tokens: Accepted session tokens; None accepts requests with or without one.
            port: TCP port on 127.0.0.1; 0 picks a free one.
        """
        super().__init__(port=port)
        self.credentials = (
            dict(credentials)
            if credentials is not None
            else {EMULATOR_TAT_SECRET_ID: EMULATOR_TAT_SECRET_KEY}
        )
        self.tokens = tokens
        self.content_type = JSON_CONTENT_TYPE
        self.clock_skew_seconds = 300
        self.supported_regions: set[str] | None = None
        self._timestamp_style = DEFAULT_TIMESTAMP_STYLE
        self._store = CommandStore("CreatedTime")
        self._styles: dict[tuple[str, str], str] = {}

    @property
    def timestamp_style(self) -> str:
        """How CreatedTime/UpdatedTime end on the wire: "+00:00" (default), "Z" or "+HH:MM"."""
        return self._timestamp_style

    @timestamp_style.setter
    def timestamp_style(self, style: str) -> None:
        self._timestamp_style = check_timestamp_style(style)

    # ----------------------------------------------------------------- data
    def add_command(
        self, region: str, *, timestamp_style: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Store a command, filling every Command attribute the caller left out.

        Args:
            region: The region to store it in.
            timestamp_style: Wire style for this command's timestamps (overrides the
                emulator's :attr:`timestamp_style`).
            **fields: Command attributes (API names); timestamps are aware datetimes,
                kept in UTC whole seconds.

        Returns:
            A copy of the stored command.
        """
        return self.add_commands(region, [fields], timestamp_style=timestamp_style)[0]

    def add_commands(
        self,
        region: str,
        commands: Iterable[dict[str, Any]],
        *,
        timestamp_style: str | None = None,
        copies: bool = True,
        take_ownership: bool = False,
    ) -> list[dict[str, Any]]:
        """Store many commands at once, as :meth:`add_command` would one by one.

        Field names are checked once per distinct set of names, and the batch is
        stored all or nothing (a bad or duplicate command stores none of it).

        Args:
            region: The region to store them in.
            commands: Command attributes by name, one dict per command.
            timestamp_style: Wire style for these commands' timestamps.
            copies: Return copies of the stored commands; False returns [] (faster
                and lighter for huge fills).
            take_ownership: The store may keep the given dicts' nested values instead
                of copying them; only for callers that never touch them again.

        Returns:
            Copies of the stored commands, in the given order (or [] if not ``copies``).
        """
        style = None if timestamp_style is None else check_timestamp_style(timestamp_style)
        now = datetime.now(UTC)
        checked: set[frozenset[str]] = set()
        built: list[dict[str, Any]] = []
        for fields in commands:
            names = frozenset(fields)
            if names not in checked:
                check_field_names(fields)
                checked.add(names)
            built.append(new_command(fields, now, checked=True, copy=not take_ownership))
        with self.lock:
            seen: set[str] = set()
            for command in built:
                command_id = command["CommandId"]
                if command_id in seen or self._store.has(region, command_id):
                    raise ValueError(f"duplicate CommandId {command_id} in {region}")
                seen.add(command_id)
            self._store.add(region, built)
            if style is not None:
                for command in built:
                    self._styles[(region, command["CommandId"])] = style
        return [clone(c) for c in built] if copies else []

    def update_command(
        self, region: str, command_id: str, *, timestamp_style: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Change a command; UpdatedTime becomes the given value or now.

        Raises:
            KeyError: If there is no such command.
        """
        changes = normalise_fields(fields)
        if "CommandId" in changes and changes["CommandId"] != command_id:
            raise ValueError("CommandId cannot change")
        changes.setdefault("UpdatedTime", utc_seconds(datetime.now(UTC)))
        with self.lock:
            command = self._store.update(region, command_id, changes)
            if timestamp_style is not None:
                self._styles[(region, command_id)] = check_timestamp_style(timestamp_style)
            return clone(command)

    def delete_command(self, region: str, command_id: str) -> None:
        """Remove a command.

        Raises:
            KeyError: If there is no such command.
        """
        with self.lock:
            self._store.delete(region, command_id)
            self._styles.pop((region, command_id), None)

    def commands(self, region: str) -> list[dict[str, Any]]:
        """Copies of a region's stored commands, in insertion order."""
        with self.lock, gc_paused():
            return [clone(c) for c in self._store.records(region)]

    def _sort(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.sort_records(records, lambda c: c["CreatedTime"], lambda c: c["CommandId"])

    # ------------------------------------------------------------- protocol
    def _response(self, payload: dict[str, Any], error_code: str | None = None) -> Reply:
        body = encode_json(
            {"Response": {**payload, "RequestId": str(uuid.uuid4())}},
            json_default(self._timestamp_style),
        )
        return Reply(200, body, self.content_type, error_code=error_code)

    def _error(self, code: str, message: str) -> Reply:
        return self._response({"Error": {"Code": code, "Message": message}}, error_code=code)

    def parse_request(self, method: str, path: str, headers: Message, body: bytes) -> ApiRequest:
        """Decode a TC3-signed JSON POST."""
        action = headers.get("X-TC-Action") or ""
        region = headers.get("X-TC-Region") or ""
        auth = parse_authorization(headers.get("Authorization"))
        secret_id = auth.secret_id if auth else None
        params: Any = {}
        if method != "POST":
            raise RequestRejectedError(
                self._error("InvalidParameter", "The emulator accepts POST with a JSON body only."),
                action=action,
                region=region,
                access_key_id=secret_id,
            )
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = None
        if not isinstance(params, dict):
            raise RequestRejectedError(
                self._error("InvalidParameter", "The request body is not a JSON object."),
                action=action,
                region=region,
                access_key_id=secret_id,
            )
        return ApiRequest(
            action=action,
            region=region,
            params=params,
            access_key_id=secret_id,
            method=method,
            path=path,
            headers=headers,
            body=body,
            session_token=headers.get("X-TC-Token"),
            protocol="tc3",
        )

    def authenticate(self, request: ApiRequest) -> Reply | None:
        """Check common parameters, then the TC3 signature, clock skew and token."""
        headers = request.headers
        for header, name in (("X-TC-Action", "Action"), ("X-TC-Timestamp", "Timestamp")):
            if not headers.get(header):
                return self._error(
                    "MissingParameter", f"The request is missing a required parameter `{name}`."
                )
        auth = parse_authorization(headers.get("Authorization"))
        if (
            auth is None
            or auth.service != SERVICE
            or not REQUIRED_SIGNED_HEADERS.issubset(auth.signed_headers)
        ):
            return self._error(
                "AuthFailure.InvalidAuthorization",
                "The `Authorization` header is missing or malformed.",
            )
        secret_key = self.credentials.get(auth.secret_id)
        if secret_key is None:
            return self._error(
                "AuthFailure.SecretIdNotFound",
                "The SecretId is not found, please ensure that your SecretId is correct.",
            )
        timestamp = str(headers.get("X-TC-Timestamp"))
        now = int(time.time())
        if not timestamp.isdigit() or abs(now - int(timestamp)) > self.clock_skew_seconds:
            return self._error(
                "AuthFailure.SignatureExpire",
                f"Signature expired. Timestamp is {timestamp}, server time is {now}, "
                "server time and client time difference cannot be greater than "
                f"{self.clock_skew_seconds} seconds.",
            )
        if not signature_matches(
            auth, secret_key, request.method, request.path, headers, request.body, timestamp
        ):
            return self._error("AuthFailure.SignatureFailure", SIGNATURE_FAILURE_MESSAGE)
        if self.tokens is not None and request.session_token not in self.tokens:
            return self._error("AuthFailure.TokenFailure", "Token verification failed.")
        return None

    def dispatch(self, request: ApiRequest) -> Reply:
        """Answer DescribeCommands (version, region and action checked first)."""
        version = request.headers.get("X-TC-Version") or ""
        if version != API_VERSION:
            return self._error(
                "NoSuchVersion",
                f"The requested version `{version}` of API `{request.action}` does not exist.",
            )
        if not request.region:
            return self._error(
                "MissingParameter", "The request is missing a required parameter `Region`."
            )
        if self.supported_regions is not None and request.region not in self.supported_regions:
            return self._error(
                "UnsupportedRegion", f"The region `{request.region}` is not supported."
            )
        if request.action != "DescribeCommands":
            return self._error("InvalidAction", f"The action `{request.action}` is not emulated.")
        try:
            query = parse_describe_query(request.params)
        except TatApiError as error:
            return self._error(error.code, error.message)
        region = request.region
        matching = self._store.window(
            region,
            order=self.order,
            seed=self.order_seed,
            sort=self._sort,
            view_key=query.view_key,
            predicates=query.predicates,
            ids=query.ids,
        )
        body = describe_page(matching, query, lambda c: self._render(region, c), str(uuid.uuid4()))
        return Reply(200, body, self.content_type)

    def _render(self, region: str, command: dict[str, Any]) -> bytes:
        style = self._styles.get((region, command["CommandId"]), self._timestamp_style)
        return self._store.fragment(
            region,
            command,
            style,
            lambda: render_command(command, style),
        )

    def fault_reply(self, fault: Fault, request: ApiRequest) -> Reply:
        """Render throttle, auth, internal and server_error faults as TAT would."""
        if fault.kind == "throttle":
            return self._error("RequestLimitExceeded", THROTTLE_MESSAGE)
        if fault.kind == "auth":
            return self._error("AuthFailure.SignatureFailure", SIGNATURE_FAILURE_MESSAGE)
        if fault.kind == "internal":
            return self._error("InternalError", INTERNAL_ERROR_MESSAGE)
        # server_error: a gateway-style non-200 text answer, which the SDK turns into
        # ServerNetworkError.
        try:
            reason = HTTPStatus(fault.status).phrase
        except ValueError:
            reason = "Error"
        return Reply(
            fault.status, f"{fault.status} {reason}".encode(), "text/plain", error_code=None
        )

    def internal_error_reply(self, request: ApiRequest | None) -> Reply:
        """An emulator bug, answered as TAT InternalError."""
        return self._error("InternalError", "The emulator failed; see emulator.errors.")
