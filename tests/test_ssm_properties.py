"""Property-based tests of whole SSM syncs: statuses that move, late invocations, kills.

Hypothesis draws a region's Run Command history (commands over three days, some still
running, some with every invocation seen so far ended while the command still runs),
then a series of syncs of the real tap (in process, boto3 over HTTP against the SSM
emulator), in normal or BATCH mode. During each sync an :class:`SSMSchedule` plays a
step per list request: new commands requested "now" on the cloud's clock (up to four
minutes off the tap's), invocations that end, commands that end, invocations that
appear late for a running command with the command's own ``RequestedDateTime``, and
throttled or slow answers. A sync may be killed between any two messages; the next
resumes from the last STATE written. A last sync runs with nothing changing.

The sequences that would break the promise, and that these schedules contain:

- a command that ends after its page was read, with its bookmark moved past it (it
  must be followed by id, not left to the listing);
- an invocation created late, with an old ``RequestedDateTime``, for a command whose
  invocations had all ended when the invocations stream last read them, the command
  ending before the next sync (the invocations stream must read that command once
  more after ``ssm_commands`` saw it end);
- a kill between ``ssm_commands``' STATE and the invocations stream's records;
- BATCH mode, where records wait in the batcher while a STATE could be written;
- a cloud clock behind the tap's: a command requested during a sync carries a time
  before the sync started.

Properties, over the messages of all syncs in order (a BATCH message counts as its
records, at its position):

1. the last version of every command and invocation emitted is its final one;
2. no STATE claims what was not delivered: every item requested before a partition's
   bookmark whose final version was not emitted before that STATE is followed by id
   in that STATE (``pending_commands`` of the stream; for invocations, also of
   ``ssm_commands``, which the invocations stream follows too).
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
import typing as t
from pathlib import Path

import botocore.retries.standard
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tap_cloudcommands.timestamps import parse_timestamp
from tests.emulators import EMULATOR_AWS_ACCESS_KEY_ID, EMULATOR_AWS_SECRET_ACCESS_KEY, SSMEmulator
from tests.emulators.schedule import SSMSchedule, SSMStep
from tests.properties import property_settings
from tests.test_sync_properties import sync_once

UTC = dt.UTC
COMMANDS = "ssm_commands"
INVOCATIONS = "ssm_command_invocations"
# Region names the settings accept (two letters, a word, a number): a fresh one per example.
REGIONS = (f"us-{''.join(chr(97 + int(d)) for d in f'{n:04d}')}-1" for n in itertools.count())


@pytest.fixture(scope="module")
def ssm_server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[tuple[SSMEmulator, Path]]:
    # In-process boto3 clients: no developer AWS config or proxy; retries keep their
    # logic, not their pauses.
    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("aws")
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM", "HTTPS_PROXY"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_CONFIG_FILE", str(home / "config"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        patch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda *_: 0.0)
        with SSMEmulator() as emulator:
            yield emulator, home
            assert emulator.errors == []


def expand_batches(messages: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """The messages with each BATCH replaced by its records, as a target would load them."""
    expanded = []
    for message in messages:
        if message["type"] != "BATCH":
            expanded.append(message)
            continue
        for url in message["manifest"]:
            path = Path(url.removeprefix("file://"))
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt") as lines:
                expanded.extend(
                    {"type": "RECORD", "stream": message["stream"], "record": json.loads(line)}
                    for line in lines
                    if line.strip()
                )
    return expanded


def version(stream: str, item: dict[str, t.Any]) -> tuple[tuple[str, ...], str]:
    """An item's key and the part of it that changes (its status)."""
    if stream == COMMANDS:
        return (item["CommandId"],), item["Status"]
    return (item["CommandId"], item["InstanceId"]), item["Status"]


def followed_in(state: dict[str, t.Any], stream: str) -> tuple[dt.datetime | None, set[str]]:
    """A stream's bookmark and the commands it follows by id, in one STATE."""
    bookmarks = state.get("bookmarks", {})
    streams = [stream] if stream == COMMANDS else [stream, COMMANDS]
    bookmark = None
    followed: set[str] = set()
    for name in streams:
        for partition in bookmarks.get(name, {}).get("partitions", []):
            followed |= set(partition.get("pending_commands") or {})
            value = partition.get("replication_key_value")
            if name == stream and value is not None:
                bookmark = parse_timestamp(value)
    return bookmark, followed


