"""The trio and anyio backends against their frameworks' own streams.

Run from the repository root: ``.venv/bin/python benchmarks/bench_pull.py``
(several minutes; ``--quick`` for a smoke test).  See benchmarks/README.md.

Three frameworks, each with its own event loop running in a thread of its own
(an anyio blocking portal) for the whole process: trio, anyio on asyncio,
anyio on trio.  On each, every workload runs once with our backend
(``sansio_streams_trio`` on trio, ``sansio_streams_anyio`` on anyio) and once
with the framework's native streams, both ends of a connection using the same
implementation:

* trio: ``trio.SocketStream`` (``trio.serve_tcp``, ``trio.open_tcp_stream``)
  with :class:`TrioLineReader`, the line reader a trio user writes;
* anyio: ``anyio.connect_tcp`` / ``anyio.create_tcp_listener`` streams, read
  through ``anyio.streams.buffered.BufferedByteReceiveStream`` (its
  ``receive_until()`` returns a line without its delimiter) and written with
  the socket stream's ``send()``.

Workloads:

* ping-pong: the client writes a 64-byte line and reads a line; the server
  writes back each line it reads.  One connection doing 20,000 round trips,
  and 50 connections doing 1,000 each concurrently.  Per round trip.
* bulk: the client sends 256 MiB in 64 KiB writes (``write()`` + ``drain()``,
  or ``send_all()``/``send()``); the server reads 64 KiB at a time and answers
  a line when all has arrived, which the client reads.  Per MiB.

Connections are made on each case's first (warm-up) call and kept open, so a
sample measures the data path: no loop start-up, no connection set-up.  The
per-call hop into the loop's thread costs the same for every case.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, Protocol

if not __package__:  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anyio
import anyio.abc
import anyio.from_thread
import trio
from anyio.streams.buffered import BufferedByteReceiveStream
from benchmarks._harness import Case, Comparison, main
from benchmarks.bench_asyncio import settle_heap

import sansio_streams_anyio
import sansio_streams_trio

LINE = b"x" * 63 + b"\n"
HOST = "127.0.0.1"
WRITE_SIZE = 2**16
READ_SIZE = 2**16
# The longest line a reader accepts: asyncio's default limit, for every reader.
LINE_LIMIT = 2**16
# A case that takes this long is stuck: fail instead of hanging the run.
CALL_TIMEOUT = 600.0

# Workload sizes: (full run, --quick).
PINGPONG_ONE = (20_000, 200)  # round trips on one connection
PINGPONG_MANY = ((50, 1_000), (10, 20))  # (connections, round trips each)
BULK_BYTES = (2**28, 2**23)

# Other bulk shapes, (write size, read size), reported without a goal.
SHAPES = (
    (2**12, 2**16),
    (2**14, 2**16),
    (2**16, 2**12),
    (2**16, 2**15),
    (2**18, 2**16),
    (2**20, 2**20),
)
SHAPE_BYTES = (2**27, 2**22)

# Goals on Python 3.11 (median speedup over the framework's own streams).
PINGPONG_GOAL = 1.1
BULK_GOAL = 1.0

Connection = Any  # what an implementation's connect() returns
Work = Callable[[list[Connection]], Awaitable[bytes]]


class _Group(Protocol):
    """What the workloads use of a trio nursery or an anyio task group."""

    def start_soon(self, func: Callable[..., Coroutine[Any, Any, Any]], /, *args: Any) -> Any: ...


class _GroupContext(Protocol):
    """``trio.open_nursery()`` or ``anyio.create_task_group()``."""

    async def __aenter__(self) -> _Group: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool | None: ...


@dataclass(frozen=True)
class Framework:
    """An event loop to run cases in, and its task-group primitives."""

    name: str  # in case names
    portal_backend: str  # anyio.run()'s backend for the loop's thread
    open_group: Callable[[], _GroupContext]
    sleep_forever: Callable[[], Awaitable[object]]
    streams: ModuleType  # our backend for this framework


FRAMEWORKS = (
    Framework("trio", "trio", trio.open_nursery, trio.sleep_forever, sansio_streams_trio),
    Framework(
        "anyio/asyncio",
        "asyncio",
        anyio.create_task_group,
        anyio.sleep_forever,
        sansio_streams_anyio,
    ),
    Framework(
        "anyio/trio", "trio", anyio.create_task_group, anyio.sleep_forever, sansio_streams_anyio
    ),
)


def _read_size(handler: str) -> int:
    """The read size of a "sink" or "sink:N" handler."""
    _, _, size = handler.partition(":")
    return int(size) if size else READ_SIZE


async def _gather(
    framework: Framework, one: Callable[[Connection], Awaitable[bytes]], conns: list[Connection]
) -> bytes:
    """``one(conn)`` for each connection, concurrently; LINE if all returned LINE."""
    if len(conns) == 1:
        return await one(conns[0])
    results: list[bytes] = []

    async def run(conn: Connection) -> None:
        results.append(await one(conn))

    async with framework.open_group() as group:
        for conn in conns:
            group.start_soon(run, conn)
    return LINE if all(line == LINE for line in results) else b"mismatch"


class Implementation(Protocol):
    """One way to serve and connect on a framework, and the workloads' clients."""

    label: str  # in case names: "ours", "trio.SocketStream"...

    async def serve(
        self, handler: str, total: int, *, task_status: anyio.abc.TaskStatus[int]
    ) -> None:
        """Serve ``handler`` on HOST; report the port: "echo" (lines), or "sink"
        (read ``total`` bytes, READ_SIZE at a time, then answer a line; "sink:N"
        reads N at a time)."""

    async def connect(self, port: int) -> Connection: ...
    async def disconnect(self, conn: Connection) -> None: ...
    async def pingpong(self, conns: list[Connection], rounds: int) -> bytes: ...
    async def bulk(
        self, conns: list[Connection], total: int, write_size: int = WRITE_SIZE
    ) -> bytes: ...


