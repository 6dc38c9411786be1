"""Read a region's pages on a background thread, so regions are read at the same time.

The SDK syncs a stream's partitions (here: regions) one after another. Each region's
pages are fetched ahead into a bounded queue while earlier regions are still being
written, so an eight-region sync waits on the network about as long as a one-region one,
and memory stays bounded by the queue, never by the size of a region.

The feeds of one stream form a :class:`FeedGroup`: the first failure anywhere (a feed's
fetching, or the stream itself) stops every feed of the group, in flight and queued, and
is the error every reader raises.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

DEFAULT_MAX_PAGES = 32
_PUT_POLL_SECONDS = 0.5


class _Done:
    pass


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class FeedStoppedError(Exception):
    """A feed stopped because its group did (another feed or the stream failed)."""


class FeedGroup:
    """The feeds of one stream: one stop signal and the first error that raised it."""

    def __init__(self) -> None:
        """Start with nothing stopped."""
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    def fail(self, error: BaseException) -> None:
        """Remember the first failure and stop every feed of the group.

        Args:
            error: What went wrong.
        """
        with self._lock:
            if self.error is None and not isinstance(error, FeedStoppedError):
                self.error = error
        self.stop.set()


class PageFeed:
    """Pages of one region, fetched on their own thread into a bounded queue."""

    def __init__(
        self,
        name: str,
        pages: Iterable[list[dict[str, t.Any]]],
        max_pages: int = DEFAULT_MAX_PAGES,
        group: FeedGroup | None = None,
    ) -> None:
        """Start fetching at once.

        Args:
            name: The thread's name, e.g. "tat_commands-ap-guangzhou".
            pages: A lazy iterable of pages; it is iterated on the feed's thread.
            max_pages: Pages held before the fetching thread waits for the reader.
            group: The stream's feeds; a failure in one stops them all.
        """
        self._group = group or FeedGroup()
        self._queue: queue.Queue[list[dict[str, t.Any]] | _Done | _Failed] = queue.Queue(
            maxsize=max_pages
        )
        self._closed = threading.Event()
        # Pages fetched, for the sync summary (one call each, retries aside).
        self.pages = 0
        self._thread = threading.Thread(target=self._fetch, args=(pages,), name=name, daemon=True)
        self._thread.start()

    def _fetch(self, pages: Iterable[list[dict[str, t.Any]]]) -> None:
        stop = self._group.stop
        try:
            for page in pages:
                if stop.is_set():
                    raise FeedStoppedError(self._thread.name)  # noqa: TRY301 - one exit path
                self.pages += 1
                if not self._put(page):
                    return
            self._put(_Done())
        except BaseException as error:  # noqa: BLE001 - handed to the reader, who raises it
            self._group.fail(error)
            # The reader raises the group's error at its next page whether or not this
            # lands; a full queue must not keep the thread waiting.
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(_Failed(error))

    def _put(self, item: list[dict[str, t.Any]] | _Done | _Failed) -> bool:
        while not self._closed.is_set():
            if self._group.stop.is_set():
                return False
            try:
                self._queue.put(item, timeout=_PUT_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def items(self) -> Iterator[dict[str, t.Any]]:
        """Yield every item of every page, in order; re-raise what stopped the group.

        Yields:
            The items.

        Raises:
            BaseException: The group's first failure (this feed's or another's).
        """
        while True:
            if self._group.error is not None:
                raise self._group.error
            try:
                item = self._queue.get(timeout=_PUT_POLL_SECONDS)
            except queue.Empty:
                if self._group.stop.is_set() and not self._thread.is_alive():
                    raise self._group.error or FeedStoppedError(self._thread.name) from None
                continue
            if isinstance(item, _Done):
                return
            if isinstance(item, _Failed):
                raise self._group.error or item.error
            yield from item

    def close(self) -> None:
        """Stop fetching (the reader is done or gone)."""
        self._closed.set()
