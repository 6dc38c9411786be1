"""Tencent Cloud TAT emulator (API 3.0, TC3-HMAC-SHA256, version 2020-10-28).

Every answer is HTTP 200 with a JSON ``{"Response": {...}}`` body, errors included,
as Tencent Cloud answers. The SDK only raises on an error body when the
Content-Type is exactly ``application/json`` (see FACTS.md), so
:attr:`TATEmulator.content_type` can be switched to reproduce that trap.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.message import Message
from http import HTTPStatus
from typing import Any

from .accounts import AccountRegistry, KeyInfo, Role, random_text, region_key
from .base import (
    BASE_FAULT_KINDS,
    ApiRequest,
    EmulatorServer,
    Fault,
    Reply,
    RequestRejectedError,
)
from .cloudaudit import API_VERSION as CLOUDAUDIT_VERSION
from .cloudaudit import SERVICE as CLOUDAUDIT_SERVICE
from .cloudaudit import CloudAudit, CloudAuditApiError
from .credentials import (
    EMULATOR_TAT_SECRET_ID,
    EMULATOR_TAT_SECRET_KEY,
    EMULATOR_TENCENT_ACCOUNT_ID,
)
from .jsonwire import encode_json
from .store import CommandStore, Window, clone, gc_paused
from .tat_invocations import (
    UNFINISHED_TASK_STATUSES,
    new_invocation,
    new_task,
    output_bytes,
    refresh_invocation,
    render_invocation,
    render_task,
    task_result,
)
from .tat_model import (
    DEFAULT_TIMESTAMP_STYLE,
    check_timestamp_style,
    json_default,
    new_command,
    normalise_fields,
    render_command,
    utc_seconds,
)
from .tat_query import (
    TASKS_SPEC,
    TatApiError,
    describe_page,
    invocations_spec,
    parse_describe_query,
)
from .tat_signing import parse_authorization, signature_matches
from .tencent_sts import (
    DEFAULT_TENCENT_REGIONS,
    ROLE_ARN_PATTERN,
    STS_SERVICE,
    STS_VERSION,
    TENCENT_REGION_STATES,
    TencentApiError,
    assume_role,
    caller_identity,
    describe_regions,
)

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
    """Emulates TAT DescribeCommands, DescribeInvocations and DescribeInvocationTasks
    for any number of regions.

    Commands, invocations and invocation tasks live in three stores; an invocation
    and its tasks are kept consistent by :meth:`add_invocation`, :meth:`update_task`
    and :meth:`delete_invocation`.

    Attributes:
        credentials: SecretId -> SecretKey pairs whose signatures are accepted.
        tokens: Accepted X-TC-Token values; None skips the token check.
        content_type: Content-Type of every JSON answer. The default is what the SDK
            needs to raise on errors; "application/json; charset=utf-8" makes the SDK
            silently ignore error bodies.
        clock_skew_seconds: Largest accepted |X-TC-Timestamp - now|.
        supported_regions: Regions answered (None = any); others get UnsupportedRegion.
        tie_order: "stable" (default: items created in the same second come by id) or
            "random" (their order is drawn again for every request, as an ``ORDER BY
            CreatedTime`` without a unique tie-breaker may do; the reference does not say).
    """

    supported_fault_kinds = BASE_FAULT_KINDS | {"internal"}
    region_states = TENCENT_REGION_STATES

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
        self.registry = AccountRegistry(EMULATOR_TENCENT_ACCOUNT_ID, DEFAULT_TENCENT_REGIONS)
        for secret_id, secret_key in self.credentials.items():
            self.registry.add_key(KeyInfo(secret_id, secret_key, EMULATOR_TENCENT_ACCOUNT_ID))
        self.content_type = JSON_CONTENT_TYPE
        self.clock_skew_seconds = 300
        self.supported_regions: set[str] | None = None
        self.tie_order = "stable"
        self._tie_random = random.Random(0)
        self._timestamp_style = DEFAULT_TIMESTAMP_STYLE
        self._store = CommandStore("CreatedTime")
        self._styles: dict[tuple[str, str], str] = {}
        self._invocations = CommandStore(
            "CreatedTime", id_field="InvocationId", group_field="CommandId"
        )
        self._tasks = CommandStore(
            "CreatedTime", id_field="InvocationTaskId", group_field="InvocationId"
        )
        # Per-invocation timestamp styles (its tasks follow it).
        self._invocation_styles: dict[tuple[str, str], str] = {}
        # CloudAudit LookUpEvents, served on this port too (cloudaudit.py).
        # One CloudAudit per account (``audit`` is the default account's).
        self.audit = CloudAudit()
        self._audits: dict[str, CloudAudit] = {EMULATOR_TENCENT_ACCOUNT_ID: self.audit}

    @property
    def timestamp_style(self) -> str:
        """How CreatedTime/UpdatedTime end on the wire: "+00:00" (default), "Z" or "+HH:MM"."""
        return self._timestamp_style

    @timestamp_style.setter
    def timestamp_style(self, style: str) -> None:
        self._timestamp_style = check_timestamp_style(style)

    # ------------------------------------------------------------- accounts
    def audit_for(self, account: str | None) -> CloudAudit:
        """The CloudAudit events of an account (None = the default account).

        Args:
            account: The account (main account UIN).

        Returns:
            Its events, made on first use.
        """
        key = account or EMULATOR_TENCENT_ACCOUNT_ID
        if key not in self._audits:
            self._audits[key] = CloudAudit()
        return self._audits[key]

    def add_account(self, account_id: str) -> tuple[str, str]:
        """Add an account (main account UIN) with its own data and a base key pair.

        From now on SecretIds the emulator does not know are refused
        (``AuthFailure.SecretIdNotFound``).

        Args:
            account_id: The account's UIN (digits).

        Returns:
            (SecretId, SecretKey) of the account's base credentials.

        Raises:
            ValueError: On a malformed or existing account id.
        """
        if not account_id.isdigit():
            raise ValueError(f"a Tencent Cloud UIN is digits, not {account_id!r}")
        secret_id = "AKID" + random_text(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32
        )
        secret_key = random_text(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32
        )
        self.registry.add_account(account_id, secret_id, secret_key)
        self.credentials[secret_id] = secret_key
        return secret_id, secret_key

    def add_role(
        self,
        role_arn: str,
        *,
        external_id: str | None = None,
        trusted: Iterable[str] | None = None,
    ) -> None:
        """Add a role STS AssumeRole hands out credentials of its account for.

        Args:
            role_arn: ``qcs::cam::uin/<account>:roleName/<name>`` of a known account.
            external_id: The ExternalId the caller must pass (None: none needed).
            trusted: Accounts whose principals may assume it (None: every known account).

        Raises:
            ValueError: On a malformed role name or an unknown account.
        """
        match = ROLE_ARN_PATTERN.match(role_arn)
        if match is None:
            raise ValueError(f"not a Tencent role ARN: {role_arn}")
        self.registry.add_role(
            Role(
                arn=role_arn,
                account=match.group(1),
                name=match.group(2),
                role_id="46116860184" + random_text("0123456789", 8),
                external_id=external_id,
                trusted=None if trusted is None else frozenset(trusted),
            )
        )

    # ----------------------------------------------------------------- data
    def add_command(
        self,
        region: str,
        *,
        timestamp_style: str | None = None,
        account: str | None = None,
        **fields: Any,
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
        return self.add_commands(
            region, [fields], timestamp_style=timestamp_style, account=account
        )[0]

    def add_commands(
        self,
        region: str,
        commands: Iterable[dict[str, Any]],
        *,
        timestamp_style: str | None = None,
        copies: bool = True,
        take_ownership: bool = False,
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        """Store many commands at once, as :meth:`add_command` would one by one.

        The batch is stored all or nothing (a bad or duplicate command stores none of it).

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
        region = self._store_key(region, account)
        style = None if timestamp_style is None else check_timestamp_style(timestamp_style)
        now = datetime.now(UTC)
        built = [new_command(f, now, copy=not take_ownership) for f in commands]
        with self.lock:
            self._store.add_new(region, built)
            if style is not None:
                for command in built:
                    self._styles[(region, command["CommandId"])] = style
        return [clone(c) for c in built] if copies else []

    def update_command(
        self,
        region: str,
        command_id: str,
        *,
        timestamp_style: str | None = None,
        account: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Change a command; UpdatedTime becomes the given value or now.

        Raises:
            KeyError: If there is no such command.
        """
        region = self._store_key(region, account)
        changes = normalise_fields(fields)
        if "CommandId" in changes and changes["CommandId"] != command_id:
            raise ValueError("CommandId cannot change")
        changes.setdefault("UpdatedTime", utc_seconds(datetime.now(UTC)))
        with self.lock:
            command = self._store.update(region, command_id, changes)
            if timestamp_style is not None:
                self._styles[(region, command_id)] = check_timestamp_style(timestamp_style)
            return clone(command)

    def delete_command(self, region: str, command_id: str, *, account: str | None = None) -> None:
        """Remove a command.

        Raises:
            KeyError: If there is no such command.
        """
        region = self._store_key(region, account)
        with self.lock:
            self._store.delete(region, command_id)
            self._styles.pop((region, command_id), None)

    def commands(self, region: str, *, account: str | None = None) -> list[dict[str, Any]]:
        """Copies of a region's stored commands, in insertion order."""
        region = self._store_key(region, account)
        with self.lock, gc_paused():
            return [clone(c) for c in self._store.records(region)]

    def _sort(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.sort_records(records, lambda c: c["CreatedTime"], lambda c: c["CommandId"])

    # ---------------------------------------------------------- invocations
    def add_invocation(
        self,
        region: str,
        *,
        tasks: Iterable[dict[str, Any]] = (),
        timestamp_style: str | None = None,
        account: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Store an invocation and its tasks, consistently.

        Missing invocation attributes come from the stored command of its CommandId
        (CommandName, CommandContent, CommandType, Timeout, WorkingDirectory, Username,
        DefaultParameters, OutputCOS*) when there is one, else from defaults.
        InvocationTaskBasicInfoSet always lists the tasks; InvocationStatus is derived
        from the task statuses unless given; EndTime is the last task's end once all
        finished, unless given.

        Each task dict holds InvocationTask attributes (missing ones inherit
        InvocationId, CommandId, CommandName, CreatedTime, InvocationSource and
        CommandDocument from the invocation; times, TaskResult and ErrorInfo follow
        TaskStatus) and may hold ``output=b"..."``: the raw output bytes
        (TaskResult.Output may also be given as bytes, or as base64 text). The wire
        carries the output base64-encoded, cut to 24 KB (Dropped = bytes cut).

        Args:
            region: The region.
            tasks: The invocation's tasks.
            timestamp_style: Wire style of this invocation's and its tasks' timestamps.
            **fields: Invocation attributes (API names); timestamps are aware datetimes.

        Returns:
            A copy of the stored invocation (its tasks: :meth:`tasks_of`).
        """
        invocation = {**fields, "tasks": list(tasks)}
        return self.add_invocations(
            region, [invocation], timestamp_style=timestamp_style, account=account
        )[0]

    def add_invocations(
        self,
        region: str,
        invocations: Iterable[dict[str, Any]],
        *,
        timestamp_style: str | None = None,
        copies: bool = True,
        take_ownership: bool = False,
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        """Store many invocations (each dict may carry a ``tasks`` list), all or nothing.

        Args:
            region: The region.
            invocations: Invocation attributes plus an optional ``tasks`` list each.
            timestamp_style: Wire style of these invocations' and their tasks' timestamps.
            copies: Return copies of the stored invocations; False returns [].
            take_ownership: The store may keep the given dicts' nested values.

        Returns:
            Copies of the stored invocations (or [] if not ``copies``).

        Raises:
            ValueError: On unknown attributes or duplicate ids.
        """
        region = self._store_key(region, account)
        style = None if timestamp_style is None else check_timestamp_style(timestamp_style)
        now = datetime.now(UTC)
        copy = not take_ownership
        with self.lock:
            built: list[dict[str, Any]] = []
            built_tasks: list[dict[str, Any]] = []
            seen: set[str] = set()
            for given in invocations:
                fields = dict(given)
                task_fields = fields.pop("tasks", None) or []
                status_given = fields.get("InvocationStatus") is not None
                end_given = "EndTime" in fields
                command = self._command_or_none(region, fields.get("CommandId"))
                invocation = new_invocation(fields, now, command, copy=copy)
                tasks = [new_task(t, invocation, copy=copy) for t in task_fields]
                changes = refresh_invocation(invocation, tasks, derive_status=not status_given)
                if end_given:
                    del changes["EndTime"]
                invocation.update(changes)
                for record_id in (
                    invocation["InvocationId"],
                    *(t["InvocationTaskId"] for t in tasks),
                ):
                    if (
                        record_id in seen
                        or self._invocations.has(region, record_id)
                        or (self._tasks.has(region, record_id))
                    ):
                        raise ValueError(f"duplicate id {record_id} in {region}")
                    seen.add(record_id)
                built.append(invocation)
                built_tasks.extend(tasks)
            self._invocations.add(region, built)
            self._tasks.add(region, built_tasks)
            if style is not None:
                for invocation in built:
                    self._invocation_styles[(region, invocation["InvocationId"])] = style
        return [clone(i) for i in built] if copies else []

    def update_invocation(
        self, region: str, invocation_id: str, *, account: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Change an invocation's attributes; UpdatedTime becomes the given value or now.

        InvocationTaskBasicInfoSet follows the tasks and cannot be set here (change a
        task with :meth:`update_task`); the tasks are not changed.

        Raises:
            KeyError: If there is no such invocation.
        """
        region = self._store_key(region, account)
        if "InvocationTaskBasicInfoSet" in fields:
            raise ValueError("InvocationTaskBasicInfoSet follows the tasks; use update_task")
        with self.lock:
            current = self._invocations.get(region, invocation_id)
            changes = new_invocation({**current, **fields}, datetime.now(UTC), None)
            changes = {k: v for k, v in changes.items() if k in fields}
            changes.setdefault("UpdatedTime", utc_seconds(datetime.now(UTC)))
            return clone(self._invocations.update(region, invocation_id, changes))

    def update_task(
        self, region: str, invocation_task_id: str, *, account: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Change a task, and keep its invocation consistent.

        UpdatedTime becomes the given value or now. A new TaskStatus also moves EndTime
        (now, once finished, unless given) and TaskResult's ExitCode and Exec times,
        unless given; a partial TaskResult is merged into the stored one; ``output=``
        bytes replace the output. The invocation's InvocationTaskBasicInfoSet,
        InvocationStatus (derived again), EndTime and UpdatedTime follow.

        Returns:
            A copy of the updated task.

        Raises:
            KeyError: If there is no such task.
        """
        region = self._store_key(region, account)
        fields = dict(fields)
        raw_output = fields.pop("output", None)
        now = utc_seconds(datetime.now(UTC))
        with self.lock:
            current = self._tasks.get(region, invocation_task_id)
            invocation = self._invocations.get(region, current["InvocationId"])
            merged = {**current, **fields}
            status_moved = merged["TaskStatus"] != current["TaskStatus"]
            if status_moved:
                finished = merged["TaskStatus"] not in UNFINISHED_TASK_STATUSES
                if "StartTime" not in fields and merged["StartTime"] is None:
                    merged["StartTime"] = now
                if "EndTime" not in fields:
                    # Never before the start (defaults may lie a second or two ahead).
                    start = merged["StartTime"] or now
                    merged["EndTime"] = (
                        (current["EndTime"] or max(now, start)) if finished else None
                    )
            if "UpdatedTime" not in fields:
                moments = [now, merged["EndTime"], merged["StartTime"], current["UpdatedTime"]]
                merged["UpdatedTime"] = max(m for m in moments if isinstance(m, datetime))
            result_given = dict(fields.get("TaskResult") or {})
            base = {
                name: value
                for name, value in current["TaskResult"].items()
                if not status_moved or name not in ("ExitCode", "ExecStartTime", "ExecEndTime")
            }
            if raw_output is None and "Output" not in result_given:
                raw_output = current["TaskResult"]["Output"]
                if "Dropped" not in result_given:
                    result_given["Dropped"] = current["TaskResult"]["Dropped"]
            merged["TaskResult"] = {**base, **result_given}
            merged.pop("TaskResult")
            task = new_task(merged, invocation)
            task["TaskResult"] = task_result(
                {**base, **result_given}, task, output_bytes(raw_output)
            )
            changes = {k: v for k, v in task.items() if v != current.get(k)}
            updated = self._tasks.update(region, invocation_task_id, changes)
            self._refresh(region, invocation["InvocationId"], updated_time=task["UpdatedTime"])
            return clone(updated)

    def delete_invocation(
        self, region: str, invocation_id: str, *, account: str | None = None
    ) -> None:
        """Remove an invocation and its tasks.

        Raises:
            KeyError: If there is no such invocation.
        """
        region = self._store_key(region, account)
        with self.lock:
            self._invocations.delete(region, invocation_id)
            for task_id in self._tasks.group(region, invocation_id):
                self._tasks.delete(region, task_id)
            self._invocation_styles.pop((region, invocation_id), None)

    def invocations(self, region: str, *, account: str | None = None) -> list[dict[str, Any]]:
        """Copies of a region's stored invocations, in insertion order."""
        region = self._store_key(region, account)
        with self.lock, gc_paused():
            return [clone(i) for i in self._invocations.records(region)]

    def invocation_tasks(self, region: str, *, account: str | None = None) -> list[dict[str, Any]]:
        """Copies of a region's stored invocation tasks (output as bytes), in insertion order."""
        region = self._store_key(region, account)
        with self.lock, gc_paused():
            return [clone(t) for t in self._tasks.records(region)]

    def tasks_of(
        self, region: str, invocation_id: str, *, account: str | None = None
    ) -> list[dict[str, Any]]:
        """Copies of one invocation's tasks, in insertion order."""
        region = self._store_key(region, account)
        with self.lock:
            return [
                clone(self._tasks.get(region, task_id))
                for task_id in self._tasks.group(region, invocation_id)
            ]

    def _refresh(self, region: str, invocation_id: str, *, updated_time: datetime) -> None:
        invocation = self._invocations.get(region, invocation_id)
        tasks = [self._tasks.get(region, i) for i in self._tasks.group(region, invocation_id)]
        changes = refresh_invocation(invocation, tasks)
        changes["UpdatedTime"] = max(updated_time, invocation["UpdatedTime"])
        self._invocations.update(region, invocation_id, clone(changes))

    def _command_or_none(self, region: str, command_id: Any) -> dict[str, Any] | None:
        if isinstance(command_id, str) and self._store.has(region, command_id):
            return self._store.get(region, command_id)
        return None

    def _created_by(self, region: str, invocation: dict[str, Any]) -> str:
        command = self._command_or_none(region, invocation["CommandId"])
        return str(command["CreatedBy"]) if command is not None else "USER"

    def _sort_invocations(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.sort_records(records, lambda i: i["CreatedTime"], lambda i: i["InvocationId"])

    def _sort_tasks(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.sort_records(
            records, lambda t: t["CreatedTime"], lambda t: t["InvocationTaskId"]
        )

    def _invocation_style(self, region: str, invocation_id: str) -> str:
        return self._invocation_styles.get((region, invocation_id), self._timestamp_style)

    def _render_invocation(self, region: str, invocation: dict[str, Any]) -> bytes:
        style = self._invocation_style(region, invocation["InvocationId"])
        return self._invocations.fragment(
            region, invocation, style, lambda: render_invocation(invocation, style)
        )

    def _render_task(self, region: str, task: dict[str, Any], *, hide_output: bool = True) -> bytes:
        style = self._invocation_style(region, task["InvocationId"])
        return self._tasks.fragment(
            region,
            task,
            (style, hide_output),
            lambda: render_task(task, style, hide_output=hide_output),
        )

    def _warm_targets(
        self,
    ) -> list[tuple[CommandStore, Callable[[list[Any]], list[Any]], Callable[[str, Any], bytes]]]:
        return [
            (self._store, self._sort, self._render),
            (self._invocations, self._sort_invocations, self._render_invocation),
            (self._tasks, self._sort_tasks, self._render_task),
        ]

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
            or auth.service not in (SERVICE, STS_SERVICE, CLOUDAUDIT_SERVICE)
            or not REQUIRED_SIGNED_HEADERS.issubset(auth.signed_headers)
        ):
            return self._error(
                "AuthFailure.InvalidAuthorization",
                "The `Authorization` header is missing or malformed.",
            )
        info = self.registry.key(auth.secret_id)
        secret_key = self.credentials.get(auth.secret_id) or (info.secret if info else None)
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
        return self._token_error(request, info)

    def _token_error(self, request: ApiRequest, info: KeyInfo | None) -> Reply | None:
        if info is not None and info.temporary:
            # Temporary credentials need their own token, and lapse; the common error
            # codes have one code for both (AuthFailure.TokenFailure).
            if request.session_token != info.session_token:
                return self._error("AuthFailure.TokenFailure", "Token verification failed.")
            if info.is_expired():
                return self._error("AuthFailure.TokenFailure", "The token has expired.")
            return None
        if self.tokens is not None and request.session_token not in self.tokens:
            return self._error("AuthFailure.TokenFailure", "Token verification failed.")
        return None

    def dispatch(self, request: ApiRequest) -> Reply:
        """Answer DescribeCommands, DescribeInvocations or DescribeInvocationTasks
        (version, region and action checked first)."""
        version = request.headers.get("X-TC-Version") or ""
        auth = parse_authorization(request.headers.get("Authorization"))
        other_service = {
            STS_SERVICE: self._dispatch_sts,
            CLOUDAUDIT_SERVICE: self._dispatch_cloudaudit,
        }
        if auth is not None and auth.service in other_service:
            return other_service[auth.service](request, version)
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
        if request.action == "DescribeRegions":
            account = self.registry.account_of_key(request.access_key_id)
            return self._response(describe_regions(self.registry.regions_of(account)))
        if request.action == "DescribeInvocations":
            return self._describe_invocations(request)
        if request.action == "DescribeInvocationTasks":
            return self._describe_invocation_tasks(request)
        if request.action != "DescribeCommands":
            return self._error("InvalidAction", f"The action `{request.action}` is not emulated.")
        try:
            query = parse_describe_query(request.params)
        except TatApiError as error:
            return self._error(error.code, error.message)
        region = self._request_key(request)
        matching = self._store.window(
            region,
            order=self.order,
            seed=self.order_seed,
            sort=self._sort,
            view_key=query.view_key,
            predicates=query.predicates,
            ids=query.ids,
        )
        body = describe_page(
            self._ties(matching), query, lambda c: self._render(region, c), str(uuid.uuid4())
        )
        return Reply(200, body, self.content_type)

    def _dispatch_cloudaudit(self, request: ApiRequest, version: str) -> Reply:
        if version != CLOUDAUDIT_VERSION or request.action != "LookUpEvents":
            return self._error(
                "InvalidAction", f"The action `{request.action}` ({version}) is not emulated."
            )
        try:
            caller = self.registry.account_of_key(request.access_key_id)
            return self._response(self.audit_for(caller).lookup_events(request.params))
        except CloudAuditApiError as error:
            return self._error(error.code, error.message)

    def _describe_invocations(self, request: ApiRequest) -> Reply:
        region = self._request_key(request)
        spec = invocations_spec(lambda i: self._created_by(region, i))
        try:
            query = parse_describe_query(request.params, spec)
        except TatApiError as error:
            return self._error(error.code, error.message)
        ids: set[str] | frozenset[str] | None = query.ids
        if query.groups is not None:
            grouped = {i for c in query.groups for i in self._invocations.group(region, c)}
            ids = grouped if ids is None else ids & grouped
        matching = self._invocations.window(
            region,
            order=self.order,
            seed=self.order_seed,
            sort=self._sort_invocations,
            # command-created-by reads the commands: their changes must refresh views.
            view_key=(query.view_key, self._store.region_version(region)),
            predicates=query.predicates,
            ids=ids,
        )
        body = describe_page(
            self._ties(matching),
            query,
            lambda i: self._render_invocation(region, i),
            str(uuid.uuid4()),
            "InvocationSet",
        )
        return Reply(200, body, self.content_type)

    def _describe_invocation_tasks(self, request: ApiRequest) -> Reply:
        region = self._request_key(request)
        try:
            query = parse_describe_query(request.params, TASKS_SPEC)
        except TatApiError as error:
            return self._error(error.code, error.message)
        ids: set[str] | frozenset[str] | None = query.ids
        if query.groups is not None:
            grouped = {t for i in query.groups for t in self._tasks.group(region, i)}
            ids = grouped if ids is None else ids & grouped
        matching = self._tasks.window(
            region,
            order=self.order,
            seed=self.order_seed,
            sort=self._sort_tasks,
            view_key=query.view_key,
            predicates=query.predicates,
            ids=ids,
        )
        hide = query.hide_output
        body = describe_page(
            self._ties(matching),
            query,
            lambda t: self._render_task(region, t, hide_output=hide),
            str(uuid.uuid4()),
            "InvocationTaskSet",
        )
        return Reply(200, body, self.content_type)

    def _ties(self, matching: Window) -> Window | _Reordered:
        """The result order, with ties in CreatedTime drawn again if ``tie_order`` asks."""
        if self.tie_order != "random":
            return matching
        records = matching.page(0, len(matching))
        draws = {id(record): self._tie_random.random() for record in records}
        # Python's sort is stable: only runs of equal CreatedTime change places.
        records.sort(key=lambda record: draws[id(record)])
        records.sort(key=lambda record: record["CreatedTime"], reverse=self.order != "oldest_first")
        return _Reordered(records)

    def _render(self, region: str, command: dict[str, Any]) -> bytes:
        style = self._styles.get((region, command["CommandId"]), self._timestamp_style)
        return self._store.fragment(
            region,
            command,
            style,
            lambda: render_command(command, style),
        )

    def _request_key(self, request: ApiRequest) -> str:
        # The signing account's data: other accounts' records are invisible to it.
        account = self.registry.account_of_key(request.access_key_id)
        return region_key(request.region, account, self.registry.default_account)

    def _dispatch_sts(self, request: ApiRequest, version: str) -> Reply:
        if version != STS_VERSION:
            return self._error(
                "NoSuchVersion",
                f"The requested version `{version}` of API `{request.action}` does not exist.",
            )
        caller = self.registry.key(request.access_key_id)
        try:
            if request.action == "AssumeRole":
                return self._response(assume_role(self.registry, caller, request.params))
            if request.action == "GetCallerIdentity":
                return self._response(caller_identity(self.registry, caller))
        except TencentApiError as error:
            return self._error(error.code, error.message)
        return self._error("InvalidAction", f"The action `{request.action}` is not emulated.")

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


class _Reordered:
    """A result order held as a list (what ``describe_page`` reads of a Window)."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    def page(self, offset: int, size: int) -> list[dict[str, Any]]:
        return self._records[offset : offset + size]
