"""Property-based tests of whole syncs: churn, kills between any two messages, resumes.

Hypothesis draws a region's runs (spread over three days, some tied on CreatedTime,
some still running), then a series of syncs of the real tap (in process, the real
Tencent SDK client over HTTP against the TAT emulator). During each sync a schedule
(``tests/emulators/schedule.py``) inserts runs at the front, ages runs out anywhere and
edits runs that are still within TAT's longest run, throttles calls and answers pages
out of order, on an emulated cloud clock up to four minutes off the tap's. A sync may be
killed between any two messages; the next sync resumes from the last STATE written. A
last sync runs with nothing changing.

The sequences that would break the tap's promise, and that these schedules contain:

- a run edited during a sync after its page was read (its new version must come with
  a later sync: the bookmark must not pass it);
- a kill after a region's records but before its STATE, or after a STATE but before
  the next region's records;
- an incremental scan that stops at the bookmark window while runs inside it change;
- a cloud clock behind the tap's, so a run changed during a sync carries a time
  before the sync started.

Properties, over the messages of all syncs in order:

1. every run the emulator holds at the end was emitted in its final version;
2. no STATE ever holds a bookmark above the final UpdatedTime of a run whose final
   version had not been emitted before that STATE.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import time
import typing as t

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tap_cloudcommands.tap import TapCloudCommands
from tap_cloudcommands.tencent.connector import TencentConnector
from tap_cloudcommands.timestamps import parse_timestamp
from tap_cloudcommands.writer import BatchingMsgSpecWriter
from tests.emulators import EMULATOR_TAT_SECRET_ID, EMULATOR_TAT_SECRET_KEY, TATEmulator
from tests.emulators.schedule import Schedule, Step, limit_throttling
from tests.properties import property_settings

UTC = dt.UTC
STREAM = "tat_invocations"
REGIONS = (f"ap-sync-{n}" for n in itertools.count())
LONGEST_RUN = dt.timedelta(seconds=86_400)


class KilledError(Exception):
    """The simulated SIGKILL: nothing after this message reaches the target."""


class CapturingWriter(BatchingMsgSpecWriter):
    """Keeps every message as the target would read it; dies after ``limit`` of them."""

    def __init__(self, log: list[dict[str, t.Any]], limit: int | None) -> None:
        super().__init__()
        self.log = log
        self.limit = limit
        self.written = 0

    def write_message(self, message: t.Any) -> None:
        if self.limit is not None and self.written >= self.limit:
            raise KilledError
        self.written += 1
        kept = json.loads(self.format_message(message))
        kept["_at"] = time.monotonic()  # when the target got it
        self.log.append(kept)


@pytest.fixture(scope="module")
def tat_server() -> t.Iterator[TATEmulator]:
    # Retries keep their logic, not their pauses: thousands of throttled calls.
    pause = TencentConnector.retry_base_seconds
    TencentConnector.retry_base_seconds = 0.001
    try:
        with TATEmulator() as emulator:
            yield emulator
            assert emulator.errors == []
    finally:
        TencentConnector.retry_base_seconds = pause


def sync_once(
    config: dict[str, t.Any],
    state: dict[str, t.Any],
    log: list[dict[str, t.Any]],
    kill_after: int | None,
) -> dict[str, t.Any]:
    """Run one sync in process; return the last STATE it wrote (or the one it got)."""
    start = len(log)
    # A copy, as if read from a file: the SDK changes the state it is given in place,
    # which would rewrite the STATE messages already in the log.
    tap = TapCloudCommands(
        config=config, state=copy.deepcopy(state), message_writer=CapturingWriter(log, kill_after)
    )
    try:
        tap.sync_all()
    except KilledError:
        # The process is gone: every stream's fetching stops with it.
        for stream in tap.streams.values():
            stream.stop_all_feeds(KilledError())
    states = [m["value"] for m in log[start:] if m["type"] == "STATE"]
    return states[-1] if states else state


def bookmarks_of(state: dict[str, t.Any]) -> list[dt.datetime]:
    partitions = state.get("bookmarks", {}).get(STREAM, {}).get("partitions", [])
    return [
        parse_timestamp(p["replication_key_value"])
        for p in partitions
        if p.get("replication_key_value") is not None
    ]


steps = st.builds(
    Step,
    insert=st.integers(0, 3),
    delete=st.lists(st.floats(0, 1, exclude_max=True), max_size=2).map(tuple),
    edit=st.lists(st.floats(0, 1, exclude_max=True), max_size=2).map(tuple),
    throttle=st.booleans(),
    latency=st.sampled_from((0.0, 0.0, 0.002)),
)
sync_plans = st.tuples(
    st.lists(steps, max_size=8),  # churn during the sync
    st.none() | st.integers(1, 60),  # killed after this many messages
)


@property_settings("PROPERTY_SYNC_EXAMPLES", 120)
@given(
    initial=st.integers(0, 120),
    running=st.floats(0, 0.5),
    ties=st.integers(1, 3),
    page_size=st.integers(1, 100),
    skew_seconds=st.integers(-240, 240),
    margin=st.sampled_from((0, 60, 3600)),
    syncs=st.lists(sync_plans, min_size=1, max_size=4),
)
def test_syncs_with_kills_deliver_every_run_and_no_state_runs_ahead(
    tat_server, initial, running, ties, page_size, skew_seconds, margin, syncs
):
    region = next(REGIONS)
    skew = dt.timedelta(seconds=skew_seconds)
    now = dt.datetime.now(UTC).replace(microsecond=0) + skew
    # Runs over the last three days, newest first; the newest share still running.
    span = dt.timedelta(days=3) / max(1, initial)
    runs = []
    for i in range(initial):
        created = now - dt.timedelta(minutes=1) - span * (i // ties * ties)
        still_running = i < running * initial
        runs.append(
            {
                "CreatedTime": created,
                "UpdatedTime": created + dt.timedelta(seconds=30),
                "InvocationStatus": "RUNNING" if still_running else "SUCCESS",
            }
        )
    tat_server.add_invocations(region, runs)
    config = {
        "tencent_secret_id": EMULATOR_TAT_SECRET_ID,
        "tencent_secret_key": EMULATOR_TAT_SECRET_KEY,
        "tencent_endpoint_url": tat_server.url,
        "tencent_sts_endpoint_url": tat_server.url,
        "tencent_regions": [region],
        "tencent_requests_per_second": 1000,
        "tencent_max_attempts": 6,
        "tat_page_size": page_size,
        "tat_history_margin_seconds": margin,
    }
    log: list[dict[str, t.Any]] = []
    state: dict[str, t.Any] = {}
    for plan, kill_after in syncs:
        tat_server.schedule = Schedule(
            tat_server,
            region,
            "DescribeInvocations",
            limit_throttling(plan),
            skew=skew,
            edit_within=LONGEST_RUN,
        )
        state = sync_once(config, state, log, kill_after)
        tat_server.schedule = None
    sync_once(config, state, log, None)

    final = {i["InvocationId"]: i["UpdatedTime"] for i in tat_server.invocations(region)}
    emitted_at: dict[tuple[str, dt.datetime], int] = {}
    for position, message in enumerate(log):
        if message["type"] == "RECORD" and message["stream"] == STREAM:
            record = message["record"]
            key = (record["InvocationId"], parse_timestamp(record["UpdatedTime"]))
            emitted_at.setdefault(key, position)
    # 1. Every run held at the end was emitted in its final version.
    missing = [i for i, updated in final.items() if (i, updated) not in emitted_at]
    assert not missing, (len(missing), len(final))
    # 2. No STATE passes a run whose final version was not emitted before it.
    for position, message in enumerate(log):
        if message["type"] != "STATE":
            continue
        for bookmark in bookmarks_of(message["value"]):
            ahead = [
                i
                for i, updated in final.items()
                if updated < bookmark and emitted_at[(i, updated)] > position
            ]
            assert not ahead, (position, bookmark, ahead[:3])
