"""The awaitable front: asyncio's streams API over the core, for any framework.

:class:`StreamReader`, :class:`StreamWriter` and :class:`Server` hold all the
reading, writing, flushing, TLS and server-lifecycle logic of the pull-based
backends (``sansio_streams_trio``, ``sansio_streams_anyio``).  They import no
framework and do no socket I/O (the only socket code here checks the ``sock=``
arguments of the API functions, the same way for both backends): a backend
supplies

* a :class:`Transport` per connection -- non-blocking ``recv_into``/``send``
  that raise :exc:`BlockingIOError` when they would block, half-close, close,
  abort, and one awaitable, :meth:`Transport.wait`, that returns once the
  connection may be readable or writable (or when :meth:`Transport.interrupt`
  is called);
* a :class:`Backend` -- events, checkpoints, cancel scopes, task groups;
* a :class:`Listener` per listening socket, for :class:`Server`.

How bytes move
--------------
Nothing runs in the background.  ``write()`` tries to send at once (as
asyncio's transports do); what the kernel does not take stays in a
:class:`~sansio_streams.WriteBuffer` and goes out whenever a task awaits the
stream: any read that has to wait, ``drain()``, ``wait_closed()``.  Receiving
happens only when a read needs data (the core said ``NEED_DATA``), or while a
``drain()``/``wait_closed()`` waits and the reader is below its limit -- so the
reader's buffer stays within ``2 * limit`` plus one receive.

At most one task at a time waits on the transport (the *driver*); it waits for
everything any waiting task needs (readable for a reader, writable while bytes
are pending) and the others wait for its progress.  A task whose need the
driver does not cover interrupts the driver's wait, which then widens it.
Every await is either that readiness wait or an event wait, and bytes move only
in synchronous steps between them, so a cancellation at any await loses and
duplicates nothing.
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import logging
import os
import socket
import ssl as _ssl
import struct
import threading
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, Final, Protocol, TypeVar

from ._errors import StartTLSInjectionError
from ._readbuffer import DEFAULT_LIMIT, NEED_DATA, ReadBuffer
from ._writebuffer import WriteBuffer

__all__ = (
    "SSL_HANDSHAKE_TIMEOUT",
    "SSL_SHUTDOWN_TIMEOUT",
    "Backend",
    "ByteStream",
    "Listener",
    "Server",
    "StartTLSInjectionError",
    "StreamReader",
    "StreamTransport",
    "StreamWriter",
    "Transport",
    "check_limit",
    "client_ssl",
    "logger",
    "open_pair",
    "pair_over",
    "reject_keywords",
    "server_ssl",
    "wrap_pair",
)

#: The logger of the pull-based backends ("sansio_streams"): a server's
#: handler that raises is reported here at ERROR level.
logger: Final = logging.getLogger("sansio_streams")

#: asyncio's defaults (``asyncio.constants``).
SSL_HANDSHAKE_TIMEOUT: Final = 60.0
SSL_SHUTDOWN_TIMEOUT: Final = 30.0

# How much one receive asks for: it adapts, doubling when a receive fills it
# and halving after a run of small receives, so that a chatty connection does
# not copy a large buffer's worth per message.
_MIN_RECV: Final = 2**12
_MAX_RECV: Final = 2**18
# read(n) on an empty buffer receives straight into a new bytes object for the
# caller (Transport.recv) from this n up, to at most _MAX_RECV bytes.  Below
# it, receiving into the core in larger chunks costs fewer system calls and
# yields than the two copies it takes.  Measured on trio, 64 KiB writes:
# read(65536) 1.2x faster straight than through the core; read(32768) 15%
# slower (one receive and one yield per 32 KiB).
_DIRECT_READ: Final = 2**16


class _ReceiveBuffer(threading.local):
    """One receive buffer per thread, reused by every connection: receives go
    into it and are then fed to the core (a copy of what arrived), which costs
    less than lending the core zero-filled space and trimming it afterwards.
    Per thread, because ``recv_into`` releases the GIL: two event loops in two
    threads must not share it.  Nothing awaits between a receive and its feed,
    so the connections of one thread can share it."""

    def __init__(self) -> None:
        self.view = memoryview(bytearray(_MAX_RECV))


_receive_buffer: Final = _ReceiveBuffer()
# Plaintext bytes encrypted per TLS send (bounds the TLS layer's own buffer).
_TLS_WRITE_CHUNK: Final = 2**16
_TLS_RECV: Final = 2**17
# asyncio logs a warning once this many writes hit a lost connection.
_LOG_THRESHOLD_FOR_CONNLOST_WRITES: Final = 5

_T = TypeVar("_T")
_ReaderT = TypeVar("_ReaderT", bound="StreamReader")
_WriterT = TypeVar("_WriterT", bound="StreamWriter")
_Bytes = bytes | bytearray | memoryview


# --------------------------------------------------------------- interfaces


class Transport(Protocol):
    """One connection, as a backend supplies it.

    ``recv_into`` and ``send`` never block: they raise :exc:`BlockingIOError`
    when nothing can be done now, and any other :exc:`OSError` when the
    connection failed.  ``recv_into`` returns 0 at EOF.
    """

    @property
    def pending(self) -> int:
        """Bytes accepted by :meth:`send` and not yet handed to the layer
        below (TLS records not yet on the socket)."""

    @property
    def buffered(self) -> bool:
        """Whether received bytes are held below us, readable without waiting."""

    #: Whether, on close, bytes already received should be read first (so the
    #: kernel sends FIN, not RST, as after asyncio's eager reads).
    drain_on_close: bool

    @property
    def sync_send(self) -> bool:
        """Whether :meth:`send` can send without waiting (a socket).  If not
        (a wrapped framework stream), ``drain()`` flushes everything queued."""

    def recv_into(self, buffer: memoryview, /) -> int:
        """Receive into ``buffer`` without blocking; the count, 0 at EOF."""

    @property
    def recv(self) -> Callable[[int], bytes] | None:
        """``recv(size)``: up to ``size`` bytes as a new ``bytes`` object,
        without blocking (``b""`` at EOF), as ``socket.recv`` does; or None if
        the transport cannot.  ``read(n)`` on an empty buffer uses it for a
        large ``n``: the bytes go to the caller without passing through the
        core (two copies fewer)."""

    def send(self, data: memoryview, /) -> int:
        """Send a prefix of ``data`` without blocking; how many bytes were taken."""

    def flush(self) -> None:
        """Push out what :attr:`pending` counts, as far as possible without blocking."""

    def start_close(self) -> None:
        """Begin an orderly close (TLS: queue close_notify); then flush, then close()."""

    def shutdown_write(self) -> None:
        """Half-close: send EOF (``SHUT_WR``), keep receiving."""

    def can_write_eof(self) -> bool:
        """Whether :meth:`shutdown_write` is possible (not over TLS)."""

    def close(self) -> None:
        """Release the connection (an orderly close: FIN)."""

    def abort(self) -> None:
        """Release the connection at once, dropping what is unsent (RST)."""

    async def aclose(self) -> None:
        """Finish a close()/abort() that needs awaiting (wrapped framework streams)."""

    async def wait(self, readable: bool, writable: bool) -> None:
        """Return once the connection may be readable/writable, or at interrupt() or close()."""

    def interrupt(self) -> None:
        """Make a running :meth:`wait` return early (another task needs a wider wait)."""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """asyncio's transport extra info (``"socket"``, ``"peername"``...)."""


class Event(Protocol):
    """A one-shot event (``trio.Event``, ``anyio.Event``)."""

    def set(self) -> None:
        """Wake every waiter, now and later."""

    async def wait(self) -> Any:
        """Return once :meth:`set` was called."""


class Scope(Protocol):
    """A cancel scope (``trio.CancelScope``, ``anyio.CancelScope``)."""

    @property
    def cancelled_caught(self) -> bool:
        """Whether the scope's cancellation ended its block."""

    def cancel(self) -> None:
        """Cancel what runs in the scope."""


