"""Focused tests of sansio_streams_asyncio's reader, writer, protocol and server logic.

Each async test body runs twice, on asyncio's default event loop and on uvloop,
through the ``run`` fixture below (its own ``asyncio.Runner``, independent of the
directory's conftest).  Network tests use real sockets on 127.0.0.1 or a Unix
socket in ``tmp_path``; every test has a timeout and closes what it opens (the
suite turns ResourceWarnings into errors).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import pickle
import socket
import ssl
import struct
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trustme

import sansio_streams
import sansio_streams_asyncio as ss
import sansio_streams_asyncio._protocol as protocol_module
from sansio_streams_asyncio import (
    StartTLSInjectionError,
    StreamReader,
    StreamReaderProtocol,
    StreamWriter,
)

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a test dependency on Unix
    HAVE_UVLOOP = False
else:
    HAVE_UVLOOP = True

T = TypeVar("T")
Run = Callable[[Coroutine[Any, Any, T]], T]
Handler = Callable[[StreamReader, StreamWriter], Awaitable[None]]

LOOP_FACTORIES: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
}
if HAVE_UVLOOP:
    LOOP_FACTORIES["uvloop"] = uvloop.new_event_loop

needs_unix = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="Unix sockets")


@pytest.fixture(params=sorted(LOOP_FACTORIES))
def run(request: pytest.FixtureRequest) -> Iterator[Run[Any]]:
    """Run a coroutine to completion on a fresh loop of the parametrized kind."""
    factory = LOOP_FACTORIES[request.param]
    with asyncio.Runner(loop_factory=factory) as runner:
        yield runner.run


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_contexts(ca: trustme.CA) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context) for ``localhost``."""
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx


def port_of(server: ss.Server) -> int:
    port: int = server.sockets[0].getsockname()[1]
    return port


@asynccontextmanager
async def serving(handler: Handler, **kwds: Any) -> AsyncIterator[ss.Server]:
    """A TCP server on 127.0.0.1 running ``handler``; closed (clients too) on exit."""
    server = await ss.start_server(handler, "127.0.0.1", 0, **kwds)
    try:
        yield server
    finally:
        server.close()
        server.close_clients()
        await asyncio.wait_for(server.wait_closed(), 5)


async def close(writer: StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):  # a reset is fine here: the test is over
        await writer.wait_closed()


class ClosedTransport(asyncio.Transport):
    """The least transport for hand-built protocols: already closing, no pause support."""

    def is_closing(self) -> bool:
        return True


def drop(objects: list[Any]) -> None:
    """Drop the last references to ``objects`` and collect their cycles now."""
    objects.clear()
    gc.collect()


def collect_exceptions(loop: asyncio.AbstractEventLoop) -> list[dict[str, Any]]:
    contexts: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: contexts.append(context))
    return contexts


# ------------------------------------------------------------------ the package


def test_public_names() -> None:
    assert isinstance(ss.__all__, tuple)
    for name in (
        "open_connection",
        "start_server",
        "StreamReader",
        "StreamWriter",
        "StreamReaderProtocol",
        "Server",
        "IncompleteReadError",
        "LimitOverrunError",
    ):
        assert name in ss.__all__
        assert hasattr(ss, name)
    if hasattr(socket, "AF_UNIX"):
        assert "open_unix_connection" in ss.__all__
        assert "start_unix_server" in ss.__all__
    # The core's exceptions, which asyncio's handlers also catch.
    assert ss.IncompleteReadError is sansio_streams.IncompleteReadError
    assert ss.LimitOverrunError is sansio_streams.LimitOverrunError
    assert issubclass(ss.IncompleteReadError, asyncio.IncompleteReadError)
    assert issubclass(StartTLSInjectionError, ssl.SSLError)


# ------------------------------------------------------- StreamReader, hand-fed


@pytest.mark.timeout(10)
def test_reader_outside_a_loop_is_fine() -> None:
    # No running loop, no warning (asyncio 3.12+ would warn in get_event_loop()).
    reader = StreamReader()
    reader.feed_data(b"line\n")
    reader.feed_eof()

    async def main() -> list[bytes]:
        return [await reader.readline(), await reader.readline()]

    assert asyncio.run(main()) == [b"line\n", b""]


