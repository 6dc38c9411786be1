"""Unit tests of the small pieces: timestamps, settings checks, rate limiter, offset scans."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import threading
import time

import pytest

from tap_cloudcommands.rate_limit import SlidingWindowRateLimiter
from tap_cloudcommands.settings import settings_errors
from tap_cloudcommands.tencent.scan import OffsetScan, Page
from tap_cloudcommands.timestamps import normalize_timestamp

UTC = dt.UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020-11-02T02:48:11+00:00", "2020-11-02T02:48:11.000000+00:00"),
        ("2021-05-12T02:49:04Z", "2021-05-12T02:49:04.000000+00:00"),
        ("2021-05-12T10:49:04+08:00", "2021-05-12T02:49:04.000000+00:00"),
        ("2021-05-12T02:49:04.5Z", "2021-05-12T02:49:04.500000+00:00"),
        (1582244543.188, "2020-02-21T00:22:23.188000+00:00"),
        (
            dt.datetime(2020, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8))),
            "2020-01-01T00:00:00.000000+00:00",
        ),
    ],
)
def test_timestamps_become_fixed_width_utc(value, expected):
    assert normalize_timestamp(value) == expected


@pytest.mark.parametrize(
    "value", ["yesterday", None, True, [], "P1D", "0001-01-01T00:00:00+08:00", 1e20]
)
def test_non_timestamps_are_rejected(value):
    with pytest.raises(ValueError, match=r"not a|out of range"):
        normalize_timestamp(value)


NOW = dt.datetime(2026, 11, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"start_date": "2026-13-01"}, "start_date '2026-13-01' is not a date-time"),
        ({"start_date": "2027-01-01T00:00:00Z"}, "is in the future"),
        ({"aws_access_key_id": "AKIA1"}, "aws_access_key_id is set but aws_secret_access_key"),
        ({"tencent_secret_key": "k"}, "tencent_secret_key is set but tencent_secret_id"),
        ({"aws_session_token": "tok"}, "aws_session_token is set but aws_access_key_id"),
        ({"tencent_token": "tok"}, "tencent_token is set but tencent_secret_id"),
        ({"aws_regions": ["us-east-1", "us-east-1"]}, "aws_regions lists a region twice"),
        ({"tencent_endpoint_url": "http://127.0.0.1:x"}, "tencent_endpoint_url"),
    ],
)
def test_settings_errors_name_the_setting(config, expected):
    errors = settings_errors(config, now=NOW)
    assert len(errors) == 1
    assert expected in errors[0]


def test_good_settings_have_no_errors():
    config = {
        "start_date": "2026-01-01T00:00:00Z",
        "aws_access_key_id": "AKIA1",
        "aws_secret_access_key": "s",
        "aws_regions": ["us-east-1", "eu-west-1"],
        "aws_endpoint_url": "http://127.0.0.1:9000",
        "aws_sts_endpoint_url": "http://127.0.0.1:9000",
        "tencent_secret_id": "id",
        "tencent_secret_key": "key",
        "tencent_endpoint_url": "https://tat.tencentcloudapi.com",
    }
    assert settings_errors(config, now=NOW) == []


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_rate_limiter_never_starts_more_than_max_calls_in_any_window():
    clock = FakeClock()
    limiter = SlidingWindowRateLimiter(20, margin=0.05, clock=clock, sleep=clock.sleep)
    started = []
    for _ in range(100):
        limiter.acquire()
        started.append(clock.now)
    assert max(sum(1 for s in started if a <= s < a + 1.05) for a in started) == 20
    # 100 calls at 20 per 1.05 s need four full windows.
    assert started[-1] == pytest.approx(4 * 1.05)


def test_rate_limiter_counts_calls_from_several_threads():
    limiter = SlidingWindowRateLimiter(5, period=0.2, margin=0.01)
    started = []
    lock = threading.Lock()

    def call():
        limiter.acquire()
        with lock:
            started.append(time.monotonic())

    threads = [threading.Thread(target=call) for _ in range(23)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(started) == 23
    assert max(sum(1 for s in started if a <= s < a + 0.2) for a in started) <= 5
    assert max(started) - min(started) >= 4 * 0.2


def test_rate_limiter_rejects_a_nonsense_limit():
    with pytest.raises(ValueError, match="max_calls"):
        SlidingWindowRateLimiter(0)


def pages_from(lists, totals=None):
    """A fetch function replaying a list that may change between calls."""
    calls = []

    def fetch(offset, limit):
        snapshot = lists[min(len(calls), len(lists) - 1)]
        total = len(snapshot) if totals is None else totals[len(calls)]
        calls.append(offset)
        return Page(total=total, items=snapshot[offset : offset + limit])

    return fetch, calls


BASE = dt.datetime(2026, 1, 1, tzinfo=UTC)


def item_ids(n, start=0):
    """Newest first: cmd-{start} is the newest."""
    return [
        {"CommandId": f"cmd-{i}", "CreatedTime": (BASE - dt.timedelta(minutes=i)).isoformat()}
        for i in range(start, start + n)
    ]


def new_scan(fetch, page_size=100, **kwargs):
    return OffsetScan(
        fetch,
        page_size=page_size,
        describe="test",
        logger=logging.getLogger("t"),
        id_key="CommandId",
        **kwargs,
    )


def test_offset_scan_reads_overlapping_pages_once_when_the_list_holds_still():
    fetch, calls = pages_from([item_ids(250)])
    scan = new_scan(fetch)
    assert [i["CommandId"] for i in scan] == [f"cmd-{i}" for i in range(250)]
    # Each page starts at the last item of the page before: 99 new items per call.
    assert sorted(calls) == [0, 99, 198]
    assert scan.exact
    assert scan.repairs == 0


def test_offset_scan_rereads_only_the_stretch_before_a_delete():
    before = item_ids(250)
    after = before[:10] + before[11:]  # cmd-10 deleted after the first page: cmd-100 shifts
    fetch, calls = pages_from([before, after, after, after, after, after])
    scan = new_scan(fetch, workers=1)
    seen = {i["CommandId"] for i in scan}
    assert {i["CommandId"] for i in after} <= seen
    assert scan.exact
    # No rescan: the one page before the gap is read again (here the first).
    assert scan.repairs == 1
    assert len(calls) == 4, calls


def test_offset_scan_front_inserts_are_duplicates_not_a_reason_to_stop():
    lists = [item_ids(300, start=-k) for k in range(20)]  # 1 new item in front per call
    fetch, _ = pages_from(lists)
    scan = new_scan(fetch, workers=1)
    seen = {i["CommandId"] for i in scan}
    assert {f"cmd-{i}" for i in range(280)} <= seen
    assert scan.exact


def test_offset_scan_page_size_one_is_read_as_two():
    fetch, calls = pages_from([item_ids(5)])
    scan = new_scan(fetch, page_size=1)
    assert [i["CommandId"] for i in scan] == [f"cmd-{i}" for i in range(5)]
    assert scan.exact
    assert sorted(calls) == [0, 1, 2, 3, 4]


def test_offset_scan_stops_at_the_window_and_reads_everything_when_out_of_order(caplog):
    items = item_ids(1000)
    stop_before = BASE - dt.timedelta(minutes=150)
    fetch, calls = pages_from([items])
    scan = new_scan(fetch, stop_before=stop_before)
    seen = [i["CommandId"] for i in scan]
    assert scan.exact and scan.stopped_early
    assert set(seen) >= {f"cmd-{i}" for i in range(151)}
    assert len(calls) == 2, calls
    shuffled = items[:]
    shuffled[50], shuffled[51] = shuffled[51], shuffled[50]
    fetch, calls = pages_from([shuffled])
    scan = new_scan(fetch, stop_before=BASE - dt.timedelta(minutes=150))
    assert len(list(scan)) == 1000  # the whole list: the order is not what it should be
    # The proof rests on that order: the scan is not shown complete.
    assert not scan.exact and not scan.stopped_early and not scan.ordered
    assert "not newest first" in caplog.text


def test_offset_scan_gives_up_on_a_list_that_outruns_it():
    # Every call finds the whole list replaced: nothing read overlaps anything else.
    def fetch(offset, limit):
        fetch.calls += 1
        items = [
            {"CommandId": f"cmd-{fetch.calls}-{i}", "CreatedTime": BASE.isoformat()}
            for i in range(300)
        ]
        return Page(total=300, items=items[offset : offset + limit])

    fetch.calls = 0
    scan = new_scan(fetch, page_size=10, workers=1)
    list(scan)
    assert not scan.exact
    assert fetch.calls <= 3 * 34 + 16


def test_page_feed_hands_on_pages_in_order_and_reraises_failures():
    from tap_cloudcommands.feeds import PageFeed

    def pages():
        yield [{"n": 1}, {"n": 2}]
        yield [{"n": 3}]
        msg = "page 3 failed"
        raise RuntimeError(msg)

    feed = PageFeed("test", pages(), max_pages=1)
    seen = []
    with pytest.raises(RuntimeError, match="page 3 failed"):
        seen.extend(item["n"] for item in feed.items())
    assert seen == [1, 2, 3]


def test_page_feed_stops_fetching_once_closed():
    from tap_cloudcommands.feeds import PageFeed

    fetched = []

    def pages():
        for n in range(1000):
            fetched.append(n)
            yield [{"n": n}]

    feed = PageFeed("test", pages(), max_pages=2)
    first = next(feed.items())
    feed.close()
    time.sleep(1.2)
    assert first == {"n": 0}
    assert len(fetched) <= 5  # the queue bound, not the whole source


@pytest.mark.parametrize(
    "value",
    [
        "2020-11-02T02:48:11+00:00",
        "2020-11-02T02:48:11Z",
        "2020-11-02T02:48:11.123456+00:00",
        "2020-11-02T10:48:11+08:00",
        "2020-11-02 02:48:11+00:00",
        "2020-11-02T02:48:11.5Z",
        "2020-11-02T02:48:11",
        1582244543.188,
    ],
)
def test_fast_timestamp_path_agrees_with_the_general_one(value):
    from tap_cloudcommands.timestamps import instant_and_text, parse_timestamp

    instant, text = instant_and_text(value)
    assert text == normalize_timestamp(value)
    assert instant == parse_timestamp(value)
    assert instant.tzinfo == UTC


def test_an_object_without_a_command_id_is_skipped_and_its_values_are_not_logged(caplog):
    from tap_cloudcommands.tap import TapCloudCommands

    tap = TapCloudCommands(config={"tencent_regions": ["ap-guangzhou"]}, validate_config=False)
    stream = tap.streams["tat_commands"]
    with caplog.at_level(logging.WARNING):
        kept = stream.conform({"Content": "c2VjcmV0LXBhc3N3b3Jk", "Timeout": "60"}, "ap-guangzhou")
        fine = stream.conform({"CommandId": "cmd-1", "Timeout": "60"}, "ap-guangzhou")
    assert kept is None
    assert fine == {"CommandId": "cmd-1", "Timeout": 60}
    assert "without CommandId (fields: Content, Timeout)" in caplog.text
    assert "c2VjcmV0" not in caplog.text


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (base64.b64encode("héllo\nwörld".encode()).decode(), ("héllo\nwörld", "text")),
        (base64.b64encode(b"\xff\xfe\x00binary").decode(), ("//4AYmluYXJ5", "base64")),
        ("not base64 at all!", ("not base64 at all!", "base64")),
        ("", ("", "text")),
    ],
)
def test_task_output_is_decoded_only_when_it_is_utf8(output, expected):
    from tap_cloudcommands.tencent.streams import decode_output

    assert decode_output(output) == expected


def task(output: str) -> dict:
    return {
        "InvocationTaskId": "invt-1",
        "UpdatedTime": "2026-11-01T00:00:00Z",
        "TaskResult": {"ExitCode": 0, "Output": output, "ExecEndTime": ""},
    }


def test_task_output_is_hidden_unless_asked_for_then_capped():
    from tap_cloudcommands.tap import TapCloudCommands

    text = "x" * 50
    encoded = base64.b64encode(text.encode()).decode()
    hidden = TapCloudCommands(config={}, validate_config=False).streams["tat_invocation_tasks"]
    record = task(encoded)
    hidden.prepare(record)
    assert record["TaskResult"]["Output"] is None
    assert "OutputEncoding" not in record["TaskResult"]

    shown = TapCloudCommands(
        config={"tat_task_output": True, "tat_task_output_max_chars": 20}, validate_config=False
    ).streams["tat_invocation_tasks"]
    assert shown.request_params() == {"HideOutput": False}
    assert hidden.request_params() == {"HideOutput": True}
    given = task(encoded)
    record = dict(given)
    shown.prepare(record)
    assert record["TaskResult"] == {
        "ExitCode": 0,
        "Output": "x" * 20,
        "ExecEndTime": "",
        "OutputEncoding": "text",
        "OutputCapped": True,
    }
    assert given["TaskResult"]["Output"] == encoded, "the API object itself is left alone"


def test_nested_timestamps_are_normalised_and_empty_ones_become_null(caplog):
    from tap_cloudcommands.tap import TapCloudCommands

    tap = TapCloudCommands(config={}, validate_config=False)
    tasks = tap.streams["tat_invocation_tasks"]
    record = task("")
    record["TaskResult"]["ExecStartTime"] = "2026-11-01T08:00:00+08:00"
    record["EndTime"] = ""
    with caplog.at_level(logging.WARNING):
        first = tasks.timestamps.normalise(record)
    assert first == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    assert record["UpdatedTime"] == "2026-11-01T00:00:00.000000+00:00"
    assert record["TaskResult"]["ExecStartTime"] == "2026-11-01T00:00:00.000000+00:00"
    assert record["TaskResult"]["ExecEndTime"] is None
    assert record["EndTime"] is None
    assert caplog.text == ""

    invocations = tap.streams["ssm_command_invocations"]
    record = {
        "CommandId": "c",
        "InstanceId": "i-1",
        "RequestedDateTime": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        "CommandPlugins": [
            {"Name": "a", "ResponseStartDateTime": dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC)},
            {"Name": "b", "ResponseFinishDateTime": "yesterday-ish"},
        ],
    }
    with caplog.at_level(logging.WARNING):
        invocations.timestamps.normalise(record)
    assert record["CommandPlugins"][0]["ResponseStartDateTime"] == (
        "2026-11-01T01:00:00.000000+00:00"
    )
    assert record["CommandPlugins"][1]["ResponseFinishDateTime"] is None
    assert "ResponseFinishDateTime 'yesterday-ish' of c/i-1 is not a timestamp" in caplog.text


@pytest.mark.parametrize(
    ("record", "fits"),
    [
        ({"CommandId": "c", "Timeout": 60, "Tags": [{"Key": "k", "Value": "v"}]}, True),
        ({"CommandId": "c", "Timeout": None, "Scenes": ["a"], "Description": None}, True),
        ({"CommandId": "c", "Timeout": "60"}, False),
        ({"CommandId": "c", "Timeout": True}, False),
        ({"CommandId": "c", "Unknown": 1}, False),
        # Nested objects allow extra members (the SDK's ObjectType default).
        ({"CommandId": "c", "Tags": [{"Key": "k", "Extra": 1}]}, True),
        ({"CommandId": "c", "Tags": [{"Key": 5}]}, False),
        ({"CommandId": "c", "Scenes": ["a", None]}, False),
        ({"CommandId": "c", "EnableParameter": "true"}, False),
        ({"CommandId": "c", "Tags": "not a list"}, False),
    ],
)
def test_fit_check_passes_exactly_what_the_conformer_leaves_alone(record, fits):
    """The msgspec fast path may skip the conformer only where it would change nothing."""
    import copy

    from tap_cloudcommands.conform import Findings, compile_conformer, compile_fit_check
    from tap_cloudcommands.tencent.schemas import TAT_COMMAND_SCHEMA

    conformed = copy.deepcopy(record)
    findings = Findings()
    compile_conformer(TAT_COMMAND_SCHEMA)(conformed, findings, "r")
    changed = conformed != record or bool(findings.problems or findings.dropped)
    changed = changed or any(type(conformed[key]) is not type(record[key]) for key in conformed)
    assert changed is not fits
    assert compile_fit_check(TAT_COMMAND_SCHEMA)(record) is fits


def test_boto3_timestamps_are_parsed_into_utc_not_local_time(monkeypatch):
    from tap_cloudcommands.aws.connector import utc_timestamp

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        parsed = utc_timestamp(1582244543.188)
        assert parsed.tzinfo is dt.UTC
        assert parsed == dt.datetime(2020, 2, 21, 0, 22, 23, 188000, tzinfo=dt.UTC)
        assert utc_timestamp("2020-02-21T00:22:23Z") == parsed.replace(microsecond=0)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_output_cut_inside_a_character_by_the_api_is_still_text():
    from tap_cloudcommands.tencent.streams import decode_output

    cut = base64.b64encode("héllo€".encode()[:-1]).decode()
    assert decode_output(cut, cut_by_api=True) == ("héllo", "text")
    # Not cut by the API: an incomplete character means the bytes are not text.
    assert decode_output(cut) == (cut, "base64")
    # A bad byte elsewhere is binary even when the API cut the output.
    binary = base64.b64encode(b"ab\xffcd").decode()
    assert decode_output(binary, cut_by_api=True) == (binary, "base64")


def test_capped_base64_output_stays_whole_base64_groups():
    from tap_cloudcommands.tap import TapCloudCommands

    stream = TapCloudCommands(
        config={"tat_task_output": True, "tat_task_output_max_chars": 10}, validate_config=False
    ).streams["tat_invocation_tasks"]
    record = task(base64.b64encode(b"\xff" * 30).decode())
    stream.prepare(record)
    result = record["TaskResult"]
    assert (result["OutputEncoding"], result["OutputCapped"]) == ("base64", True)
    assert len(result["Output"]) == 8
    assert base64.b64decode(result["Output"], validate=True) == b"\xff" * 6


def test_the_sdk_promotes_an_advanced_bookmark_capped_by_the_signpost():
    # advance_bookmark writes the SDK's progress markers directly (singer_sdk.helpers
    # ._state); if the SDK renames or stops promoting them, this fails.
    from singer_sdk.helpers._state import finalize_state_progress_markers

    from tap_cloudcommands.client import PROGRESS_MARKERS

    state: dict = {"replication_key": "UpdatedTime", "replication_key_value": "2026-01-01"}
    state[PROGRESS_MARKERS] = {
        "Note": "x",
        "replication_key": "UpdatedTime",
        "replication_key_value": "2026-03-01T00:00:00.000000+00:00",
    }
    state["replication_key_signpost"] = "2026-02-01T00:00:00.000000+00:00"
    finalize_state_progress_markers(state)
    assert state == {
        "replication_key": "UpdatedTime",
        "replication_key_value": "2026-02-01T00:00:00.000000+00:00",
    }
