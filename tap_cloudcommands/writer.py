"""The Singer message writer: msgspec, without a flush after every record."""

from __future__ import annotations

import atexit
import sys
import typing as t

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import SingerMessageType

if t.TYPE_CHECKING:
    from singer_sdk.singerlib.encoding.simple import Message


BATCH_BYTES = 64 * 1024


class BatchingMsgSpecWriter(MsgSpecWriter):
    """Writes records in batches of about 64 KB, and everything else at once.

    The SDK's msgspec writer writes and flushes each record: one system call per record,
    whatever buffering stdout has (none, under PYTHONUNBUFFERED, as Meltano runs taps).
    Here records are gathered and every STATE (or SCHEMA) message first writes out all
    records before it, so a target never sees a STATE ahead of the records it covers, and
    a killed tap loses only records whose STATE it never wrote either.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Start with an empty batch.

        Args:
            args: Passed to the SDK's writer.
            kwargs: Passed to the SDK's writer.
        """
        super().__init__(*args, **kwargs)
        self._batch = bytearray()
        atexit.register(self.flush)

    def write_message(self, message: Message) -> None:
        """Add a record to the batch; write anything else, after the batch, at once.

        Args:
            message: The message to write.
        """
        self._batch += self.format_message(message)
        if message.type != SingerMessageType.RECORD or len(self._batch) >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write out the batch."""
        if self._batch:
            sys.stdout.buffer.write(self._batch)
            sys.stdout.flush()
            self._batch.clear()