@pytest.mark.timeout(10)
def test_reader_reads_like_asyncio(run: Run[None]) -> None:
    async def main() -> None:
        reader = StreamReader(limit=8)
        reader.feed_data(b"ab\ncd|ef||gh")
        assert await reader.readline() == b"ab\n"
        assert await reader.readuntil((b"||", b"|")) == b"cd|"
        assert await reader.readuntil((b"||", b"|")) == b"ef|"
        assert await reader.read(0) == b""
        assert await reader.readexactly(2) == b"|g"
        assert await reader.read(5) == b"h"
        reader.feed_data(b"0123456789|")
        with pytest.raises(ss.LimitOverrunError):
            await reader.readuntil(b"|")
        assert await reader.read(11) == b"0123456789|"
        reader.feed_data(b"tail")
        reader.feed_eof()
        assert not reader.at_eof()
        with pytest.raises(ss.IncompleteReadError) as info:
            await reader.readexactly(10)
        assert info.value.partial == b"tail"
        assert info.value.expected == 10
        assert reader.at_eof()
        assert await reader.read() == b""
        with pytest.raises(RuntimeError):
            reader.feed_data(b"more")

    run(main())


@pytest.mark.timeout(10)
def test_reader_waits_for_data_eof_and_exception(run: Run[None]) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        reader = StreamReader(loop=loop)
        loop.call_soon(reader.feed_data, b"part")
        loop.call_later(0.01, reader.feed_data, b"ial\nrest")
        assert await reader.readline() == b"partial\n"
        loop.call_soon(reader.feed_eof)
        assert await reader.read() == b"rest"

        reader = StreamReader()
        error = ConnectionResetError("gone")
        loop.call_soon(reader.set_exception, error)
        with pytest.raises(ConnectionResetError) as info:
            await reader.readexactly(3)
        assert info.value is error
        assert reader.exception() is error

    run(main())


@pytest.mark.timeout(10)
def test_async_iteration(run: Run[None]) -> None:
    async def main() -> None:
        reader = StreamReader()
        loop = asyncio.get_running_loop()
        loop.call_soon(reader.feed_data, b"a\nb\nc")
        loop.call_later(0.01, reader.feed_eof)
        assert [line async for line in reader] == [b"a\n", b"b\n", b"c"]

    run(main())


async def _second_reader_error(
    make_reader: Callable[[], Any],
    first: Callable[[Any], Awaitable[Any]],
    second: Callable[[Any], Awaitable[Any]],
) -> str:
    reader = make_reader()
    waiting = asyncio.ensure_future(first(reader))
    await asyncio.sleep(0)
    try:
        with pytest.raises(RuntimeError) as info:
            await second(reader)
    finally:
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    return str(info.value)


@pytest.mark.parametrize(
    "second",
    [
        pytest.param(lambda r: r.read(), id="read"),
        pytest.param(lambda r: r.read(5), id="read-n"),
        pytest.param(lambda r: r.readline(), id="readline"),
        pytest.param(lambda r: r.readexactly(2), id="readexactly"),
        pytest.param(lambda r: r.readuntil(b"|"), id="readuntil"),
        pytest.param(lambda r: r.__anext__(), id="anext"),
    ],
)
@pytest.mark.timeout(10)
def test_second_waiting_reader_raises_asyncios_runtime_error(
    run: Run[None], second: Callable[[Any], Awaitable[Any]]
) -> None:
    async def main() -> None:
        ours = await _second_reader_error(StreamReader, lambda r: r.readline(), second)
        # Same message, function name included, as asyncio's own reader.
        theirs = await _second_reader_error(asyncio.StreamReader, lambda r: r.readline(), second)
        assert ours == theirs
        assert "called while another coroutine is already waiting for incoming data" in ours

    run(main())


@pytest.mark.timeout(10)
def test_cancelled_read_loses_nothing(run: Run[None]) -> None:
    async def main() -> None:
        reader = StreamReader()
        reader.feed_data(b"no newline yet")
        task = asyncio.ensure_future(reader.readline())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        reader.feed_data(b"\n")
        assert await reader.readline() == b"no newline yet\n"

    run(main())


@pytest.mark.timeout(10)
def test_reader_repr_matches_asyncio(run: Run[None]) -> None:
    async def main() -> None:
        for make in (StreamReader, asyncio.StreamReader):
            reader = make(limit=10)
            assert repr(reader) == "<StreamReader limit=10>"
            reader.feed_data(b"abc")
            reader.feed_eof()
            reader.set_exception(ValueError("x"))
            assert repr(reader) == "<StreamReader 3 bytes eof limit=10 exception=ValueError('x')>"
        reader = StreamReader()
        task = asyncio.ensure_future(reader.read(1))
        await asyncio.sleep(0)
        assert repr(reader).startswith("<StreamReader waiter=<Future pending")
        reader.feed_eof()
        assert await task == b""
        assert repr(reader) == "<StreamReader eof>"

    run(main())


def test_reader_rejects_bad_limit() -> None:
    with pytest.raises(ValueError, match="Limit cannot be <= 0"):
        StreamReader(limit=0)