class TaskGroup(Protocol):
    """A task group (trio nursery, ``anyio.abc.TaskGroup``)."""

    @property
    def cancel_scope(self) -> Scope:
        """The scope that cancels every task of the group."""

    def start_soon(self, func: Callable[..., Awaitable[Any]], /, *args: Any) -> None:
        """Run ``func(*args)`` in a new task of the group."""

    async def start(self, func: Callable[..., Awaitable[Any]], /, *args: Any) -> Any:
        """Run ``func(*args, task_status=...)`` and wait until it reports started."""


class Backend(Protocol):
    """The framework's primitives the front needs."""

    #: The framework's name, for messages.
    name: str

    #: Whether a read that would wait right after its task sent bytes first
    #: lets the other tasks run once and looks again.  trio: yes -- its
    #: scheduler polls for I/O before the next round of tasks, so a peer task
    #: in the same process often answers within that round, as after trio's
    #: own ``send_all()``, which ends with a checkpoint; the readiness wait
    #: (an ``epoll_ctl`` and a scheduler round) is then saved.  asyncio: no --
    #: its loop runs a task that yielded before the I/O callbacks of the next
    #: iteration, so the yield only costs time.
    yield_before_reply: bool

    def event(self) -> Event:
        """A new :class:`Event`."""

    async def checkpoint(self) -> None:
        """Let other tasks run; raise if the task is cancelled."""

    def move_on_after(self, seconds: float) -> AbstractContextManager[Scope]:
        """A :class:`Scope` that cancels its block after ``seconds``."""

    def cancel_scope(self) -> AbstractContextManager[Scope]:
        """A :class:`Scope` without deadline."""

    def open_task_group(self) -> AbstractAsyncContextManager[TaskGroup]:
        """A new :class:`TaskGroup`."""


class Listener(Protocol):
    """A listening socket."""

    @property
    def socket(self) -> Any:
        """The listening socket, for ``Server.sockets``."""

    async def accept(self) -> Transport | None:
        """The next connection, or None once closed."""

    def close(self) -> None:
        """Stop listening and close the socket (removing a Unix socket file
        when asked to)."""


# ------------------------------------------------------------------- errors


def as_oserror(exc: BaseException, default: type[OSError]) -> OSError:
    """A framework's "broken resource" error as the OSError asyncio would raise:
    the OSError that caused it, if any, else ``default`` chained to it."""
    cause = exc.__cause__
    if isinstance(cause, OSError):
        return cause
    error = default(str(exc) or "the stream is broken")
    error.__cause__ = exc
    return error


def check_limit(limit: int | None) -> int:
    """``limit`` checked as asyncio's StreamReader does, before any connecting;
    ``None`` means the default (64 KiB), as the reference documents it."""
    if limit is None:
        return DEFAULT_LIMIT
    ReadBuffer(limit)
    return limit


def reject_keywords(func: str, framework: str, **given: bool) -> None:
    """Raise TypeError naming the first keyword given that means nothing here."""
    for name, was_given in given.items():
        if was_given:
            raise TypeError(f"{func}() keyword argument {name!r} is not supported on {framework}")


# ------------------------------------- arguments of the connect/serve functions
# asyncio's rules and messages for host/port/path versus sock=, written once for
# the backends that connect and listen themselves.


def connect_socket(
    host: object, port: object, sock: socket.socket | None, *, family: int, local_addr: object
) -> socket.socket | None:
    """open_connection()'s arguments: the checked ``sock`` if one is given
    (``family`` and ``local_addr`` are then ignored, as by asyncio), else
    ``None`` once ``host`` and ``port`` are known to be both given (asyncio
    would try a connection without one of them and fail there)."""
    if sock is not None:
        if host is not None or port is not None:
            raise ValueError("host/port and sock can not be specified at the same time")
        _check_stream_socket(sock)
        return sock
    if host is None and port is None:
        raise ValueError("host and port was not specified and no sock specified")
    if host is None or port is None:
        raise ValueError("both host and port are needed without sock")
    return None


def unix_connect_socket(path: object, sock: socket.socket | None) -> socket.socket | None:
    """open_unix_connection()'s arguments: the checked ``sock`` if one is
    given, else ``None`` once ``path`` is known to be given."""
    if sock is not None:
        if path is not None:
            raise ValueError("path and sock can not be specified at the same time")
        _check_unix_socket(sock)
        return sock
    if path is None:
        raise ValueError("no path and sock were specified")
    return None


def serve_socket(
    host: object, port: object, sock: socket.socket | None, backlog: int
) -> socket.socket | None:
    """start_server()'s arguments: the given ``sock``, checked and listening
    (left open if listening fails: it is the caller's), else ``None`` once
    ``host`` or ``port`` is given."""
    if sock is not None:
        if host is not None or port is not None:
            raise ValueError("host/port and sock can not be specified at the same time")
        _check_stream_socket(sock)
        sock.listen(backlog)
        return sock
    if host is None and port is None:
        raise ValueError("Neither host/port nor sock were specified")
    return None


def unix_serve_socket(
    path: object, sock: socket.socket | None, backlog: int
) -> socket.socket | None:
    """start_unix_server()'s arguments: the given ``sock``, checked and
    listening (left open if listening fails: it is the caller's), else
    ``None`` once ``path`` is given."""
    if path is not None:
        if sock is not None:
            raise ValueError("path and sock can not be specified at the same time")
        return None
    if sock is None:
        raise ValueError("path was not specified, and no sock specified")
    _check_unix_socket(sock)
    sock.listen(backlog)
    return sock


def listen_hosts(host: str | Sequence[str] | None) -> list[str | None]:
    """start_server()'s ``host``: the hosts to bind, ``None`` for all
    interfaces (``None`` and ``""``)."""
    if host is None or host == "":
        return [None]
    if isinstance(host, str) or not isinstance(host, Iterable):
        return [host]
    return list(host)


def listen(sock: socket.socket, backlog: int) -> socket.socket:
    """``sock.listen(backlog)`` on a socket we made; it is closed if that fails."""
    try:
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


# ------------------------------------------- helpers of the socket transports
# What the trio and the anyio-on-asyncio socket transports do alike.

_LINGER_0: Final = struct.pack("ii", 1, 0)
# accept() errors that mean "out of resources": log, sleep, retry (as trio does).
_ACCEPT_CAPACITY_ERRNOS: Final = frozenset(
    {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}
)
# accept() errors about one connection that went away: accept the next.
_ACCEPT_RETRY_ERRNOS: Final = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EINTR})
_ACCEPT_CAPACITY_SLEEP: Final = 0.1


def configure_socket(sock: socket.socket) -> None:
    """Non-blocking, and TCP_NODELAY for TCP (as asyncio's transports)."""
    sock.setblocking(False)
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
        with contextlib.suppress(OSError):  # e.g. a socket already shut down
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def socket_extra_info(sock: socket.socket) -> dict[str, Any]:
    """asyncio's extra info of a socket transport: socket, sockname, peername."""
    info: dict[str, Any] = {"socket": sock}
    try:
        info["sockname"] = sock.getsockname()
    except OSError:  # pragma: no cover
        info["sockname"] = None
    try:
        info["peername"] = sock.getpeername()
    except OSError:
        info["peername"] = None
    return info


class SocketTransport:
    """The framework-independent half of a :class:`Transport` over a
    connected stdlib socket: non-blocking, TCP_NODELAY, asyncio's extra info,
    ``recv_into``/``send`` straight from the socket, half-close with
    ``SHUT_WR``.  A backend adds ``wait``, ``interrupt``, ``close`` and
    ``abort`` with its framework's readiness waits.
    """

    __slots__ = ("_extra", "_sock", "recv", "recv_into", "send")

    #: For repr(): the framework whose waits the subclass uses.
    framework = "?"
    pending = 0
    buffered = False
    drain_on_close = True
    sync_send = True

    def __init__(self, sock: socket.socket) -> None:
        configure_socket(sock)
        self._sock = sock
        self._extra = socket_extra_info(sock)
        self.recv_into: Callable[[memoryview], int] = sock.recv_into
        self.recv: Callable[[int], bytes] | None = sock.recv
        self.send: Callable[[memoryview], int] = sock.send

    def __repr__(self) -> str:
        return f"<{self.framework} SocketTransport fd={self._sock.fileno()}>"

    def flush(self) -> None:
        pass

    def start_close(self) -> None:
        pass

    def shutdown_write(self) -> None:
        self._sock.shutdown(socket.SHUT_WR)

    def can_write_eof(self) -> bool:
        return True

    async def aclose(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._extra.get(name, default)


def abort_socket(sock: socket.socket) -> None:
    """Close ``sock`` at once; a TCP peer gets a RST (SO_LINGER 0), as after
    asyncio's ``transport.abort()``."""
    if sock.fileno() >= 0 and sock.family != getattr(socket, "AF_UNIX", None):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_0)
    sock.close()


