"""Measure the pull-based backends' design against the alternatives (docs/design.md).

Run: ``python -m tests.pull_backends.bench_pull`` (a few minutes; not a test).

Each variant connects a loopback TCP pair (made with the stdlib, outside the
timing) and wraps both ends the variant's way:

* ``socket``   -- the shipped design: readiness waits on a socket we own,
  ``recv_into`` the core's buffer, non-blocking ``send``;
* ``anyio-waits`` -- the same, but waiting through anyio's generic
  ``anyio.wait_readable``/``wait_writable`` (no dispatch to the native framework);
* ``stream``   -- the framework's stream (``trio.SocketStream``,
  ``anyio.abc.SocketStream``) driven by the front's generic StreamTransport
  (receive/send_all), i.e. "the frameworks' streams plus a sender";
* baselines: trio's ``SocketStream`` used directly, stdlib asyncio streams, and
  sansio_streams_asyncio.

Workloads: ping-pong round trips of 64 bytes (latency and per-call overhead),
64 MiB sent one way in 64 KiB writes with drain() (throughput), and 200 000
short lines read with readline() (per-read overhead).  Best of 3 runs.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.abc
import trio

from sansio_streams import _front as front
from sansio_streams_anyio import _api as anyio_api
from sansio_streams_anyio import _asyncio as anyio_native
from sansio_streams_trio import _api as trio_api
from sansio_streams_trio import _socket as trio_socket
from sansio_streams_trio import _wrap as trio_wrap

PINGS = 5000
BULK = 64 * 1024 * 1024
LINES = 200_000
LINE = b"x" * 40 + b"\n"


def tcp_pair() -> tuple[socket.socket, socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    return client, server


class AnyioWaitTransport(anyio_native.AsyncioSocketTransport):
    """The socket design, waiting through anyio's generic readiness API."""

    __slots__ = ("_scope",)

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock, None)  # type: ignore[arg-type]
        self._scope: anyio.CancelScope | None = None

    def close(self) -> None:
        sock = self._sock
        if sock.fileno() >= 0:
            anyio.notify_closing(sock)
            sock.close()

    abort = close

    async def wait(self, readable: bool, writable: bool) -> None:
        sock = self._sock
        with anyio.CancelScope() as scope:
            self._scope = scope
            try:
                if readable and writable:
                    async with anyio.create_task_group() as group:

                        async def one(fn: Callable[[Any], Awaitable[None]]) -> None:
                            await fn(sock)
                            group.cancel_scope.cancel()

                        group.start_soon(one, anyio.wait_readable)
                        group.start_soon(one, anyio.wait_writable)
                elif readable:
                    await anyio.wait_readable(sock)
                else:
                    await anyio.wait_writable(sock)
            except anyio.ClosedResourceError:
                pass
            finally:
                self._scope = None

    def interrupt(self) -> None:
        if self._scope is not None:
            self._scope.cancel()


Pair = tuple[Any, Any]
Maker = Callable[[socket.socket], Awaitable[Pair]]


async def make_socket_pair(sock: socket.socket) -> Pair:
    if anyio_api.on_trio():
        return front.pair_over(
            trio_socket.BACKEND,
            trio_socket.SocketTransport(sock),
            trio_api.StreamReader,
            trio_api.StreamWriter,
            limit=2**16,
            server_side=False,
        )
    return front.pair_over(
        anyio_native.ANYIO_BACKEND,
        anyio_native.AsyncioSocketTransport(sock, asyncio.get_running_loop()),
        anyio_api.StreamReader,
        anyio_api.StreamWriter,
        limit=2**16,
        server_side=False,
    )


async def make_anyio_waits_pair(sock: socket.socket) -> Pair:
    sock.setblocking(False)
    return front.pair_over(
        anyio_native.ANYIO_BACKEND,
        AnyioWaitTransport(sock),
        anyio_api.StreamReader,
        anyio_api.StreamWriter,
        limit=2**16,
        server_side=False,
    )