@pytest.mark.timeout(10)
def test_transport_without_pause_support_is_forgotten(run: Run[None]) -> None:
    async def main() -> None:
        reader = StreamReader(limit=4)
        transport = asyncio.Transport()  # pause_reading() raises NotImplementedError
        reader.set_transport(transport)
        reader.feed_data(b"0123456789")  # over 2 * limit: asyncio tries to pause
        assert "transport=" not in repr(reader)
        assert "paused" not in repr(reader)
        reader.feed_data(b"more")  # keeps buffering
        reader.feed_eof()
        assert await reader.read() == b"0123456789more"

    run(main())


# ------------------------------------------------------ flow control, real sockets


@pytest.mark.timeout(20)
def test_reader_pauses_and_resumes_the_transport(run: Run[None]) -> None:
    limit = 1024
    payload = os.urandom(1_000_000)

    async def handler(reader: StreamReader, writer: StreamWriter) -> None:
        writer.write(payload)
        await writer.drain()
        await close(writer)

    async def main() -> None:
        async with serving(handler) as server:
            reader, writer = await ss.open_connection("127.0.0.1", port_of(server), limit=limit)
            transport = writer.transport
            for _ in range(200):  # until more than 2 * limit is buffered
                await asyncio.sleep(0.005)
                if "paused" in repr(reader):
                    break
            assert "paused" in repr(reader)
            assert not transport.is_reading()  # type: ignore[attr-defined]
            # Reading down to the limit resumes it.
            chunk = await reader.read(10**9)
            assert "paused" not in repr(reader)
            assert transport.is_reading()  # type: ignore[attr-defined]
            # read(-1) needs more than the limit: it must never stall.
            rest = await asyncio.wait_for(reader.read(), 10)
            assert chunk + rest == payload
            await close(writer)

    run(main())


@pytest.mark.timeout(20)
def test_readexactly_over_the_limit_does_not_stall(run: Run[None]) -> None:
    payload = os.urandom(300_000)

    async def handler(reader: StreamReader, writer: StreamWriter) -> None:
        writer.write(payload)
        await writer.drain()
        await close(writer)

    async def main() -> None:
        async with serving(handler) as server:
            reader, writer = await ss.open_connection("127.0.0.1", port_of(server), limit=100)
            assert await asyncio.wait_for(reader.readexactly(len(payload)), 10) == payload
            await close(writer)

    run(main())


@pytest.mark.timeout(20)
def test_many_tasks_drain_at_once(run: Run[None]) -> None:
    async def main() -> None:
        release = asyncio.Event()
        received: list[int] = []

        async def handler(reader: StreamReader, writer: StreamWriter) -> None:
            await release.wait()  # do not read: the client's buffer fills up
            received.append(len(await reader.read()))
            await close(writer)

        async with serving(handler) as server:
            reader, writer = await ss.open_connection("127.0.0.1", port_of(server))
            writer.transport.set_write_buffer_limits(high=1024)
            chunk = b"x" * 65536
            total = 0
            drains: list[asyncio.Task[None]] = []
            while len(drains) < 4:
                writer.write(chunk)
                total += len(chunk)
                drain = asyncio.ensure_future(writer.drain())
                await asyncio.sleep(0.01)
                if not drain.done():
                    drains.append(drain)
                    # The others pile onto the same paused transport.
                    drains += [asyncio.ensure_future(writer.drain()) for _ in range(3)]
            await asyncio.sleep(0.05)
            assert not any(d.done() for d in drains)
            release.set()
            await asyncio.wait_for(asyncio.gather(*drains), 10)
            writer.write_eof()
            await asyncio.wait_for(reader.read(), 10)
            assert received == [total]
            await close(writer)

    run(main())


@pytest.mark.timeout(10)
def test_drain_after_close_and_after_loss(run: Run[None]) -> None:
    async def handler(reader: StreamReader, writer: StreamWriter) -> None:
        await reader.read()
        await close(writer)

    async def main() -> None:
        async with serving(handler) as server:
            reader, writer = await ss.open_connection("127.0.0.1", port_of(server))
            writer.close()
            # The transport is closing: drain() yields so connection_lost() runs.
            with pytest.raises(ConnectionResetError, match="Connection lost"):
                await writer.drain()
            await writer.wait_closed()
            with pytest.raises(ConnectionResetError, match="Connection lost"):
                await writer.drain()
            # wait_closed() again returns at once.
            await writer.wait_closed()
            assert reader.at_eof()

    run(main())


@pytest.mark.timeout(10)
def test_drain_raises_the_readers_exception(run: Run[None]) -> None:
    async def main() -> None:
        async with serving(lambda r, w: close(w)) as server:
            reader, writer = await ss.open_connection("127.0.0.1", port_of(server))
            error = ValueError("reader broke")
            reader.set_exception(error)
            with pytest.raises(ValueError, match="reader broke"):
                await writer.drain()
            await close(writer)

    run(main())


