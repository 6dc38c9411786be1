"""Exact Offset/Limit scans of TAT's newest-first lists, however the list changes between pages.

TAT's Describe* APIs page by Offset and Limit over a list that keeps changing: runs are
added at the front (newest first by ``CreatedTime``), aged out anywhere, and edited in
place. Offset paging alone can skip an item: a delete in front of the scan position moves
later items to offsets already read. The scan here proves, page by page, that nothing was
skipped, from one rule about overlapping pages.

**The rule.** Call an item *accepted* once every item that precedes it in the list and
existed for the whole scan is known to have been handed on. A page is a contiguous slice
of the list at the instant it was answered, so

- every item of the page at offset 0 is accepted (nothing precedes its first item), and
- if a page holds one accepted item, every item of that page is accepted: whatever lies
  between the accepted item and the page's end, at the instant of the page, is in the
  page itself.

Neither needs the pages in order, ``TotalCount`` to hold still, or the list to change
only at one end: it needs only that the list keeps a fixed relative order of the items
it holds (TAT orders by ``CreatedTime``, which never changes). Each page therefore starts
at the furthest accepted item (pages overlap by one); a page that holds no accepted item
(items before it were deleted, so it starts past the accepted stretch) is held back and
the stretch just before it is read again, stepping back one page at a time; once a page
that overlaps it is accepted, the held page is accepted too. The scan is complete when an
accepted page is shorter than the limit (it reached the end of the list), or, for an
incremental scan, when an accepted item was created before ``stop_before``: in a list
ordered newest first every item at or after that instant precedes it. Every page is
checked to be in ``CreatedTime`` order; an item out of order turns the early stop off
and the scan is read to its end but not shown complete (the proof rests on that order),
with a log line.

The assumption is a fixed relative order, ties included: items created in the same
second must come in the same order on every call (the reference does not say how ties
are ordered; ``tie_order = "random"`` in the emulator plays the opposite, which this
rule cannot detect with a one-item overlap).

Pages are fetched several at a time ahead of the scan position (each call still waits
for the rate limit); a page fetched ahead is used only if it overlaps the accepted
stretch, which is checked, never assumed.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import threading
import typing as t
from concurrent.futures import Future

from tap_cloudcommands.timestamps import parse_timestamp

if t.TYPE_CHECKING:
    import datetime as dt
    import logging
    from collections.abc import Callable, Iterator

# Pages of one list in flight at once: at 100 ms a call, 4 keep 20 calls/s busy.
PAGE_WORKERS = 4
# Overlapping pages need two items each: Limit 1 is read as Limit 2.
MIN_PAGE_SIZE = 2
# Ids of the last this many pages' items are remembered, to recognise overlaps and to
# hand an item on once; memory stays flat however long the list.
REMEMBERED_PAGES = 32
# Calls one scan may make, as a multiple of the pages the list holds (plus a constant):
# beyond it the list changes faster than it can be read, and the scan gives up.
CALL_BUDGET_FACTOR = 3
CALL_BUDGET_EXTRA = 16
CALL_BUDGET_CAP = 10
_WAIT_POLL_SECONDS = 0.25


class ScanStoppedError(Exception):
    """The scan was told to stop (another part of the sync failed)."""


@dataclasses.dataclass(frozen=True)
class Page:
    """One Offset/Limit page of a TAT Describe* call."""

    total: int
    items: list[dict[str, t.Any]]


@dataclasses.dataclass
class _Read:
    offset: int
    page: Page


class _Remembered:
    """Insertion-ordered ids with a bound: the oldest are forgotten first.

    (An OrderedDict: a plain dict trimmed from the front one key at a time makes finding
    its oldest key slower with every trim.)
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._values: collections.OrderedDict[str, object] = collections.OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def get(self, key: str) -> object:
        return self._values.get(key)

    def put(self, key: str, value: object = None) -> None:
        self._values[key] = value
        self._values.move_to_end(key)
        if len(self._values) > self._capacity:
            self._values.popitem(last=False)


