"""asyncio's stream functions on trio."""

from __future__ import annotations

import errno
import os
import socket
import ssl as _ssl
import stat
from collections.abc import Sequence
from typing import Any, Final

import trio

from sansio_streams import DEFAULT_LIMIT
from sansio_streams import _front as front

from ._socket import BACKEND, SocketListener, SocketTransport

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

_FRAMEWORK: Final = "trio"


class _Default:
    def __repr__(self) -> str:
        return "<default>"


#: "Not given": use the framework's default (happy_eyeballs_delay).
_DEFAULT: Final[Any] = _Default()


class StreamReader(front.StreamReader):
    """asyncio 3.13's ``StreamReader`` on trio: the same results, exceptions
    and buffer semantics as ``asyncio.StreamReader``.

    Made by :func:`open_connection` and servers; made directly
    (``StreamReader(limit)``), it is fed by hand with :meth:`feed_data` and
    :meth:`feed_eof`.  Two tasks reading at once get asyncio's
    :exc:`RuntimeError`; a cancelled read loses and duplicates no byte.
    """

    __slots__ = ()

    @classmethod
    def _default_backend(cls) -> front.Backend:
        return BACKEND


class StreamWriter(front.StreamWriter):
    """asyncio 3.13's ``StreamWriter`` on trio.

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
    """A server on trio, made by :func:`start_server` (bound at once).

    It serves inside ``async with server:``, in :meth:`serve_forever` (until
    cancelled or :meth:`close` is called; then it returns once the handlers
    are done), or at once in the ``task_group=`` (a nursery) given to
    :func:`start_server`.  Each handler runs in a task group the server owns,
    so none outlives it.  When a handler returns, what it wrote is flushed
    and its connection closed; when it raises, the error is logged on the
    ``"sansio_streams"`` logger and its connection closed, and the server
    goes on.  :meth:`close` stops accepting, :meth:`wait_closed` waits for
    the handlers, :meth:`close_clients` and :meth:`abort_clients` end the
    connections.
    """


# ------------------------------------------------------------------ helpers


def leaf_errors(exc: BaseException) -> list[BaseException]:
    """The errors under a failed connect (through exception groups and causes)."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in leaf_errors(sub)]
    cause = exc.__cause__
    if cause is not None and type(exc) is OSError and not exc.errno:
        return leaf_errors(cause)
    return [exc]


def combined_error(errors: Sequence[BaseException]) -> BaseException:
    """What asyncio raises when connect attempts fail: the error if there is one
    (or all read the same), else an OSError listing them."""
    if len(errors) == 1 or (errors and all(str(e) == str(errors[0]) for e in errors)):
        return errors[0]
    return OSError("Multiple exceptions: {}".format(", ".join(str(e) for e in errors)))


async def connect_tcp(
    host: str,
    port: int,
    *,
    family: int,
    local_addr: tuple[str, int] | None,
    happy_eyeballs_delay: float | None,
) -> socket.socket:
    local_address = None
    if local_addr is not None:
        local_host, local_port = local_addr
        if local_port:
            raise TypeError(
                "open_connection() keyword argument 'local_addr' with a non-zero "
                "port is not supported on trio (trio.open_tcp_stream binds a host only)"
            )
        local_address = local_host
    kwargs: dict[str, Any] = {"local_address": local_address}
    if happy_eyeballs_delay is not _DEFAULT:
        kwargs["happy_eyeballs_delay"] = happy_eyeballs_delay
    if family:
        # trio.open_tcp_stream() takes no family: resolve with it first, then
        # connect to each address in turn.
        infos = await trio.socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
        targets = list(dict.fromkeys(str(info[4][0]) for info in infos))
    else:
        targets = [host]
    errors: list[BaseException] = []
    for target in targets:
        try:
            stream = await trio.open_tcp_stream(target, port, **kwargs)
        except OSError as exc:
            errors.extend(leaf_errors(exc))
            continue
        return socket.socket(fileno=stream.socket.detach())
    raise combined_error(errors)


async def connect_unix(path: str | bytes | os.PathLike[str]) -> socket.socket:
    """Connect with trio.open_unix_socket() and take the socket over."""
    stream = await trio.open_unix_socket(path)
    return socket.socket(fileno=stream.socket.detach())


