"""Property-based tests of the TAT scan: random churn schedules against the TAT emulator.

Hypothesis draws a list (size, ties in CreatedTime), a page size (1-100), how many
pages are in flight (1-4), and a schedule (``tests/emulators/schedule.py``): for each
call, items inserted at the front, deleted anywhere and edited in place right after
the answer, throttling, and answer delays that make pages complete out of order. The
scan runs through the tap's real ``TencentConnector`` and the real Tencent SDK client
over HTTP against the emulator.

The sequences that would break a scan, and that these schedules contain:

- a delete in front of the scan position between two pages: the item that was first
  on the next page moves onto a page already read (the classic Offset-paging loss);
- an insert at the front and a delete further back between two pages, so TotalCount
  does not move and a TotalCount check sees nothing;
- a later page answered before an earlier one while the list changes in between;
- a page throttled and retried after the list changed;
- items tied on CreatedTime, so a new item can sort behind an older one (ties keep
  their order from call to call: the scan's stated assumption);
- a list that keeps changing on every call for as long as the schedule lasts.

Property: the scan ends shown exact, and every item that existed from its first call
to its end (created at or after the early-stop instant, if any) was handed on.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import typing as t

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tap_cloudcommands.tencent.connector import TencentConnector
from tests.emulators import EMULATOR_TAT_SECRET_ID, EMULATOR_TAT_SECRET_KEY, TATEmulator
from tests.emulators.schedule import Schedule, Step, limit_throttling, plan_from_seed
from tests.properties import property_settings

UTC = dt.UTC
REGIONS = (f"ap-prop{n}" for n in itertools.count())


@pytest.fixture(scope="module")
def tat_server() -> t.Iterator[TATEmulator]:
    with TATEmulator() as emulator:
        yield emulator
        assert emulator.errors == []


@pytest.fixture(scope="module")
def connector(tat_server: TATEmulator) -> TencentConnector:
    config = {
        "tencent_secret_id": EMULATOR_TAT_SECRET_ID,
        "tencent_secret_key": EMULATOR_TAT_SECRET_KEY,
        "tencent_endpoint_url": tat_server.url,
        "tencent_sts_endpoint_url": tat_server.url,
        # The emulator has no rate limit here; the schedule throttles on its own.
        "tencent_requests_per_second": 100_000,
        "tencent_max_attempts": 6,
    }
    connector = TencentConnector(config, logging.getLogger("scan-properties"))
    connector.retry_base_seconds = 0.001  # retries keep their logic, not their pauses
    return connector


positions = st.floats(0, 1, exclude_max=True)
steps = st.builds(
    Step,
    insert=st.integers(0, 6),
    delete=st.lists(positions, max_size=3).map(tuple),
    edit=st.lists(positions, max_size=2).map(tuple),
    throttle=st.booleans(),
    latency=st.sampled_from((0.0, 0.0, 0.001, 0.004)),
)


def fill(tat: TATEmulator, region: str, action: str, count: int, ties: int) -> None:
    now = dt.datetime.now(UTC).replace(microsecond=0)
    moments = [now - dt.timedelta(minutes=1 + i // ties) for i in range(count)]
    if action == "DescribeCommands":
        tat.add_commands(region, [{"CreatedTime": m, "UpdatedTime": m} for m in moments])
    else:
        tat.add_invocations(
            region,
            [{"CreatedTime": m, "UpdatedTime": m, "InvocationStatus": "SUCCESS"} for m in moments],
        )


def listed(tat: TATEmulator, region: str, action: str) -> dict[str, dt.datetime]:
    """Id -> CreatedTime of what the list holds now."""
    if action == "DescribeCommands":
        return {c["CommandId"]: c["CreatedTime"] for c in tat.commands(region)}
    return {i["InvocationId"]: i["CreatedTime"] for i in tat.invocations(region)}


def run_schedule(
    tat: TATEmulator,
    connector: TencentConnector,
    *,
    action: str,
    initial: int,
    ties: int,
    page_size: int,
    workers: int,
    plan: list[Step],
    stop_at: float | None,
) -> None:
    region = next(REGIONS)
    fill(tat, region, action, initial, ties)
    before = listed(tat, region, action)
    stop_before = None
    if stop_at is not None and before:
        stop_before = sorted(before.values(), reverse=True)[int(stop_at * len(before))]
    schedule = Schedule(tat, region, action, limit_throttling(plan))
    tat.schedule = schedule
    item_key, id_key = (
        ("CommandSet", "CommandId")
        if action == "DescribeCommands"
        else ("InvocationSet", "InvocationId")
    )
    scan = connector.scan(
        region, action, item_key, id_key, page_size=page_size, stop_before=stop_before
    )
    scan._workers = workers
    handed_on = [item[id_key] for item in scan]
    tat.schedule = None
    after = listed(tat, region, action)

    lived = {
        i for i in before.keys() & after.keys() if stop_before is None or before[i] >= stop_before
    }
    missing = lived - set(handed_on)
    assert scan.exact, (scan.calls, schedule.calls)
    assert not missing, (len(missing), sorted(missing)[:5], scan.calls, scan.repairs)


@property_settings("PROPERTY_EXAMPLES", 600)
@given(
    action=st.sampled_from(("DescribeCommands", "DescribeInvocations")),
    initial=st.integers(0, 250),
    ties=st.integers(1, 3),
    page_size=st.integers(1, 100),
    workers=st.integers(1, 4),
    plan=st.lists(steps, max_size=40),
    stop_at=st.none() | st.floats(0, 1, exclude_max=True),
)
def test_scan_hands_on_every_item_that_lived_through_it(
    tat_server, connector, action, initial, ties, page_size, workers, plan, stop_at
):
    run_schedule(
        tat_server,
        connector,
        action=action,
        initial=initial,
        ties=ties,
        page_size=page_size,
        workers=workers,
        plan=plan,
        stop_at=stop_at,
    )


@pytest.mark.parametrize("seed", range(20))
def test_seeded_schedules_play_the_same_way_and_lose_nothing(tat_server, connector, seed):
    # The emulator plays a schedule from a seed alone: the same seed, the same plan.
    assert plan_from_seed(seed) == plan_from_seed(seed)
    run_schedule(
        tat_server,
        connector,
        action="DescribeInvocations",
        initial=180,
        ties=2,
        page_size=10 + seed,
        workers=4,
        plan=plan_from_seed(seed),
        stop_at=None,
    )