async def make_stream_pair(sock: socket.socket) -> Pair:
    if anyio_api.on_trio() and not USE_ANYIO_STREAMS:
        stream: Any = trio_wrap._TrioStream(trio.SocketStream(trio.socket.from_stdlib_socket(sock)))
        backend: front.Backend = trio_socket.BACKEND
    else:
        from sansio_streams_anyio import _wrap as anyio_wrap  # noqa: PLC0415

        stream = anyio_wrap._AnyioStream(await anyio.abc.SocketStream.from_socket(sock))
        backend = anyio_api.backend()
    return await front.wrap_pair(
        backend,
        stream,
        anyio_api.StreamReader,
        anyio_api.StreamWriter,
        limit=2**16,
        server_side=False,
    )


USE_ANYIO_STREAMS = False


async def make_stdlib_pair(sock: socket.socket) -> Pair:
    return await asyncio.open_connection(sock=sock)


async def make_sansio_asyncio_pair(sock: socket.socket) -> Pair:
    module = importlib.import_module("sansio_streams_asyncio")
    return await module.open_connection(sock=sock)  # type: ignore[no-any-return]


# ------------------------------------------------------------------ workloads


async def ping_pong(make: Maker) -> float:
    a, b = tcp_pair()
    client_r, client_w = await make(a)
    server_r, server_w = await make(b)
    message = b"p" * 64

    async def server() -> None:
        for _ in range(PINGS):
            server_w.write(await server_r.readexactly(64))
            await server_w.drain()

    start = time.perf_counter()
    async with anyio.create_task_group() as group:
        group.start_soon(server)
        for _ in range(PINGS):
            client_w.write(message)
            await client_w.drain()
            await client_r.readexactly(64)
    elapsed = time.perf_counter() - start
    for writer in (client_w, server_w):
        writer.close()
        await writer.wait_closed()
    return elapsed / PINGS * 1e6  # microseconds per round trip