# ----------------------------------------------------------------- ours


class Ours:
    """Our backend's asyncio-style API: ``start_server``, ``open_connection``."""

    label = "ours"

    def __init__(self, framework: Framework) -> None:
        self.framework = framework
        self.streams = framework.streams

    async def serve(
        self, handler: str, total: int, *, task_status: anyio.abc.TaskStatus[int]
    ) -> None:
        callback = _echo_lines if handler == "echo" else partial(_sink, total, _read_size(handler))
        server = await self.streams.start_server(callback, HOST, 0)
        async with server:
            task_status.started(server.sockets[0].getsockname()[1])
            await self.framework.sleep_forever()

    async def connect(self, port: int) -> Connection:
        return await self.streams.open_connection(HOST, port)

    async def disconnect(self, conn: Connection) -> None:
        _, writer = conn
        writer.close()
        await writer.wait_closed()

    async def pingpong(self, conns: list[Connection], rounds: int) -> bytes:
        async def one(conn: Connection) -> bytes:
            reader, writer = conn
            write = writer.write
            readline = reader.readline
            line = b""
            for _ in range(rounds):
                write(LINE)
                line = await readline()
            return line

        return await _gather(self.framework, one, conns)

    async def bulk(
        self, conns: list[Connection], total: int, write_size: int = WRITE_SIZE
    ) -> bytes:
        ((reader, writer),) = conns
        chunk = b"b" * write_size
        write = writer.write
        drain = writer.drain
        for _ in range(total // write_size):
            write(chunk)
            await drain()
        line: bytes = await reader.readline()
        return line


async def _echo_lines(reader: Any, writer: Any) -> None:
    readline = reader.readline
    write = writer.write
    while line := await readline():
        write(line)
    # The server closes the writer when the handler returns.


async def _sink(total: int, read_size: int, reader: Any, writer: Any) -> None:
    read = reader.read
    while True:
        got = 0
        while got < total:
            data = await read(read_size)
            if not data:
                return
            got += len(data)
        writer.write(b"%d\n" % got)


# ----------------------------------------------------------------- trio


class TrioLineReader:
    """Lines from a ``trio.SocketStream``, as a trio user would read them.

    ``receive_some()`` into a ``bytearray``, ``find(b"\\n")`` from where the
    last search stopped, slice the line out as ``bytes``.  At EOF, returns the
    unterminated rest, then ``b""``.  Raises ValueError past LINE_LIMIT bytes
    without a newline.
    """

    __slots__ = ("_buffer", "_receive")

    def __init__(self, stream: trio.SocketStream) -> None:
        self._receive = stream.receive_some
        self._buffer = bytearray()

    async def readline(self) -> bytes:
        buffer = self._buffer
        start = 0
        while True:
            end = buffer.find(b"\n", start) + 1
            if end:
                line = bytes(buffer[:end])
                del buffer[:end]
                return line
            if len(buffer) > LINE_LIMIT:
                raise ValueError("line too long")
            start = len(buffer)
            data = await self._receive(READ_SIZE)
            if not data:
                line = bytes(buffer)
                buffer.clear()
                return line
            buffer += data


class TrioNative:
    """``trio.SocketStream`` from ``trio.serve_tcp`` / ``trio.open_tcp_stream``."""

    label = "trio.SocketStream"

    def __init__(self, framework: Framework) -> None:
        self.framework = framework

    async def serve(
        self, handler: str, total: int, *, task_status: anyio.abc.TaskStatus[int]
    ) -> None:
        callback = (
            self._echo if handler == "echo" else partial(self._sink, total, _read_size(handler))
        )
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(partial(trio.serve_tcp, callback, 0, host=HOST))
            task_status.started(listeners[0].socket.getsockname()[1])

    @staticmethod
    async def _echo(stream: trio.SocketStream) -> None:
        async with stream:
            readline = TrioLineReader(stream).readline
            send_all = stream.send_all
            while line := await readline():
                await send_all(line)

    @staticmethod
    async def _sink(total: int, read_size: int, stream: trio.SocketStream) -> None:
        async with stream:
            receive_some = stream.receive_some
            while True:
                got = 0
                while got < total:
                    data = await receive_some(read_size)
                    if not data:
                        return
                    got += len(data)
                await stream.send_all(b"%d\n" % got)

    async def connect(self, port: int) -> Connection:
        stream = await trio.open_tcp_stream(HOST, port)
        return stream, TrioLineReader(stream)

    async def disconnect(self, conn: Connection) -> None:
        stream, _ = conn
        await stream.aclose()

    async def pingpong(self, conns: list[Connection], rounds: int) -> bytes:
        async def one(conn: Connection) -> bytes:
            stream, reader = conn
            send_all = stream.send_all
            readline = reader.readline
            line = b""
            for _ in range(rounds):
                await send_all(LINE)
                line = await readline()
            return line

        return await _gather(self.framework, one, conns)

    async def bulk(
        self, conns: list[Connection], total: int, write_size: int = WRITE_SIZE
    ) -> bytes:
        ((stream, reader),) = conns
        chunk = b"b" * write_size
        send_all = stream.send_all
        for _ in range(total // write_size):
            await send_all(chunk)
        line: bytes = await reader.readline()
        return line


# ----------------------------------------------------------------- anyio


class AnyioNative:
    """anyio's socket streams, read through ``BufferedByteReceiveStream``.

    ``receive_until(b"\\n", LINE_LIMIT)`` strips the delimiter, so the echo
    server sends ``line + b"\\n"``, and a client puts it back once, on the line
    it returns.  Writes go to the socket stream's ``send()`` directly (anyio
    4.16's ``BufferedByteStream`` would forward them there through one more
    await).
    """

    label = "anyio BufferedByteReceiveStream"

    def __init__(self, framework: Framework) -> None:
        self.framework = framework

    async def serve(
        self, handler: str, total: int, *, task_status: anyio.abc.TaskStatus[int]
    ) -> None:
        callback = (
            self._echo if handler == "echo" else partial(self._sink, total, _read_size(handler))
        )
        listener = await anyio.create_tcp_listener(local_host=HOST, local_port=0)
        async with listener:
            task_status.started(listener.extra(anyio.abc.SocketAttribute.local_port))
            await listener.serve(callback)

    @staticmethod
    async def _echo(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            receive_until = BufferedByteReceiveStream(stream).receive_until
            send = stream.send
            while True:
                try:
                    line = await receive_until(b"\n", LINE_LIMIT)
                except anyio.IncompleteRead:
                    return
                await send(line + b"\n")

    @staticmethod
    async def _sink(total: int, read_size: int, stream: anyio.abc.SocketStream) -> None:
        async with stream:
            receive = BufferedByteReceiveStream(stream).receive
            while True:
                got = 0
                while got < total:
                    try:
                        data = await receive(read_size)
                    except anyio.EndOfStream:
                        return
                    got += len(data)
                await stream.send(b"%d\n" % got)

    async def connect(self, port: int) -> Connection:
        stream = await anyio.connect_tcp(HOST, port)
        return stream, BufferedByteReceiveStream(stream)

    async def disconnect(self, conn: Connection) -> None:
        stream, _ = conn
        await stream.aclose()

    async def pingpong(self, conns: list[Connection], rounds: int) -> bytes:
        async def one(conn: Connection) -> bytes:
            stream, buffered = conn
            send = stream.send
            receive_until = buffered.receive_until
            line = b""
            for _ in range(rounds):
                await send(LINE)
                line = await receive_until(b"\n", LINE_LIMIT)
            return line + b"\n"

        return await _gather(self.framework, one, conns)

    async def bulk(
        self, conns: list[Connection], total: int, write_size: int = WRITE_SIZE
    ) -> bytes:
        ((stream, buffered),) = conns
        chunk = b"b" * write_size
        send = stream.send
        for _ in range(total // write_size):
            await send(chunk)
        line: bytes = await buffered.receive_until(b"\n", LINE_LIMIT)
        return line + b"\n"


# ---------------------------------------------------------------- sessions


async def _guarded(work: Work, conns: list[Connection]) -> bytes:
    with anyio.fail_after(CALL_TIMEOUT):
        return await work(conns)


class Session:
    """A server and ``count`` connections of one implementation, in a portal's
    loop; opened on the first call and kept until :meth:`close`."""

    def __init__(
        self,
        portal: anyio.from_thread.BlockingPortal,
        impl: Implementation,
        handler: str,
        total: int,
        count: int,
    ) -> None:
        self.portal = portal
        self.impl = impl
        self.handler = handler
        self.total = total
        self.count = count
        self.server: Any = None  # the serving task's future
        self.conns: list[Connection] = []

    def run(self, work: Work) -> bytes:
        if self.server is None:
            self.server, port = self.portal.start_task(
                self.impl.serve, self.handler, self.total, name=f"{self.impl.label} server"
            )
            for _ in range(self.count):
                self.conns.append(self.portal.call(self.impl.connect, port))
        return self.portal.call(_guarded, work, self.conns)

    def close(self) -> None:
        for conn in self.conns:
            self.portal.call(self.impl.disconnect, conn)
        self.conns.clear()
        if self.server is not None:
            self.server.cancel()
            self.server = None


# --------------------------------------------------------------------- cases


def build(
    quick: bool,
    portals: dict[str, anyio.from_thread.BlockingPortal],
    closers: list[Callable[[], None]],
) -> tuple[list[Case], list[Comparison]]:
    """The cases for every framework in ``portals`` (by Framework.name)."""
    pick = 1 if quick else 0
    cases: list[Case] = []
    comparisons: list[Comparison] = []
    for framework in FRAMEWORKS:
        portal = portals.get(framework.name)
        if portal is None:
            continue
        native: Implementation = (
            TrioNative(framework) if framework.name == "trio" else AnyioNative(framework)
        )
        implementations: list[Implementation] = [Ours(framework), native]

        def versus(
            prefix: str,
            handler: str,
            total: int,
            count: int,
            work: Callable[[Implementation], Work],
            *,
            ops: int,
            expected: bytes,
            unit: str,
            group: str,
            goal: float | None,
            portal: anyio.from_thread.BlockingPortal = portal,
            implementations: list[Implementation] = implementations,
            native: Implementation = native,
        ) -> None:
            """A case per implementation, and ours against the native one."""
            for impl in implementations:
                session = Session(portal, impl, handler, total, count)
                closers.append(session.close)
                cases.append(
                    Case(
                        f"{prefix} {impl.label}",
                        partial(session.run, work(impl)),
                        ops,
                        expected,
                        unit,
                        group,
                    )
                )
            comparisons.append(
                Comparison(
                    f"{prefix}: ours vs {native.label}",
                    f"{prefix} ours",
                    f"{prefix} {native.label}",
                    goal,
                )
            )

        for count, rounds in ((1, PINGPONG_ONE[pick]), PINGPONG_MANY[pick]):

            def pingpong(impl: Implementation, rounds: int = rounds) -> Work:
                return partial(impl.pingpong, rounds=rounds)

            versus(
                f"{framework.name} ping-pong {count}x{rounds}",
                "echo",
                0,
                count,
                pingpong,
                ops=count * rounds,
                expected=LINE,
                unit="round trip",
                group=f"{framework.name}: ping-pong, {count} connection(s) x {rounds} "
                "round trips of 64 B lines",
                goal=PINGPONG_GOAL,
            )
        total = BULK_BYTES[pick]
        mib = total // 2**20

        def bulk(impl: Implementation, total: int = total) -> Work:
            return partial(impl.bulk, total=total)

        versus(
            f"{framework.name} bulk {mib} MiB",
            "sink",
            total,
            1,
            bulk,
            ops=mib,
            expected=b"%d\n" % total,
            unit="MiB",
            group=f"{framework.name}: bulk, {mib} MiB in {WRITE_SIZE // 1024} KiB writes",
            goal=BULK_GOAL,
        )
        if framework.name != "trio":
            continue
        # Other write and read sizes, reported without a goal (trio only: anyio
        # on trio uses the same transport).
        total = SHAPE_BYTES[pick]
        mib = total // 2**20
        for write_size, read_size in SHAPES:

            def shape(
                impl: Implementation, total: int = total, write_size: int = write_size
            ) -> Work:
                return partial(impl.bulk, total=total, write_size=write_size)

            sizes = f"{_kib(write_size)}/{_kib(read_size)}"
            versus(
                f"{framework.name} bulk {sizes}",
                f"sink:{read_size}",
                total,
                1,
                shape,
                ops=mib,
                expected=b"%d\n" % total,
                unit="MiB",
                group=f"{framework.name}: bulk, {mib} MiB, written / read {sizes} at a time",
                goal=None,
            )
    return cases, comparisons


def _kib(size: int) -> str:
    return f"{size // 2**20} MiB" if size >= 2**20 else f"{size // 1024} KiB"


@contextlib.contextmanager
def open_portals() -> Iterator[dict[str, anyio.from_thread.BlockingPortal]]:
    """One event loop thread per framework, for the whole run."""
    with contextlib.ExitStack() as stack:
        yield {
            framework.name: stack.enter_context(
                anyio.from_thread.start_blocking_portal(
                    framework.portal_backend, name=f"bench {framework.name}"
                )
            )
            for framework in FRAMEWORKS
        }


def run(argv: Sequence[str] | None = None) -> int:
    settle_heap()  # asyncio's transports (anyio on asyncio) allocate 256 KiB per recv()
    title = (
        f"sansio_streams_trio / sansio_streams_anyio vs trio's and anyio's streams "
        f"(Python {sys.version.split()[0]}, trio {trio.__version__}, "
        f"anyio {_anyio_version()})"
    )
    closers: list[Callable[[], None]] = []
    with open_portals() as portals:
        try:
            return main(
                title,
                lambda quick: build(quick, portals, closers),
                argv,
                description=__doc__.splitlines()[0] if __doc__ else None,
            )
        finally:
            for close in closers:
                close()


def _anyio_version() -> str:
    from importlib.metadata import version  # noqa: PLC0415

    return version("anyio")


if __name__ == "__main__":
    sys.exit(run())