async def tcp_listening_sockets(
    host: str | Sequence[str] | None,
    port: int | None,
    *,
    family: int,
    flags: int,
    backlog: int,
    reuse_address: bool | None,
    reuse_port: bool | None,
) -> list[socket.socket]:
    """Bind and listen as asyncio's ``loop.create_server()`` does."""
    hosts = front.listen_hosts(host)
    infos: dict[tuple[Any, ...], None] = {}
    for one in hosts:
        for info in await trio.socket.getaddrinfo(one, port, family, socket.SOCK_STREAM, 0, flags):
            infos[info] = None
    if reuse_address is None:
        reuse_address = os.name == "posix"
    sockets: list[socket.socket] = []
    try:
        for af, socktype, proto, _, sockaddr in infos:
            sock = socket.socket(af, socktype, proto)
            sockets.append(sock)
            if reuse_address:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, True)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if af == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, True)
            try:
                sock.bind(sockaddr)
            except OSError as err:
                raise OSError(
                    err.errno,
                    f"error while attempting to bind on address {sockaddr!r}: "
                    f"{(err.strerror or '').lower()}",
                ) from None
            sock.listen(backlog)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def unix_listening_socket(
    path: str | bytes | os.PathLike[str] | None, sock: socket.socket | None, backlog: int
) -> socket.socket:
    """Bind and listen as asyncio's ``loop.create_unix_server()`` does."""
    given = front.unix_serve_socket(path, sock, backlog)
    if given is not None:
        return given
    assert path is not None  # checked by unix_serve_socket()
    path = os.fspath(path)
    if path[0] not in (0, "\x00"):
        # A stale socket file from an earlier server: remove it (as asyncio:
        # a failure to check or remove it is logged, and binding says more).
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                os.remove(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            front.logger.error("Unable to check or remove stale UNIX socket %r: %r", path, exc)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise OSError(errno.EADDRINUSE, f"Address {path!r} is already in use") from None
        raise
    except BaseException:
        sock.close()
        raise
    return front.listen(sock, backlog)


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
    """Connect with ``trio.open_tcp_stream()`` (or use ``sock``); return (reader, writer).

    asyncio's keywords; ``proto``, ``flags``, ``interleave`` and ``all_errors``
    mean nothing on trio and raise TypeError.  ``happy_eyeballs_delay`` not
    given means trio's default (0.25 s); ``None`` means one attempt at a time.
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
    raw = front.connect_socket(host, port, sock, family=family, local_addr=local_addr)
    if raw is None:
        assert host is not None
        assert port is not None
        raw = await connect_tcp(
            host,
            port,
            family=family,
            local_addr=local_addr,
            happy_eyeballs_delay=happy_eyeballs_delay,
        )
    return await _open(
        raw,
        limit=limit,
        ssl=context,
        server_hostname=hostname,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
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
    """Connect to a Unix socket with ``trio.open_unix_socket()`` (or use ``sock``)."""
    limit = front.check_limit(limit)
    if ssl and server_hostname is None:
        raise ValueError("you have to pass server_hostname when using ssl")
    context, hostname = front.client_ssl(
        ssl, server_hostname, None, ssl_handshake_timeout, ssl_shutdown_timeout
    )
    raw = front.unix_connect_socket(path, sock)
    if raw is None:
        assert path is not None  # checked by unix_connect_socket()
        raw = await connect_unix(path)
    return await _open(
        raw,
        limit=limit,
        ssl=context,
        server_hostname=hostname,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
    )


async def _open(
    raw: socket.socket,
    *,
    limit: int,
    ssl: _ssl.SSLContext | None,
    server_hostname: str | None,
    ssl_handshake_timeout: float | None,
    ssl_shutdown_timeout: float | None,
) -> tuple[StreamReader, StreamWriter]:
    try:
        transport = SocketTransport(raw)
    except BaseException:
        raw.close()
        raise
    return await front.open_pair(
        BACKEND,
        transport,
        StreamReader,
        StreamWriter,
        limit=limit,
        ssl=ssl,
        server_hostname=server_hostname,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
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
    task_group: trio.Nursery | None = None,
) -> Server:
    """Bind now and return a :class:`Server`.

    It serves inside ``async with server:``, in ``serve_forever()``, or at once
    in ``task_group`` (a nursery) if given -- unless ``start_serving=False``,
    which waits for ``start_serving()``.
    """
    limit = front.check_limit(limit)
    context = front.server_ssl(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
    given = front.serve_socket(host, port, sock, backlog)
    if given is not None:
        sockets = [given]
    else:
        sockets = await tcp_listening_sockets(
            host,
            port,
            family=family,
            flags=flags,
            backlog=backlog,
            reuse_address=reuse_address,
            reuse_port=reuse_port,
        )
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
    task_group: trio.Nursery | None = None,
) -> Server:
    """Bind a Unix socket now and return a :class:`Server` (see :func:`start_server`)."""
    limit = front.check_limit(limit)
    context = front.server_ssl(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
    listening = unix_listening_socket(path, sock, backlog)
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
    task_group: trio.Nursery | None,
) -> Server:
    listeners = [
        SocketListener(sock, keep_alive=keep_alive, cleanup_socket=cleanup_socket)
        for sock in sockets
    ]
    try:
        server = Server(
            BACKEND,
            list(listeners),
            client_connected_cb,
            StreamReader,
            StreamWriter,
            limit=limit,
            ssl=ssl,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
            start_serving=start_serving,
        )
        await front.start_server_in(server, task_group)
    except BaseException:
        for listener in listeners:
            listener.close()
        raise
    return server


class _Loop:
    """Just enough of an event loop for the spec's examples: ``call_soon()``."""

    __slots__ = ("_token",)

    def __init__(self, token: trio.lowlevel.TrioToken) -> None:
        self._token = token

    def call_soon(self, callback: Any, *args: Any) -> None:
        self._token.run_sync_soon(callback, *args)


def get_running_loop() -> _Loop:
    """An object with asyncio's ``loop.call_soon()``, running callbacks in this trio run."""
    return _Loop(trio.lowlevel.current_trio_token())
