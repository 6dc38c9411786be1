"""Shared machinery of the local HTTP emulators.

An :class:`EmulatorServer` runs a ``ThreadingHTTPServer`` on 127.0.0.1 in a
background thread and owns everything that is not protocol specific: the call
log, fault injection, rate accounting, latency, response hooks, result ordering,
the data lock and the ``/_emulator/`` control paths. Subclasses turn raw HTTP into an
:class:`ApiRequest` and an :class:`ApiRequest` into a :class:`Reply`.

Concurrency: each connection has its own thread. Decoding, fault and rate-limit
decisions and the :attr:`EmulatorServer.latency_seconds` sleep happen outside
:attr:`EmulatorServer.lock`; only producing the answer, writing it and the response
hooks hold it, so concurrent requests overlap the way they do against a real cloud.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from .accounts import AccountRegistry, KeyInfo, region_key
from .faults import Fault, FaultQueue, FaultRatio
from .rates import Arrival, ArrivalLog
from .seeded import SeededRandom

if TYPE_CHECKING:
    from .schedule import Schedule, SSMSchedule
    from .store import CommandStore

__all__ = [
    "LOOPBACK",
    "ORDERS",
    "ApiRequest",
    "Call",
    "EmulatorServer",
    "Fault",
    "Reply",
    "RequestRejectedError",
]

logger = logging.getLogger(__name__)

# The emulators exist for local tests only, so they never listen beyond loopback.
LOOPBACK = "127.0.0.1"
ORDERS = frozenset({"newest_first", "oldest_first", "shuffled"})
BASE_FAULT_KINDS = frozenset({"throttle", "server_error", "auth", "slow", "drop", "malformed"})
# Out-of-band control paths (no auth, never logged as calls), for out-of-process users.
CONTROL_PREFIX = "/_emulator/"
STATS_PATH = CONTROL_PREFIX + "stats"
ACCOUNT_STATS_PATH = CONTROL_PREFIX + "account-stats"
RESET_CALLS_PATH = CONTROL_PREFIX + "reset-calls"

RecordT = TypeVar("RecordT")
Hook = Callable[["Call"], None]
# Commands rendered per lock acquisition while warming, so serving never stalls long.
WARM_BATCH = 2000


@dataclass
class Call:
    """One request as the emulator saw and answered it.

    Attributes:
        action: The API action (e.g. "ListCommands"), "" when it could not be told.
        region: The region the request was signed for / addressed to.
        params: The decoded request parameters.
        access_key_id: The access key id / SecretId that signed the request.
        status: The HTTP status answered; 0 when the connection was dropped.
        at: Arrival time, from ``time.monotonic()``.
        error_code: The API error code answered, if any.
        session_token: The session token sent with the request, if any.
        account: The account whose credentials signed the call ("" when the key is
            unknown to an emulator that has several accounts).
    """

    action: str
    region: str
    params: dict[str, Any]
    access_key_id: str | None
    status: int
    at: float
    error_code: str | None = None
    session_token: str | None = None
    account: str = ""


@dataclass
class ApiRequest:
    """A request decoded far enough to route, authenticate and answer it."""

    action: str
    region: str
    params: dict[str, Any]
    access_key_id: str | None
    method: str
    path: str
    headers: Message
    body: bytes
    session_token: str | None = None
    # Which wire protocol the request used, so errors are answered in kind.
    protocol: str = ""


@dataclass
class Reply:
    """An HTTP answer."""

    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    error_code: str | None = None


class RequestRejectedError(Exception):
    """Raised while decoding a request that cannot be routed; carries the answer."""

    def __init__(
        self,
        reply: Reply,
        *,
        action: str = "",
        region: str = "",
        access_key_id: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(reply.error_code or f"HTTP {reply.status}")
        self.reply = reply
        self.action = action
        self.region = region
        self.access_key_id = access_key_id
        self.params = params or {}


class _EmulatorHTTPServer(ThreadingHTTPServer):
    # Daemon threads let a test process exit even if a client left a socket open.
    daemon_threads = True
    allow_reuse_address = True
    # The default backlog (5) makes bursts of concurrent clients wait for SYN retries.
    request_queue_size = 128

    def __init__(self, port: int, emulator: EmulatorServer) -> None:
        self.emulator = emulator
        super().__init__((LOOPBACK, port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _EmulatorHTTPServer
    server_version = "CloudEmulator/1.0"
    # Persistent connections, as the clouds' endpoints keep them: a client's connection
    # pool reuses one connection for many calls instead of connecting for each.
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes: without TCP_NODELAY, Nagle's algorithm
    # and the client's delayed ACK can hold the body back for tens of milliseconds.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.server.emulator.handle_http(self)

    def do_GET(self) -> None:
        self.server.emulator.handle_http(self)

    def log_message(self, fmt: str, *args: Any) -> None:
        logger.debug("%s %s", type(self.server.emulator).__name__, fmt % args)

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header on the emulated cloud's clock (EmulatorServer.clock_offset).
        moment = time.time() if timestamp is None else timestamp
        return super().date_time_string(moment + self.server.emulator.clock_offset)


class EmulatorServer:
    """Base class of the emulators: lifecycle, call log, faults, hooks and ordering.

    Attributes:
        lock: Guards the emulated data; held while a request is answered and while
            the response hooks run, so hooks and handlers never race.
        before_response: Called with the :class:`Call` (already logged) just before
            its answer is written. Neither hook runs for a "drop" fault.
        after_response: Called with the :class:`Call` right after its answer is
            written, still under ``lock``: the client's next request waits for it,
            which makes "change the data between page 1 and page 2" deterministic.
        errors: Tracebacks of emulator bugs and failing hooks; tests can assert
            it stays empty.
        rate_limit_per_second: When set, a region+action that exceeds this many
            requests in a sliding 1 s window is answered with a throttling error.
        latency_seconds: When > 0, every API request is answered this long after it
            arrived. The wait happens after the arrival is recorded and the fault and
            rate-limit decisions are taken, outside :attr:`lock`, so concurrent
            requests overlap. A "slow" fault's delay comes on top of it.
        order_seed: Seed of the "shuffled" order.
        clock_offset: Seconds the emulated cloud's clock is ahead of the real one (negative:
            behind), as its answers' Date header shows; the data stamps are the test's.
        schedule: When set, consulted at every API request's arrival
            (:meth:`Schedule.arrive`): it may add latency, answer with a fault, and
            change the data right after the answer is written (see ``schedule.py``).

    Control paths (answered without auth, latency or faults, and never logged as calls):
    ``GET /_emulator/stats`` returns :meth:`stats` as JSON; ``POST /_emulator/reset-calls``
    runs :meth:`reset_calls`.
    """

    supported_fault_kinds: ClassVar[frozenset[str]] = BASE_FAULT_KINDS
    # The region states the cloud's region listing knows (set_regions checks them).
    region_states: ClassVar[frozenset[str]] = frozenset()
    # Accounts, keys, roles and region states (see accounts.py); set by subclasses.
    registry: AccountRegistry
    # Each emulator keeps its commands here (see store.py).
    _store: CommandStore

    def __init__(self, *, port: int = 0) -> None:
        """Prepare a server; nothing listens until :meth:`start`.

        Args:
            port: TCP port on 127.0.0.1; 0 picks a free one.
        """
        self.lock = threading.RLock()
        self.before_response: Hook | None = None
        self.after_response: Hook | None = None
        self.errors: list[str] = []
        self.rate_limit_per_second: int | None = None
        self.latency_seconds: float = 0.0
        self.order_seed = 0
        self.clock_offset = 0.0
        self.schedule: Schedule | SSMSchedule | None = None
        self._order = "newest_first"
        self._requested_port = port
        self._calls: list[Call] = []
        self._calls_lock = threading.Lock()
        self._faults = FaultQueue()
        self._arrivals = ArrivalLog()
        self._httpd: _EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> Self:
        """Bind to 127.0.0.1 and serve in a daemon thread.

        Returns:
            self, so ``server = SSMEmulator().start()`` reads naturally.
        """
        if self._httpd is not None:
            raise RuntimeError("emulator already started")
        self._httpd = _EmulatorHTTPServer(self._requested_port, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port. Safe to call twice."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self if self._httpd is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port (only once started)."""
        if self._httpd is None:
            raise RuntimeError("emulator not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{LOOPBACK}:{self.port}"

    # ------------------------------------------------------------------ call log
    @property
    def calls(self) -> list[Call]:
        """A snapshot of every call answered so far, in answer order."""
        with self._calls_lock:
            return list(self._calls)

    def calls_for(
        self, action: str, region: str | None = None, account: str | None = None
    ) -> list[Call]:
        """The calls of one action, optionally in one region and of one account.

        Args:
            action: The API action.
            region: The region (None = every region).
            account: The account that signed (None = every account).

        Returns:
            Matching calls, in answer order.
        """
        return [
            c
            for c in self.calls
            if c.action == action
            and (region is None or c.region == region)
            and (account is None or c.account == account)
        ]

    def reset_calls(self) -> None:
        """Forget the call log and the rate accounting."""
        with self._calls_lock:
            self._calls.clear()
        self._arrivals.clear()

    def max_requests_per_second(
        self, region: str, action: str | None = None, account: str | None = None
    ) -> int:
        """The most requests that arrived for a region in any sliding 1 s window.

        Args:
            region: The region.
            action: Only this action (None = every action).
            account: Only requests signed by this account (None = every account).

        Returns:
            The peak request count over any 1-second window.
        """
        return self._arrivals.max_in_any_window(region, action, account=account)

    # ------------------------------------------------------------------ accounts
    def accounts(self) -> list[str]:
        """Every account, the default one first."""
        return self.registry.accounts()

    def account_of_key(self, key_id: str) -> str:
        """The account an access key id / SecretId (base or temporary) belongs to.

        Before any :meth:`add_account`, every key counts as the default account's.
        """
        return self.registry.account_of_key(key_id)

    def expire_credentials(self, key_id: str | None = None) -> None:
        """Let temporary credentials (all, or one) lapse now.

        The next call signed with them fails with the cloud's expired-token error.

        Raises:
            KeyError: If ``key_id`` names no temporary credentials.
        """
        self.registry.expire(key_id)

    def temporary_credentials(self) -> list[KeyInfo]:
        """Every temporary credential set AssumeRole issued, oldest first."""
        return self.registry.temporary_keys()

    def set_regions(self, account_id: str, regions: dict[str, str]) -> None:
        """Set an account's regions and their states, as the region listing answers them.

        Raises:
            ValueError: On an unknown account or state.
        """
        self.registry.set_regions(account_id, regions, self.region_states)

    def regions_of(self, account_id: str) -> dict[str, str]:
        """An account's regions and their states (a default set until :meth:`set_regions`)."""
        return self.registry.regions_of(account_id)

    def _store_key(self, region: str, account: str | None) -> str:
        """Where one account's region lives in the stores.

        Raises:
            ValueError: On an unknown account.
        """
        if (
            account is not None
            and account != self.registry.default_account
            and account not in self.registry.accounts()
        ):
            raise ValueError(f"unknown account {account}; add_account it first")
        return region_key(region, account, self.registry.default_account)

    def stats(self) -> dict[str, Any]:
        """Call counts, peak request rates and the emulator error count, JSON-ready.

        Returns:
            ``{"calls": {region: {action: count}}, "max_requests_per_second":
            {region: {action: peak arrivals in any sliding 1 s window}}, "errors": n}``
            (every account together: see :meth:`account_stats`).
        """
        calls: dict[str, dict[str, int]] = {}
        for call in self.calls:
            per_action = calls.setdefault(call.region, {})
            per_action[call.action] = per_action.get(call.action, 0) + 1
        return {
            "calls": calls,
            "max_requests_per_second": self._arrivals.peaks(),
            "errors": len(self.errors),
        }

    def account_stats(self) -> dict[str, Any]:
        """:meth:`stats` split by the account that signed, JSON-ready.

        Returns:
            ``{"calls": {account: {region: {action: count}}},
            "max_requests_per_second": {account: {region: {action: peak}}}, "errors": n}``.
        """
        calls: dict[str, dict[str, dict[str, int]]] = {}
        for call in self.calls:
            per_action = calls.setdefault(call.account, {}).setdefault(call.region, {})
            per_action[call.action] = per_action.get(call.action, 0) + 1
        return {
            "calls": calls,
            "max_requests_per_second": self._arrivals.peaks_by_account(),
            "errors": len(self.errors),
        }

    # -------------------------------------------------------------------- faults
    def inject(self, fault: Fault) -> Fault:
        """Queue a fault (FIFO) for the next matching request(s).

        Args:
            fault: The fault; its ``count`` is decremented in place as it is used.

        Returns:
            The same fault, for later inspection.
        """
        if fault.kind not in self.supported_fault_kinds:
            raise ValueError(f"{type(self).__name__} does not support fault kind {fault.kind!r}")
        self._faults.push(fault)
        return fault

    def inject_ratio(self, fault: Fault, ratio: float, *, seed: int = 0) -> FaultRatio:
        """Apply a fault to a seeded random share of matching requests (a storm).

        Args:
            fault: The fault (its ``count`` is ignored).
            ratio: Share of matching requests to hit, 0..1.
            seed: Seed of the draw.

        Returns:
            The storm; its ``hits`` counts the requests it hit.
        """
        if fault.kind not in self.supported_fault_kinds:
            raise ValueError(f"{type(self).__name__} does not support fault kind {fault.kind!r}")
        storm = FaultRatio(fault, ratio, seed)
        self._faults.add_ratio(storm)
        return storm

    def pending_faults(self) -> list[Fault]:
        """Faults that still have uses left."""
        return self._faults.pending()

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        self._faults.clear()

    # ---------------------------------------------------------------- data cache
    @property
    def data_version(self) -> int:
        """Bumped by every add, update and delete; cached orders and views follow it."""
        return sum(store.version for store, _, _ in self._warm_targets())

    def _warm_targets(
        self,
    ) -> list[tuple[CommandStore, Callable[[list[Any]], list[Any]], Callable[[str, Any], bytes]]]:
        """Every store of the emulator, with its result-order sort and its renderer."""
        return [(self._store, self._sort, self._render)]

    def warm(self, regions: Iterable[str] | None = None, *, render: bool = True) -> None:
        """Prepare regions now, so that no page pays for it later.

        Builds each region's result order (a sort of the region) for every store
        (commands and the execution history: invocations, tasks) and, with ``render``,
        every command's serialised wire form, which is most of a page's cost.
        ``populate_ssm``/``populate_tat`` call this; call it again after changing
        :attr:`order` if the first page must be fast.

        Args:
            regions: Regions to prepare (None = every region).
            render: Also serialise every command.
        """
        for index, (store, sort, renderer) in enumerate(self._warm_targets()):
            for region in list(store.regions() if regions is None else regions):
                with self.lock:
                    store.ordered(region, self._order, self.order_seed, sort)
                    records = store.records(region)
                # Execution history (every store after the first) is only ordered:
                # its pages render on first read (they depend on Details/HideOutput).
                if not render or index > 0:
                    continue
                key = store.key
                for start in range(0, len(records), WARM_BATCH):
                    with self.lock:
                        for record in records[start : start + WARM_BATCH]:
                            # Skip what was deleted meanwhile: its fragment would outlive it.
                            if store.has(region, key(record)):
                                renderer(region, record)

    def _stored_newest_first(self, store: CommandStore, region: str) -> list[Any]:
        """A region's stored records (not copies), newest first (for sample data)."""
        with self.lock:
            ordered = store.ordered(region, "newest_first", self.order_seed, lambda r: r)
            return ordered.records[::-1]

    def _sort(self, records: list[Any]) -> list[Any]:
        """Put a region's records in the result order (see :meth:`sort_records`)."""
        raise NotImplementedError

    def _render(self, region: str, command: dict[str, Any]) -> bytes:
        """A stored command's serialised wire form (cached by the store)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ ordering
    @property
    def order(self) -> str:
        """Result order: "newest_first" (default), "oldest_first" or "shuffled"."""
        return self._order

    @order.setter
    def order(self, value: str) -> None:
        if value not in ORDERS:
            raise ValueError(f"order must be one of {sorted(ORDERS)}")
        self._order = value

    def sort_records(
        self,
        records: Sequence[RecordT],
        timestamp_of: Callable[[RecordT], Any],
        identity_of: Callable[[RecordT], str],
    ) -> list[RecordT]:
        """Order records as :attr:`order` says, deterministically.

        Args:
            records: The records to order.
            timestamp_of: Extracts the time the order is based on.
            identity_of: Extracts a unique id, the tie-breaker.

        Returns:
            A new, ordered list.
        """
        if self._order == "shuffled":
            # Sorting first makes the shuffle depend only on the seed, not on insertion order.
            shuffled = sorted(records, key=identity_of)
            SeededRandom(self.order_seed).shuffle(shuffled)
            return shuffled
        return sorted(
            records,
            key=lambda r: (timestamp_of(r), identity_of(r)),
            reverse=self._order == "newest_first",
        )

    # ------------------------------------------------------ protocol interface
    def parse_request(self, method: str, path: str, headers: Message, body: bytes) -> ApiRequest:
        """Decode raw HTTP into an :class:`ApiRequest`.

        Raises:
            RequestRejectedError: When the request cannot be routed.
        """
        raise NotImplementedError

    def authenticate(self, request: ApiRequest) -> Reply | None:
        """Return an error reply when the request's credentials are refused."""
        return None

    def dispatch(self, request: ApiRequest) -> Reply:
        """Answer an authenticated request (called with :attr:`lock` held)."""
        raise NotImplementedError

    def fault_reply(self, fault: Fault, request: ApiRequest) -> Reply:
        """Render a throttle/server_error/auth/... fault in the protocol's own shape."""
        raise NotImplementedError

    def internal_error_reply(self, request: ApiRequest | None) -> Reply:
        """Render an emulator bug as the protocol's internal error."""
        raise NotImplementedError

    # ---------------------------------------------------------------- handling
    def handle_http(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one HTTP request (runs on the connection's own thread).

        Args:
            handler: The live request handler.
        """
        arrived = time.monotonic()
        body = _read_body(handler)
        if handler.path.startswith(CONTROL_PREFIX):
            _write_reply(handler, self._control_reply(handler.command, handler.path))
            return
        request = self._decode(handler, body, arrived)
        if request is not None:
            self._answer_api(handler, request, arrived)

    def _decode(
        self, handler: BaseHTTPRequestHandler, body: bytes, arrived: float
    ) -> ApiRequest | None:
        # Decode the request; one that cannot be routed is answered here (None returned).
        try:
            return self.parse_request(handler.command, handler.path, handler.headers, body)
        except RequestRejectedError as rejected:
            account = self.registry.account_of_key(rejected.access_key_id)
            self._arrivals.record(Arrival(arrived, rejected.region, rejected.action, account))
            call = Call(
                rejected.action,
                rejected.region,
                rejected.params,
                rejected.access_key_id,
                0,
                arrived,
                account=account,
            )
            reply = rejected.reply
            self._wait_for_latency(arrived)
            self._answer(handler, call, lambda: reply)
        except Exception:
            # Any other failure is an emulator bug: log it, keep it for the test, answer 500.
            logger.exception("%s failed to decode a request", type(self).__name__)
            self._remember_error()
            call = Call("", "", {}, None, 0, arrived)
            self._wait_for_latency(arrived)
            self._answer(handler, call, lambda: self.internal_error_reply(None))
        return None

    def _answer_api(  # noqa: C901 - the order of the decisions is the point
        self, handler: BaseHTTPRequestHandler, request: ApiRequest, arrived: float
    ) -> None:
        account = self.registry.account_of_key(request.access_key_id)
        self._arrivals.record(Arrival(arrived, request.region, request.action, account))
        call = Call(
            action=request.action,
            region=request.region,
            params=request.params,
            access_key_id=request.access_key_id,
            status=0,
            at=arrived,
            session_token=request.session_token,
            account=account,
        )
        # Both decisions are taken at arrival, before the latency wait.
        scheduled = self.schedule.arrive(request) if self.schedule is not None else None
        fault = scheduled.fault if scheduled is not None else None
        if fault is None:
            fault = self._faults.take(request.action, request.region)
        limit = self.rate_limit_per_second
        over_limit = (
            limit is not None
            # Per account: both clouds document their API rate limits per account.
            and self._arrivals.count_in_window(
                request.region, request.action, arrived, account=account
            )
            > limit
        )
        self._wait_for_latency(arrived)
        after = None
        if scheduled is not None:
            after = scheduled.after
            if scheduled.latency > 0:
                time.sleep(scheduled.latency)  # outside the lock: answers overtake each other
        truncate = False
        if fault is not None:
            if fault.kind == "slow":
                time.sleep(fault.delay)  # then answer normally
            elif fault.kind == "drop":
                self._log(call)
                handler.close_connection = True  # nothing written: the client sees a reset/EOF
                return
            elif fault.kind == "malformed":
                truncate = True
            else:
                self._answer(handler, call, lambda: self.fault_reply(fault, request), after)
                return

        if over_limit:
            self._answer(handler, call, lambda: self.fault_reply(Fault("throttle"), request), after)
            return

        def produce() -> Reply:
            reply = self.authenticate(request) or self._safe_dispatch(request)
            if truncate:
                # Half a body with a matching Content-Length: the client reads it all,
                # then fails to parse it.
                reply = Reply(
                    200,
                    reply.body[: max(1, len(reply.body) // 2)],
                    reply.content_type,
                    reply.headers,
                )
            return reply

        self._answer(handler, call, produce, after)

    def _wait_for_latency(self, arrived: float) -> None:
        # Never under the lock: concurrent requests must wait side by side.
        latency = self.latency_seconds
        if latency > 0:
            remaining = arrived + latency - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)

    def _control_reply(self, method: str, path: str) -> Reply:
        route = path.split("?", 1)[0]
        if route == STATS_PATH and method == "GET":
            return _control_json(200, self.stats())
        if route == ACCOUNT_STATS_PATH and method == "GET":
            return _control_json(200, self.account_stats())
        if route == RESET_CALLS_PATH and method == "POST":
            self.reset_calls()
            return _control_json(200, {"reset": True})
        if route in (STATS_PATH, ACCOUNT_STATS_PATH, RESET_CALLS_PATH):
            return _control_json(405, {"error": f"{method} is not allowed on {route}"})
        return _control_json(404, {"error": f"unknown control path {route}"})

    def _safe_dispatch(self, request: ApiRequest) -> Reply:
        try:
            return self.dispatch(request)
        except Exception:
            logger.exception("%s failed to answer %s", type(self).__name__, request.action)
            self._remember_error()
            return self.internal_error_reply(request)

    def _answer(
        self,
        handler: BaseHTTPRequestHandler,
        call: Call,
        produce: Callable[[], Reply],
        after: Callable[[], None] | None = None,
    ) -> None:
        # The lock spans producing, writing and the hooks, so after_response (and a
        # schedule's change) finishes before any request that the client sends after
        # reading this answer is served.
        with self.lock:
            reply = produce()
            call.status = reply.status
            call.error_code = reply.error_code
            self._log(call)
            self._run_hook(self.before_response, call)
            _write_reply(handler, reply)
            self._run_hook(self.after_response, call)
            if after is not None:
                self._run_hook(lambda _call: after(), call)

    def _log(self, call: Call) -> None:
        with self._calls_lock:
            self._calls.append(call)

    def _run_hook(self, hook: Hook | None, call: Call) -> None:
        if hook is None:
            return
        try:
            hook(call)
        except Exception:
            # A failing hook must not kill the connection; the test sees it in `errors`.
            logger.exception("%s response hook failed", type(self).__name__)
            self._remember_error()

    def _remember_error(self) -> None:
        self.errors.append(traceback.format_exc())


def _control_json(status: int, payload: dict[str, Any]) -> Reply:
    return Reply(status, json.dumps(payload).encode(), "application/json")


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    try:
        length = int(handler.headers.get("Content-Length") or 0)
    except ValueError:
        # A garbled length is treated as no body; the protocol layer then rejects the request.
        length = 0
    return handler.rfile.read(length) if length > 0 else b""


def _write_reply(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    try:
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        handler.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(reply.body)
    except (BrokenPipeError, ConnectionResetError):
        # The client gave up (e.g. its timeout fired during a "slow" fault): nothing to do.
        pass
