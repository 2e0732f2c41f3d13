"""``StreamReaderProtocol``: the transport's side of a stream.

A :class:`asyncio.BufferedProtocol` that feeds the reader's ``ReadBuffer``
without an intermediate bytes object (see :meth:`StreamReaderProtocol.get_buffer`),
tracks write flow control for ``drain()``, and on the server side runs the
client-connected callback with asyncio 3.13's rules.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from ._reader import StreamReader, _reading_paused
from ._writer import StreamWriter

if TYPE_CHECKING:
    from ._server import Server

__all__ = ("ClientConnectedCallback", "StreamReaderProtocol")

#: What ``start_server()`` calls for each connection: a plain function or a
#: coroutine function (its coroutine then runs as a task).
ClientConnectedCallback: TypeAlias = Callable[[StreamReader, StreamWriter], Awaitable[None] | None]

# Whether get_buffer() lends the core's own buffer (zero-copy) rather than a
# scratch buffer copied into the core.  Off: with the current core, lending
# costs more than the copy it saves -- each get_buffer() allocates and
# zero-fills the size lent and appends it, buffer_updated() trims it again --
# measured ~1.4 us per receive against ~0.3 us for feed_data() of the bytes
# received, and even at 64 KiB the scratch path makes fewer passes over the
# data.  Turn on once the core lends spare capacity without refilling it.
_RECEIVE_INTO_CORE = False
# Receive size asked of the core per get_buffer() on that path: the core
# zero-fills what it lends, so it adapts -- doubles when a receive fills the
# buffer, halves after a run of small receives.  64 KiB at most: larger
# buffers come from mmap() and page-fault on every receive.
_MIN_RECV: Final = 2**12
_MAX_RECV: Final = 2**16
# The per-loop scratch buffer (see get_buffer()).  128 KiB measured best for
# bulk transfers (benchmarks/bench_asyncio.py, 64 KiB writes read with
# read(65536)), on both loops and whatever glibc's mmap threshold: against
# 64 KiB, -10% time per MiB on the default loop and -5% on uvloop with a
# settled heap, and -6% / -57% with the threshold pinned at its initial
# 128 KiB.  256 KiB is faster still on uvloop but no faster on the default loop.
_SCRATCH_SIZE: Final = 2**17

_scratch_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, memoryview] = (
    weakref.WeakKeyDictionary()
)


def _scratch_for(loop: asyncio.AbstractEventLoop) -> memoryview:
    """The loop's scratch receive buffer.

    One per loop is enough: a transport fills it and reports it in the same
    synchronous step (get_buffer, recv_into, buffer_updated), and a loop runs
    one step at a time, on one thread at a time.  (Per thread would not do: a
    loop may be run from another thread later, while the first thread runs
    another loop.)
    """
    try:
        return _scratch_by_loop[loop]
    except KeyError:
        view = _scratch_by_loop[loop] = memoryview(bytearray(_SCRATCH_SIZE))
        return view
    except TypeError:  # a loop without weakref support: a buffer of our own
        return memoryview(bytearray(_SCRATCH_SIZE))


def _holds_export_in_callback(transport: asyncio.BaseTransport) -> bool:
    """Whether the transport keeps the get_buffer() view exported while it
    calls buffer_updated() -- uvloop's TCP/Unix/pipe transports do (it releases
    its Py_buffer only afterwards), and the core cannot trim its bytearray then."""
    cls = type(transport)
    return cls.__module__.startswith("uvloop") and cls.__name__ != "_SSLProtocolTransport"


class StreamReaderProtocol(asyncio.BufferedProtocol):
    """Adapt a transport to a :class:`StreamReader` (and, on a server, a callback).

    Args:
        stream_reader: the reader the received bytes go to (``None``: they are
            discarded).
        client_connected_cb: on the server side, called with
            ``(reader, writer)`` once the connection is made; a coroutine it
            returns runs as a task.  If the task raises, the loop's exception
            handler is called (``"Unhandled exception in client_connected_cb"``)
            and the transport is closed; if it is cancelled, the transport is
            closed; if it returns, the connection is left as it is.
        loop: the event loop (default: the running loop, looked up when first
            needed).

    Receiving: the transport receives into the buffer :meth:`get_buffer`
    lends, and :meth:`buffer_updated` hands the bytes to the core -- no bytes
    object per receive; :meth:`data_received` serves transports that do not
    support buffered protocols (pipes).

    Writing: the transport's ``pause_writing()``/``resume_writing()`` gate
    ``StreamWriter.drain()``; any number of tasks may wait in it.
    """

    __slots__ = (
        "__weakref__",
        "_client_connected_cb",
        "_closed_waiters",
        "_connection_lost",
        "_core",
        "_drain_waiters",
        "_loop",
        "_lost_exc",
        "_over_ssl",
        "_paused",
        "_reader",
        "_recv_size",
        "_scratch",
        "_server",
        "_small_recvs",
        "_task",
        "_transport",
    )

    # Whether received bytes must go through data_received() (see
    # __init_subclass__).
    _via_data_received = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if (
            cls.data_received is not StreamReaderProtocol.data_received
            and cls.buffer_updated is StreamReaderProtocol.buffer_updated
        ):
            # asyncio's StreamReaderProtocol is a plain Protocol: a subclass
            # overriding data_received() sees every byte received.  Keep that
            # true (at the cost of one bytes object per receive).
            cls._via_data_received = True
            cls.buffer_updated = StreamReaderProtocol._buffer_updated_via_data_received  # type: ignore[method-assign]

    def __init__(
        self,
        stream_reader: StreamReader | None,
        client_connected_cb: ClientConnectedCallback | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
        self._loop = loop
        self._reader = stream_reader
        # The core is reached on every receive: keep it one attribute away.
        self._core = None if stream_reader is None else stream_reader._core
        self._client_connected_cb = client_connected_cb
        self._transport: asyncio.BaseTransport | None = None
        self._task: asyncio.Task[Any] | None = None
        self._over_ssl = False
        self._server: Server | None = None
        # Receive path (see get_buffer()), chosen in connection_made().
        self._scratch: memoryview | None = None
        self._recv_size = _MIN_RECV
        self._small_recvs = 0
        # Write flow control.
        self._paused = False
        self._drain_waiters: list[asyncio.Future[None]] | None = None
        # Connection state, for drain() and wait_closed().
        self._connection_lost = False
        self._lost_exc: BaseException | None = None
        self._closed_waiters: list[asyncio.Future[None]] | None = None

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None:
            self._loop = loop = asyncio.get_running_loop()
        return loop

    # ------------------------------------------------------------ connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Attach the transport to the reader; on a server, run the callback."""
        self._transport = transport
        self._over_ssl = transport.get_extra_info("sslcontext") is not None
        self._choose_receive_path(transport)
        reader = self._reader
        if reader is not None:
            reader.set_transport(transport)
        server = self._server
        if server is not None:
            server._attach(self)
        callback = self._client_connected_cb
        if callback is not None:
            loop = self._get_loop()
            writer = StreamWriter(transport, self, reader, loop)
            result = callback(reader, writer)  # type: ignore[arg-type]
            if asyncio.iscoroutine(result):
                self._task = task = loop.create_task(result)
                task.add_done_callback(self._on_handler_done)

    def _on_handler_done(self, task: asyncio.Task[Any]) -> None:
        # asyncio 3.13: a handler that returns leaves the connection alone; one
        # that fails or is cancelled gets its transport closed.
        transport = self._transport
        if task.cancelled():
            if transport is not None:
                transport.close()
            return
        exc = task.exception()
        if exc is not None:
            self._get_loop().call_exception_handler(
                {
                    "message": "Unhandled exception in client_connected_cb",
                    "exception": exc,
                    "transport": transport,
                }
            )
            if transport is not None:
                transport.close()

    def _replace_transport(self, transport: asyncio.BaseTransport) -> None:
        """Switch to the transport ``loop.start_tls()`` returned."""
        self._transport = transport
        self._over_ssl = transport.get_extra_info("sslcontext") is not None
        self._choose_receive_path(transport)
        reader = self._reader
        if reader is not None and reader._transport is not None:
            # Pause the TLS transport from now on, not the raw one under it:
            # the raw one now belongs to the loop's SSL protocol.
            reader._transport = transport

    def connection_lost(self, exc: BaseException | None) -> None:
        """EOF (``exc is None``) or ``exc`` to the reader; wake drain() and wait_closed().

        Only the first call counts (see ``StreamWriter._tls_failed()``).
        """
        if self._connection_lost:
            return
        reader = self._reader
        if reader is not None:
            if exc is None:
                reader.feed_eof()
            else:
                reader.set_exception(exc)
        self._connection_lost = True
        self._lost_exc = exc
        waiters = self._closed_waiters
        if waiters is not None:
            self._closed_waiters = None
            for waiter in waiters:
                if not waiter.done():
                    if exc is None:
                        waiter.set_result(None)
                    else:
                        waiter.set_exception(exc)
        # asyncio wakes drain() waiters only if writing was paused; otherwise
        # there are none.
        if self._paused:
            self._wake_drain_waiters(exc)
        server = self._server
        if server is not None:
            server._detach(self)
        self._task = None

    def eof_received(self) -> bool:
        """Feed EOF; keep the connection half-open, except over TLS (which cannot)."""
        reader = self._reader
        if reader is not None:
            reader.feed_eof()
        # Returning True over SSL only makes asyncio's SSL protocol warn.
        return not self._over_ssl

    # -------------------------------------------------------------- receive

    def _choose_receive_path(self, transport: asyncio.BaseTransport) -> None:
        if (
            _RECEIVE_INTO_CORE
            and self._core is not None
            and not self._via_data_received
            and not _holds_export_in_callback(transport)
        ):
            self._scratch = None
        else:
            loop = self._loop
            if loop is None:
                try:
                    self._loop = loop = asyncio.get_running_loop()
                except RuntimeError:  # driven by hand, outside any loop
                    self._scratch = memoryview(bytearray(_SCRATCH_SIZE))
                    return
            self._scratch = _scratch_for(loop)

    def get_buffer(self, sizehint: int) -> memoryview:
        """Lend the buffer the transport receives into.

        The loop's scratch buffer, whose bytes :meth:`buffer_updated` copies
        into the core -- or, with ``_RECEIVE_INTO_CORE``, the free tail of the
        core's own buffer (never for uvloop's plain transports: uvloop still
        holds the view when it calls :meth:`buffer_updated`, and the core
        cannot trim its buffer then).  ``sizehint`` is ignored, as the
        protocol's contract allows.
        """
        scratch = self._scratch
        if scratch is not None:
            return scratch
        return self._core.get_buffer(self._recv_size)  # type: ignore[union-attr]

    def buffer_updated(self, nbytes: int) -> None:
        """Take ``nbytes`` received into the last :meth:`get_buffer` view."""
        core = self._core
        if core is None:
            return
        scratch = self._scratch
        if scratch is not None:
            core.feed_data(scratch[:nbytes])
        else:
            core.buffer_updated(nbytes)
            size = self._recv_size
            if nbytes == size:
                if size < _MAX_RECV:
                    self._recv_size = size * 2
                self._small_recvs = 0
            elif size > _MIN_RECV and nbytes < size // 4:
                # Shrink only after a run of small receives, so one short
                # read in a bulk transfer does not halve the next one.
                self._small_recvs += 1
                if self._small_recvs >= 4:
                    self._recv_size = size // 2
                    self._small_recvs = 0
        # reader._wakeup_waiter() and the pause check, inlined: this runs on
        # every receive.
        reader: StreamReader = self._reader  # type: ignore[assignment]
        waiter = reader._waiter
        if waiter is not None:
            reader._waiter = None
            try:  # noqa: SIM105 -- only a cancelled waiter is done (see the reader)
                waiter.set_result(None)
            except asyncio.InvalidStateError:
                pass
        if _reading_paused(core) and not reader._paused:
            reader._pause()

    def _buffer_updated_via_data_received(self, nbytes: int) -> None:
        """buffer_updated() of a subclass that overrides data_received()."""
        self.data_received(bytes(self._scratch[:nbytes]))  # type: ignore[index]

    def data_received(self, data: bytes) -> None:
        """Feed ``data`` (transports without buffered-protocol support)."""
        reader = self._reader
        if reader is not None:
            reader.feed_data(data)

    # ---------------------------------------------------------- flow control

    def pause_writing(self) -> None:
        """The transport's write buffer passed its high-water mark."""
        assert not self._paused
        self._paused = True

    def resume_writing(self) -> None:
        """The transport's write buffer went down to its low-water mark."""
        assert self._paused
        self._paused = False
        self._wake_drain_waiters(None)

    def _wake_drain_waiters(self, exc: BaseException | None) -> None:
        waiters = self._drain_waiters
        if waiters:
            for waiter in waiters:
                if not waiter.done():
                    if exc is None:
                        waiter.set_result(None)
                    else:
                        waiter.set_exception(exc)

    async def _drain_helper(self) -> None:
        """Wait while writing is paused; raise ConnectionResetError once lost."""
        if self._connection_lost:
            raise ConnectionResetError("Connection lost")
        if not self._paused:
            return
        waiter = self._get_loop().create_future()
        waiters = self._drain_waiters
        if waiters is None:
            self._drain_waiters = waiters = []
        waiters.append(waiter)
        try:
            await waiter
        finally:
            waiters.remove(waiter)

    async def _wait_closed(self) -> None:
        """Wait for connection_lost(); raise its exception if it had one."""
        if self._connection_lost:
            if self._lost_exc is not None:
                raise self._lost_exc
            return
        # One future per waiter: a cancelled wait_closed() must not cancel
        # the others' (asyncio shares one future, which a cancel poisons).
        waiter = self._get_loop().create_future()
        waiters = self._closed_waiters
        if waiters is None:
            self._closed_waiters = waiters = []
        waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._closed_waiters is not None and waiter in self._closed_waiters:
                self._closed_waiters.remove(waiter)