@pytest.mark.timeout(10)
def test_connection_lost_with_error(run: Run[None]) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        reader = StreamReader(loop=loop)
        protocol = StreamReaderProtocol(reader, loop=loop)
        transport = ClosedTransport()
        protocol.connection_made(transport)
        writer = StreamWriter(transport, protocol, reader, loop)
        waiting = asyncio.ensure_future(writer.wait_closed())
        reading = asyncio.ensure_future(reader.read())
        await asyncio.sleep(0)
        error = ConnectionAbortedError("lost")
        protocol.connection_lost(error)
        for task in (waiting, reading):
            with pytest.raises(ConnectionAbortedError):
                await task
        with pytest.raises(ConnectionAbortedError):
            await writer.wait_closed()
        with pytest.raises(ConnectionAbortedError):
            await writer.drain()  # the reader's exception first
        del writer  # its transport "is closing": no ResourceWarning

    run(main())


@pytest.mark.timeout(10)
def test_eof_received_keeps_tcp_half_open_but_not_tls() -> None:
    reader = StreamReader()
    protocol = StreamReaderProtocol(reader)
    protocol.connection_made(asyncio.Transport())
    assert protocol.eof_received() is True
    assert reader.at_eof()

    tls_protocol = StreamReaderProtocol(StreamReader())
    tls_protocol.connection_made(asyncio.Transport({"sslcontext": ssl.create_default_context()}))
    assert tls_protocol.eof_received() is False


@pytest.mark.timeout(10)
def test_half_close_over_tcp(run: Run[None]) -> None:
    async def handler(reader: StreamReader, writer: StreamWriter) -> None:
        data = await reader.read()  # until the client's EOF
        writer.write(data[::-1])  # the connection is still writable
        await close(writer)

    async def main() -> None:
        async with serving(handler) as server:
            reader, writer = await ss.open_connection("127.0.0.1", port_of(server))
            assert writer.can_write_eof()
            writer.write(b"abc")
            writer.write_eof()
            assert await reader.read() == b"cba"
            await close(writer)

    run(main())


@needs_unix
@pytest.mark.timeout(10)
def test_protocol_works_on_pipes_with_data_received(run: Run[None]) -> None:
    read_fd, write_fd = os.pipe()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        reader = StreamReader()
        with open(read_fd, "rb", buffering=0) as pipe:  # noqa: ASYNC230 - no I/O here
            transport, _ = await loop.connect_read_pipe(lambda: StreamReaderProtocol(reader), pipe)
            os.write(write_fd, b"through a pipe\n")
            os.close(write_fd)
            assert await reader.readline() == b"through a pipe\n"
            assert await reader.read() == b""
            transport.close()

    run(main())


class SnoopingProtocol(StreamReaderProtocol):
    """A subclass that overrides data_received(), as asyncio's allows."""

    seen: list[bytes]

    def data_received(self, data: bytes) -> None:
        self.seen.append(data)
        super().data_received(data)


@pytest.mark.timeout(10)
def test_subclass_overriding_data_received_sees_every_byte(run: Run[None]) -> None:
    async def handler(reader: StreamReader, writer: StreamWriter) -> None:
        writer.write(b"one\ntwo\n")
        await close(writer)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        async with serving(handler) as server:
            reader = StreamReader()
            protocol = SnoopingProtocol(reader)
            protocol.seen = []
            transport, _ = await loop.create_connection(
                lambda: protocol, "127.0.0.1", port_of(server)
            )
            writer = StreamWriter(transport, protocol, reader, loop)
            assert await reader.read() == b"one\ntwo\n"
            assert b"".join(protocol.seen) == b"one\ntwo\n"
            await close(writer)

    run(main())


@pytest.mark.parametrize("into_core", [False, True], ids=["scratch", "into-core"])
@pytest.mark.timeout(20)
def test_both_receive_paths(
    run: Run[None],
    monkeypatch: pytest.MonkeyPatch,
    tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext],
    into_core: bool,
) -> None:
    # The zero-copy path into the core is off by default (see get_buffer());
    # both must deliver the same bytes, over TCP and over TLS.
    monkeypatch.setattr(protocol_module, "_RECEIVE_INTO_CORE", into_core)
    server_ctx, client_ctx = tls_contexts
    payload = os.urandom(2_000_000) + b"\nend\n"

    async def handler(reader: StreamReader, writer: StreamWriter) -> None:
        writer.write(await reader.readuntil(b"\nend\n"))
        await writer.drain()
        await close(writer)

    async def main() -> None:
        for tls in (None, server_ctx):
            async with serving(handler, ssl=tls, limit=2**22) as server:
                reader, writer = await ss.open_connection(
                    "127.0.0.1",
                    port_of(server),
                    ssl=None if tls is None else client_ctx,
                    server_hostname=None if tls is None else "localhost",
                )
                writer.write(payload)
                assert await asyncio.wait_for(reader.readexactly(len(payload)), 10) == payload
                await close(writer)

    run(main())