def accept_retry_delay(exc: OSError) -> float:
    """What to do after ``accept()`` raised ``exc``: the seconds to wait before
    accepting again (0 when only that connection failed; after running out of
    descriptors or memory, a pause, logged); re-raises any other error."""
    if exc.errno in _ACCEPT_RETRY_ERRNOS:
        return 0
    if exc.errno in _ACCEPT_CAPACITY_ERRNOS:
        logger.error("accept() failed; retrying soon", exc_info=exc)
        return _ACCEPT_CAPACITY_SLEEP
    raise exc


def unix_socket_file(sock: socket.socket, cleanup_socket: bool) -> tuple[str, int] | None:
    """asyncio 3.13's ``cleanup_socket``: the listening Unix socket's file
    (path and inode) to remove on close, if asked for and there is one."""
    if not cleanup_socket or sock.family != getattr(socket, "AF_UNIX", None):
        return None
    path = sock.getsockname()
    if isinstance(path, str) and path and not path.startswith("\0"):
        with contextlib.suppress(OSError):
            return path, os.stat(path).st_ino
    return None


def remove_unix_socket_file(target: tuple[str, int] | None) -> None:
    """Remove the file :func:`unix_socket_file` found, if it is still the
    same one (another server may have replaced it since)."""
    if target is not None:
        path, inode = target
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == inode:
                os.unlink(path)


def _check_stream_socket(sock: socket.socket) -> None:
    if isinstance(sock, _ssl.SSLSocket):
        raise TypeError("Socket cannot be of type SSLSocket")
    if sock.type != socket.SOCK_STREAM:
        raise ValueError(f"A Stream Socket was expected, got {sock!r}")


def _check_unix_socket(sock: socket.socket) -> None:
    if getattr(socket, "AF_UNIX", None) != sock.family or sock.type != socket.SOCK_STREAM:
        raise ValueError(f"A UNIX Domain Stream Socket was expected, got {sock!r}")


# ------------------------------------------------------------------ the link


class _Link:
    """One connection's state: the core's two buffers, the transport, and who
    is waiting on it.  Shared by a reader and its writer."""

    __slots__ = (
        "backend",
        "close_started",
        "closed",
        "closing",
        "core",
        "direct",
        "driving",
        "eof_received",
        "eof_sent",
        "lost_exc",
        "lost_writes",
        "mask_r",
        "mask_w",
        "maybe_readable",
        "opportunistic",
        "progress",
        "reader_name",
        "recv_size",
        "rx_count",
        "sent_unyielded",
        "server_side",
        "small_recvs",
        "transport",
        "wbuf",
    )

    def __init__(
        self,
        backend: Backend | None,
        transport: Transport | None,
        core: ReadBuffer,
        *,
        server_side: bool = False,
    ) -> None:
        self.backend = backend
        self.transport = transport
        self.core = core
        self.wbuf = WriteBuffer()
        self.server_side = server_side
        self.reader_name: str | None = None
        self.driving = False
        # A read(n) waits to receive for itself (read_direct): the driver must
        # not receive into the core meanwhile.
        self.direct = False
        self.mask_r = self.mask_w = False
        self.progress: Event | None = None
        self.opportunistic = 0
        self.rx_count = 0
        # Bytes were sent since the last time a task awaited this connection.
        self.sent_unyielded = False
        self.maybe_readable = True
        self.recv_size = _MIN_RECV
        self.small_recvs = 0
        self.eof_received = False
        self.eof_sent = False
        self.closing = False
        self.close_started = False
        self.closed = transport is None
        self.lost_exc: BaseException | None = None
        self.lost_writes = 0

    def _backend(self) -> Backend:
        backend = self.backend
        assert backend is not None, "no backend: make readers through a backend's API"
        return backend

    # ------------------------------------------------------- synchronous steps

    def notify(self) -> None:
        """Wake the tasks waiting for the driver's progress."""
        event = self.progress
        if event is not None:
            self.progress = None
            event.set()

    def interrupt(self) -> None:
        if self.driving and self.transport is not None:
            self.transport.interrupt()

    def step(self, read: bool) -> None:
        """Move every byte that can move now, without blocking."""
        transport = self.transport
        if self.closed or transport is None:
            return
        wbuf = self.wbuf
        try:
            pending = wbuf.pending
            if pending:
                sent = False
                while pending:
                    try:
                        n = transport.send(wbuf.next_to_send())
                    except BlockingIOError:
                        break
                    wbuf.sent(n)
                    pending = wbuf.pending
                    sent = True
                if sent:
                    self.sent_unyielded = True
                    self.notify()
            if transport.pending:
                transport.flush()
            if not pending:
                if self.closing:
                    if not self.close_started:
                        self.close_started = True
                        transport.start_close()
                        transport.flush()
                    if not transport.pending:
                        self.finish_close()
                    return
                if wbuf.eof_requested and not self.eof_sent:
                    self.eof_sent = True
                    transport.shutdown_write()
            if (
                read
                and self.maybe_readable
                and not self.direct
                and not self.eof_received
                and self.core.exception() is None
            ):
                self.receive()
        except OSError as exc:
            if self.close_started:
                # Everything written was sent; only the TLS close_notify was
                # not: close anyway (as trio's SSLStream.aclose() does).
                self.closed = True
                if self.core.exception() is None:
                    self.core.feed_eof()
                self._release(abort=False)
            else:
                self.fail(exc)

    def receive(self) -> None:
        """One receive into the core (raises OSError on failure)."""
        transport: Transport = self.transport  # type: ignore[assignment]
        core = self.core
        size = self.recv_size
        view = _receive_buffer.view
        try:
            n = transport.recv_into(view[:size])
        except BlockingIOError:
            self.maybe_readable = False
            return
        if n:
            core.feed_data(view[:n])
            if n == size:
                if size < _MAX_RECV:
                    self.recv_size = size * 2
                self.small_recvs = 0
            else:
                if not transport.buffered:
                    self.maybe_readable = False
                if size > _MIN_RECV and n < size // 4:
                    self.small_recvs += 1
                    if self.small_recvs >= 4:
                        self.recv_size = size // 2
                        self.small_recvs = 0
        else:
            core.feed_eof()
            self.eof_received = True
        self.rx_count += 1
        self.notify()

    def fail(self, exc: BaseException) -> None:
        """The connection failed: asyncio's ``_fatal_error`` + ``connection_lost(exc)``."""
        if self.closed:
            return
        self.closed = self.closing = True
        self.lost_exc = exc
        self.wbuf.abort()
        self.core.set_exception(exc)
        self._release(abort=False)

    def finish_close(self) -> None:
        """Everything is flushed: close, and feed EOF (``connection_lost(None)``)."""
        transport: Transport = self.transport  # type: ignore[assignment]
        core = self.core
        if transport.drain_on_close and not self.eof_received and core.exception() is None:
            # Take what already arrived, up to the reader's limit, as asyncio's
            # transport would have: closing a socket with unread bytes in the
            # kernel sends RST, which can destroy our last writes at the peer.
            try:
                while not core.reading_paused and not self.eof_received:
                    self.maybe_readable = True
                    self.receive()
                    if not self.maybe_readable:
                        break
            except OSError:
                pass
        self.closed = True
        if core.exception() is None:
            core.feed_eof()
        self._release(abort=False)

    def abort(self) -> None:
        if self.closed:
            return
        self.closed = self.closing = True
        self.wbuf.abort()
        if self.core.exception() is None:
            self.core.feed_eof()
        self._release(abort=True)

    def _release(self, abort: bool) -> None:
        transport = self.transport
        if transport is not None:
            try:
                if abort:
                    transport.abort()
                else:
                    transport.close()
            except OSError:
                pass
        self.rx_count += 1
        self.notify()

    def fed(self) -> None:
        """The reader was fed by hand: wake it."""
        self.rx_count += 1
        self.notify()
        if self.driving and self.reader_name is not None:
            self.interrupt()

    # ------------------------------------------------------------- awaiting

    def needs(self) -> tuple[bool, bool]:
        transport = self.transport
        if self.closed or transport is None:
            return False, False
        write = bool(self.wbuf.pending or transport.pending)
        read = (
            not self.eof_received
            and not self.closing
            and self.core.exception() is None
            and (
                self.reader_name is not None
                or (self.opportunistic > 0 and not self.core.reading_paused)
            )
            # A direct reader told it may read does its receiving itself.
            and not (self.direct and self.maybe_readable)
        )
        return read, write

    def checkpoint(self) -> Awaitable[None]:
        """The backend's checkpoint, to await; bytes sent before it count as
        yielded on.  (Not a coroutine itself: no extra frame per read.)"""
        self.sent_unyielded = False
        return self._backend().checkpoint()

    async def wait_progress(self) -> None:
        event = self.progress
        if event is None:
            event = self.progress = self._backend().event()
        await event.wait()

    async def run(self, done: Callable[[], bool], opportunistic: bool) -> None:
        """Drive the connection (or wait for its driver) until ``done()``."""
        if opportunistic:
            self.opportunistic += 1
        try:
            while not done():
                read, write = self.needs()
                if self.driving or not (read or write):
                    if self.driving and ((read and not self.mask_r) or (write and not self.mask_w)):
                        self.transport.interrupt()  # type: ignore[union-attr]
                    await self.wait_progress()
                    continue
                transport: Transport = self.transport  # type: ignore[assignment]
                self.driving = True
                self.mask_r, self.mask_w = read, write
                try:
                    await transport.wait(read, write)
                finally:
                    self.driving = False
                    self.sent_unyielded = False
                    self.notify()
                if read:
                    self.maybe_readable = True
                self.step(read)
        finally:
            if opportunistic:
                self.opportunistic -= 1

    async def fill(self, func_name: str) -> None:
        """Wait until the core was fed (data, EOF or an error): the reader's wait."""
        if self.reader_name is not None:
            raise RuntimeError(
                f"{func_name}() called while another coroutine is already waiting for incoming data"
            )
        self.reader_name = func_name
        try:
            start = self.rx_count
            self.step(True)
            if self.rx_count != start:
                # Received without waiting: still let other tasks run.
                await self.checkpoint()
                return
            if self.sent_unyielded and self._backend().yield_before_reply:
                # write() cannot await, so the read after it yields first (see
                # Backend.yield_before_reply), then looks again.
                await self.checkpoint()
                if self.rx_count != start:
                    return
                self.maybe_readable = True
                self.step(True)
                if self.rx_count != start:
                    return
            await self.run(lambda: self.rx_count != start, False)
        finally:
            self.reader_name = None

    async def read_direct(self, n: int) -> bytes | None:
        """``read(n)`` on an empty core, for a large ``n``: up to ``n`` bytes
        received straight from the transport, or None once the core should be
        looked at again (it was fed: data, EOF, an error) -- or was waited on
        as :meth:`fill` does, when receiving directly is not possible.

        Cancel-safe: the checkpoint comes first, and no await separates a
        successful receive from the return (trio's own receives do the same).
        """
        transport = self.transport
        recv = transport.recv if transport is not None else None
        if (
            recv is None
            or self.reader_name is not None
            or self.closing
            or self.closed
            or self.eof_received
        ):
            await self.fill("read")
            return None
        self.reader_name = "read"
        self.direct = True
        core = self.core
        wbuf = self.wbuf
        try:
            start = self.rx_count
            await self.checkpoint()
            while True:
                if wbuf.pending or transport.pending:  # type: ignore[union-attr]
                    self.step(False)
                if (
                    self.rx_count != start
                    or self.closing
                    or self.closed
                    or self.eof_received
                    or core.exception() is not None
                ):
                    return None
                try:
                    data = recv(min(n, _MAX_RECV))
                except BlockingIOError:
                    self.maybe_readable = False
                    await self.run(lambda: self.maybe_readable or self.rx_count != start, False)
                    continue
                except OSError as exc:
                    self.fail(exc)
                    return None
                if data:
                    return data
                core.feed_eof()
                self.eof_received = True
                self.rx_count += 1
                self.notify()
                return None
        finally:
            self.reader_name = None
            self.direct = False

    async def flush_all(self) -> None:
        """Wait until nothing is pending (no receiving meanwhile)."""
        wbuf = self.wbuf
        transport = self.transport
        assert transport is not None
        self.step(False)
        await self.run(lambda: self.closed or not (wbuf.pending or transport.pending), False)


