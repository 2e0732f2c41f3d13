"""A small protocol parser on ReadBuffer: command lines and length-prefixed frames.

The protocol: a stream of messages, each starting with a header line that
ends with ``\\n``::

    PING\\n                   a ping; no payload
    FRAME <n>\\n<n bytes>     a frame: n in ASCII decimal digits, then n bytes

The parser is a *step*: call it with a ReadBuffer holding what has arrived,
and it returns the next message, or NEED_DATA when the message is not all
there yet.  It raises ProtocolError on bad input and when the stream ends
inside a message.  It does no I/O, so the same parser serves asyncio, trio, a
selectors loop or a test.  tests/test_frames_example.py property-tests it with
sansio_streams.testing, and docs/testing.rst walks through both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sansio_streams import (
    NEED_DATA,
    IncompleteReadError,
    LimitOverrunError,
    NeedData,
    ReadBuffer,
)

MAX_PAYLOAD = 2**20  # the largest frame accepted: 1 MiB


@dataclass(frozen=True)
class Ping:
    """``PING\\n``."""


@dataclass(frozen=True)
class Frame:
    """``FRAME <n>\\n`` and its ``n`` bytes of payload."""

    payload: bytes


Message = Ping | Frame


class ProtocolError(Exception):
    """The peer broke the protocol: the stream cannot be parsed further."""


def encode(message: Message) -> bytes:
    """The bytes that carry ``message``."""
    if isinstance(message, Ping):
        return b"PING\n"
    return b"FRAME %d\n" % len(message.payload) + message.payload


class FrameParser:
    """Parse messages, one per call of :meth:`next_message`.

    Keep calling it after EOF too, until it returns NEED_DATA: the parser may
    hold a FRAME header whose payload never came, which the buffer cannot show.
    After EOF, NEED_DATA means that the stream ended cleanly, between two
    messages.  The longest header line accepted is the buffer's ``limit``.
    """

    def __init__(self) -> None:
        # The payload size of a FRAME whose header line is read but whose
        # payload has not all arrived: a call can return NEED_DATA between the
        # two, and the next call must not look for a header line again.
        self._size: int | None = None

    def next_message(self, buf: ReadBuffer) -> Message | NeedData:
        if self._size is None:
            line = self.read_header(buf)
            if line is NEED_DATA:
                return NEED_DATA
            if line == b"PING\n":
                return Ping()
            self._size = parse_frame_header(line)
        try:
            payload = buf.readexactly(self._size)
        except IncompleteReadError as exc:
            raise ProtocolError(
                f"the stream ends inside a frame: {len(exc.partial)} of {self._size} bytes"
            ) from None
        if payload is NEED_DATA:
            return NEED_DATA  # self._size is kept for the next call
        self._size = None
        return Frame(payload)

    def read_header(self, buf: ReadBuffer) -> bytes | NeedData:
        """The next header line, ``\\n`` included, or NEED_DATA."""
        if buf.at_eof():
            return NEED_DATA  # the stream ended between two messages
        try:
            return buf.readuntil(b"\n")
        except LimitOverrunError:
            # Not the exception itself: its message and its ``consumed`` depend
            # on how much had arrived when the limit was passed.
            raise ProtocolError(f"a header line is longer than {buf.limit} bytes") from None
        except IncompleteReadError as exc:
            raise ProtocolError(f"the stream ends inside a header line: {exc.partial!r}") from None


def parse_frame_header(line: bytes) -> int:
    """The payload size a ``FRAME <n>\\n`` header line announces."""
    if not line.startswith(b"FRAME "):
        raise ProtocolError(f"unknown command: {line!r}")
    digits = line[len(b"FRAME ") : -1]
    # bytes.isdigit() is ASCII only; int() alone would also take b" +1_0 ".
    if not digits.isdigit():
        raise ProtocolError(f"bad frame length: {digits!r}")
    size = int(digits)
    if size > MAX_PAYLOAD:
        raise ProtocolError(f"a frame of {size} bytes is over the maximum, {MAX_PAYLOAD}")
    return size


def parse_all(chunks: Iterable[bytes], *, limit: int = 2**16) -> list[Message]:
    """The messages in ``chunks``, fed one by one, then EOF: a driver in miniature."""
    buf = ReadBuffer(limit)
    parser = FrameParser()
    messages: list[Message] = []
    for chunk in [*chunks, None]:
        if chunk is None:
            buf.feed_eof()
        else:
            buf.feed_data(chunk)
        # Take every message that is complete; NEED_DATA: wait for the next chunk.
        while (message := parser.next_message(buf)) is not NEED_DATA:
            messages.append(message)
    return messages


if __name__ == "__main__":
    stream = encode(Ping()) + encode(Frame(b"hello\nworld")) + encode(Frame(b""))
    # Cut at awkward places: inside a header line, and inside a payload.
    print(parse_all([stream[:3], stream[3:12], stream[12:20], stream[20:]]))
