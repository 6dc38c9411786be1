"""The cloud's clock, as the Date header of its first answer tells it.

Records are stamped by the cloud's clock; the bookmark ceiling is the sync's start on the
tap's clock. When the tap's clock runs fast, a ceiling taken from it lies ahead of what
the cloud stamps on records created during the sync, which would then fall behind the
next bookmark. The first answer's ``Date`` says how far the cloud is behind; the ceiling
moves back by that much (never forward: a cloud clock ahead of ours changes nothing).
"""

from __future__ import annotations

import datetime as dt
import threading
from email.utils import parsedate_to_datetime

from tap_cloudcommands.timestamps import UTC

ZERO = dt.timedelta(0)


class ServerClock:
    """How far one cloud's clock is behind the tap's, from the first Date header seen."""

    def __init__(self) -> None:
        """Start knowing nothing: no offset until an answer is seen."""
        self._offset: dt.timedelta | None = None
        self._lock = threading.Lock()

    def observe(self, date_header: object) -> None:
        """Take the offset from an answer's Date header, once (later answers change nothing).

        HTTP dates are whole seconds, rounded down, and the answer was stamped before it
        arrived: both make the cloud look a little further behind, never ahead.

        Args:
            date_header: The header's value (anything else is ignored).
        """
        if self._offset is not None or not isinstance(date_header, str):
            return
        try:
            server = parsedate_to_datetime(date_header)
        except (TypeError, ValueError, IndexError):
            return
        if server.tzinfo is None:
            server = server.replace(tzinfo=UTC)
        offset = server - dt.datetime.now(UTC)
        with self._lock:
            if self._offset is None:
                self._offset = offset

    @property
    def behind(self) -> dt.timedelta:
        """How far the cloud's clock is behind the tap's (zero when ahead or unknown)."""
        offset = self._offset
        return ZERO if offset is None or offset > ZERO else -offset
