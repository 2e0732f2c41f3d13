"""The demo's scenarios: the spec's examples, written once against a streams module.

Each scenario is a coroutine function ``(streams, settings) -> Outcome`` where
``streams`` is any backend module (or stdlib ``asyncio``'s API through
``sansio_streams_asyncio``); it uses nothing but the spec's functions, so the
same code runs on every backend.  Each one does the spec's exchange, then a
ping-pong of small lines (write one, ``readline()`` it back) bounded by
:attr:`Settings.rounds` and :attr:`Settings.budget`, and closes everything it
opened: servers by ``async with server:``, writers with ``wait_closed()``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib.util
import os
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl

__all__ = (
    "FULL",
    "GREETING",
    "QUICK",
    "SCENARIOS",
    "MismatchError",
    "Outcome",
    "Scenario",
    "Settings",
)

#: The spec's echo message, as a line (the servers here echo lines).
GREETING = b"Hello World!\n"
#: What the spec's socketpair example sends.
SOCKETPAIR_DATA = b"abc"


@dataclass(frozen=True)
class Settings:
    """How much ping-pong a scenario does: at most ``rounds`` round trips, and
    no new one after ``budget`` seconds."""

    rounds: int
    budget: float


#: ``--quick``: a few seconds for the whole table.
QUICK = Settings(rounds=1_000, budget=0.1)
#: The default: enough round trips for a stable rate.
FULL = Settings(rounds=100_000, budget=0.5)


@dataclass(frozen=True)
class Outcome:
    """What a scenario observed."""

    #: The bytes the spec's exchange got back (the greeting, or ``b"abc"``).
    echoed: bytes
    #: Round trips done in the ping-pong loop, and the seconds they took.
    round_trips: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Round trips per second (0 if none were timed)."""
        return self.round_trips / self.seconds if self.seconds > 0 else 0.0


class MismatchError(Exception):
    """The bytes read back are not the bytes sent."""


ScenarioFn = Callable[[ModuleType, Settings], Awaitable[Outcome]]
Handler = Callable[[Any, Any], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    """One column of the demo."""

    key: str
    title: str
    run: ScenarioFn
    #: Why the scenario cannot run with this streams module here, or None.
    skip_reason: Callable[[ModuleType], str | None] = lambda streams: None


# ------------------------------------------------------------------ pieces


@contextlib.asynccontextmanager
async def _closing(writer: Any) -> AsyncIterator[None]:
    """Close ``writer`` and wait for it on exit.

    On failure the close is still awaited, but its own error is dropped: the
    failure that got us here is the one to report.
    """
    try:
        yield
    except BaseException:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
        raise
    writer.close()
    await writer.wait_closed()


async def _round_trip(
    reader: Any, writer: Any, line: bytes, respond: Callable[[], Awaitable[None]] | None
) -> bytes:
    writer.write(line)
    await writer.drain()
    if respond is not None:
        await respond()
    got: bytes = await reader.readline()
    if got != line:
        raise MismatchError(f"sent {line!r}, read back {got!r}")
    return got


async def _exchange(
    reader: Any,
    writer: Any,
    settings: Settings,
    respond: Callable[[], Awaitable[None]] | None = None,
) -> Outcome:
    """The spec's echo client exchange (the greeting), then the timed ping-pong.

    ``respond`` answers one line when the peer is not a server running
    concurrently (the socketpair scenario answers in the same task).
    """
    echoed = await _round_trip(reader, writer, GREETING, respond)
    count = 0
    start = now = time.perf_counter()
    deadline = start + settings.budget
    while count < settings.rounds and now < deadline:
        await _round_trip(reader, writer, b"ping %d\n" % count, respond)
        count += 1
        now = time.perf_counter()
    return Outcome(echoed, count, now - start)


class _EchoHandler:
    """The spec's ``handle_echo``, line by line until EOF; keeps its errors.

    An error in a handler would only be logged by the server; it is kept here
    so the scenario reports it instead of the client's mere EOF.
    """

    def __init__(self) -> None:
        self.errors: list[Exception] = []

    async def __call__(self, reader: Any, writer: Any) -> None:
        try:
            while line := await reader.readline():
                writer.write(line)
                await writer.drain()
            writer.close()
            await writer.wait_closed()
        except Exception as exc:
            self.errors.append(exc)
            writer.close()


async def echo_over_server(
    settings: Settings,
    start: Callable[[Handler], Awaitable[Any]],
    connect: Callable[[Any], Awaitable[tuple[Any, Any]]],
    handler: Handler | None = None,
    *,
    tls: bool = False,
) -> Outcome:
    """Start a server with ``start(handler)`` (the echo handler by default),
    connect with ``connect(server)``, run :func:`_exchange`, close both.

    ``async with server:`` is the server's scope on every backend: on exit it
    stops listening and waits for (or, on failure, cancels) the handlers.
    """
    echo = _EchoHandler()
    server = await start(handler or echo)
    async with server:
        reader, writer = await connect(server)
        try:
            async with _closing(writer):
                if tls and writer.get_extra_info("ssl_object") is None:
                    raise MismatchError("the connection is not encrypted")
                outcome = await _exchange(reader, writer, settings)
        except Exception as exc:
            if echo.errors:
                raise echo.errors[0] from exc
            raise
    if echo.errors:
        raise echo.errors[0]
    return outcome


def port_of(server: Any) -> int:
    """The port a TCP server listens on."""
    port: int = server.sockets[0].getsockname()[1]
    return port


@functools.cache
def tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) contexts for a throwaway CA made now (trustme): the
    server's certificate is for ``localhost``; the client trusts only that CA."""
    import ssl  # noqa: PLC0415 - only the TLS scenario needs it

    import trustme  # noqa: PLC0415 - an extra (demo)

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx


# --------------------------------------------------------------- scenarios


async def tcp_echo(streams: ModuleType, settings: Settings) -> Outcome:
    """(1) The spec's TCP echo server and client, on 127.0.0.1 and a free port."""
    return await echo_over_server(
        settings,
        lambda handler: streams.start_server(handler, "127.0.0.1", 0),
        lambda server: streams.open_connection("127.0.0.1", port_of(server)),
    )


async def unix_echo(streams: ModuleType, settings: Settings) -> Outcome:
    """(2) The same echo over a Unix socket in a fresh temporary directory."""
    with tempfile.TemporaryDirectory(prefix="sansio-demo-") as tmp:
        path = os.path.join(tmp, "echo.sock")
        return await echo_over_server(
            settings,
            lambda handler: streams.start_unix_server(handler, path),
            lambda server: streams.open_unix_connection(path),
        )


def _unix_skip_reason(streams: ModuleType) -> str | None:
    if not hasattr(socket, "AF_UNIX") or not hasattr(streams, "open_unix_connection"):
        return "skipped: no AF_UNIX sockets on this platform"
    return None


async def tls_echo(streams: ModuleType, settings: Settings) -> Outcome:
    """(3) The echo over TLS: server ``ssl=`` context; client ``ssl=`` context and
    ``server_hostname="localhost"`` (connecting to 127.0.0.1, checked as localhost)."""
    server_ctx, client_ctx = tls_contexts()
    return await echo_over_server(
        settings,
        lambda handler: streams.start_server(handler, "127.0.0.1", 0, ssl=server_ctx),
        lambda server: streams.open_connection(
            "127.0.0.1", port_of(server), ssl=client_ctx, server_hostname="localhost"
        ),
        tls=True,
    )


def _tls_skip_reason(streams: ModuleType) -> str | None:
    if importlib.util.find_spec("trustme") is None:
        return "skipped: needs trustme (pip install -e '.[demo]')"
    return None


async def _open_sock(streams: ModuleType, sock: socket.socket) -> tuple[Any, Any]:
    """``open_connection(sock=sock)``, closing ``sock`` if that fails (else the
    writer owns it)."""
    try:
        return await streams.open_connection(sock=sock)  # type: ignore[no-any-return]
    except BaseException:
        sock.close()
        raise


async def socketpair_example(streams: ModuleType, settings: Settings) -> Outcome:
    """(4) The spec's "register an open socket to wait for data using streams".

    The spec sends with ``loop.call_soon(wsock.send, ...)``; this sends
    directly (the effect, bytes pending on the registered socket, is the same
    and needs no loop object).  The ping-pong then runs over a second
    socketpair with both ends registered, answered in the same task.
    """
    rsock, wsock = socket.socketpair()
    with wsock:
        reader, writer = await _open_sock(streams, rsock)
        async with _closing(writer):
            wsock.send(SOCKETPAIR_DATA)
            data: bytes = await reader.read(100)
            if data != SOCKETPAIR_DATA:
                raise MismatchError(f"sent {SOCKETPAIR_DATA!r}, read {data!r}")

    near, far = socket.socketpair()
    try:
        reader, writer = await _open_sock(streams, near)
    except BaseException:
        far.close()
        raise
    async with _closing(writer):
        peer_reader, peer_writer = await _open_sock(streams, far)
        async with _closing(peer_writer):

            async def respond() -> None:
                peer_writer.write(await peer_reader.readline())
                await peer_writer.drain()

            outcome = await _exchange(reader, writer, settings, respond)
    return dataclasses.replace(outcome, echoed=data)


#: Every scenario, in the table's order.
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("tcp", "TCP echo", tcp_echo),
    Scenario("unix", "Unix echo", unix_echo, _unix_skip_reason),
    Scenario("tls", "TLS echo", tls_echo, _tls_skip_reason),
    Scenario("socketpair", "socketpair + sock=", socketpair_example),
)