# ---------------------------------------------------------------- handlers


@pytest.mark.timeout(10)
def test_handler_exception_calls_the_exception_handler_and_closes(run: Run[None]) -> None:
    async def handler(reader: StreamReader, writer: StreamWriter) -> None:
        await reader.readline()
        raise ZeroDivisionError("handler failed")

    async def main() -> None:
        contexts = collect_exceptions(asyncio.get_running_loop())
        async with serving(handler) as server:
            reader, writer = await ss.open_connection("127.0.0.1", port_of(server))
            writer.write(b"go\n")
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
            await close(writer)
        [context] = contexts
        assert context["message"] == "Unhandled exception in client_connected_cb"
        assert isinstance(context["exception"], ZeroDivisionError)
        assert context["transport"].is_closing()

    run(main())


@pytest.mark.timeout(10)
def test_cancelled_handler_closes_the_transport(run: Run[None]) -> None:
    async def main() -> None:
        contexts = collect_exceptions(asyncio.get_running_loop())
        tasks: list[asyncio.Task[Any]] = []
        started = asyncio.Event()

        async def handler(reader: StreamReader, writer: StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            tasks.append(task)
            started.set()
            await asyncio.sleep(100)

        async with serving(handler) as server:
            reader, writer = await ss.open_connection("127.0.0.1", port_of(server))
            await started.wait()
            tasks[0].cancel()
            assert await asyncio.wait_for(reader.read(), 5) == b""
            await close(writer)
        assert contexts == []

    run(main())


@pytest.mark.timeout(10)
def test_returning_handler_leaves_the_connection_open(run: Run[None]) -> None:
    async def main() -> None:
        kept: list[tuple[StreamReader, StreamWriter]] = []
        connected = asyncio.Event()

        async def handler(reader: StreamReader, writer: StreamWriter) -> None:
            kept.append((reader, writer))  # returns at once, connection stays
            connected.set()

        async with serving(handler) as server:
            reader, writer = await ss.open_connection("127.0.0.1", port_of(server))
            await connected.wait()
            await asyncio.sleep(0.01)  # the handler task is done by now
            server_reader, server_writer = kept[0]
            assert not server_writer.is_closing()
            writer.write(b"still there?\n")
            assert await server_reader.readline() == b"still there?\n"
            server_writer.write(b"yes\n")
            assert await reader.readline() == b"yes\n"
            await close(server_writer)
            await close(writer)

    run(main())


@pytest.mark.timeout(10)
def test_plain_function_callback(run: Run[None]) -> None:
    def callback(reader: StreamReader, writer: StreamWriter) -> None:
        writer.write(b"hi from a plain function\n")
        writer.close()

    async def main() -> None:
        async with serving(callback) as server:  # type: ignore[arg-type]
            reader, writer = await ss.open_connection("127.0.0.1", port_of(server))
            assert await reader.read() == b"hi from a plain function\n"
            await close(writer)

    run(main())


# ------------------------------------------------------------------ Server


@pytest.mark.timeout(10)
def test_server_basics(run: Run[None]) -> None:
    async def main() -> None:
        server = await ss.start_server(lambda r, w: close(w), "127.0.0.1", 0, start_serving=False)
        assert isinstance(server, asyncio.AbstractServer)
        assert server.get_loop() is asyncio.get_running_loop()
        assert not server.is_serving()
        assert repr(server).startswith("<Server sockets=(")
        await server.start_serving()
        assert server.is_serving()
        async with server:
            reader, writer = await ss.open_connection("127.0.0.1", port_of(server))
            assert await reader.read() == b""
            await close(writer)
        assert not server.is_serving()
        assert server.sockets == ()
        await server.wait_closed()  # returns at once now
        server.close()  # idempotent
        with pytest.raises(RuntimeError, match="is closed"):
            await server.serve_forever()

    run(main())


@pytest.mark.timeout(10)
def test_serve_forever(run: Run[None]) -> None:
    async def main() -> None:
        server = await ss.start_server(lambda r, w: close(w), "127.0.0.1", 0)
        task = asyncio.ensure_future(server.serve_forever())
        await asyncio.sleep(0.01)
        with pytest.raises(RuntimeError, match="already being awaited"):
            await server.serve_forever()
        reader, writer = await ss.open_connection("127.0.0.1", port_of(server))
        assert await reader.read() == b""
        await close(writer)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not server.is_serving()
        assert server.sockets == ()

        # close() ends serve_forever() too (it raises CancelledError, as asyncio).
        server = await ss.start_server(lambda r, w: close(w), "127.0.0.1", 0)
        task = asyncio.ensure_future(server.serve_forever())
        await asyncio.sleep(0.01)
        server.close()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())


