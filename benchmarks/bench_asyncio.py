"""The asyncio backend against asyncio's own streams, on the default loop and uvloop.

Run from the repository root: ``.venv/bin/python benchmarks/bench_asyncio.py``
(about 2.5 minutes; ``--quick`` for a smoke test).  See benchmarks/README.md.

Every workload runs once with ``asyncio``'s stream functions and classes and
once with ``sansio_streams_asyncio``'s (both ends of a connection use the same
implementation), on one loop of each kind made at start; the harness's rounds
interleave all cases in one process.  Workloads:

* ping-pong: the client writes a 64-byte line and awaits ``readline()``; the
  server's handler writes back each line it reads with ``readline()``.  One
  connection doing 20,000 round trips, and 50 connections doing 1,000 each
  concurrently.  Per round trip.  Two ceilings run alongside: bare protocols
  (no streams, no server task) and a minimal stream layer of asyncio's shape.
* bulk: the client sends 256 MiB as 64 KiB ``write()`` + ``drain()``; the
  server reads them with ``read(65536)`` and answers with a line when all has
  arrived.  Per MiB.
* in memory: a ``StreamReader`` made by hand is fed 64 KiB chunks with
  ``feed_data()``, and after each chunk the records it completes are read with
  ``await readline()`` (100-byte lines) or ``await readexactly()`` (a 4-byte
  length, then the payload).  No socket, no suspension.  Per record.  The core's
  ``readline()`` in a bare coroutine is the ceiling.

Connections are made on each case's first (warm-up) call and kept open.  The
heap is settled first (see :func:`settle_heap`).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

if not __package__:  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import Case, Comparison, main
from benchmarks.bench_core import HEADER_SIZE, LINE_SIZE, _completed, make_frames, make_lines

import sansio_streams_asyncio
from sansio_streams import ReadBuffer

uvloop: ModuleType | None
try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a dev dependency
    uvloop = None

LINE = b"x" * 63 + b"\n"
HOST = "127.0.0.1"
WRITE_SIZE = 2**16
READ_SIZE = 2**16

# Workload sizes: (full run, --quick).
PINGPONG_ONE = (20_000, 200)  # round trips on one connection
PINGPONG_MANY = ((50, 1_000), (10, 20))  # (connections, round trips each)
BULK_BYTES = (2**28, 2**23)
MEMORY_LINES_BYTES = (2**20, 2**17)
MEMORY_FRAME_BYTES = {60: (2**20, 2**17), 2**10: (2**20, 2**17)}

# See settle_heap(): above glibc's initial mmap threshold, below its maximum.
HEAP_SETTLE_BYTES = 2**22

# Goals on Python 3.11 (median speedup over asyncio's streams).
PINGPONG_GOAL = 1.15
BULK_GOAL = 1.0
MEMORY_READLINE_GOAL = 2.0

IMPLEMENTATIONS: dict[str, ModuleType] = {
    "asyncio": asyncio,
    "ours": sansio_streams_asyncio,
}


class _Reader(Protocol):
    """What the workloads use of either implementation's ``StreamReader``."""

    def feed_data(self, data: bytes) -> None: ...
    def feed_eof(self) -> None: ...
    async def read(self, n: int = -1) -> bytes: ...
    async def readline(self) -> bytes: ...
    async def readexactly(self, n: int) -> bytes: ...


class _Writer(Protocol):
    def write(self, data: bytes) -> None: ...
    async def drain(self) -> None: ...
    def close(self) -> None: ...
    async def wait_closed(self) -> None: ...


Handler = Callable[[Any, Any], Awaitable[None]]


# ------------------------------------------------------------ stream servers


async def _echo_lines(reader: _Reader, writer: _Writer) -> None:
    readline = reader.readline
    write = writer.write
    while line := await readline():
        write(line)
    writer.close()


def _sink(total: int) -> Handler:
    async def handler(reader: _Reader, writer: _Writer) -> None:
        read = reader.read
        while True:
            got = 0
            while got < total:
                data = await read(READ_SIZE)
                if not data:
                    writer.close()
                    return
                got += len(data)
            writer.write(b"%d\n" % got)

    return handler