# ---------------------------------------------------------------------- TLS


class _TLSTransport:
    """TLS as a sans-IO layer (``ssl.SSLObject`` over two ``MemoryBIO``) on a raw transport."""

    drain_on_close = False
    recv = None

    __slots__ = (
        "_incoming",
        "_out",
        "_out_pos",
        "_outgoing",
        "_raw",
        "_raw_eof",
        "_scratch",
        "_ssl",
        "_starved",
        "context",
        "shutdown_timeout",
    )

    def __init__(
        self,
        raw: Transport,
        context: _ssl.SSLContext,
        *,
        server_side: bool,
        server_hostname: str | None,
        shutdown_timeout: float | None,
    ) -> None:
        self._raw = raw
        self._incoming = _ssl.MemoryBIO()
        self._outgoing = _ssl.MemoryBIO()
        self._ssl = context.wrap_bio(
            self._incoming,
            self._outgoing,
            server_side=server_side,
            server_hostname=server_hostname,
        )
        self.context = context
        self.shutdown_timeout = (
            SSL_SHUTDOWN_TIMEOUT if shutdown_timeout is None else shutdown_timeout
        )
        self._out = b""
        self._out_pos = 0
        self._scratch = memoryview(bytearray(_TLS_RECV))
        self._raw_eof = False
        self._starved = False

    @property
    def pending(self) -> int:
        return len(self._out) - self._out_pos + self._outgoing.pending

    @property
    def sync_send(self) -> bool:
        return self._raw.sync_send

    @property
    def buffered(self) -> bool:
        return self._ssl.pending() > 0 or (self._incoming.pending > 0 and not self._starved)

    def flush(self) -> None:
        raw = self._raw
        while True:
            if self._out_pos >= len(self._out):
                if not self._outgoing.pending:
                    self._out = b""
                    self._out_pos = 0
                    return
                self._out = self._outgoing.read()
                self._out_pos = 0
            try:
                n = raw.send(memoryview(self._out)[self._out_pos :])
            except BlockingIOError:
                return
            self._out_pos += n

    def _pull(self) -> None:
        """Move raw bytes into the incoming BIO (BlockingIOError if none)."""
        n = self._raw.recv_into(self._scratch)
        if n:
            self._incoming.write(self._scratch[:n])
            self._starved = False
        else:
            self._incoming.write_eof()
            self._raw_eof = True

    def recv_into(self, buffer: memoryview, /) -> int:
        total = 0
        size = len(buffer)
        sslobj = self._ssl
        while total < size:
            try:
                # With a buffer, read() returns a count (typeshed says bytes).
                n: int = sslobj.read(  # type: ignore[assignment]
                    size - total,
                    buffer[total:] if total else buffer,
                )
            except _ssl.SSLWantReadError:
                if self._outgoing.pending:
                    self.flush()
                try:
                    self._pull()
                except BlockingIOError:
                    self._starved = True
                    if total:
                        return total
                    raise
                continue
            except (_ssl.SSLZeroReturnError, _ssl.SSLEOFError):
                # close_notify, or the raw EOF without one: EOF either way,
                # as asyncio's SSL protocol reports it.
                return total
            if not n:
                return total
            total += n
        if self._outgoing.pending:
            self.flush()
        return total

    def send(self, data: memoryview, /) -> int:
        if self.pending:
            self.flush()
            if self.pending:
                raise BlockingIOError
        n = self._ssl.write(data[:_TLS_WRITE_CHUNK])
        self.flush()
        return n

    async def handshake(self) -> None:
        raw = self._raw
        while True:
            try:
                self._ssl.do_handshake()
            except _ssl.SSLWantReadError:
                self.flush()
                try:
                    self._pull()
                except BlockingIOError:
                    await raw.wait(True, self.pending > 0)
                    continue
                if self._raw_eof:
                    raise ConnectionResetError("Connection lost during the TLS handshake") from None
                continue
            break
        while True:
            self.flush()
            if not self.pending:
                return
            await raw.wait(False, True)

    def start_close(self) -> None:
        # SSLWantReadError: close_notify is queued; like trio's SSLStream we
        # do not wait for the peer's.
        with contextlib.suppress(_ssl.SSLError):
            self._ssl.unwrap()

    def shutdown_write(self) -> None:
        raise NotImplementedError("SSL doesn't support half-closes")

    def can_write_eof(self) -> bool:
        return False

    def close(self) -> None:
        self._raw.close()

    def abort(self) -> None:
        self._raw.abort()

    async def aclose(self) -> None:
        await self._raw.aclose()

    async def wait(self, readable: bool, writable: bool) -> None:
        if readable and self.buffered:
            return
        await self._raw.wait(readable, writable or self.pending > 0)

    def interrupt(self) -> None:
        self._raw.interrupt()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        sslobj = self._ssl
        if name == "sslcontext":
            return self.context
        if name == "ssl_object":
            return sslobj
        if name == "peercert":
            try:
                return sslobj.getpeercert()
            except ValueError:
                return default
        if name == "cipher":
            return sslobj.cipher()
        if name == "compression":
            return sslobj.compression()
        return self._raw.get_extra_info(name, default)