class OffsetScan:
    """Hands on every item of an Offset-paged newest-first list exactly as the module says.

    After iteration, ``exact`` tells whether the scan proved it handed on every item that
    existed from its start to its end (at least those created at or after
    ``stop_before``); ``stopped_early`` whether it ended at ``stop_before``; ``ordered``
    whether every page was in ``CreatedTime`` order; ``calls`` how many pages it read.
    """

    def __init__(  # noqa: PLR0913 - each knob is its own concern
        self,
        fetch_page: Callable[[int, int], Page],
        *,
        page_size: int,
        describe: str,
        logger: logging.Logger,
        id_key: str,
        stop_before: dt.datetime | None = None,
        workers: int = PAGE_WORKERS,
        stop: threading.Event | None = None,
    ) -> None:
        """Set up a scan; nothing is fetched until iteration.

        Args:
            fetch_page: Called with (offset, limit); returns a page. Called from
                several threads at once.
            page_size: Items per call (at least 2 are asked for).
            describe: How to name the list in log lines, e.g. "DescribeCommands in X".
            logger: Where repairs and give-ups are reported.
            id_key: The member that identifies an item, e.g. "InvocationId".
            stop_before: Incremental scans end once an accepted item was created
                before this instant; None reads the whole list.
            workers: Pages fetched at the same time.
            stop: When set, the scan stops at once (raises ScanStoppedError).
        """
        self._fetch_page = fetch_page
        self._limit = max(MIN_PAGE_SIZE, page_size)
        self._step = self._limit - 1
        self._describe = describe
        self._logger = logger
        self._id_key = id_key
        self._stop_before = stop_before
        self._workers = max(1, workers)
        self._stop = stop or threading.Event()
        capacity = REMEMBERED_PAGES * self._limit
        self._accepted = _Remembered(capacity)
        self._handed_on = _Remembered(capacity)
        self._held: dict[int, Page] = {}
        self._ahead: dict[int, Future[Page]] = {}
        # Calls in flight at once; the threads are daemons, so a failed sync never waits
        # for a call or a retry pause of this scan to end before the process exits.
        self._slots = threading.BoundedSemaphore(self._workers)
        self._reach = 0
        # Id of the item last seen at ``_reach``, and how far items moved between pages
        # lately (front inserts, deletes): read-ahead pages start that much earlier.
        self._frontier_id: object = None
        self._drift = 0
        self._repair_streak = 0
        self._largest_total = 0
        self._first_total: int | None = None
        self._accepted_count = 0
        self._newest_accepted: dt.datetime | None = None
        self._oldest_accepted: dt.datetime | None = None
        self.exact = False
        self.stopped_early = False
        self.ordered = True
        self.calls = 0
        self.repairs = 0

    # ------------------------------------------------------------------ iteration
    def __iter__(self) -> Iterator[dict[str, t.Any]]:
        """Yield every item handed on, page by page.

        Yields:
            The items.
        """
        for page in self.pages():
            yield from page

    def pages(self) -> Iterator[list[dict[str, t.Any]]]:
        """Yield the items of each page read that were not handed on already.

        Yields:
            Lists of items, in the order read.

        Raises:
            ScanStoppedError: If ``stop`` was set.
        """
        try:
            yield from self._scan()
        finally:
            # Queued calls are dropped; calls in flight finish on their own, unawaited.
            for future in self._ahead.values():
                future.cancel()
            self._ahead.clear()

    def _scan(self) -> Iterator[list[dict[str, t.Any]]]:
        cursor = 0
        while True:
            if self.calls >= self._budget():
                self._logger.warning(
                    "%s changed faster than it could be read (%d calls for at most %d "
                    "items); the scan is not shown complete",
                    self._describe,
                    self.calls,
                    self._largest_total,
                )
                return
            read = self._read_at(cursor)
            fresh = self._hand_on(read.page.items)
            if fresh:
                yield fresh
            self._check_order(read)
            if self._anchored(read):
                self._repair_streak = 0
                if self._accept(read):
                    return
                if self._release_held():
                    return
                cursor = self._reach
                self._read_ahead()
            else:
                # The page starts past the accepted stretch: items before it were deleted,
                # or it was answered before the page it follows while items were added.
                # Hold it and read just before it: first by the recent drift, then by
                # whole pages.
                self._held[read.offset] = read.page
                self.repairs += 1
                self._repair_streak += 1
                back = self._step
                if self._repair_streak == 1:
                    back = min(self._step, max(MIN_PAGE_SIZE, 2 * self._drift))
                cursor = max(0, min(read.offset, self._reach) - back)

    # ------------------------------------------------------------------ the rule
    def _anchored(self, read: _Read) -> bool:
        if read.offset == 0:
            return True
        key = self._id_key
        return any(item.get(key) in self._accepted for item in read.page.items)

    def _accept(self, read: _Read) -> bool:
        """Accept a page's items; True when the scan is complete."""
        items = read.page.items
        key = self._id_key
        for item in items:
            if isinstance(item_id := item.get(key), str):
                self._accepted.put(item_id)
        self._accepted_count += len(items)
        if items:
            self._note_drift(read)
            end = read.offset + len(items) - 1
            if end >= self._reach:
                self._reach = end
                self._frontier_id = items[-1].get(key)
            self._note_times(items)
        if len(items) < self._limit:
            # The end of the list; the proof rests on the order, so only if it held.
            self.exact = self.ordered
            return True
        if self._stop_before is not None and self.ordered:
            last = _created(items[-1])
            if last is not None and last < self._stop_before:
                self.exact = self.stopped_early = True
                return True
        return False

    def _note_drift(self, read: _Read) -> None:
        """How far the item last seen at the scan position moved since (decaying)."""
        expected = self._reach - read.offset
        for index, item in enumerate(read.page.items):
            if item.get(self._id_key) == self._frontier_id:
                self._drift = max(abs(index - expected), self._drift // 2)
                return

    def _release_held(self) -> bool:
        """Accept held pages that overlap the accepted stretch now; True when complete."""
        progress = True
        while progress:
            progress = False
            for offset in sorted(self._held):
                read = _Read(offset, self._held[offset])
                if self._anchored(read):
                    del self._held[offset]
                    if self._accept(read):
                        return True
                    progress = True
        # Held pages behind the accepted stretch are no longer needed.
        for offset in [o for o in self._held if o + self._limit <= self._reach]:
            del self._held[offset]
        return False

    def _check_order(self, read: _Read) -> None:
        if not self.ordered:
            return
        previous_text: str | None = None
        previous: dt.datetime | None = None  # its instant, parsed only when needed
        for index, item in enumerate(read.page.items):
            text = item.get("CreatedTime")
            if (
                isinstance(text, str)
                and previous_text is not None
                and len(text) == len(previous_text)
                and (form := _form(text)) is not None
                and form == _form(previous_text)
            ):
                # Same form, offset and length: the text orders as the instant does.
                if text > previous_text:
                    self._disordered(read, index, "newer than the one before it")
                    return
                previous_text, previous = text, None
                continue
            created = _created(item)
            if created is None:
                self._disordered(read, index, "without a CreatedTime")
                return
            if previous_text is not None:
                previous = previous or _created({"CreatedTime": previous_text})
                if previous is not None and created > previous:
                    self._disordered(read, index, "newer than the one before it")
                    return
            previous_text, previous = text, created

    def _disordered(self, read: _Read, index: int, what: str) -> None:
        self.ordered = False
        self._logger.warning(
            "%s: item %d of the page at offset %d is %s (the list is not newest first); "
            "it is read to its end, and the scan cannot be shown complete",
            self._describe,
            index,
            read.offset,
            what,
        )

    # ------------------------------------------------------------------ handing on
    def _hand_on(self, items: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
        """The items not handed on yet in this scan (or changed since)."""
        fresh = []
        key = self._id_key
        for item in items:
            item_id = item.get(key)
            if not isinstance(item_id, str):
                fresh.append(item)  # the stream reports it
                continue
            version = item.get("UpdatedTime")
            if item_id in self._handed_on and self._handed_on.get(item_id) == version:
                continue
            self._handed_on.put(item_id, version)
            fresh.append(item)
        return fresh

    # ------------------------------------------------------------------ fetching
    def _budget(self) -> int:
        # Grows with the list, but at most to CALL_BUDGET_CAP times what the list held
        # at the first call: a list that grows as fast as it is read cannot keep
        # raising its own budget.
        def budget(total: int) -> int:
            pages = math.ceil(max(total, 1) / self._step)
            return CALL_BUDGET_FACTOR * pages + CALL_BUDGET_EXTRA

        return min(CALL_BUDGET_CAP * budget(self._first_total or 0), budget(self._largest_total))

    def _read_at(self, cursor: int) -> _Read:
        """A page that holds position ``cursor``: one read ahead if any, else a new call."""
        usable = [o for o in self._ahead if cursor - self._step <= o <= cursor]
        for offset in [o for o in self._ahead if o < cursor - self._step]:
            self._ahead.pop(offset).cancel()  # behind the scan: never needed
        if usable:
            offset = max(usable)
            future = self._ahead.pop(offset)
        else:
            offset = cursor
            future = self._submit(cursor)
        page = self._wait(future)
        self._largest_total = max(self._largest_total, page.total)
        if self._first_total is None:
            self._first_total = page.total
        return _Read(offset, page)

    def _submit(self, offset: int) -> Future[Page]:
        if self._stop.is_set():
            raise ScanStoppedError(self._describe)
        self.calls += 1
        future: Future[Page] = Future()
        thread = threading.Thread(
            target=self._fetch, args=(offset, future), name="tat-page", daemon=True
        )
        thread.start()
        return future

    def _fetch(self, offset: int, future: Future[Page]) -> None:
        with self._slots:
            if not future.set_running_or_notify_cancel():
                return  # dropped while it waited for a slot
            try:
                if self._stop.is_set():
                    raise ScanStoppedError(self._describe)  # noqa: TRY301 - one exit path
                future.set_result(self._fetch_page(offset, self._limit))
            except BaseException as error:  # noqa: BLE001 - handed to the reader
                future.set_exception(error)

    def _wait(self, future: Future[Page]) -> Page:
        while True:
            if self._stop.is_set():
                raise ScanStoppedError(self._describe)
            try:
                return future.result(timeout=_WAIT_POLL_SECONDS)
            except TimeoutError:
                continue

    def _read_ahead(self) -> None:
        """Keep up to ``2 * workers`` pages in flight beyond the scan position."""
        wanted = min(2 * self._workers, self._pages_left())
        # Pages start early by twice the recent drift, so a page answered before the one
        # it follows still overlaps it; the page at the scan position comes first.
        stride = self._step - min(self._step // 4, 2 * self._drift)
        offset = max(self._ahead) + stride if self._ahead else self._reach
        while len(self._ahead) < wanted and offset < self._largest_total:
            if offset not in self._ahead:
                self._ahead[offset] = self._submit(offset)
            offset += stride

    def _pages_left(self) -> int:
        """Pages worth reading ahead: all of them, unless the early stop is near."""
        if self._stop_before is None or not self.ordered:
            return 2 * self._workers
        newest, oldest = self._newest_accepted, self._oldest_accepted
        if newest is None or oldest is None or self._accepted_count < MIN_PAGE_SIZE:
            return 1
        if oldest < self._stop_before:
            return 0
        per_item = (newest - oldest) / max(1, self._accepted_count - 1)
        if per_item.total_seconds() <= 0:
            return 2 * self._workers
        items_left = (oldest - self._stop_before) / per_item
        return max(1, min(2 * self._workers, math.ceil(items_left / self._step)))

    def _note_times(self, items: list[dict[str, t.Any]]) -> None:
        first, last = _created(items[0]), _created(items[-1])
        if first is not None and (self._newest_accepted is None or first > self._newest_accepted):
            self._newest_accepted = first
        if last is not None and (self._oldest_accepted is None or last < self._oldest_accepted):
            self._oldest_accepted = last


def _form(text: object) -> str | None:
    """The suffix that fixes how a timestamp reads ("Z" or "+HH:MM"), None if neither."""
    if not isinstance(text, str) or not text:
        return None
    if text[-1] == "Z":
        return "Z"
    offset = text[-6:]
    if len(offset) == len("+00:00") and offset[0] in "+-" and offset[3] == ":":
        return offset
    return None


def _created(item: dict[str, t.Any]) -> dt.datetime | None:
    try:
        return parse_timestamp(item.get("CreatedTime"))
    except (ValueError, TypeError):
        return None
