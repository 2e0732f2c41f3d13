"""The stream functions: ``open_connection``, ``start_server`` and their Unix twins.

Each keyword other than ``limit`` goes to the loop's method unchanged (as in
asyncio), so every option the running loop supports works, and an unknown
one fails there.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
from typing import Any

from sansio_streams import DEFAULT_LIMIT

from ._protocol import ClientConnectedCallback, StreamReaderProtocol
from ._reader import StreamReader
from ._server import Server
from ._writer import StreamWriter

__all__ = ("open_connection", "open_unix_connection", "start_server", "start_unix_server")

StrOrBytesPath = str | bytes | os.PathLike[str] | os.PathLike[bytes]

# Per loop type: does loop.create_unix_server() take cleanup_socket?
_CLEANUP_SUPPORT: dict[type[asyncio.AbstractEventLoop], bool] = {}


def _takes_cleanup_socket(loop: asyncio.AbstractEventLoop) -> bool:
    cls = type(loop)
    known = _CLEANUP_SUPPORT.get(cls)
    if known is None:
        try:
            params = inspect.signature(loop.create_unix_server).parameters
        except (TypeError, ValueError):  # pragma: no cover - uninspectable loop
            known = False
        else:
            known = "cleanup_socket" in params
        _CLEANUP_SUPPORT[cls] = known
    return known


def _limit(limit: int | None) -> int:
    # The reference documents limit=None as "the default".
    return DEFAULT_LIMIT if limit is None else limit


async def open_connection(
    host: str | None = None,
    port: int | str | None = None,
    *,
    limit: int | None = DEFAULT_LIMIT,
    **kwds: Any,
) -> tuple[StreamReader, StreamWriter]:
    """Connect to ``host``:``port``; return a ``(reader, writer)`` pair.

    ``limit`` is the reader's limit; every other keyword (``ssl``, ``family``,
    ``proto``, ``flags``, ``sock``, ``local_addr``, ``server_hostname``,
    ``ssl_handshake_timeout``, ``ssl_shutdown_timeout``,
    ``happy_eyeballs_delay``, ``interleave``, ...) goes to
    ``loop.create_connection()``.  A ``sock`` given is owned by the writer
    from then on: close the writer to close it.
    """
    loop = asyncio.get_running_loop()
    reader = StreamReader(limit=_limit(limit), loop=loop)
    protocol = StreamReaderProtocol(reader, loop=loop)
    transport, _ = await loop.create_connection(
        lambda: protocol,
        host,  # type: ignore[arg-type]  # typeshed: str; asyncio: optional
        port,  # type: ignore[arg-type]
        **kwds,
    )
    return reader, StreamWriter(transport, protocol, reader, loop)


async def start_server(
    client_connected_cb: ClientConnectedCallback,
    host: str | list[str] | None = None,
    port: int | str | None = None,
    *,
    limit: int | None = DEFAULT_LIMIT,
    **kwds: Any,
) -> Server:
    """Listen on ``host``:``port``; call ``client_connected_cb(reader, writer)`` per client.

    The callback may be a plain function or a coroutine function, whose
    coroutine runs as a task (see :class:`StreamReaderProtocol` for what
    happens when it raises or is cancelled).  ``limit`` is each reader's
    limit; every other keyword (``family``, ``flags``, ``sock``, ``backlog``,
    ``ssl``, ``reuse_address``, ``reuse_port``, ``ssl_handshake_timeout``,
    ``ssl_shutdown_timeout``, ``start_serving``, ...) goes to
    ``loop.create_server()``.  A ``sock`` given is owned by the server.
    """
    loop = asyncio.get_running_loop()
    limit = _limit(limit)
    server = Server(loop)

    def factory() -> StreamReaderProtocol:
        protocol = StreamReaderProtocol(
            StreamReader(limit=limit, loop=loop), client_connected_cb, loop=loop
        )
        protocol._server = server
        return protocol

    server._set_server(
        await loop.create_server(
            factory,
            host,
            port,  # type: ignore[arg-type]  # typeshed: int; asyncio: optional, str too
            **kwds,
        )
    )
    return server


if hasattr(socket, "AF_UNIX"):

    async def open_unix_connection(
        path: StrOrBytesPath | None = None,
        *,
        limit: int | None = DEFAULT_LIMIT,
        **kwds: Any,
    ) -> tuple[StreamReader, StreamWriter]:
        """Connect to the Unix socket ``path`` (path-like accepted); see :func:`open_connection`.

        Other keywords (``ssl``, ``sock``, ``server_hostname``,
        ``ssl_handshake_timeout``, ...) go to ``loop.create_unix_connection()``.
        """
        loop = asyncio.get_running_loop()
        reader = StreamReader(limit=_limit(limit), loop=loop)
        protocol = StreamReaderProtocol(reader, loop=loop)
        if path is not None:
            path = os.fspath(path)
        transport, _ = await loop.create_unix_connection(
            lambda: protocol,
            path,  # type: ignore[arg-type]
            **kwds,
        )
        return reader, StreamWriter(transport, protocol, reader, loop)

    async def start_unix_server(
        client_connected_cb: ClientConnectedCallback,
        path: StrOrBytesPath | None = None,
        *,
        limit: int | None = DEFAULT_LIMIT,
        cleanup_socket: bool = True,
        **kwds: Any,
    ) -> Server:
        """Listen on the Unix socket ``path`` (path-like accepted); see :func:`start_server`.

        With ``cleanup_socket`` (the default, as in 3.13) the socket file is
        removed when the server closes -- if the path still is the socket the
        server listens on -- on every Python version and loop, also for a
        ``sock`` given.  Other keywords (``sock``, ``backlog``, ``ssl``,
        ``ssl_handshake_timeout``, ``start_serving``, ...) go to
        ``loop.create_unix_server()``.
        """
        loop = asyncio.get_running_loop()
        limit = _limit(limit)
        server = Server(loop)

        def factory() -> StreamReaderProtocol:
            protocol = StreamReaderProtocol(
                StreamReader(limit=limit, loop=loop), client_connected_cb, loop=loop
            )
            protocol._server = server
            return protocol

        if path is not None:
            path = os.fspath(path)
        # We remove the file ourselves, the same way everywhere: keep a loop
        # that can do it too from doing it as well.
        if _takes_cleanup_socket(loop):
            kwds["cleanup_socket"] = False
        server._set_server(
            await loop.create_unix_server(
                factory,
                path,  # type: ignore[arg-type]
                **kwds,
            )
        )
        if cleanup_socket:
            server._track_unix_sockets()
        return server
