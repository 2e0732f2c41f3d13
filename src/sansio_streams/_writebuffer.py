"""The write side of a stream, for drivers that pull bytes out to send them.

asyncio's transports keep this state inside themselves; a backend built on
sockets or on another framework's streams keeps it here instead: the bytes
accepted and not yet sent, the high/low water marks that decide when
``drain()`` must wait, and whether EOF or close was asked for.
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Iterable
from typing import Final

__all__ = ("WriteBuffer",)

DEFAULT_HIGH_WATER: Final = 2**16
# Queued writes smaller than this are joined into one send.
_COALESCE: Final = 2**16

_Bytes = bytes | bytearray | memoryview


def _as_bytes(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        # Copy: the caller may reuse a mutable buffer once write() returns.
        return bytes(data)
    raise TypeError(f"data argument must be a bytes-like object, not {type(data).__name__!r}")


def _limits(high: int | None, low: int | None) -> tuple[int, int]:
    """asyncio's defaults and validation for write buffer limits."""
    if high is None:
        high = DEFAULT_HIGH_WATER if low is None else 4 * operator.index(low)
    if low is None:
        low = operator.index(high) // 4
    high, low = operator.index(high), operator.index(low)
    if not high >= low >= 0:
        raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
    return high, low


class WriteBuffer:
    """Bytes accepted by ``write()`` and not yet sent, with flow control.

    Args:
        high: the high water mark (default 64 KiB, or ``4 * low``).
        low: the low water mark (default ``high // 4``).

    The driver loop: while :attr:`pending`, send :meth:`next_to_send` and report
    :meth:`sent`; once nothing is pending, send EOF if :attr:`eof_requested`,
    and close if :attr:`closing`.  Writers wait in ``drain()`` while
    :attr:`writing_paused`: it turns True when more than ``high`` bytes are
    pending and back to False when no more than ``low`` are (asyncio's
    ``pause_writing``/``resume_writing``).
    """

    __slots__ = ("_chunks", "_closing", "_eof", "_high", "_low", "_offset", "_paused", "_size")

    def __init__(self, high: int | None = None, low: int | None = None) -> None:
        self._high, self._low = _limits(high, low)
        self._chunks: deque[bytes] = deque()
        self._offset = 0  # bytes of _chunks[0] already sent
        self._size = 0
        self._paused = False
        self._eof = False
        self._closing = False

    def __repr__(self) -> str:
        info = [type(self).__name__, f"{self._size} bytes pending"]
        if self._paused:
            info.append("paused")
        if self._eof:
            info.append("eof requested")
        if self._closing:
            info.append("closing")
        return "<{}>".format(" ".join(info))

    # ----------------------------------------------------------- flow control

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the water marks, with asyncio's defaults and validation.

        Raises:
            ValueError: unless ``high >= low >= 0`` (the limits are unchanged).
        """
        self._high, self._low = _limits(high, low)
        self._check_pause()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """Return ``(low, high)``, as asyncio's transports do."""
        return self._low, self._high

    def get_write_buffer_size(self) -> int:
        """The number of bytes accepted and not yet sent."""
        return self._size

    @property
    def pending(self) -> int:
        """The number of bytes accepted and not yet sent."""
        return self._size

    def __len__(self) -> int:
        return self._size

    @property
    def writing_paused(self) -> bool:
        """Whether ``drain()`` must wait now."""
        return self._paused

    @property
    def eof_requested(self) -> bool:
        """Whether :meth:`write_eof` was called."""
        return self._eof

    @property
    def closing(self) -> bool:
        """Whether :meth:`close` or :meth:`abort` was called."""
        return self._closing

    # ---------------------------------------------------------------- writing

    def write(self, data: _Bytes) -> None:
        """Queue ``data``; never blocks.

        Raises:
            TypeError: ``data`` is not bytes-like.
            RuntimeError: after :meth:`write_eof` or :meth:`close`.
        """
        chunk = _as_bytes(data)
        self._check_open()
        if chunk:
            self._chunks.append(chunk)
            self._size += len(chunk)
            self._check_pause()

    def writelines(self, list_of_data: Iterable[_Bytes]) -> None:
        """Queue every item of ``list_of_data``, or none of them if one is not
        bytes-like."""
        chunks = [_as_bytes(data) for data in list_of_data]
        self._check_open()
        for chunk in chunks:
            if chunk:
                self._chunks.append(chunk)
                self._size += len(chunk)
        self._check_pause()

    def write_eof(self) -> None:
        """Ask for EOF once everything queued is sent.  A no-op when repeated or
        after :meth:`close`, as on asyncio's transports."""
        self._eof = True

    def close(self) -> None:
        """Refuse further writes; what is queued is still to be sent."""
        self._closing = True

    def abort(self) -> None:
        """Refuse further writes and drop what is queued."""
        self._closing = True
        self._chunks.clear()
        self._offset = 0
        self._size = 0
        self._paused = False

    # ---------------------------------------------------------------- sending

    def next_to_send(self) -> memoryview:
        """The bytes to send next: the oldest queued write, joined with the
        small writes after it.  Empty when nothing is pending."""
        chunks = self._chunks
        if not chunks:
            return memoryview(b"")
        first = chunks[0]
        if len(chunks) > 1 and len(first) - self._offset < _COALESCE:
            parts = [first[self._offset :] if self._offset else first]
            total = len(parts[0])
            chunks.popleft()
            while chunks and total < _COALESCE and len(chunks[0]) < _COALESCE:
                part = chunks.popleft()
                parts.append(part)
                total += len(part)
            first = b"".join(parts)
            chunks.appendleft(first)
            self._offset = 0
        return memoryview(first)[self._offset :]

    def sent(self, nbytes: int) -> None:
        """Record that the first ``nbytes`` pending bytes were sent.

        Raises:
            ValueError: ``nbytes`` is negative or more than is pending (nothing
                is recorded).
        """
        nbytes = operator.index(nbytes)
        if not 0 <= nbytes <= self._size:
            raise ValueError(f"nbytes must be between 0 and {self._size}, not {nbytes}")
        self._size -= nbytes
        chunks = self._chunks
        nbytes += self._offset
        while nbytes and nbytes >= len(chunks[0]):
            nbytes -= len(chunks.popleft())
        self._offset = nbytes
        if self._paused and self._size <= self._low:
            self._paused = False

    # ------------------------------------------------------------- internals

    def _check_open(self) -> None:
        if self._eof:
            raise RuntimeError("Cannot call write() after write_eof()")
        if self._closing:
            raise RuntimeError("Cannot call write() after close()")

    def _check_pause(self) -> None:
        if self._size > self._high:
            self._paused = True