class _Session:
    """A loop, a server and connections of one implementation, opened lazily."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, module: ModuleType, handler: Handler, count: int
    ) -> None:
        self.loop = loop
        self.module = module
        self.handler = handler
        self.count = count
        self.server: Any = None
        self.connections: list[tuple[_Reader, _Writer]] = []

    def run(self, work: Callable[[list[tuple[_Reader, _Writer]]], Coroutine[Any, Any, Any]]) -> Any:
        if self.server is None:
            self.loop.run_until_complete(self._open())
        return self.loop.run_until_complete(work(self.connections))

    async def _open(self) -> None:
        module = self.module
        self.server = await module.start_server(self.handler, HOST, 0)
        port = self.server.sockets[0].getsockname()[1]
        for _ in range(self.count):
            self.connections.append(await module.open_connection(HOST, port))

    def close(self) -> None:
        if self.server is not None:
            self.loop.run_until_complete(self._close())

    async def _close(self) -> None:
        for _, writer in self.connections:
            writer.close()
        for _, writer in self.connections:
            await writer.wait_closed()
        self.server.close()
        await self.server.wait_closed()


async def _pingpong(connections: list[tuple[_Reader, _Writer]], rounds: int) -> bytes:
    async def one(reader: _Reader, writer: _Writer) -> bytes:
        write = writer.write
        readline = reader.readline
        line = b""
        for _ in range(rounds):
            write(LINE)
            line = await readline()
        return line

    if len(connections) == 1:
        return await one(*connections[0])
    lines = await asyncio.gather(*(one(r, w) for r, w in connections))
    return LINE if all(line == LINE for line in lines) else b"mismatch"


async def _bulk(connections: list[tuple[_Reader, _Writer]], total: int) -> bytes:
    ((reader, writer),) = connections
    chunk = b"b" * WRITE_SIZE
    write = writer.write
    drain = writer.drain
    for _ in range(total // WRITE_SIZE):
        write(chunk)
        await drain()
    return await reader.readline()


# ------------------------------------------------------------------ ceilings


class _EchoProtocol(asyncio.Protocol):
    """Bare protocols, server side: echo every receive, in the callback."""

    transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class _ClientProtocol(asyncio.Protocol):
    """Bare protocols, client side: a future per reply of len(LINE) bytes."""

    transport: asyncio.Transport

    def __init__(self) -> None:
        self.waiter: asyncio.Future[bytes] | None = None
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= len(LINE) and self.waiter is not None:
            line, self.buffer = self.buffer[: len(LINE)], self.buffer[len(LINE) :]
            self.waiter.set_result(line)
            self.waiter = None


class _BareSession:
    """Ping-pong between bare protocols: no stream layer and no server task."""

    def __init__(self, loop: asyncio.AbstractEventLoop, count: int) -> None:
        self.loop = loop
        self.count = count
        self.server: asyncio.Server | None = None
        self.clients: list[_ClientProtocol] = []

    def run(self, rounds: int) -> bytes:
        if self.server is None:
            self.loop.run_until_complete(self._open())
        return self.loop.run_until_complete(self._pingpong(rounds))

    async def _open(self) -> None:
        loop = self.loop
        self.server = await loop.create_server(_EchoProtocol, HOST, 0)
        port = self.server.sockets[0].getsockname()[1]
        for _ in range(self.count):
            _, client = await loop.create_connection(_ClientProtocol, HOST, port)
            self.clients.append(client)

    async def _pingpong(self, rounds: int) -> bytes:
        create_future = self.loop.create_future

        async def one(client: _ClientProtocol) -> bytes:
            write = client.transport.write
            line = b""
            for _ in range(rounds):
                client.waiter = waiter = create_future()
                write(LINE)
                line = await waiter
            return line

        lines = await asyncio.gather(*(one(client) for client in self.clients))
        return LINE if all(line == LINE for line in lines) else b"mismatch"

    def close(self) -> None:
        if self.server is not None:
            self.loop.run_until_complete(self._close())

    async def _close(self) -> None:
        for client in self.clients:
            client.transport.close()
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        await asyncio.sleep(0)


class _MinimalReader:
    """The least a stream reader with asyncio's shape does: a bytearray, a
    find, a future to wait on.  No limit, no flow control, no error handling."""

    __slots__ = ("buffer", "eof", "loop", "waiter")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.buffer = bytearray()
        self.waiter: asyncio.Future[None] | None = None
        self.eof = False

    async def readline(self) -> bytes:
        buffer = self.buffer
        while True:
            end = buffer.find(b"\n") + 1
            if end:
                line = bytes(buffer[:end])
                del buffer[:end]
                return line
            if self.eof:
                return b""
            self.waiter = waiter = self.loop.create_future()
            await waiter

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            waiter.set_result(None)


class _MinimalWriter:
    __slots__ = ("transport",)

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    def close(self) -> None:
        self.transport.close()


class _MinimalProtocol(asyncio.Protocol):
    """Feeds a :class:`_MinimalReader`; on a server, runs the handler as a task."""

    def __init__(self, loop: asyncio.AbstractEventLoop, handler: Handler | None = None) -> None:
        self.loop = loop
        self.reader = _MinimalReader(loop)
        self.handler = handler
        self.writer: _MinimalWriter | None = None
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.writer = _MinimalWriter(transport)  # type: ignore[arg-type]
        if self.handler is not None:
            self.task = self.loop.create_task(self.handler(self.reader, self.writer))  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.buffer += data
        reader.wake()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.reader.eof = True
        self.reader.wake()


class _MinimalSession:
    """Ping-pong through :class:`_MinimalReader`: the cheapest stream layer
    with asyncio's structure (a task per server connection, a future per wait)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, count: int) -> None:
        self.loop = loop
        self.count = count
        self.server: asyncio.Server | None = None
        self.protocols: list[_MinimalProtocol] = []

    def run(self, rounds: int) -> bytes:
        if self.server is None:
            self.loop.run_until_complete(self._open())
        connections: list[tuple[Any, Any]] = [(p.reader, p.writer) for p in self.protocols]
        return self.loop.run_until_complete(_pingpong(connections, rounds))

    async def _open(self) -> None:
        loop = self.loop
        self.server = await loop.create_server(lambda: _MinimalProtocol(loop, _echo_lines), HOST, 0)
        port = self.server.sockets[0].getsockname()[1]
        for _ in range(self.count):
            _, protocol = await loop.create_connection(lambda: _MinimalProtocol(loop), HOST, port)
            self.protocols.append(protocol)

    def close(self) -> None:
        if self.server is not None:
            self.loop.run_until_complete(self._close())

    async def _close(self) -> None:
        for protocol in self.protocols:
            assert protocol.writer is not None
            protocol.writer.close()
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        await asyncio.sleep(0)


