"""trio's side of a socket connection: readiness waits on a stdlib socket we own."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from typing import Any, Final

import trio

from sansio_streams import _front as front

__all__ = ("BACKEND", "SocketListener", "SocketTransport", "TrioBackend")


def _notify_closing(sock: socket.socket) -> None:
    # Outside trio.run (garbage collection) nobody can be waiting: RuntimeError.
    with contextlib.suppress(RuntimeError):
        trio.lowlevel.notify_closing(sock)


class SocketTransport(front.SocketTransport):
    """A connected stdlib socket, waited on with trio's readiness primitives."""

    __slots__ = ("_race", "_waiting")

    framework = "trio"

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self._waiting = False
        # The nursery of a readable-or-writable wait, while there is one.
        self._race: trio.Nursery | None = None

    def close(self) -> None:
        sock = self._sock
        if sock.fileno() >= 0:
            self._wake()
            sock.close()

    def abort(self) -> None:
        sock = self._sock
        if sock.fileno() >= 0:
            self._wake()
            front.abort_socket(sock)

    async def wait(self, readable: bool, writable: bool) -> None:
        sock = self._sock
        self._waiting = True
        try:
            if readable and writable:
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
            self._waiting = False
            self._race = None

    def interrupt(self) -> None:
        self._wake()

    def _wake(self) -> None:
        """End the running wait, if any.

        A single wait is registered with trio's I/O manager as soon as it
        starts, and notify_closing() wakes it with ClosedResourceError without
        closing the socket (the next wait registers it again): this costs
        nothing when nobody waits, where a cancel scope around every wait cost
        about a quarter of a ping-pong round trip.  The readable-or-writable
        wait runs in a nursery whose children register only once they run, so
        it is ended by cancelling the nursery, which also stops children that
        have not started yet.
        """
        race = self._race
        if race is not None:
            race.cancel_scope.cancel()
        if self._waiting:
            _notify_closing(self._sock)


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