async def bulk(make: Maker) -> float:
    a, b = tcp_pair()
    _client_r, client_w = await make(a)
    server_r, server_w = await make(b)
    chunk = b"b" * 65536

    async def sink() -> None:
        got = 0
        while data := await server_r.read(65536):
            got += len(data)
        assert got == BULK

    start = time.perf_counter()
    async with anyio.create_task_group() as group:
        group.start_soon(sink)
        for _ in range(BULK // len(chunk)):
            client_w.write(chunk)
            await client_w.drain()
        # Queued bytes go out only while the stream is awaited: close and
        # wait_closed() flush the tail (drain() below the high-water mark
        # returns at once, as asyncio's does).
        client_w.close()
        await client_w.wait_closed()
    elapsed = time.perf_counter() - start
    for writer in (client_w, server_w):
        writer.close()
        await writer.wait_closed()
    return BULK / elapsed / 1e6  # MB/s


async def lines(make: Maker) -> float:
    a, b = tcp_pair()
    _client_r, client_w = await make(a)
    server_r, server_w = await make(b)
    block = LINE * 1000

    async def source() -> None:
        for _ in range(LINES // 1000):
            client_w.write(block)
            await client_w.drain()
        client_w.close()
        await client_w.wait_closed()

    start = time.perf_counter()
    async with anyio.create_task_group() as group:
        group.start_soon(source)
        count = 0
        while await server_r.readline():
            count += 1
        assert count == LINES
    elapsed = time.perf_counter() - start
    for writer in (client_w, server_w):
        writer.close()
        await writer.wait_closed()
    return LINES / elapsed / 1e3  # thousand lines per second


# ------------------------------------------------------ trio's own streams


async def raw_trio(kind: str) -> float:
    """trio.SocketStream used directly (the framework's floor for ping-pong/bulk)."""
    a, b = tcp_pair()
    ca = trio.SocketStream(trio.socket.from_stdlib_socket(a))
    cb = trio.SocketStream(trio.socket.from_stdlib_socket(b))
    if kind == "ping":
        message = b"p" * 64

        async def server() -> None:
            for _ in range(PINGS):
                got = b""
                while len(got) < 64:
                    got += await cb.receive_some(64 - len(got))
                await cb.send_all(got)

        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(server)
            for _ in range(PINGS):
                await ca.send_all(message)
                got = b""
                while len(got) < 64:
                    got += await ca.receive_some(64 - len(got))
        result = (time.perf_counter() - start) / PINGS * 1e6
    else:
        chunk = b"b" * 65536

        async def sink() -> None:
            while await cb.receive_some(65536):
                pass

        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sink)
            for _ in range(BULK // len(chunk)):
                await ca.send_all(chunk)
            await ca.send_eof()
        result = BULK / (time.perf_counter() - start) / 1e6
    await ca.aclose()
    await cb.aclose()
    return result


def guarded(
    workload: Callable[[Maker], Awaitable[float]], make: Maker
) -> Callable[[], Awaitable[float]]:
    async def run() -> float:
        with anyio.fail_after(120):
            return await workload(make)

    return run


def best(run: Callable[[], float], higher_is_better: bool) -> float:
    results = [run() for _ in range(3)]
    return max(results) if higher_is_better else min(results)


def measure(
    label: str, runner: Callable[[Callable[[], Awaitable[float]]], float], make: Maker
) -> None:
    if len(sys.argv) > 1 and not any(word in label for word in sys.argv[1:]):
        return
    ping = best(lambda: runner(guarded(ping_pong, make)), False)
    mbps = best(lambda: runner(guarded(bulk, make)), True)
    klps = best(lambda: runner(guarded(lines, make)), True)
    print(f"| {label} | {ping:.1f} | {mbps:.0f} | {klps:.0f} |", flush=True)


def on_trio(fn: Callable[[], Awaitable[float]]) -> float:
    result: float = trio.run(fn)
    return result


def on_anyio_trio(fn: Callable[[], Awaitable[float]]) -> float:
    return anyio.run(fn, backend="trio")


def on_asyncio(fn: Callable[[], Awaitable[float]]) -> float:
    return anyio.run(fn, backend="asyncio")


def on_uvloop(fn: Callable[[], Awaitable[float]]) -> float:
    return anyio.run(fn, backend="asyncio", backend_options={"use_uvloop": True})


def main() -> None:
    global USE_ANYIO_STREAMS  # noqa: PLW0603
    print(
        f"Python {sys.version.split()[0]}, trio {trio.__version__}, "
        f"anyio {importlib.metadata.version('anyio')}"
    )
    print("| variant | ping-pong us/round trip | bulk MB/s | readline k lines/s |")
    print("|---|---|---|---|")
    measure("trio: socket (shipped)", on_trio, make_socket_pair)
    measure("trio: trio.SocketStream + generic sender", on_trio, make_stream_pair)
    if len(sys.argv) == 1 or "bare" in sys.argv[1:]:
        ping = best(lambda: trio.run(raw_trio, "ping"), False)
        mbps = best(lambda: trio.run(raw_trio, "bulk"), True)
        label = "trio: bare trio.SocketStream (no streams API)"
        print(f"| {label} | {ping:.1f} | {mbps:.0f} | - |")
    measure("anyio/asyncio: loop add_reader (shipped)", on_asyncio, make_socket_pair)
    measure("anyio/asyncio: anyio.wait_readable", on_asyncio, make_anyio_waits_pair)
    USE_ANYIO_STREAMS = True
    measure("anyio/asyncio: anyio SocketStream + generic sender", on_asyncio, make_stream_pair)
    USE_ANYIO_STREAMS = False
    measure("anyio/uvloop: loop add_reader (shipped)", on_uvloop, make_socket_pair)
    measure("anyio/trio: trio-native (shipped)", on_anyio_trio, make_socket_pair)
    measure("anyio/trio: anyio.wait_readable", on_anyio_trio, make_anyio_waits_pair)
    USE_ANYIO_STREAMS = True
    measure("anyio/trio: anyio SocketStream + generic sender", on_anyio_trio, make_stream_pair)
    USE_ANYIO_STREAMS = False
    measure("reference: stdlib asyncio streams", on_asyncio, make_stdlib_pair)
    measure("reference: sansio_streams_asyncio", on_asyncio, make_sansio_asyncio_pair)


if __name__ == "__main__":
    main()