@pytest.mark.timeout(10)
def test_wait_closed_waits_for_connections_and_close_clients(run: Run[None]) -> None:
    async def main() -> None:
        writers: list[StreamWriter] = []
        all_connected = asyncio.Event()

        async def handler(reader: StreamReader, writer: StreamWriter) -> None:
            writers.append(writer)
            if len(writers) == 3:
                all_connected.set()
            await reader.read()

        server = await ss.start_server(handler, "127.0.0.1", 0)
        clients = [await ss.open_connection("127.0.0.1", port_of(server)) for _ in range(3)]
        await all_connected.wait()
        # Open server, no waiting done: wait_closed() waits for close() ...
        waiting = asyncio.ensure_future(server.wait_closed())
        await asyncio.sleep(0.02)
        assert not waiting.done()
        server.close()
        # ... and then for the connections.
        await asyncio.sleep(0.02)
        assert not waiting.done()
        server.close_clients()
        for reader, _ in clients:
            assert await asyncio.wait_for(reader.read(), 5) == b""
        await asyncio.wait_for(waiting, 5)
        for _, writer in clients:
            await close(writer)

    run(main())


@pytest.mark.timeout(10)
def test_abort_clients(run: Run[None]) -> None:
    async def main() -> None:
        async def handler(reader: StreamReader, writer: StreamWriter) -> None:
            writer.write(b"x" * 10)
            await reader.read()

        server = await ss.start_server(handler, "127.0.0.1", 0)
        reader, writer = await ss.open_connection("127.0.0.1", port_of(server))
        assert await reader.readexactly(10) == b"x" * 10
        server.close()
        server.abort_clients()
        with contextlib.suppress(ConnectionResetError):  # an abort may arrive as a reset
            assert await asyncio.wait_for(reader.read(), 5) == b""
        await asyncio.wait_for(server.wait_closed(), 5)
        await close(writer)

    run(main())


@pytest.mark.timeout(10)
def test_sock_is_owned_by_the_server_and_the_writer(run: Run[None]) -> None:
    async def main() -> None:
        listener = socket.create_server(("127.0.0.1", 0))
        server = await ss.start_server(lambda r, w: close(w), sock=listener)
        port = port_of(server)
        client_sock = socket.create_connection(("127.0.0.1", port))
        reader, writer = await ss.open_connection(sock=client_sock)
        assert await reader.read() == b""
        await close(writer)
        assert client_sock.fileno() == -1
        server.close()
        await server.wait_closed()
        assert listener.fileno() == -1

    run(main())


@needs_unix
@pytest.mark.timeout(10)
def test_unix_socket_file_removed_on_close(run: Run[None], tmp_path: Path) -> None:
    async def echo(reader: StreamReader, writer: StreamWriter) -> None:
        writer.write(await reader.read())
        await close(writer)

    async def main() -> None:
        path = tmp_path / "server.sock"  # path-like
        server = await ss.start_unix_server(echo, path)
        assert path.exists()
        reader, writer = await ss.open_unix_connection(path)
        writer.write(b"over unix")
        writer.write_eof()
        assert await reader.read() == b"over unix"
        await close(writer)
        server.close()
        assert not path.exists()
        await server.wait_closed()

        # cleanup_socket=False keeps it; a given sock is cleaned up by default.
        server = await ss.start_unix_server(echo, str(path), cleanup_socket=False)
        server.close()
        await server.wait_closed()
        assert path.exists()
        path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(os.fsencode(path))
        server = await ss.start_unix_server(echo, sock=sock)
        server.close()
        await server.wait_closed()
        assert not path.exists()

    run(main())


@needs_unix
@pytest.mark.timeout(10)
def test_unix_socket_file_replaced_is_not_removed(run: Run[None], tmp_path: Path) -> None:
    async def main() -> None:
        path = tmp_path / "server.sock"
        server = await ss.start_unix_server(lambda r, w: close(w), path)
        # Someone else takes the path over before the server closes.
        path.unlink()
        other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            other.bind(str(path))
            server.close()
            await server.wait_closed()
            assert path.exists()
        finally:
            other.close()
            path.unlink()

    run(main())


# ------------------------------------------------------------------- writer


@pytest.mark.timeout(10)
def test_writer_api(run: Run[None]) -> None:
    async def handler(reader: StreamReader, writer: StreamWriter) -> None:
        writer.writelines([b"a", bytearray(b"b"), memoryview(b"c\n")])
        await writer.drain()
        await close(writer)

    async def main() -> None:
        async with serving(handler) as server:
            reader, writer = await ss.open_connection("127.0.0.1", port_of(server))
            assert await reader.readline() == b"abc\n"
            assert writer.get_extra_info("peername")[1] == port_of(server)
            assert writer.get_extra_info("nonexistent", 42) == 42
            assert writer.transport.get_extra_info("socket") is not None
            text = repr(writer)
            assert text.startswith("<StreamWriter transport=<")
            assert "reader=<StreamReader" in text
            assert not writer.is_closing()
            writer.close()
            assert writer.is_closing()
            await writer.wait_closed()

    run(main())


