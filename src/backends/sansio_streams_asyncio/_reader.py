"""``StreamReader``: asyncio's reader as a thin awaiting shell around ``ReadBuffer``.

All parsing happens in the sans-IO core.  Each read method calls the core's
method of the same name; when the core answers :data:`NEED_DATA` the reader
waits on a future until the protocol (or a hand feeder) brings data, EOF or an
error, and asks again.  After each core call the transport's paused state is
brought in line with :attr:`ReadBuffer.reading_paused`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from sansio_streams import DEFAULT_LIMIT, NEED_DATA, ReadBuffer

__all__ = ("StreamReader",)

_NEWLINE: Final = b"\n"

#: ``core.reading_paused``, as a plain function: on the receive path, where it
#: is read after every feed.  CPython 3.11 runs a property's getter through a
#: descriptor call it does not inline; calling the getter is ~30 ns cheaper.
_reading_paused: Final[Callable[[ReadBuffer], bool]] = ReadBuffer.reading_paused.fget  # type: ignore[attr-defined]


def _busy(func_name: str) -> RuntimeError:
    return RuntimeError(
        f"{func_name}() called while another coroutine is already waiting for incoming data"
    )


class StreamReader:
    """Bytes received from a peer, read with asyncio 3.13's coroutines.

    Args:
        limit: the longest line :meth:`readline`/:meth:`readuntil` return
            (separator not counted); the transport is paused while more than
            ``2 * limit`` bytes are buffered.
        loop: the event loop whose futures the reader awaits.  ``None`` (the
            default) means the running loop, looked up now if one is running,
            otherwise the first time a read has to wait.

    Usually made by :func:`open_connection` or :func:`start_server`; it may
    also be made directly and fed by hand with :meth:`feed_data`,
    :meth:`feed_eof` and :meth:`set_exception`.

    Only one coroutine may wait for data at a time: a second one that would
    have to wait raises :class:`RuntimeError`, as asyncio's reader does.
    """

    __slots__ = ("__weakref__", "_core", "_eof", "_loop", "_paused", "_transport", "_waiter")

    _core: ReadBuffer
    _loop: asyncio.AbstractEventLoop | None
    _waiter: asyncio.Future[None] | None
    _transport: asyncio.BaseTransport | None
    # Whether we paused the transport; the core's flag says whether we should.
    _paused: bool
    # The core has no public "EOF was fed" flag (at_eof() also needs an empty
    # buffer) and repr() shows it, so keep our own.
    _eof: bool

    def __init__(
        self, limit: int = DEFAULT_LIMIT, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        self._core = ReadBuffer(limit)
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
        self._loop = loop
        self._waiter = None
        self._transport = None
        self._paused = False
        self._eof = False

    def __repr__(self) -> str:
        info = ["StreamReader"]
        core = self._core
        size = len(core)
        if size:
            info.append(f"{size} bytes")
        if self._eof:
            info.append("eof")
        if core.limit != DEFAULT_LIMIT:
            info.append(f"limit={core.limit}")
        if self._waiter is not None:
            info.append(f"waiter={self._waiter!r}")
        exc = core.exception()
        if exc is not None:
            info.append(f"exception={exc!r}")
        if self._transport is not None:
            info.append(f"transport={self._transport!r}")
        if self._paused:
            info.append("paused")
        return "<{}>".format(" ".join(info))

    # ------------------------------------------------------------ feeding side

    def exception(self) -> BaseException | None:
        """The exception given to :meth:`set_exception`, or None."""
        return self._core.exception()

    def set_exception(self, exc: BaseException) -> None:
        """Make every later read raise ``exc``, and wake a waiting reader."""
        self._core.set_exception(exc)
        self._wakeup_waiter()

    def set_transport(self, transport: asyncio.BaseTransport) -> None:
        """Attach the transport to pause and resume for flow control (once)."""
        assert self._transport is None, "Transport already set"
        self._transport = transport

    def feed_eof(self) -> None:
        """Record that the peer will send nothing more, and wake a waiting reader."""
        self._core.feed_eof()
        self._eof = True
        self._wakeup_waiter()

    def at_eof(self) -> bool:
        """Return True if the buffer is empty and :meth:`feed_eof` was called."""
        return self._core.at_eof()

    def feed_data(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data`` to the buffer, wake a waiting reader, maybe pause.

        Raises:
            RuntimeError: after :meth:`feed_eof`.
            TypeError: ``data`` is not bytes-like.
        """
        core = self._core
        core.feed_data(data)
        if not data:
            return
        self._wakeup_waiter()
        if _reading_paused(core) and not self._paused:
            self._pause()

    # ------------------------------------------------------------- internals

    def _wakeup_waiter(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            # Only a cancelled waiter is done already.  try/except, not done()
            # first nor contextlib.suppress(): free when nothing is raised.
            try:  # noqa: SIM105
                waiter.set_result(None)
            except asyncio.InvalidStateError:
                pass

    def _pause(self) -> None:
        transport = self._transport
        if transport is None:
            return
        try:
            transport.pause_reading()  # type: ignore[attr-defined]
        except NotImplementedError:
            # asyncio's rule: a transport that cannot pause is forgotten, and
            # the reader buffers everything.
            self._transport = None
        else:
            self._paused = True

    def _resume(self) -> None:
        self._paused = False
        transport = self._transport
        if transport is not None:
            transport.resume_reading()  # type: ignore[attr-defined]

    def _sync_paused(self) -> None:
        """Bring the transport in line with the core's flow-control flag."""
        if self._core.reading_paused:
            if not self._paused:
                self._pause()
        elif self._paused:
            self._resume()

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        """The loop to wait on, when none was given or running at construction."""
        self._loop = loop = asyncio.get_running_loop()
        return loop

    # ------------------------------------------------------------ read side
    #
    # Each method: call the core; on an exception or a result, sync the pause
    # state (reads can only *un*pause, so checking self._paused first is
    # enough); on NEED_DATA, wait for the next feed and ask again.  The core
    # has already cleared its pause flag then (a waiting reader must never
    # stall), so the transport is resumed before the wait.  The bodies are
    # repeated on purpose: a shared helper costs a coroutine frame per read.

    async def read(self, n: int = -1) -> bytes:
        """Read up to ``n`` bytes; with ``n < 0`` (the default), read until EOF.

        ``n > 0``: return as soon as at least one byte is buffered, ``b""`` at
        EOF.  ``n == 0``: ``b""`` at once.  Raises the exception given to
        :meth:`set_exception`, if any.
        """
        core = self._core
        while True:
            try:
                result = core.read(n)
            except BaseException:
                if self._paused:
                    self._sync_paused()
                raise
            if self._paused and not core.reading_paused:
                self._resume()
            if result is not NEED_DATA:
                return result
            # Wait for the next feed (inlined: a helper coroutine costs more).
            if self._waiter is not None:
                raise _busy("read")
            self._waiter = waiter = (self._loop or self._bind_loop()).create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    async def readline(self) -> bytes:
        """Read one line ending with ``b"\\n"``; at EOF the partial last line, then ``b""``.

        Raises:
            ValueError: the line is longer than the limit.  The line is
                discarded through its newline (the whole buffer if none was
                seen), as asyncio does.
        """
        core = self._core
        while True:
            try:
                result = core.readline()
            except BaseException:
                if self._paused:
                    self._sync_paused()
                raise
            if self._paused and not core.reading_paused:
                self._resume()
            if result is not NEED_DATA:
                return result
            # asyncio's readline() waits inside readuntil(): same name in the error.
            # Then wait for the next feed (inlined, as in read()).
            if self._waiter is not None:
                raise _busy("readuntil")
            self._waiter = waiter = (self._loop or self._bind_loop()).create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    async def readexactly(self, n: int) -> bytes:
        """Read exactly ``n`` bytes.

        Raises:
            IncompleteReadError: EOF came first; ``partial`` holds the bytes
                read (no longer buffered).
            ValueError: ``n < 0``.
        """
        core = self._core
        while True:
            try:
                result = core.readexactly(n)
            except BaseException:
                if self._paused:
                    self._sync_paused()
                raise
            if self._paused and not core.reading_paused:
                self._resume()
            if result is not NEED_DATA:
                return result
            # Wait for the next feed (inlined: a helper coroutine costs more).
            if self._waiter is not None:
                raise _busy("readexactly")
            self._waiter = waiter = (self._loop or self._bind_loop()).create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    async def readuntil(self, separator: bytes | tuple[bytes, ...] = _NEWLINE) -> bytes:
        """Read up to and including ``separator``, or the first to match of a tuple.

        Raises:
            LimitOverrunError: more than ``limit`` bytes before a separator;
                the data stays buffered.
            IncompleteReadError: EOF before a separator; ``partial`` holds every
                buffered byte and the buffer is emptied.
            ValueError: an empty separator or an empty tuple.
        """
        core = self._core
        while True:
            try:
                result = core.readuntil(separator)
            except BaseException:
                if self._paused:
                    self._sync_paused()
                raise
            if self._paused and not core.reading_paused:
                self._resume()
            if result is not NEED_DATA:
                return result
            # Wait for the next feed (inlined: a helper coroutine costs more).
            if self._waiter is not None:
                raise _busy("readuntil")
            self._waiter = waiter = (self._loop or self._bind_loop()).create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    def __aiter__(self) -> StreamReader:
        return self

    async def __anext__(self) -> bytes:
        """The next line, as :meth:`readline`; stops at EOF."""
        core = self._core
        while True:
            try:
                result = core.readline()
            except BaseException:
                if self._paused:
                    self._sync_paused()
                raise
            if self._paused and not core.reading_paused:
                self._resume()
            if result is not NEED_DATA:
                if not result:
                    raise StopAsyncIteration
                return result
            # Wait for the next feed (inlined: a helper coroutine costs more).
            if self._waiter is not None:
                raise _busy("readuntil")
            self._waiter = waiter = (self._loop or self._bind_loop()).create_future()
            try:
                await waiter
            finally:
                self._waiter = None
