"""``Server``: asyncio 3.13's server behaviour on every Python version and loop.

It wraps the server the event loop returns (which listens and accepts) and
adds what older loops lack: it tracks the connections itself, so
:meth:`Server.wait_closed` waits for them and :meth:`Server.close_clients` /
:meth:`Server.abort_clients` exist everywhere, and it removes the Unix socket
files it was asked to clean up.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._protocol import StreamReaderProtocol

__all__ = ("Server",)

logger = logging.getLogger("sansio_streams_asyncio")


class Server(asyncio.AbstractServer):
    """A listening server, as returned by :func:`start_server`.

    Behaves as asyncio 3.13's ``Server`` on every version and loop:

    * :meth:`close` stops listening (connections stay open) and removes the
      Unix socket files it created, if the path still is that socket;
    * :meth:`wait_closed` returns once the server is closed *and* every
      connection it accepted is lost;
    * :meth:`close_clients` / :meth:`abort_clients` close / abort those
      connections;
    * ``async with server:`` closes it and waits on exit.
    """

    __slots__ = (
        "_clients",
        "_closed",
        "_loop",
        "_server",
        "_serving_forever_fut",
        "_unix_paths",
        "_waiters",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # The loop's server; set by _set_server() once create_server() returns
        # (a connection may be accepted before that).
        self._server: asyncio.AbstractServer | None = None
        # Protocols of the connections made and not yet lost.  Strong
        # references: a connection belongs to the server until it is lost.
        self._clients: set[StreamReaderProtocol] = set()
        self._closed = False
        # Futures of wait_closed(); None once it may return (closed, no clients).
        self._waiters: list[asyncio.Future[None]] | None = []
        self._serving_forever_fut: asyncio.Future[None] | None = None
        # (path, st_dev, st_ino) of the Unix socket files to remove on close.
        self._unix_paths: list[tuple[str | bytes, int, int]] = []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} sockets={self.sockets!r}>"

    # ----------------------------------------------------- internal plumbing

    def _set_server(self, server: asyncio.AbstractServer) -> None:
        self._server = server

    def _track_unix_sockets(self) -> None:
        """Remember the socket files now listened on, to remove them on close."""
        for sock in self.sockets:
            path = sock.getsockname()
            # Unbound ("") and Linux abstract ("\0...") sockets have no file.
            if not path or path[0] in (0, "\x00"):
                continue
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            self._unix_paths.append((path, st.st_dev, st.st_ino))

    def _remove_unix_sockets(self) -> None:
        paths, self._unix_paths = self._unix_paths, []
        for path, dev, ino in paths:
            try:
                st = os.stat(path)
                # Remove only the file we made: another process may have
                # bound a new socket at the same path since.
                if (st.st_dev, st.st_ino) == (dev, ino):
                    os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as err:
                # As asyncio: report and go on, closing must not fail.
                logger.error(  # noqa: TRY400 - the traceback adds nothing
                    "Unable to clean up listening UNIX socket %r: %r", path, err
                )

    def _attach(self, protocol: StreamReaderProtocol) -> None:
        self._clients.add(protocol)

    def _detach(self, protocol: StreamReaderProtocol) -> None:
        clients = self._clients
        clients.discard(protocol)
        if not clients and self._closed:
            self._wakeup()

    def _wakeup(self) -> None:
        waiters = self._waiters
        self._waiters = None
        if waiters:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    # -------------------------------------------------------------- public

    def get_loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the server runs on."""
        return self._loop

    def is_serving(self) -> bool:
        """Whether the server accepts new connections."""
        return not self._closed and self._server is not None and self._server.is_serving()

    @property
    def sockets(self) -> tuple[Any, ...]:
        """The listening sockets (``asyncio.trsock.TransportSocket``); ``()`` once closed."""
        if self._closed or self._server is None:
            return ()
        return tuple(self._server.sockets)  # type: ignore[attr-defined]

    def close(self) -> None:
        """Stop listening; existing connections stay open.  Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._server is not None:
            self._server.close()
        self._remove_unix_sockets()
        fut = self._serving_forever_fut
        if fut is not None and not fut.done():
            fut.cancel()
            self._serving_forever_fut = None
        if not self._clients:
            self._wakeup()

    def close_clients(self) -> None:
        """Close every connection (each transport flushes, then closes)."""
        for protocol in list(self._clients):
            transport = protocol._transport
            if transport is not None:
                transport.close()

    def abort_clients(self) -> None:
        """Abort every connection at once (unsent data is dropped)."""
        for protocol in list(self._clients):
            transport = protocol._transport
            if transport is not None:
                transport.abort()  # type: ignore[attr-defined]
        # 3.13's server also aborts connections still in their TLS handshake.
        abort = getattr(self._server, "abort_clients", None)
        if abort is not None:
            abort()

    async def start_serving(self) -> None:
        """Start accepting connections (when created with ``start_serving=False``)."""
        if self._server is not None and not self._closed:
            await self._server.start_serving()
        else:
            await asyncio.sleep(0)

    async def serve_forever(self) -> None:
        """Accept connections until cancelled; on cancellation close and wait.

        Raises:
            RuntimeError: already being awaited, or the server is closed.
        """
        if self._serving_forever_fut is not None:
            raise RuntimeError(f"server {self!r} is already being awaited on serve_forever()")
        if self._closed:
            raise RuntimeError(f"server {self!r} is closed")
        # Created before starting: a close() from here on cancels it.
        self._serving_forever_fut = fut = self._loop.create_future()
        try:
            await self.start_serving()
            await fut
        except asyncio.CancelledError:
            try:
                self.close()
                await self.wait_closed()
            finally:
                raise
        finally:
            self._serving_forever_fut = None

    async def wait_closed(self) -> None:
        """Wait until the server is closed and every connection it accepted is lost.

        Either may come first; returns at once when both already hold.
        """
        waiters = self._waiters
        if waiters is not None:
            waiter = self._loop.create_future()
            waiters.append(waiter)
            await waiter
        # Then the loop's own server: on 3.12.1+ it also counts connections
        # still in their TLS handshake, which have no protocol of ours yet.
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
        await self.wait_closed()