async def _tls_handshake(tls: _TLSTransport, backend: Backend, seconds: float | None) -> None:
    if seconds is None:
        seconds = SSL_HANDSHAKE_TIMEOUT
    with backend.move_on_after(seconds) as scope:
        await tls.handshake()
    if scope.cancelled_caught:
        raise ConnectionAbortedError(
            f"SSL handshake is taking longer than {seconds} seconds: aborting the connection"
        )


def client_ssl(
    ssl: _ssl.SSLContext | bool | None,
    server_hostname: str | None,
    host: object,
    ssl_handshake_timeout: float | None,
    ssl_shutdown_timeout: float | None,
) -> tuple[_ssl.SSLContext | None, str | None]:
    """asyncio's checks and defaults for a client's TLS arguments."""
    if server_hostname is not None and not ssl:
        raise ValueError("server_hostname is only meaningful with ssl")
    if ssl_handshake_timeout is not None and not ssl:
        raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
    if ssl_shutdown_timeout is not None and not ssl:
        raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")
    if not ssl:
        return None, None
    if server_hostname is None:
        if not host:
            raise ValueError("You must set server_hostname when using ssl without a host")
        server_hostname = str(host)
    if isinstance(ssl, _ssl.SSLContext):
        context = ssl
    else:
        context = _ssl.create_default_context()
        if not server_hostname:
            context.check_hostname = False
    return context, server_hostname or None


def server_ssl(
    ssl: object, ssl_handshake_timeout: float | None, ssl_shutdown_timeout: float | None
) -> _ssl.SSLContext | None:
    """asyncio's checks for a server's TLS arguments."""
    if ssl is not None and not isinstance(ssl, _ssl.SSLContext):
        raise TypeError("ssl argument must be an SSLContext or None")
    if ssl_handshake_timeout is not None and ssl is None:
        raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
    if ssl_shutdown_timeout is not None and ssl is None:
        raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")
    return ssl


# ------------------------------------------------- wrapped framework streams


class ByteStream(Protocol):
    """A framework's byte stream, adapted by a backend (trio.abc.Stream, anyio ByteStream)."""

    async def receive(self) -> bytes:
        """Some bytes; b"" at EOF.  Raises OSError (mapped) on failure."""

    async def send_all(self, data: bytes) -> None:
        """Send all of ``data``.  Raises OSError (mapped) on failure."""

    async def send_eof(self) -> None:
        """Half-close the stream (when :meth:`can_write_eof`)."""

    def can_write_eof(self) -> bool:
        """Whether the stream supports :meth:`send_eof`."""

    async def aclose(self, forcefully: bool) -> None:
        """Close the stream; ``forcefully`` without a graceful shutdown."""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """asyncio's extra info, as far as the stream knows it."""


# Bytes handed to one send_all() at a time.
_STREAM_SEND_CHUNK: Final = 2**16


class StreamTransport:
    """The readiness interface emulated over a framework stream.

    ``wait()`` does the I/O: it receives into a stash (what ``recv_into`` then
    returns) and sends the chunk a refused ``send()`` left (whose count the next
    ``send()`` returns).  Receiving is cancel-safe.  A ``send_all()`` in flight is
    not: :meth:`interrupt` lets it finish (receiving meanwhile), and a
    cancellation that interrupts it leaves the stream in an unknown state -- the
    connection then fails with BrokenPipeError rather than lose bytes silently.
    """

    drain_on_close = False
    sync_send = False
    recv = None

    def __init__(self, stream: ByteStream, backend: Backend) -> None:
        self._stream = stream
        self._backend = backend
        self._stash = bytearray()
        self._eof = False
        self._error: OSError | None = None
        self._outgoing: bytes | None = None
        self._completed = 0
        self._broken: OSError | None = None
        self._eof_requested = False
        self._eof_done = False
        self._closed = False
        self._aborted = False
        self._aclosed = False
        self._scope: Scope | None = None

    def __repr__(self) -> str:
        return f"<StreamTransport over {self._stream!r}>"

    @property
    def pending(self) -> int:
        return int(self._eof_requested and not self._eof_done and self._broken is None)

    @property
    def buffered(self) -> bool:
        return bool(self._stash)

    def recv_into(self, buffer: memoryview, /) -> int:
        stash = self._stash
        if stash:
            n = min(len(buffer), len(stash))
            buffer[:n] = stash[:n]
            del stash[:n]
            return n
        if self._error is not None:
            raise self._error
        if self._eof:
            return 0
        raise BlockingIOError

    def send(self, data: memoryview, /) -> int:
        if self._broken is not None:
            raise self._broken
        if self._completed:
            n, self._completed = self._completed, 0
            return n
        if self._outgoing is None:
            self._outgoing = bytes(data[:_STREAM_SEND_CHUNK])
        raise BlockingIOError

    def flush(self) -> None:
        pass

    def start_close(self) -> None:
        pass

    def shutdown_write(self) -> None:
        self._eof_requested = True

    def can_write_eof(self) -> bool:
        return self._stream.can_write_eof()

    def close(self) -> None:
        self._closed = True
        self.interrupt()

    def abort(self) -> None:
        self._closed = self._aborted = True
        self.interrupt()

    async def aclose(self) -> None:
        if not self._aclosed:
            self._aclosed = True
            with contextlib.suppress(OSError):
                await self._stream.aclose(self._aborted)

    def interrupt(self) -> None:
        scope = self._scope
        if scope is not None:
            scope.cancel()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._stream.get_extra_info(name, default)

    async def _receive_once(self) -> None:
        try:
            data = await self._stream.receive()
        except OSError as exc:
            self._error = exc
            return
        if data:
            self._stash += data
        else:
            self._eof = True

    async def _receive(self, loop: bool) -> None:
        with self._backend.cancel_scope() as scope:
            self._scope = scope
            try:
                await self._receive_once()
                while loop and not (self._eof or self._error):
                    await self._receive_once()
            finally:
                self._scope = None

    async def _send(self, receiving: Scope | None) -> None:
        outgoing = self._outgoing
        try:
            if outgoing is not None:
                await self._stream.send_all(outgoing)
                self._outgoing = None
                self._completed = len(outgoing)
            else:
                await self._stream.send_eof()
                self._eof_done = True
        except OSError as exc:
            self._broken = exc
        except BaseException:
            self._broken = BrokenPipeError(
                "a send on the wrapped stream was cancelled: its state is unknown"
            )
            raise
        if receiving is not None:
            receiving.cancel()

    async def wait(self, readable: bool, writable: bool) -> None:
        if self._closed or self._broken is not None:
            return
        if readable and (self._stash or self._eof or self._error is not None):
            return
        if writable and self._completed:
            return
        sending = writable and (
            self._outgoing is not None or (self._eof_requested and not self._eof_done)
        )
        if readable and sending:
            async with self._backend.open_task_group() as group:
                group.start_soon(self._send, group.cancel_scope)
                # Keep receiving while the send is in flight: the peer may
                # wait for us to read before it reads.
                await self._receive(loop=True)
        elif readable:
            await self._receive(loop=False)
        elif sending:
            await self._send(None)
        else:  # pragma: no cover - nothing to wait for
            await self._backend.checkpoint()