steps = st.builds(
    SSMStep,
    new=st.integers(0, 2),
    new_targets=st.integers(0, 2),
    late=st.lists(st.floats(0, 1, exclude_max=True), max_size=2).map(tuple),
    advance=st.lists(st.floats(0, 1, exclude_max=True), max_size=3).map(tuple),
    finish=st.lists(st.floats(0, 1, exclude_max=True), max_size=2).map(tuple),
    throttle=st.booleans(),
    latency=st.sampled_from((0.0, 0.0, 0.002)),
)
sync_plans = st.tuples(
    st.lists(steps, max_size=8),  # changes during the sync, one step per list request
    st.none() | st.integers(1, 40),  # killed after this many messages
)


@property_settings("PROPERTY_SSM_EXAMPLES", 60)
@given(
    initial=st.integers(0, 40),
    running=st.floats(0, 0.6),
    targets=st.integers(0, 3),
    page_size=st.integers(1, 50),
    skew_seconds=st.integers(-240, 240),
    batch=st.booleans(),
    syncs=st.lists(sync_plans, min_size=1, max_size=4),
)
def test_ssm_syncs_with_kills_deliver_final_statuses_and_no_state_runs_ahead(
    ssm_server, initial, running, targets, page_size, skew_seconds, batch, syncs
):
    ssm, home = ssm_server
    region = next(REGIONS)
    skew = dt.timedelta(seconds=skew_seconds)
    now = dt.datetime.now(UTC).replace(microsecond=0) + skew
    span = dt.timedelta(days=3) / max(1, initial)
    for i in range(initial):
        still_running = i < running * initial
        instances = [f"i-{region}-{i}-{n}" for n in range(targets)]
        ssm.add_command_with_invocations(
            region,
            instances,
            # A running command's first invocation has ended, the rest run (if any).
            Status="InProgress" if still_running else "Success",
            RequestedDateTime=now - dt.timedelta(minutes=1) - span * i,
        )
    config = {
        "aws_access_key_id": EMULATOR_AWS_ACCESS_KEY_ID,
        "aws_secret_access_key": EMULATOR_AWS_SECRET_ACCESS_KEY,
        "aws_endpoint_url": ssm.url,
        "aws_sts_endpoint_url": ssm.url,
        "aws_regions": [region],
        "aws_max_attempts": 10,
        "ssm_page_size": page_size,
    }
    if batch:
        config["batch_config"] = {
            "encoding": {"format": "jsonl", "compression": "none"},
            "storage": {"root": f"file://{home}", "prefix": f"{region}-"},
        }
    log: list[dict[str, t.Any]] = []
    state: dict[str, t.Any] = {}
    created: dict[tuple[str, ...], float] = {}
    for plan, kill_after in syncs:
        # At most 8 throttled answers per sync: a call has 10 attempts.
        ssm.schedule = schedule = SSMSchedule(ssm, region, plan, skew=skew)
        state = sync_once(config, state, log, kill_after)
        ssm.schedule = None
        created |= schedule.created
    sync_once(config, state, log, None)
    delivered = expand_batches(log)

    for stream, items in ((COMMANDS, ssm.commands(region)), (INVOCATIONS, ssm.invocations(region))):
        check_delivery(stream, items, delivered, created)


def check_delivery(
    stream: str,
    items: list[dict[str, t.Any]],
    delivered: list[dict[str, t.Any]],
    created: dict[tuple[str, ...], float],
) -> None:
    """Check both properties for one stream against the emulator's final items."""
    final = dict(version(stream, item) for item in items)
    requested = {version(stream, i)[0]: i["RequestedDateTime"] for i in items}
    last: dict[tuple[str, ...], str] = {}
    final_at: dict[tuple[str, ...], int] = {}
    for position, message in enumerate(delivered):
        if message["type"] == "RECORD" and message["stream"] == stream:
            key, status = version(stream, message["record"])
            last[key] = status
            if status == final.get(key):
                final_at.setdefault(key, position)
    # 1. The last version emitted of every item is its final one.
    wrong = {
        key: (last.get(key), status) for key, status in final.items() if last.get(key) != status
    }
    assert not wrong, (stream, list(wrong.items())[:3], len(final))
    # 2. No STATE passes an item that existed when it was written and whose final
    # version was not yet delivered, unless that STATE follows its command by id.
    # (An item created later behind the bookmark, a late invocation, is property 1's:
    # it must come through the following of its command, in any later sync.)
    for position, message in enumerate(delivered):
        if message["type"] != "STATE":
            continue
        bookmark, followed = followed_in(message["value"], stream)
        if bookmark is None:
            continue
        ahead = [
            key
            for key in final
            if requested[key] < bookmark
            and final_at[key] > position
            and created.get(key, 0.0) < message["_at"]
            and key[0] not in followed
        ]
        assert not ahead, (stream, position, bookmark, ahead[:3])