@pytest.mark.timeout(10)
def test_unclosed_writer_warns_and_closes(run: Run[None]) -> None:
    async def main() -> None:
        async with serving(lambda r, w: close(w)) as server:
            reader, writer = await ss.open_connection("127.0.0.1", port_of(server))
            transport = writer.transport
            dropped = [writer]
            del writer
            with pytest.warns(ResourceWarning, match=r"unclosed <StreamWriter transport="):
                drop(dropped)
            assert transport.is_closing()
            await reader.read()

    run(main())


@pytest.mark.timeout(10)
def test_writer_of_a_closed_loop_warns() -> None:
    loop = asyncio.new_event_loop()
    rsock, wsock = socket.socketpair()

    async def connect() -> StreamWriter:
        _, writer = await ss.open_connection(sock=rsock)
        return writer

    dropped = [loop.run_until_complete(connect())]
    loop.close()
    # The writer's warning, and the transport's own "unclosed transport".
    with pytest.warns(ResourceWarning) as record:
        drop(dropped)
    assert "loop is closed" in [str(w.message) for w in record]
    rsock.close()
    wsock.close()


# ---------------------------------------------------------------- start_tls


@asynccontextmanager
async def starttls_server(
    server_ctx: ssl.SSLContext, greeting: bytes
) -> AsyncIterator[tuple[StreamReader, StreamWriter]]:
    """An SMTP-like STARTTLS server greeting with ``greeting``; yields a client
    connection that sent STARTTLS and read the first greeting line."""

    async def handler(reader: StreamReader, writer: StreamWriter) -> None:
        if await reader.readline() == b"STARTTLS\n":
            writer.write(greeting)
            await writer.drain()
            try:
                await writer.start_tls(server_ctx)
            except OSError:  # the client refused: ssl.SSLError or a reset
                return await close(writer)
            writer.write(b"secret over tls\n")
            await writer.drain()
        await close(writer)

    async with serving(handler) as server:
        reader, writer = await ss.open_connection("127.0.0.1", port_of(server))
        writer.write(b"STARTTLS\n")
        assert await reader.readline() == b"220 ready\n"
        await asyncio.sleep(0.05)  # whatever else the server sent has arrived
        try:
            yield reader, writer
        finally:
            await close(writer)