async def wrap_pair(
    backend: Backend,
    stream: ByteStream,
    reader_cls: type[_ReaderT],
    writer_cls: type[_WriterT],
    *,
    limit: int,
    server_side: bool,
) -> tuple[_ReaderT, _WriterT]:
    """A reader/writer pair over a wrapped framework stream."""
    check_limit(limit)
    return pair_over(
        backend,
        StreamTransport(stream, backend),
        reader_cls,
        writer_cls,
        limit=limit,
        server_side=server_side,
    )


def pair_over(
    backend: Backend,
    transport: Transport,
    reader_cls: type[_ReaderT],
    writer_cls: type[_WriterT],
    *,
    limit: int,
    server_side: bool,
) -> tuple[_ReaderT, _WriterT]:
    """A reader/writer pair over an established, plaintext ``transport``."""
    link = _Link(backend, transport, ReadBuffer(limit), server_side=server_side)
    return make_pair(link, reader_cls, writer_cls)


# -------------------------------------------------------------- the reader

_NEWLINE: Final = b"\n"


class StreamReader:
    """asyncio 3.13's ``StreamReader`` over the core, for the pull-based backends.

    Usually made by ``open_connection()`` or a server.  Made directly
    (``StreamReader(limit)``), it is fed by hand with :meth:`feed_data`,
    :meth:`feed_eof` and :meth:`set_exception`.  Only one task may wait for data
    at a time: a second one that would have to wait raises RuntimeError, as
    asyncio's reader does.
    """

    __slots__ = ("__weakref__", "_core", "_link")

    _core: ReadBuffer
    _link: _Link

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._core = ReadBuffer(limit)
        self._link = _Link(None, None, self._core)

    @classmethod
    def _default_backend(cls) -> Backend:
        """The backend a hand-made reader waits with (backends override this)."""
        raise NotImplementedError("make readers with a backend's StreamReader class")

    def __repr__(self) -> str:
        info = [type(self).__name__]
        core = self._core
        size = len(core)
        if size:
            info.append(f"{size} bytes")
        if core.at_eof() or self._link.eof_received:
            info.append("eof")
        if core.limit != DEFAULT_LIMIT:
            info.append(f"limit={core.limit}")
        if self._link.reader_name is not None:
            info.append("waiter")
        exc = core.exception()
        if exc is not None:
            info.append(f"exception={exc!r}")
        transport = self._link.transport
        if transport is not None:
            info.append(f"transport={transport!r}")
        return "<{}>".format(" ".join(info))

    # ------------------------------------------------------------- feeding

    def exception(self) -> BaseException | None:
        """The exception set by :meth:`set_exception` (or a lost connection), if any."""
        return self._core.exception()

    def set_exception(self, exc: BaseException) -> None:
        """Make the reads raise ``exc`` (a waiting read at once)."""
        self._core.set_exception(exc)
        self._link.fed()

    def feed_eof(self) -> None:
        """Signal EOF, as a protocol would: waiting reads see it at once."""
        self._core.feed_eof()
        self._link.fed()

    def feed_data(self, data: _Bytes) -> None:
        """Add received bytes, as a protocol would: waiting reads see them at once."""
        self._core.feed_data(data)
        if data:
            self._link.fed()

    def at_eof(self) -> bool:
        """Return True if the buffer is empty and EOF was received."""
        return self._core.at_eof()

    def _waiting_link(self) -> _Link:
        """The link, with a backend to wait with (a hand-made reader's default)."""
        link = self._link
        if link.backend is None:
            link.backend = type(self)._default_backend()
        return link

    # ------------------------------------------------------------- reading

    async def read(self, n: int = -1) -> bytes:
        """Read up to ``n`` bytes; with ``n < 0`` (the default), read until EOF."""
        core = self._core
        while True:
            result = core.read(n)
            if result is not NEED_DATA:
                return result
            if n >= _DIRECT_READ:
                # An empty buffer and a large read: skip the core.
                data = await self._waiting_link().read_direct(n)
                if data is not None:
                    return data
            else:
                await self._waiting_link().fill("read")

    async def readline(self) -> bytes:
        """Read one line ending with ``b"\\n"``; at EOF the partial last line, then ``b""``."""
        core = self._core
        while True:
            result = core.readline()
            if result is not NEED_DATA:
                return result
            await self._waiting_link().fill("readuntil")

    async def readexactly(self, n: int) -> bytes:
        """Read exactly ``n`` bytes (IncompleteReadError if EOF comes first)."""
        core = self._core
        while True:
            result = core.readexactly(n)
            if result is not NEED_DATA:
                return result
            await self._waiting_link().fill("readexactly")

    async def readuntil(self, separator: bytes | tuple[bytes, ...] = _NEWLINE) -> bytes:
        """Read up to and including ``separator`` (or the first of a tuple to match)."""
        core = self._core
        while True:
            result = core.readuntil(separator)
            if result is not NEED_DATA:
                return result
            await self._waiting_link().fill("readuntil")

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        line = await self.readline()
        if not line:
            raise StopAsyncIteration
        return line


# -------------------------------------------------------------- the writer


class _TransportView:
    """What ``StreamWriter.transport`` returns: asyncio's transport methods over
    the writer's connection.  Each method does what asyncio's
    ``WriteTransport`` method of the same name does."""

    __slots__ = ("_writer",)

    def __init__(self, writer: StreamWriter) -> None:
        self._writer = writer

    def __repr__(self) -> str:
        return f"<transport of {self._writer!r}>"

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._writer.get_extra_info(name, default)

    def is_closing(self) -> bool:
        return self._writer.is_closing()

    def close(self) -> None:
        self._writer.close()

    def abort(self) -> None:
        self._writer._link.abort()

    def write(self, data: _Bytes) -> None:
        self._writer.write(data)

    def writelines(self, list_of_data: Iterable[_Bytes]) -> None:
        self._writer.writelines(list_of_data)

    def write_eof(self) -> None:
        self._writer.write_eof()

    def can_write_eof(self) -> bool:
        return self._writer.can_write_eof()

    def get_write_buffer_size(self) -> int:
        link = self._writer._link
        transport = link.transport
        return link.wbuf.pending + (transport.pending if transport is not None else 0)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._writer._link.wbuf.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._writer._link.wbuf.set_write_buffer_limits(high, low)

    def is_reading(self) -> bool:
        link = self._writer._link
        return not (link.closing or link.closed)


