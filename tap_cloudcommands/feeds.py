"""Read a region's pages on a background thread, so regions are read at the same time.

The SDK syncs a stream's partitions (here: regions) one after another. Each region's
pages are fetched ahead into a bounded queue while earlier regions are still being
written, so an eight-region sync waits on the network about as long as a one-region one,
and memory stays bounded by the queue, never by the size of a region.
"""

from __future__ import annotations

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


class PageFeed:
    """Pages of one region, fetched on their own thread into a bounded queue."""

    def __init__(
        self, name: str, pages: Iterable[list[dict[str, t.Any]]], max_pages: int = DEFAULT_MAX_PAGES
    ) -> None:
        """Start fetching at once.

        Args:
            name: The thread's name, e.g. "tat_commands-ap-guangzhou".
            pages: A lazy iterable of pages; it is iterated on the feed's thread.
            max_pages: Pages held before the fetching thread waits for the reader.
        """
        self._queue: queue.Queue[list[dict[str, t.Any]] | _Done | _Failed] = queue.Queue(
            maxsize=max_pages
        )
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._fetch, args=(pages,), name=name, daemon=True)
        self._thread.start()

    def _fetch(self, pages: Iterable[list[dict[str, t.Any]]]) -> None:
        try:
            for page in pages:
                if not self._put(page):
                    return
            self._put(_Done())
        except BaseException as error:  # noqa: BLE001 - handed to the reader, who raises it
            self._put(_Failed(error))

    def _put(self, item: list[dict[str, t.Any]] | _Done | _Failed) -> bool:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=_PUT_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def items(self) -> Iterator[dict[str, t.Any]]:
        """Yield every item of every page, in order; re-raise what the fetching raised.

        Yields:
            The items.

        Raises:
            BaseException: Whatever stopped the fetching thread.
        """
        while True:
            item = self._queue.get()
            if isinstance(item, _Done):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield from item

    def close(self) -> None:
        """Stop fetching (the reader is done or gone)."""
        self._closed.set()
