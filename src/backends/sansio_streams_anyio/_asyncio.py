"""anyio on asyncio: readiness waits straight on the event loop (add_reader/add_writer)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from typing import Any, Final

import anyio
import anyio.lowlevel

from sansio_streams import _front as front

__all__ = (
    "ANYIO_BACKEND",
    "AnyioBackend",
    "AsyncioSocketListener",
    "AsyncioSocketTransport",
    "connect",
)


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class AsyncioSocketTransport(front.SocketTransport):
    """A connected stdlib socket, waited on with the running loop's add_reader/add_writer."""

    __slots__ = ("_fd", "_fut", "_loop", "_reading", "_writing")

    framework = "asyncio"

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(sock)
        self._fd = sock.fileno()
        self._loop = loop
        self._fut: asyncio.Future[None] | None = None
        self._reading = False
        self._writing = False

    def _unregister(self) -> None:
        loop = self._loop
        if self._reading:
            self._reading = False
            loop.remove_reader(self._fd)
        if self._writing:
            self._writing = False
            loop.remove_writer(self._fd)
        fut = self._fut
        if fut is not None:
            _wake(fut)

    def _on_readable(self) -> None:
        fut = self._fut
        if fut is not None:
            _wake(fut)
        elif self._reading:
            # Nobody waits: stop watching (level-triggered, it would fire
            # every loop iteration).
            self._reading = False
            self._loop.remove_reader(self._fd)

    def _on_writable(self) -> None:
        fut = self._fut
        if fut is not None:
            _wake(fut)
        elif self._writing:
            self._writing = False
            self._loop.remove_writer(self._fd)

    def close(self) -> None:
        if self._sock.fileno() >= 0:
            if not self._loop.is_closed():
                self._unregister()
            self._sock.close()

    def abort(self) -> None:
        sock = self._sock
        if sock.fileno() >= 0:
            if not self._loop.is_closed():
                self._unregister()
            front.abort_socket(sock)

    async def wait(self, readable: bool, writable: bool) -> None:
        if self._sock.fileno() < 0:
            return
        loop = self._loop
        fd = self._fd
        # Interest stays registered between waits (saving two epoll_ctl calls
        # per wait); it is dropped when not wanted, or when it fires with
        # nobody waiting.
        if readable:
            if not self._reading:
                loop.add_reader(fd, self._on_readable)
                self._reading = True
        elif self._reading:
            self._reading = False
            loop.remove_reader(fd)
        if writable:
            if not self._writing:
                loop.add_writer(fd, self._on_writable)
                self._writing = True
        elif self._writing:
            self._writing = False
            loop.remove_writer(fd)
        fut: asyncio.Future[None] = loop.create_future()
        self._fut = fut
        try:
            await fut
        finally:
            self._fut = None

    def interrupt(self) -> None:
        fut = self._fut
        if fut is not None:
            _wake(fut)


class AsyncioSocketListener:
    """A listening stdlib socket, accepted from with the loop's add_reader."""

    __slots__ = ("_closed", "_fut", "_keep_alive", "_loop", "_unlink", "socket")

    def __init__(
        self,
        sock: socket.socket,
        loop: asyncio.AbstractEventLoop,
        *,
        keep_alive: bool = False,
        cleanup_socket: bool = False,
    ) -> None:
        sock.setblocking(False)
        self.socket = sock
        self._loop = loop
        self._keep_alive = keep_alive
        self._closed = False
        self._fut: asyncio.Future[None] | None = None
        self._unlink = front.unix_socket_file(sock, cleanup_socket)

    async def accept(self) -> AsyncioSocketTransport | None:
        sock = self.socket
        loop = self._loop
        while not self._closed:
            try:
                conn, _ = sock.accept()
            except BlockingIOError:
                fut: asyncio.Future[None] = loop.create_future()
                self._fut = fut
                loop.add_reader(sock.fileno(), _wake, fut)
                try:
                    await fut
                finally:
                    self._fut = None
                    if not self._closed:
                        loop.remove_reader(sock.fileno())
                continue
            except OSError as exc:
                if self._closed:
                    return None
                if delay := front.accept_retry_delay(exc):
                    await anyio.sleep(delay)
                continue
            try:
                if self._keep_alive:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                return AsyncioSocketTransport(conn, loop)
            except BaseException:
                conn.close()
                raise
        return None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        sock = self.socket
        if not self._loop.is_closed() and sock.fileno() >= 0:
            self._loop.remove_reader(sock.fileno())
        fut = self._fut
        if fut is not None:
            _wake(fut)
        sock.close()
        front.remove_unix_socket_file(self._unlink)


class _Grab(asyncio.Protocol):
    """Takes a new connection's transport and stops it reading at once,
    keeping whatever it may already have received."""

    def __init__(self) -> None:
        self.received = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.pause_reading()  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.received += data


async def connect(
    create: Callable[[Callable[[], _Grab]], Any],
) -> tuple[socket.socket, bytes]:
    """Connect with one of asyncio's own functions (``loop.create_connection``,
    ``loop.create_unix_connection``: DNS, happy eyeballs) and take the socket
    over: duplicate its descriptor, then abort the transport (no FIN, no RST:
    the connection lives on in the duplicate).  Returns the socket and any
    bytes the transport had already received."""
    transport, protocol = await create(_Grab)
    try:
        fd = os.dup(transport.get_extra_info("socket").fileno())
    finally:
        transport.abort()
    try:
        sock = socket.socket(fileno=fd)
    except BaseException:
        os.close(fd)
        raise
    return sock, bytes(protocol.received)


class AnyioBackend:
    """The front's framework primitives, from anyio (used on asyncio)."""

    name = "anyio"
    yield_before_reply = False

    def event(self) -> anyio.Event:
        return anyio.Event()

    async def checkpoint(self) -> None:
        await anyio.lowlevel.checkpoint()

    def move_on_after(self, seconds: float) -> anyio.CancelScope:
        return anyio.move_on_after(seconds)

    def cancel_scope(self) -> anyio.CancelScope:
        return anyio.CancelScope()

    def open_task_group(self) -> Any:
        return anyio.create_task_group()


ANYIO_BACKEND: Final = AnyioBackend()
