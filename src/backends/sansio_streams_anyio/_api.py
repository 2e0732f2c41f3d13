"""asyncio's stream functions on anyio, dispatched to the running framework.

On trio, the connections are the trio backend's (trio's readiness waits, trio's
connect); on asyncio, sockets are waited on with the event loop's own
``add_reader``/``add_writer`` and connected with ``loop.create_connection``.
Task groups, cancel scopes and events are anyio's on asyncio and trio's on trio
(anyio's are trio's there).  See docs/design.md for the measurements behind it.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import ssl as _ssl
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, Final

import anyio
from anyio.abc import SocketAttribute

from sansio_streams import DEFAULT_LIMIT
from sansio_streams import _front as front

from ._asyncio import ANYIO_BACKEND, AsyncioSocketListener, AsyncioSocketTransport, connect

__all__ = (
    "Server",
    "StreamReader",
    "StreamWriter",
    "get_running_loop",
    "open_connection",
    "open_unix_connection",
    "start_server",
    "start_unix_server",
)

_FRAMEWORK: Final = "anyio"
#: anyio.connect_tcp()'s default, used on both of anyio's backends.
_HAPPY_EYEBALLS_DELAY: Final = 0.25


class _Default:
    def __repr__(self) -> str:
        return "<default>"


_DEFAULT: Final[Any] = _Default()


def trio_backend() -> ModuleType:
    """The trio backend's modules, imported when first running under trio
    (trio is an optional dependency of this package)."""
    global _TRIO  # noqa: PLW0603 - a lazy, cached import
    if _TRIO is None:
        import sansio_streams_trio._api  # noqa: PLC0415 - trio is optional here
        import sansio_streams_trio._socket  # noqa: PLC0415

        _TRIO = sansio_streams_trio
    return _TRIO


_TRIO: ModuleType | None = None


def on_trio() -> bool:
    """Whether this task runs under trio (anyio's trio backend)."""
    trio = sys.modules.get("trio")
    return trio is not None and bool(trio.lowlevel.in_trio_task())


def backend() -> front.Backend:
    if on_trio():
        backend: front.Backend = trio_backend()._socket.BACKEND
        return backend
    return ANYIO_BACKEND


# Per loop type: does loop.create_connection() take happy_eyeballs_delay?
# (uvloop's does not: it tries one address at a time.)
_HAPPY_EYEBALLS_SUPPORT: dict[type[asyncio.AbstractEventLoop], bool] = {}


def _takes_happy_eyeballs(loop: asyncio.AbstractEventLoop) -> bool:
    cls = type(loop)
    known = _HAPPY_EYEBALLS_SUPPORT.get(cls)
    if known is None:
        try:
            params = inspect.signature(loop.create_connection).parameters
        except (TypeError, ValueError):  # pragma: no cover - uninspectable loop
            known = False
        else:
            known = "happy_eyeballs_delay" in params
        _HAPPY_EYEBALLS_SUPPORT[cls] = known
    return known


class StreamReader(front.StreamReader):
    """asyncio 3.13's ``StreamReader`` on anyio (on its asyncio and trio
    backends): the same results, exceptions and buffer semantics as
    ``asyncio.StreamReader``.

    Made by :func:`open_connection` and servers; made directly
    (``StreamReader(limit)``), it is fed by hand with :meth:`feed_data` and
    :meth:`feed_eof`.  Two tasks reading at once get asyncio's
    :exc:`RuntimeError`; a cancelled read loses and duplicates no byte.
    """

    __slots__ = ()

    @classmethod
    def _default_backend(cls) -> front.Backend:
        return backend()


class StreamWriter(front.StreamWriter):
    """asyncio 3.13's ``StreamWriter`` on anyio (on its asyncio and trio backends).

    ``write()`` never blocks and never drops data: what the socket does not
    take at once is queued and sent whenever a task awaits the stream (any
    read, :meth:`drain`, :meth:`wait_closed`).  :meth:`drain` waits while more
    than the high water mark is queued.  Only :func:`open_connection` and
    servers make writers: calling ``StreamWriter()`` raises TypeError.
    """

    __slots__ = ()

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise TypeError("StreamWriter objects are made by open_connection() and servers")


class Server(front.Server):
    """A server on anyio (on its asyncio and trio backends), made by
    :func:`start_server` (bound at once).

    It serves inside ``async with server:``, in :meth:`serve_forever` (until
    cancelled or :meth:`close` is called; then it returns once the handlers
    are done), or at once in the ``task_group=`` (an anyio task group) given to
    :func:`start_server`.  Each handler runs in a task group the server owns,
    so none outlives it.  When a handler returns, what it wrote is flushed
    and its connection closed; when it raises, the error is logged on the
    ``"sansio_streams"`` logger and its connection closed, and the server
    goes on.  :meth:`close` stops accepting, :meth:`wait_closed` waits for
    the handlers, :meth:`close_clients` and :meth:`abort_clients` end the
    connections.
    """


def _transport(sock: socket.socket) -> front.Transport:
    try:
        if on_trio():
            transport: front.Transport = trio_backend()._socket.SocketTransport(sock)
            return transport
        return AsyncioSocketTransport(sock, asyncio.get_running_loop())
    except BaseException:
        sock.close()
        raise


async def _open(
    raw: socket.socket,
    *,
    limit: int,
    ssl: _ssl.SSLContext | None,
    server_hostname: str | None,
    ssl_handshake_timeout: float | None,
    ssl_shutdown_timeout: float | None,
    early: bytes = b"",
) -> tuple[StreamReader, StreamWriter]:
    transport = _transport(raw)
    if early:
        # Bytes asyncio's transport received before we took the socket over:
        # they come first, under TLS too.
        transport = _Prefixed(transport, early)
    return await front.open_pair(
        backend(),
        transport,
        StreamReader,
        StreamWriter,
        limit=limit,
        ssl=ssl,
        server_hostname=server_hostname,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
    )


class _Prefixed:
    """A transport that first returns bytes received before we took the socket over."""

    def __init__(self, inner: front.Transport, early: bytes) -> None:
        self._inner = inner
        self._early = memoryview(early)
        self.drain_on_close = inner.drain_on_close

    @property
    def pending(self) -> int:
        return self._inner.pending

    @property
    def buffered(self) -> bool:
        return bool(self._early) or self._inner.buffered

    @property
    def sync_send(self) -> bool:
        return self._inner.sync_send

    @property
    def recv(self) -> Callable[[int], bytes] | None:
        # Straight from the socket only once the early bytes are gone.
        return None if self._early else self._inner.recv

    def recv_into(self, buffer: memoryview, /) -> int:
        early = self._early
        if not early:
            return self._inner.recv_into(buffer)
        n = min(len(buffer), len(early))
        buffer[:n] = early[:n]
        self._early = early[n:]
        return n

    def send(self, data: memoryview, /) -> int:
        return self._inner.send(data)

    def flush(self) -> None:
        self._inner.flush()

    def start_close(self) -> None:
        self._inner.start_close()

    def shutdown_write(self) -> None:
        self._inner.shutdown_write()

    def can_write_eof(self) -> bool:
        return self._inner.can_write_eof()

    def close(self) -> None:
        self._inner.close()

    def abort(self) -> None:
        self._inner.abort()

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def wait(self, readable: bool, writable: bool) -> None:
        if readable and self._early:
            return
        await self._inner.wait(readable, writable)

    def interrupt(self) -> None:
        self._inner.interrupt()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._inner.get_extra_info(name, default)


# --------------------------------------------------------------------- API


async def open_connection(
    host: str | None = None,
    port: int | None = None,
    *,
    limit: int | None = DEFAULT_LIMIT,
    ssl: _ssl.SSLContext | bool | None = None,
    family: int = 0,
    proto: int = 0,
    flags: int = 0,
    sock: socket.socket | None = None,
    local_addr: tuple[str, int] | None = None,
    server_hostname: str | None = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
    happy_eyeballs_delay: float | None = _DEFAULT,
    interleave: int | None = None,
    all_errors: bool = False,
) -> tuple[StreamReader, StreamWriter]:
    """Connect (or use ``sock``) and return (reader, writer).

    asyncio's keywords; ``proto``, ``flags``, ``interleave`` and ``all_errors``
    raise TypeError.  ``happy_eyeballs_delay`` not given means 0.25 s (anyio's
    default); ``None`` means one attempt at a time.  On trio a ``local_addr``
    with a non-zero port raises TypeError (trio binds a host only).
    """
    limit = front.check_limit(limit)
    front.reject_keywords(
        "open_connection",
        _FRAMEWORK,
        proto=bool(proto),
        flags=bool(flags),
        interleave=interleave is not None,
        all_errors=bool(all_errors),
    )
    context, hostname = front.client_ssl(
        ssl, server_hostname, host, ssl_handshake_timeout, ssl_shutdown_timeout
    )
    early = b""
    raw = front.connect_socket(host, port, sock, family=family, local_addr=local_addr)
    if raw is None:
        assert host is not None
        assert port is not None
        delay = _HAPPY_EYEBALLS_DELAY if happy_eyeballs_delay is _DEFAULT else happy_eyeballs_delay
        if on_trio():
            raw = await trio_backend()._api.connect_tcp(
                host, port, family=family, local_addr=local_addr, happy_eyeballs_delay=delay
            )
        else:
            loop = asyncio.get_running_loop()
            kwargs: dict[str, Any] = {"family": family, "local_addr": local_addr}
            if _takes_happy_eyeballs(loop):
                kwargs["happy_eyeballs_delay"] = delay
            raw, early = await connect(
                lambda grab: loop.create_connection(grab, host, port, **kwargs)
            )
    return await _open(
        raw,
        limit=limit,
        ssl=context,
        server_hostname=hostname,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
        early=early,
    )


async def open_unix_connection(
    path: str | bytes | os.PathLike[str] | None = None,
    *,
    limit: int | None = DEFAULT_LIMIT,
    ssl: _ssl.SSLContext | bool | None = None,
    sock: socket.socket | None = None,
    server_hostname: str | None = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
) -> tuple[StreamReader, StreamWriter]:
    """Connect to a Unix socket (or use ``sock``) and return (reader, writer)."""
    limit = front.check_limit(limit)
    if ssl and server_hostname is None:
        raise ValueError("you have to pass server_hostname when using ssl")
    context, hostname = front.client_ssl(
        ssl, server_hostname, None, ssl_handshake_timeout, ssl_shutdown_timeout
    )
    early = b""
    raw = front.unix_connect_socket(path, sock)
    if raw is None:
        assert path is not None  # checked by unix_connect_socket()
        if on_trio():
            raw = await trio_backend()._api.connect_unix(path)
        else:
            loop = asyncio.get_running_loop()
            target = os.fspath(path)
            raw, early = await connect(
                lambda grab: loop.create_unix_connection(grab, target)  # type: ignore[arg-type]
            )
    return await _open(
        raw,
        limit=limit,
        ssl=context,
        server_hostname=hostname,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
        early=early,
    )


async def start_server(
    client_connected_cb: front.ClientConnectedCallback,
    host: str | Sequence[str] | None = None,
    port: int | None = None,
    *,
    limit: int | None = DEFAULT_LIMIT,
    family: int = socket.AF_UNSPEC,
    flags: int = socket.AI_PASSIVE,
    sock: socket.socket | None = None,
    backlog: int = 100,
    ssl: _ssl.SSLContext | None = None,
    reuse_address: bool | None = None,
    reuse_port: bool | None = None,
    keep_alive: bool | None = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
    start_serving: bool = True,
    task_group: anyio.abc.TaskGroup | None = None,
) -> Server:
    """Bind now (with ``anyio.create_tcp_listener()``) and return a :class:`Server`.

    It serves inside ``async with server:``, in ``serve_forever()``, or at once
    in ``task_group`` if given -- unless ``start_serving=False``, which waits
    for ``start_serving()``.  ``flags`` other than ``AI_PASSIVE`` and
    ``reuse_address=False`` raise TypeError (anyio always sets SO_REUSEADDR).
    """
    limit = front.check_limit(limit)
    front.reject_keywords(
        "start_server",
        _FRAMEWORK,
        flags=flags != socket.AI_PASSIVE,
        reuse_address=reuse_address is False,
    )
    context = front.server_ssl(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
    given = front.serve_socket(host, port, sock, backlog)
    if given is not None:
        sockets = [given]
    else:
        sockets = []
        try:
            for one in front.listen_hosts(host):
                multi = await anyio.create_tcp_listener(
                    local_host=one,
                    local_port=port or 0,
                    family=family,  # type: ignore[arg-type]
                    backlog=backlog,
                    reuse_port=bool(reuse_port),
                )
                sockets.extend(
                    listener.extra(SocketAttribute.raw_socket) for listener in multi.listeners
                )
        except BaseException:
            for one_sock in sockets:
                one_sock.close()
            raise
    return await _serve(
        sockets,
        client_connected_cb,
        limit=limit,
        ssl=context,
        keep_alive=bool(keep_alive),
        cleanup_socket=False,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
        start_serving=start_serving,
        task_group=task_group,
    )


async def start_unix_server(
    client_connected_cb: front.ClientConnectedCallback,
    path: str | bytes | os.PathLike[str] | None = None,
    *,
    limit: int | None = DEFAULT_LIMIT,
    sock: socket.socket | None = None,
    backlog: int = 100,
    ssl: _ssl.SSLContext | None = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
    start_serving: bool = True,
    cleanup_socket: bool = True,
    task_group: anyio.abc.TaskGroup | None = None,
) -> Server:
    """Bind a Unix socket now (``anyio.create_unix_listener()``) and return a :class:`Server`."""
    limit = front.check_limit(limit)
    context = front.server_ssl(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
    listening = front.unix_serve_socket(path, sock, backlog)
    if listening is None:
        assert path is not None  # checked by unix_serve_socket()
        listener = await anyio.create_unix_listener(path, backlog=backlog)
        listening = listener.extra(SocketAttribute.raw_socket)
    return await _serve(
        [listening],
        client_connected_cb,
        limit=limit,
        ssl=context,
        keep_alive=False,
        cleanup_socket=cleanup_socket,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
        start_serving=start_serving,
        task_group=task_group,
    )


async def _serve(
    sockets: list[socket.socket],
    client_connected_cb: front.ClientConnectedCallback,
    *,
    limit: int,
    ssl: _ssl.SSLContext | None,
    keep_alive: bool,
    cleanup_socket: bool,
    ssl_handshake_timeout: float | None,
    ssl_shutdown_timeout: float | None,
    start_serving: bool,
    task_group: anyio.abc.TaskGroup | None,
) -> Server:
    listeners: list[front.Listener] = []
    try:
        if on_trio():
            listener_cls = trio_backend()._socket.SocketListener
            listeners.extend(
                listener_cls(sock, keep_alive=keep_alive, cleanup_socket=cleanup_socket)
                for sock in sockets
            )
        else:
            loop = asyncio.get_running_loop()
            listeners.extend(
                AsyncioSocketListener(
                    sock, loop, keep_alive=keep_alive, cleanup_socket=cleanup_socket
                )
                for sock in sockets
            )
        server = Server(
            backend(),
            listeners,
            client_connected_cb,
            StreamReader,
            StreamWriter,
            limit=limit,
            ssl=ssl,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
            start_serving=start_serving,
        )
        await front.start_server_in(server, task_group)  # type: ignore[arg-type]
    except BaseException:
        for listener in listeners:
            listener.close()
        for sock in sockets[len(listeners) :]:
            sock.close()
        raise
    return server


def get_running_loop() -> Any:
    """asyncio's running loop on asyncio; on trio an object with ``call_soon()``
    (just enough for the spec's examples)."""
    if on_trio():
        return trio_backend()._api.get_running_loop()
    return asyncio.get_running_loop()