class StreamWriter:
    """asyncio 3.13's ``StreamWriter`` over the core, for the pull-based backends.

    ``write()`` never blocks and never drops data: what the socket does not take
    at once is queued, and sent whenever a task awaits the stream (a read that
    waits, :meth:`drain`, :meth:`wait_closed`).  Close it and await
    :meth:`wait_closed`: a writer garbage-collected unclosed, or closed with
    bytes still unsent, warns with :class:`ResourceWarning`.
    """

    __slots__ = ("__weakref__", "_link", "_reader")

    _link: _Link
    _reader: StreamReader | None

    def __repr__(self) -> str:
        info = [type(self).__name__]
        link = self._link
        transport = link.transport
        if transport is not None:
            info.append(f"transport={transport!r}")
        if link.wbuf.pending:
            info.append(f"{link.wbuf.pending} bytes pending")
        if link.closed:
            info.append("closed")
        elif link.closing:
            info.append("closing")
        return "<{}>".format(" ".join(info))

    @property
    def transport(self) -> _TransportView:
        """An asyncio-like transport object (extra info, abort, buffer limits...)."""
        return _TransportView(self)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """``peername``, ``sockname``, ``socket``; with TLS ``ssl_object``, ``peercert``..."""
        transport = self._link.transport
        assert transport is not None  # a writer always has one
        return transport.get_extra_info(name, default)

    def write(self, data: _Bytes) -> None:
        """Queue ``data`` and try to send it now; never blocks.  Follow with :meth:`drain`."""
        link = self._link
        if link.closed:
            self._lost_write(data)
            return
        link.wbuf.write(data)
        link.step(False)
        if link.driving and not link.mask_w and link.wbuf.pending:
            link.interrupt()

    def writelines(self, data: Iterable[_Bytes]) -> None:
        """Queue every item of ``data`` and try to send now; never blocks."""
        link = self._link
        if link.closed:
            self._lost_write(b"".join(data))
            return
        link.wbuf.writelines(data)
        link.step(False)
        if link.driving and not link.mask_w and link.wbuf.pending:
            link.interrupt()

    def _lost_write(self, data: object) -> None:
        # asyncio's transport after connection_lost: check, then drop quietly.
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(
                f"data argument must be a bytes-like object, not {type(data).__name__!r}"
            )
        link = self._link
        if link.wbuf.eof_requested:
            raise RuntimeError("Cannot call write() after write_eof()")
        if not data:
            return
        if link.lost_writes >= _LOG_THRESHOLD_FOR_CONNLOST_WRITES:
            logger.warning("socket.send() raised exception.")
        link.lost_writes += 1

    def can_write_eof(self) -> bool:
        """Whether :meth:`write_eof` is possible (False over TLS)."""
        transport = self._link.transport
        return transport is not None and transport.can_write_eof()

    def write_eof(self) -> None:
        """Close the write side once the queued bytes are sent."""
        link = self._link
        if link.closing or link.closed:
            return
        if not self.can_write_eof():
            raise NotImplementedError("SSL doesn't support half-closes")
        link.wbuf.write_eof()
        link.step(False)
        if link.driving and not link.mask_w and link.wbuf.pending:
            link.interrupt()

    def close(self) -> None:
        """Close once the queued bytes are sent (await :meth:`wait_closed`)."""
        link = self._link
        if link.closing or link.closed:
            return
        link.closing = True
        link.step(False)
        if not link.closed:
            link.interrupt()

    def is_closing(self) -> bool:
        """Whether :meth:`close` was called or the connection is lost."""
        link = self._link
        return link.closing or link.closed

    async def wait_closed(self) -> None:
        """Wait until the connection is closed (flushing first); raise the error
        it was lost with, if any."""
        link = self._link
        if not link.closed:
            transport = link.transport
            timeout = getattr(transport, "shutdown_timeout", None)
            if timeout is not None and link.closing:
                with link._backend().move_on_after(timeout) as scope:
                    await link.run(lambda: link.closed, False)
                if scope.cancelled_caught:
                    link.abort()
            else:
                await link.run(lambda: link.closed, not link.closing)
        transport = link.transport
        if transport is not None:
            await transport.aclose()
        if link.lost_exc is not None:
            raise link.lost_exc

    async def drain(self) -> None:
        """Send queued bytes; wait while more than the high-water mark are
        queued, until no more than the low-water mark are.  (Over a wrapped
        framework stream, which cannot send without waiting: until all are sent.)
        Always a checkpoint, as every trio and anyio call is: when it does not
        wait, it still lets other tasks run and sees a cancellation (asyncio's
        returns at once).

        Raises:
            BaseException: the reader's exception, if one was set.
            ConnectionResetError: the connection was closed or lost.
        """
        link = self._link
        exc = link.core.exception()
        if exc is not None:
            raise exc
        if not link.closed:
            wbuf = link.wbuf
            transport: Transport = link.transport  # type: ignore[assignment]
            if wbuf.pending:
                link.step(False)
            if wbuf.writing_paused:
                await link.run(lambda: link.closed or not wbuf.writing_paused, True)
            elif not transport.sync_send and (wbuf.pending or transport.pending):
                # Nothing went out yet (a wrapped stream sends only while
                # awaited): send it all now, as asyncio's transport would in
                # the background.
                await link.run(lambda: link.closed or not (wbuf.pending or transport.pending), True)
            else:
                # No wait: still a checkpoint, as every trio and anyio call
                # is (cancellation is seen here, other tasks run: a peer task
                # reading what we sent keeps the kernel's buffers short).
                await link.checkpoint()
            if not link.closed:
                return
        raise ConnectionResetError("Connection lost")

    async def start_tls(
        self,
        sslcontext: _ssl.SSLContext,
        *,
        server_hostname: str | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> None:
        """Upgrade the connection to TLS (server side if it came from a server).

        Flushes every queued byte first.

        Raises:
            StartTLSInjectionError: the reader holds received bytes not yet
                read; nothing was changed.
            RuntimeError: another task is waiting on the stream.
        """
        link = self._link
        if isinstance(link.transport, _TLSTransport):
            raise TypeError("start_tls(): the stream already uses TLS")
        await self.drain()
        await link.flush_all()
        if link.closed:
            raise ConnectionResetError("Connection lost")
        if link.reader_name is not None or link.driving:
            raise RuntimeError("start_tls() called while another task is waiting on the stream")
        unread = len(link.core)
        if unread:
            raise StartTLSInjectionError(unread)
        raw = link.transport
        assert raw is not None
        tls = _TLSTransport(
            raw,
            sslcontext,
            server_side=link.server_side,
            server_hostname=server_hostname,
            shutdown_timeout=ssl_shutdown_timeout,
        )
        link.transport = tls
        try:
            await _tls_handshake(tls, link._backend(), ssl_handshake_timeout)
        except Exception as exc:
            link.fail(exc)
            raise
        except BaseException:
            link.abort()
            raise
        link.maybe_readable = True

    def __del__(self, _warn: Any = warnings.warn) -> None:
        try:
            link = self._link
        except AttributeError:
            return
        if link.closed:
            return
        if not link.closing:
            message = f"unclosed {self!r}"
        else:
            transport = link.transport
            unsent = link.wbuf.pending + (transport.pending if transport is not None else 0)
            message = f"{self!r} garbage collected with {unsent} unsent bytes"
        link.abort()
        _warn(message, ResourceWarning, stacklevel=1, source=self)


def make_pair(
    link: _Link, reader_cls: type[_ReaderT], writer_cls: type[_WriterT]
) -> tuple[_ReaderT, _WriterT]:
    reader = reader_cls.__new__(reader_cls)
    reader._core = link.core
    reader._link = link
    writer = writer_cls.__new__(writer_cls)
    writer._link = link
    writer._reader = reader
    return reader, writer


async def open_pair(
    backend: Backend,
    transport: Transport,
    reader_cls: type[_ReaderT],
    writer_cls: type[_WriterT],
    *,
    limit: int = DEFAULT_LIMIT,
    ssl: _ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    server_side: bool = False,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
) -> tuple[_ReaderT, _WriterT]:
    """Make a reader/writer pair over ``transport`` (after a TLS handshake if
    ``ssl``).  The transport is closed if this fails."""
    try:
        core = ReadBuffer(limit)
        if ssl is not None:
            tls = _TLSTransport(
                transport,
                ssl,
                server_side=server_side,
                server_hostname=server_hostname,
                shutdown_timeout=ssl_shutdown_timeout,
            )
            await _tls_handshake(tls, backend, ssl_handshake_timeout)
            transport = tls
    except BaseException:
        # As asyncio's _force_close(): a plain close, no RST.
        transport.close()
        raise
    link = _Link(backend, transport, core, server_side=server_side)
    return make_pair(link, reader_cls, writer_cls)


# ------------------------------------------------------------------ server

#: What a server calls per connection: a coroutine function, or a plain
#: function (whose return value is awaited if it is awaitable).
ClientConnectedCallback = Callable[[Any, Any], Awaitable[None] | None]


class Server:
    """A listening server with a structured lifecycle.

    Binds when made (by ``start_server()``).  Serves connections:

    * inside ``async with server:`` -- the block is the server's scope;
    * in :meth:`serve_forever` -- until it is cancelled;
    * at once in a caller's task group, if made with ``task_group=``.

    Each connection's handler runs in a task group the server owns, so no
    handler outlives it.  When a handler returns, its writer is closed (its
    queued bytes flushed); when it raises, the error is logged on the
    ``"sansio_streams"`` logger and the connection closed.
    """

    def __init__(
        self,
        backend: Backend,
        listeners: list[Listener],
        client_connected_cb: ClientConnectedCallback,
        reader_cls: type[StreamReader],
        writer_cls: type[StreamWriter],
        *,
        limit: int,
        ssl: _ssl.SSLContext | None,
        ssl_handshake_timeout: float | None,
        ssl_shutdown_timeout: float | None,
        start_serving: bool,
    ) -> None:
        ReadBuffer(limit)  # check the limit now
        self._backend = backend
        self._listeners = listeners
        self._cb = client_connected_cb
        self._reader_cls = reader_cls
        self._writer_cls = writer_cls
        self._limit = limit
        self._ssl = ssl
        self._ssl_handshake_timeout = ssl_handshake_timeout
        self._ssl_shutdown_timeout = ssl_shutdown_timeout
        self._start_serving = start_serving
        self._group: TaskGroup | None = None
        self._group_cm: AbstractAsyncContextManager[TaskGroup] | None = None
        self._accepting = False
        self._closed = False
        self._serving_forever = False
        self._active = 0
        self._clients: set[StreamWriter] = set()
        self._idle: Event | None = None
        self._close_event: Event | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} sockets={self.sockets!r}>"

    @property
    def sockets(self) -> tuple[Any, ...]:
        """The listening sockets (empty once closed)."""
        if self._closed:
            return ()
        return tuple(listener.socket for listener in self._listeners)

    def is_serving(self) -> bool:
        """Whether the server accepts connections now."""
        return self._accepting and not self._closed

    # -------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Stop accepting and close the listening sockets.  Connections stay open:
        see :meth:`close_clients`, and :meth:`wait_closed` for the handlers."""
        if self._closed:
            return
        self._closed = True
        self._accepting = False
        for listener in self._listeners:
            listener.close()
        if self._close_event is not None:
            self._close_event.set()
        self._check_idle()

    def close_clients(self) -> None:
        """Close every client connection (queued bytes are flushed first)."""
        for writer in list(self._clients):
            writer.close()

    def abort_clients(self) -> None:
        """Abort every client connection at once."""
        for writer in list(self._clients):
            writer._link.abort()

    async def wait_closed(self) -> None:
        """Wait until the server is closed and every handler has finished."""
        while not (self._closed and self._active == 0):
            if self._idle is None:
                self._idle = self._backend.event()
            await self._idle.wait()

    def _check_idle(self) -> None:
        if self._closed and self._active == 0 and self._idle is not None:
            event, self._idle = self._idle, None
            event.set()

    async def start_serving(self) -> None:
        """Start accepting, in the server's scope (``async with``/``task_group=``)."""
        if self._closed:
            raise RuntimeError(f"server {self!r} is closed")
        if self._group is None:
            raise RuntimeError(
                "start_serving() needs the server's scope: call it inside "
                "`async with server:`, or pass task_group= to start_server()"
            )
        self._start_accepting()

    def _start_accepting(self) -> None:
        if self._accepting or self._closed:
            return
        group = self._group
        assert group is not None
        self._accepting = True
        for listener in self._listeners:
            group.start_soon(self._accept_loop, listener)

    async def serve_forever(self) -> None:
        """Serve until cancelled or until :meth:`close` is called; then close
        the server and wait for the handlers (asyncio's ``serve_forever()``
        raises CancelledError at ``close()`` and leaves the handlers running;
        in a structured framework it returns once they are done)."""
        if self._closed:
            raise RuntimeError(f"server {self!r} is closed")
        if self._serving_forever:
            raise RuntimeError(f"server {self!r} is already being awaited on serve_forever()")
        self._serving_forever = True
        try:
            if self._group is not None:
                self._start_accepting()
                try:
                    await self._until_closed()
                finally:
                    self.close()
                await self.wait_closed()
            else:
                self._start_serving = True
                async with self:
                    await self._until_closed()
        finally:
            self._serving_forever = False

    async def __aenter__(self) -> Server:
        if self._group is None:
            if self._closed:
                raise RuntimeError(f"server {self!r} is closed")
            cm = self._backend.open_task_group()
            self._group = await cm.__aenter__()
            self._group_cm = cm
        if self._start_serving:
            self._start_accepting()
        return self

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self.close()
        cm = self._group_cm
        group = self._group
        if exc is not None and group is not None:
            # The block failed: do not wait for the handlers, cancel them.
            group.cancel_scope.cancel()
        if cm is None:
            # The group belongs to task_group=: wait for the handlers only.
            if exc is None:
                await self.wait_closed()
            return
        self._group_cm = None
        try:
            # The block's own exception (if any) propagates unwrapped after this.
            await cm.__aexit__(None, None, None)
        finally:
            self._group = None

    async def _until_closed(self) -> None:
        """Return once :meth:`close` has been called."""
        if self._closed:
            return
        if self._close_event is None:
            self._close_event = self._backend.event()
        await self._close_event.wait()

    async def _run_in_group(self, *, task_status: Any) -> None:
        try:
            async with self._backend.open_task_group() as group:
                self._group = group
                if self._start_serving:
                    self._start_accepting()
                task_status.started()
                await self._until_closed()
        finally:
            # Cancelled with the caller's group: the handlers were cancelled
            # too; stop listening as well.
            self.close()
            self._group = None

    async def _accept_loop(self, listener: Listener) -> None:
        group = self._group
        assert group is not None
        while self._accepting:
            transport = await listener.accept()
            if transport is None:
                return
            if not self._accepting:
                transport.abort()
                return
            self._active += 1
            group.start_soon(self._handle, transport)

    async def _handle(self, transport: Transport) -> None:
        writer: StreamWriter | None = None
        try:
            try:
                reader, writer = await open_pair(
                    self._backend,
                    transport,
                    self._reader_cls,
                    self._writer_cls,
                    limit=self._limit,
                    ssl=self._ssl,
                    server_side=True,
                    ssl_handshake_timeout=self._ssl_handshake_timeout,
                    ssl_shutdown_timeout=self._ssl_shutdown_timeout,
                )
            except Exception:
                # asyncio reports failed server-side handshakes at DEBUG only.
                logger.debug("TLS handshake failed on an accepted connection", exc_info=True)
                return
            self._clients.add(writer)
            try:
                result = self._cb(reader, writer)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception(
                    "Unhandled exception in client_connected_cb (peer %r)",
                    writer.get_extra_info("peername"),
                )
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                logger.debug("error closing a server connection", exc_info=True)
        except BaseException:
            if writer is not None:
                writer._link.abort()
            raise
        finally:
            if writer is not None:
                self._clients.discard(writer)
            self._active -= 1
            self._check_idle()


async def start_server_in(server: Server, task_group: TaskGroup | None) -> Server:
    """Start ``server`` in ``task_group`` (if given) and return it."""
    if task_group is not None:
        await task_group.start(server._run_in_group)
    return server
