"""trio's side of a socket connection: readiness waits on a stdlib socket we own."""

from __future__ import annotations

import contextlib
import select
import socket
from collections.abc import Callable
from typing import Any, Final

import trio

from sansio_streams import _front as front

__all__ = ("BACKEND", "SocketListener", "SocketTransport", "TrioBackend")


def _notify_closing(handle: socket.socket | int) -> None:
    # Outside trio.run (garbage collection) nobody can be waiting: RuntimeError.
    with contextlib.suppress(RuntimeError):
        trio.lowlevel.notify_closing(handle)


# Where the system has epoll (Linux), a readable-or-writable wait is one wait
# on a private epoll object watching the socket for both: that epoll object's
# descriptor is readable when the socket is readable or writable.  Elsewhere
# it races two waits in a nursery, which costs two tasks per wait.
_EPOLL: Final = getattr(select, "epoll", None)


class SocketTransport(front.SocketTransport):
    """A connected stdlib socket, waited on with trio's readiness primitives."""

    __slots__ = ("_either", "_race", "_waiting")

    framework = "trio"

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        # What a single wait in progress waits on (the socket, or the epoll
        # object's descriptor), for notify_closing().
        self._waiting: socket.socket | int | None = None
        # The nursery of a readable-or-writable wait, while there is one.
        self._race: trio.Nursery | None = None
        # The private epoll object (made at the first readable-or-writable wait).
        self._either: select.epoll | None = None

    def close(self) -> None:
        sock = self._sock
        if sock.fileno() >= 0:
            self._wake()
            sock.close()
            self._close_either()

    def abort(self) -> None:
        sock = self._sock
        if sock.fileno() >= 0:
            self._wake()
            front.abort_socket(sock)
            self._close_either()

    def _close_either(self) -> None:
        either = self._either
        if either is not None:
            self._either = None
            either.close()

    async def wait(self, readable: bool, writable: bool) -> None:
        sock = self._sock
        self._waiting = sock
        try:
            if readable and writable and _EPOLL is not None:
                if sock.fileno() < 0:
                    # Closed behind our back: the epoll object would watch
                    # nothing and never wake.
                    return
                either = self._either
                if either is None:
                    either = self._either = _EPOLL(1)
                    either.register(sock, select.EPOLLIN | select.EPOLLOUT)
                fd = either.fileno()
                self._waiting = fd
                await trio.lowlevel.wait_readable(fd)
            elif readable and writable:
                async with trio.open_nursery() as nursery:
                    self._race = nursery
                    nursery.start_soon(_race, trio.lowlevel.wait_readable, sock, nursery)
                    nursery.start_soon(_race, trio.lowlevel.wait_writable, sock, nursery)
            elif readable:
                await trio.lowlevel.wait_readable(sock)
            else:
                await trio.lowlevel.wait_writable(sock)
        except trio.ClosedResourceError:
            pass  # closed or interrupted while we waited: the caller looks again
        finally:
            self._waiting = None
            self._race = None

    def interrupt(self) -> None:
        self._wake()

    def _wake(self) -> None:
        """End the running wait, if any.

        A single wait is registered with trio's I/O manager as soon as it
        starts, and notify_closing() wakes it with ClosedResourceError without
        closing what it waits on (the next wait registers it again): this
        costs nothing when nobody waits, where a cancel scope around every
        wait cost about a quarter of a ping-pong round trip.  With epoll, a
        readable-or-writable wait is such a single wait.  Without, it runs in
        a nursery whose children register only once they run, so it is ended
        by cancelling the nursery, which also stops children that have not
        started yet.
        """
        race = self._race
        if race is not None:
            race.cancel_scope.cancel()
        waiting = self._waiting
        if waiting is not None:
            _notify_closing(waiting)


async def _race(
    wait: Callable[[socket.socket], Any], sock: socket.socket, nursery: trio.Nursery
) -> None:
    # Closed before this task ran: waiting on fd -1 would corrupt trio's
    # registrations.  No checkpoint between this test and the wait.
    if sock.fileno() >= 0:
        with contextlib.suppress(trio.ClosedResourceError):
            await wait(sock)
    nursery.cancel_scope.cancel()


class SocketListener:
    """A listening stdlib socket, accepted from with trio's readiness primitives."""

    __slots__ = ("_closed", "_keep_alive", "_unlink", "socket")

    def __init__(
        self, sock: socket.socket, *, keep_alive: bool = False, cleanup_socket: bool = False
    ) -> None:
        sock.setblocking(False)
        self.socket = sock
        self._keep_alive = keep_alive
        self._closed = False
        # asyncio 3.13's cleanup_socket: on close, remove the Unix socket's file
        # if it is still the one we bound.
        self._unlink = front.unix_socket_file(sock, cleanup_socket)

    async def accept(self) -> SocketTransport | None:
        sock = self.socket
        while not self._closed:
            try:
                conn, _ = sock.accept()
            except BlockingIOError:
                try:
                    await trio.lowlevel.wait_readable(sock)
                except trio.ClosedResourceError:
                    return None
                continue
            except OSError as exc:
                if self._closed:
                    return None
                if delay := front.accept_retry_delay(exc):
                    await trio.sleep(delay)
                continue
            try:
                if self._keep_alive:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                transport = SocketTransport(conn)
            except BaseException:
                conn.close()
                raise
            # A schedule point that cannot lose the connection to a cancellation.
            await trio.lowlevel.cancel_shielded_checkpoint()
            return transport
        return None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        sock = self.socket
        _notify_closing(sock)
        sock.close()
        front.remove_unix_socket_file(self._unlink)


class TrioBackend:
    """The front's framework primitives, from trio."""

    name = "trio"
    yield_before_reply = True

    def event(self) -> trio.Event:
        return trio.Event()

    async def checkpoint(self) -> None:
        await trio.lowlevel.checkpoint()

    def move_on_after(self, seconds: float) -> trio.CancelScope:
        return trio.move_on_after(seconds)

    def cancel_scope(self) -> trio.CancelScope:
        return trio.CancelScope()

    def open_task_group(self) -> Any:
        return trio.open_nursery()


BACKEND: Final = TrioBackend()