@pytest.mark.timeout(20)
def test_start_tls_upgrades_both_sides(
    run: Run[None], tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    server_ctx, client_ctx = tls_contexts

    async def main() -> None:
        async with starttls_server(server_ctx, b"220 ready\n") as (reader, writer):
            await writer.start_tls(client_ctx, server_hostname="localhost")
            assert writer.get_extra_info("ssl_object") is not None
            assert await reader.readline() == b"secret over tls\n"

    run(main())


@pytest.mark.timeout(20)
def test_start_tls_refuses_injected_plaintext(
    run: Run[None], tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    server_ctx, client_ctx = tls_contexts

    async def main() -> None:
        # The injected reply rides in the same segment as the real one.
        greeting = b"220 ready\n250 INJECTED\n"
        async with starttls_server(server_ctx, greeting) as (reader, writer):
            with pytest.raises(StartTLSInjectionError) as info:
                await writer.start_tls(client_ctx, server_hostname="localhost")
            assert info.value.unread == len(b"250 INJECTED\n")
            assert str(info.value).startswith("start_tls() refused: 13 plaintext byte(s)")
            # Nothing changed: still plaintext, the injected bytes still there.
            assert writer.get_extra_info("ssl_object") is None
            assert not writer.is_closing()
            assert await reader.readline() == b"250 INJECTED\n"

    run(main())


@pytest.mark.timeout(20)
def test_start_tls_server_side_refuses_injected_commands(
    run: Run[None], tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    server_ctx, _ = tls_contexts

    async def main() -> None:
        refused: list[BaseException] = []

        async def handler(reader: StreamReader, writer: StreamWriter) -> None:
            await reader.readline()
            try:
                await writer.start_tls(server_ctx)
            except StartTLSInjectionError as exc:
                refused.append(exc)
                # The connection is untouched: the injected command is still readable.
                assert await reader.readline() == b"MAIL FROM:<evil>\n"
            await close(writer)

        async with serving(handler) as server:
            reader, writer = await ss.open_connection("127.0.0.1", port_of(server))
            writer.write(b"STARTTLS\nMAIL FROM:<evil>\n")
            assert await asyncio.wait_for(reader.read(), 5) == b""
            await close(writer)
        [exc] = refused
        assert isinstance(exc, ssl.SSLError)
        assert exc.unread == len(b"MAIL FROM:<evil>\n")  # type: ignore[attr-defined]

    run(main())


@pytest.mark.timeout(20)
def test_start_tls_passes_ssl_shutdown_timeout(
    run: Run[None], tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    server_ctx, client_ctx = tls_contexts

    async def handler(reader: StreamReader, writer: StreamWriter) -> None:
        await reader.readline()
        writer.write(b"go ahead\n")
        await writer.start_tls(server_ctx, ssl_handshake_timeout=5, ssl_shutdown_timeout=5)
        writer.write(b"ok\n")
        await writer.drain()
        await close(writer)

    async def main() -> None:
        async with serving(handler) as server:
            reader, writer = await ss.open_connection("127.0.0.1", port_of(server))
            writer.write(b"STARTTLS\n")
            # Only now: a ClientHello sent before the server's answer would be
            # plaintext in the server's buffer, and refused.
            assert await reader.readline() == b"go ahead\n"
            await writer.start_tls(
                client_ctx,
                server_hostname="localhost",
                ssl_handshake_timeout=5,
                ssl_shutdown_timeout=5,
            )
            assert await reader.readline() == b"ok\n"
            await close(writer)

    run(main())


def test_start_tls_injection_error_pickles() -> None:
    exc = pickle.loads(pickle.dumps(StartTLSInjectionError(7)))
    assert isinstance(exc, StartTLSInjectionError)
    assert exc.unread == 7
    assert "7 plaintext byte(s)" in str(exc)


@pytest.mark.timeout(20)
def test_tls_server_and_client(
    run: Run[None], tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    server_ctx, client_ctx = tls_contexts

    async def handler(reader: StreamReader, writer: StreamWriter) -> None:
        async for line in reader:
            writer.write(line.upper())
        await close(writer)

    async def main() -> None:
        async with serving(handler, ssl=server_ctx) as server:
            reader, writer = await ss.open_connection(
                "127.0.0.1", port_of(server), ssl=client_ctx, server_hostname="localhost"
            )
            assert writer.get_extra_info("ssl_object") is not None
            for i in range(50):
                writer.write(b"line %d\n" % i)
                assert await reader.readline() == b"LINE %d\n" % i
            await close(writer)

    run(main())


@pytest.mark.skipif(sys.version_info >= (3, 13), reason="3.13's own wait_closed is the model")
@pytest.mark.timeout(10)
def test_old_pythons_get_313_wait_closed(run: Run[None]) -> None:
    # asyncio 3.11's Server.wait_closed() returns at once once closed, even
    # with connections open; ours waits for them on every version.
    async def main() -> None:
        async def handler(reader: StreamReader, writer: StreamWriter) -> None:
            await reader.read()
            await close(writer)

        server = await ss.start_server(handler, "127.0.0.1", 0)
        _, writer = await ss.open_connection("127.0.0.1", port_of(server))
        await asyncio.sleep(0.01)
        server.close()
        waiting = asyncio.ensure_future(server.wait_closed())
        await asyncio.sleep(0.02)
        assert not waiting.done()
        writer.write_eof()
        await asyncio.wait_for(waiting, 5)
        await close(writer)

    run(main())


@pytest.mark.parametrize("hang_up", ["close", "reset"])
@pytest.mark.timeout(20)
def test_failed_start_tls_ends_the_connection(
    run: Run[None], tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext], hang_up: str
) -> None:
    # The peer hangs up mid-handshake: the loop closes the transport, whose
    # protocol is its SSL protocol by then.  The reader must still learn of
    # it, and the server's wait_closed() must return.  A reset reaches the SSL
    # protocol mid-handshake, when it does not pass the loss on.
    server_ctx, _ = tls_contexts

    async def main() -> None:
        outcome: list[object] = []

        async def handler(reader: StreamReader, writer: StreamWriter) -> None:
            await reader.readline()
            writer.write(b"go ahead\n")
            try:
                await writer.start_tls(server_ctx, ssl_handshake_timeout=5)
            except (ssl.SSLError, OSError) as exc:
                outcome.append(type(exc))
            try:
                outcome.append(await reader.read())
            except (ssl.SSLError, OSError) as exc:
                outcome.append(type(exc))
            await close(writer)

        server = await ss.start_server(handler, "127.0.0.1", 0)
        reader, writer = await ss.open_connection("127.0.0.1", port_of(server))
        writer.write(b"STARTTLS\n")
        assert await reader.readline() == b"go ahead\n"
        if hang_up == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await close(writer)  # instead of a ClientHello
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)
        assert len(outcome) == 2
        assert issubclass(outcome[0], OSError)  # type: ignore[arg-type]
        assert outcome[1] == b"" or issubclass(outcome[1], OSError)  # type: ignore[arg-type]

    run(main())