# ----------------------------------------------------------------- in memory


class _CoreInCoroutine:
    """The floor of any ``StreamReader`` on the core: ``ReadBuffer.readline()``
    in a coroutine that does nothing else (it never waits: the workload awaits
    only complete lines)."""

    __slots__ = ("_core",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._core = ReadBuffer()

    def feed_data(self, data: bytes) -> None:
        self._core.feed_data(data)

    async def readline(self) -> bytes:
        return self._core.readline()  # type: ignore[return-value]


def _memory_readline(
    loop: asyncio.AbstractEventLoop,
    module: ModuleType | None,
    *,
    chunks: Sequence[bytes],
) -> Callable[[], bytes]:
    """``module.StreamReader``, or :class:`_CoreInCoroutine` for None."""
    counts = _completed(chunks, LINE_SIZE)
    pairs = list(zip(chunks, counts, strict=True))
    reader_class: Callable[..., Any] = _CoreInCoroutine if module is None else module.StreamReader

    async def consume(reader: _Reader) -> bytes:
        feed = reader.feed_data
        readline = reader.readline
        line = b""
        for chunk, count in pairs:
            feed(chunk)
            for _ in range(count):
                line = await readline()
        return line

    def run() -> bytes:
        return loop.run_until_complete(consume(reader_class(loop=loop)))

    return run


def _memory_frames(
    loop: asyncio.AbstractEventLoop, module: ModuleType, *, chunks: Sequence[bytes], size: int
) -> Callable[[], bytes]:
    counts = _completed(chunks, HEADER_SIZE + size)
    pairs = list(zip(chunks, counts, strict=True))
    reader_class = module.StreamReader

    async def consume(reader: _Reader) -> bytes:
        feed = reader.feed_data
        readexactly = reader.readexactly
        payload = b""
        for chunk, count in pairs:
            feed(chunk)
            for _ in range(count):
                payload = await readexactly(int.from_bytes(await readexactly(HEADER_SIZE), "big"))
        return payload

    def run() -> bytes:
        return loop.run_until_complete(consume(reader_class(loop=loop)))

    return run


# --------------------------------------------------------------------- cases


def make_loops() -> dict[str, asyncio.AbstractEventLoop]:
    loops = {"default": asyncio.new_event_loop()}
    if uvloop is not None:
        loops["uvloop"] = uvloop.new_event_loop()
    return loops


def build(
    quick: bool,
    loops: dict[str, asyncio.AbstractEventLoop],
    closers: list[Callable[[], None]],
) -> tuple[list[Case], list[Comparison]]:
    pick = 1 if quick else 0
    cases: list[Case] = []
    comparisons: list[Comparison] = []

    def versus(
        prefix: str,
        make: Callable[[ModuleType], Callable[[], object]],
        *,
        ops: int,
        expected: object,
        unit: str,
        group: str,
        goal: float | None,
    ) -> None:
        """A case per implementation, and ours against asyncio's."""
        for impl, module in IMPLEMENTATIONS.items():
            cases.append(Case(f"{prefix} {impl}", make(module), ops, expected, unit, group))
        comparisons.append(
            Comparison(f"{prefix}: ours vs asyncio", f"{prefix} ours", f"{prefix} asyncio", goal)
        )

    for loop_name, loop in loops.items():
        for count, rounds in ((1, PINGPONG_ONE[pick]), PINGPONG_MANY[pick]):
            prefix = f"{loop_name} ping-pong {count}x{rounds}"
            group = f"{loop_name} loop: ping-pong, {count} connection(s) x {rounds} round trips"

            def make_pingpong(
                module: ModuleType,
                loop: asyncio.AbstractEventLoop = loop,
                count: int = count,
                rounds: int = rounds,
            ) -> Callable[[], object]:
                session = _Session(loop, module, _echo_lines, count)
                closers.append(session.close)
                return lambda: session.run(lambda conns: _pingpong(conns, rounds))

            ops = count * rounds
            versus(
                prefix,
                make_pingpong,
                ops=ops,
                expected=LINE,
                unit="round trip",
                group=group,
                goal=PINGPONG_GOAL,
            )
            for kind, session_class in (
                ("minimal streams", _MinimalSession),
                ("bare protocols", _BareSession),
            ):
                ceiling = session_class(loop, count)
                closers.append(ceiling.close)
                cases.append(
                    Case(
                        f"{prefix} {kind}",
                        partial(ceiling.run, rounds),
                        ops,
                        LINE,
                        "round trip",
                        group,
                    )
                )
                comparisons.append(
                    Comparison(
                        f"{prefix}: {kind} vs asyncio (ceiling)",
                        f"{prefix} {kind}",
                        f"{prefix} asyncio",
                    )
                )

        total = BULK_BYTES[pick]
        mib = total // 2**20
        prefix = f"{loop_name} bulk {mib} MiB"
        group = f"{loop_name} loop: bulk, {mib} MiB in {WRITE_SIZE // 1024} KiB writes"

        def make_bulk(
            module: ModuleType, loop: asyncio.AbstractEventLoop = loop, total: int = total
        ) -> Callable[[], object]:
            session = _Session(loop, module, _sink(total), 1)
            closers.append(session.close)
            return lambda: session.run(lambda conns: _bulk(conns, total))

        versus(
            prefix,
            make_bulk,
            ops=mib,
            expected=b"%d\n" % total,
            unit="MiB",
            group=group,
            goal=BULK_GOAL,
        )

        chunks, count, last = make_lines(MEMORY_LINES_BYTES[pick])
        prefix = f"{loop_name} memory readline"
        group = f"{loop_name} loop: in memory, {count} x {LINE_SIZE} B lines, 64 KiB feeds"
        versus(
            prefix,
            partial(_memory_readline, loop, chunks=chunks),
            ops=count,
            expected=last,
            unit="line",
            group=group,
            goal=MEMORY_READLINE_GOAL,
        )
        cases.append(
            Case(
                f"{prefix} core in a coroutine",
                _memory_readline(loop, None, chunks=chunks),
                count,
                last,
                "line",
                group,
            )
        )
        comparisons.append(
            Comparison(
                f"{prefix}: core in a coroutine vs asyncio (ceiling)",
                f"{prefix} core in a coroutine",
                f"{prefix} asyncio",
            )
        )
        for size, sizes in MEMORY_FRAME_BYTES.items():
            chunks, count, last = make_frames(size, sizes[pick])
            name = f"{size // 1024} KiB" if size >= 1024 else f"{size} B"
            prefix = f"{loop_name} memory readexactly {name}"
            group = f"{loop_name} loop: in memory, {count} x (4 B + {name}) frames, 64 KiB feeds"
            versus(
                prefix,
                partial(_memory_frames, loop, chunks=chunks, size=size),
                ops=count,
                expected=last,
                unit="frame",
                group=group,
                goal=None,
            )
    return cases, comparisons


def settle_heap() -> None:
    """Allocate and free one large block, as any long-running process has done.

    glibc's malloc serves blocks above its mmap threshold (128 KiB at start)
    with mmap(), and raises the threshold the first time such a block is
    freed.  Until then, each 256 KiB ``recv()`` of asyncio's plain-protocol
    receive path on the default loop costs an mmap()/munmap() pair and a page
    fault: asyncio's streams measured about 2.3x slower at ping-pong in a
    fresh process (our receive buffer is reused, so unaffected).  Measure the
    steady state instead, the same whatever ``-k`` selects.
    """
    block = bytearray(HEAP_SETTLE_BYTES)
    del block


def run(argv: Sequence[str] | None = None) -> int:
    settle_heap()
    loops = make_loops()
    closers: list[Callable[[], None]] = []
    title = (
        f"sansio_streams_asyncio vs asyncio streams (Python {sys.version.split()[0]}"
        + (
            f", uvloop {getattr(uvloop, '__version__', '?')}"
            if uvloop is not None
            else ", no uvloop"
        )
        + ")"
    )
    try:
        return main(
            title,
            lambda quick: build(quick, loops, closers),
            argv,
            description=__doc__.splitlines()[0] if __doc__ else None,
        )
    finally:
        for close in closers:
            close()
        for loop in loops.values():
            loop.close()


if __name__ == "__main__":
    sys.exit(run())
