"""Less travelled paths: TLS EOF and shutdown, losses, wrapped-stream failures, server edges."""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import ssl
import struct
from collections.abc import Callable
from functools import partial
from types import ModuleType
from typing import Any

import anyio
import anyio.lowlevel
import pytest
import trio
import trio.testing
import trustme

import sansio_streams_trio
from sansio_streams import _front as front
from sansio_streams.testing import conformance
from sansio_streams_anyio import _api as anyio_api
from sansio_streams_trio import _socket as trio_socket

from .conftest import close_writer, echo_handler, serving

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


def reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# ---------------------------------------------------------------------- TLS


@pytest.mark.timeout(30)
async def test_tls_peer_closes_first(
    streams: ModuleType, contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    """The server's handler returns: close_notify, then the client reads EOF."""
    server_ctx, client_ctx = contexts

    async def handler(reader: Any, writer: Any) -> None:
        writer.write(b"bye\n")

    async with serving(streams, handler, ssl=server_ctx) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port, ssl=client_ctx)
        with anyio.fail_after(10):
            assert await reader.read() == b"bye\n"
            assert reader.at_eof()
        assert writer.get_extra_info("compression") is None
        await close_writer(writer)


@pytest.mark.timeout(30)
async def test_tls_shutdown_timeout_aborts(
    streams: ModuleType, contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    """close() cannot flush (the peer reads nothing): wait_closed() gives up
    after ssl_shutdown_timeout and aborts."""
    server_ctx, client_ctx = contexts
    release = anyio.Event()

    async def handler(reader: Any, writer: Any) -> None:
        await release.wait()  # reads nothing

    async with serving(streams, handler, ssl=server_ctx) as srv:
        _reader, writer = await streams.open_connection(
            "127.0.0.1", srv.port, ssl=client_ctx, ssl_shutdown_timeout=0.2
        )
        writer.write(b"s" * (32 * 1024 * 1024))
        writer.close()
        with anyio.fail_after(10):
            await writer.wait_closed()
        assert "closed" in repr(writer)
        release.set()
        srv.server.abort_clients()


@pytest.mark.timeout(30)
async def test_tls_abort_and_write_from_another_task(
    streams: ModuleType, contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    server_ctx, client_ctx = contexts

    async def tolerant_echo(reader: Any, writer: Any) -> None:
        with contextlib.suppress(OSError):  # the client aborts at the end
            await echo_handler(reader, writer)

    async with serving(streams, tolerant_echo, ssl=server_ctx) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port, ssl=client_ctx)
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                got: list[bytes] = []

                async def read() -> None:
                    got.append(await reader.readexactly(4 * 1024 * 1024))

                group.start_soon(read)
                await anyio.wait_all_tasks_blocked()
                writer.write(b"t" * (4 * 1024 * 1024))  # interrupts the waiting reader
            assert got == [b"t" * (4 * 1024 * 1024)]
        writer.transport.abort()
        assert writer.is_closing()
        with anyio.fail_after(5):
            await writer.wait_closed()


@pytest.mark.timeout(30)
async def test_start_tls_failures(
    streams: ModuleType, contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    server_ctx, _ = contexts
    untrusting = ssl.create_default_context()  # does not trust our CA

    async def handler(reader: Any, writer: Any) -> None:
        await reader.readline()
        writer.write(b"OK\n")
        # The client rejects our certificate (SSLError), gives up (EOF:
        # ConnectionResetError, as asyncio), or never tries.
        with contextlib.suppress(OSError):
            await writer.start_tls(server_ctx)

    async with serving(streams, handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        writer.write(b"STARTTLS\n")
        with anyio.fail_after(10):
            assert await reader.readline() == b"OK\n"
            with pytest.raises(ssl.SSLCertVerificationError):
                await writer.start_tls(untrusting, server_hostname="localhost")
            with pytest.raises(ssl.SSLCertVerificationError):
                await reader.read()  # the connection failed with it
        writer.close()
        # Cancelled before it starts (its first checkpoint): nothing changed.
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        writer.write(b"STARTTLS\n")
        with anyio.fail_after(10):
            assert await reader.readline() == b"OK\n"
            with anyio.move_on_after(0):
                await writer.start_tls(untrusting, server_hostname="localhost")
            assert not writer.is_closing()
            assert writer.get_extra_info("ssl_object") is None
        writer.close()
        # Cancelled during the handshake (the peer never answers): aborted.
        with socket.create_server(("127.0.0.1", 0)) as silent:
            reader, writer = await streams.open_connection("127.0.0.1", silent.getsockname()[1])
            with anyio.fail_after(10):
                with anyio.move_on_after(0.2) as scope:
                    await writer.start_tls(untrusting, server_hostname="localhost")
                assert scope.cancelled_caught
                assert writer.is_closing()
        # start_tls() on a closed stream, and while another task reads.
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        async with anyio.create_task_group() as group:
            group.start_soon(reader.read)
            await anyio.wait_all_tasks_blocked()
            with pytest.raises(RuntimeError, match="another task"):
                await writer.start_tls(untrusting, server_hostname="localhost")
            writer.write(b"x\n")  # the handler answers, the reader goes on
            group.cancel_scope.cancel()
        writer.close()
        with pytest.raises(ConnectionResetError):
            await writer.start_tls(untrusting, server_hostname="localhost")


def test_argument_checks() -> None:
    with pytest.raises(ValueError, match="ssl_shutdown_timeout is only meaningful"):
        front.client_ssl(None, None, "h", None, 1.0)
    with pytest.raises(ValueError, match="You must set server_hostname"):
        front.client_ssl(True, None, None, None, None)
    context, hostname = front.client_ssl(True, "", "h", None, None)
    assert context is not None
    assert not context.check_hostname
    assert hostname is None
    with pytest.raises(ValueError, match="ssl_shutdown_timeout is only meaningful"):
        front.server_ssl(None, None, 1.0)
    with pytest.raises(NotImplementedError):
        front.StreamReader._default_backend()


# --------------------------------------------------------------- connections


@pytest.mark.timeout(30)
@pytest.mark.parametrize("size", [0, 100, 65536], ids=["readline", "read100", "read65536"])
async def test_feeding_a_connected_reader_wakes_it(streams: ModuleType, size: int) -> None:
    # read(65536) waits to receive for itself, bypassing the buffer: bytes
    # fed by hand meanwhile must still wake it.
    async with serving(streams, echo_handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                got: list[bytes] = []

                async def read() -> None:
                    got.append(await (reader.read(size) if size else reader.readline()))

                group.start_soon(read)
                await anyio.wait_all_tasks_blocked()
                assert "waiter" in repr(reader)
                reader.feed_data(b"fed by hand\n")
            assert got == [b"fed by hand\n"[: size or None]]
        await close_writer(writer)
        assert "eof" in repr(reader)


@pytest.mark.timeout(30)
async def test_writes_after_a_loss(streams: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        reader, writer = await streams.open_connection("127.0.0.1", listener.getsockname()[1])
        peer, _ = listener.accept()
        writer.write_eof()
        reset(peer)
        with anyio.fail_after(5), pytest.raises(ConnectionResetError):
            await reader.read()
        with pytest.raises(RuntimeError, match="after write_eof"):
            writer.write(b"x")
        writer.close()
        writer.transport.abort()  # a no-op now
        with pytest.raises(RuntimeError, match="after write_eof"):
            writer.writelines([b"x"])
        with pytest.raises(TypeError):
            writer.write("text")
        with pytest.raises(ConnectionResetError):
            await writer.wait_closed()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        reader, writer = await streams.open_connection("127.0.0.1", listener.getsockname()[1])
        peer, _ = listener.accept()
        reset(peer)
        with anyio.fail_after(5), pytest.raises(ConnectionResetError):
            await reader.read()
        caplog.set_level(logging.WARNING, logger="sansio_streams")
        for _ in range(7):
            writer.write(b"lost")  # dropped quietly, as asyncio...
        assert [r.getMessage() for r in caplog.records] == ["socket.send() raised exception."] * 2
        writer.write(b"")
        writer.writelines([b"dropped", b"too"])
        writer.close()


@pytest.mark.timeout(30)
async def test_transport_view(streams: ModuleType) -> None:
    async with serving(streams, echo_handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        transport = writer.transport
        assert "transport of" in repr(transport)
        assert transport.is_reading()
        assert transport.can_write_eof()
        transport.write(b"a")
        transport.writelines([b"b\n"])
        with anyio.fail_after(10):
            assert await reader.readline() == b"ab\n"
        transport.write_eof()
        transport.close()
        assert transport.is_closing()
        assert not transport.is_reading()
        with anyio.fail_after(10):
            await writer.wait_closed()


# ------------------------------------------------------------ wrapped streams


@pytest.mark.timeout(30)
@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_wrapped_stream_failures() -> None:
    # A peer that resets: the read raises ConnectionResetError.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        a = socket.create_connection(listener.getsockname())
        b, _ = listener.accept()
    stream = trio.SocketStream(trio.socket.from_stdlib_socket(a))
    wrapped = sansio_streams_trio._wrap._TrioStream(stream)
    reader, writer = await front.wrap_pair(
        sansio_streams_trio._socket.BACKEND,
        wrapped,
        sansio_streams_trio.StreamReader,
        sansio_streams_trio.StreamWriter,
        limit=2**16,
        server_side=False,
    )
    assert "StreamTransport" in repr(writer)
    b.sendall(b"partial")
    reset(b)
    with trio.fail_after(5):
        assert await reader.read(100) == b"partial"
        with pytest.raises(ConnectionResetError):
            await reader.read(100)
    writer.transport.abort()
    with pytest.raises(ConnectionResetError):
        await writer.wait_closed()

    # A send cancelled in flight: the state is unknown, the connection fails.
    left, right = trio.testing.lockstep_stream_pair()
    reader, writer = await sansio_streams_trio.wrap_stream(left)
    writer.write(b"never read" * 1000)
    with trio.move_on_after(0.05):
        await writer.drain()  # the peer reads nothing
    with pytest.raises(ConnectionResetError, match="Connection lost"):
        await writer.drain()  # as asyncio after a failed send
    with pytest.raises(BrokenPipeError, match="cancelled"):
        await reader.read()  # the reason, on the reader
    writer.close()
    with pytest.raises(BrokenPipeError, match="cancelled"):
        await writer.wait_closed()
    await right.aclose()


# -------------------------------------------------------------------- server


@pytest.mark.timeout(30)
async def test_server_edges(streams: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    server = await streams.start_server(echo_handler, "127.0.0.1", 0)
    server.close()
    server.close()
    with pytest.raises(RuntimeError, match="is closed"):
        await server.__aenter__()
    with pytest.raises(RuntimeError, match="is closed"):
        await server.start_serving()
    await server.wait_closed()

    # async with on a server that serves in a task group.
    async with anyio.create_task_group() as group:
        server = await streams.start_server(echo_handler, "127.0.0.1", 0, task_group=group)
        assert "Server" in repr(server)
        async with server, anyio.create_task_group() as inner:
            inner.start_soon(server.serve_forever)
            await anyio.wait_all_tasks_blocked()
            with pytest.raises(RuntimeError, match="serve_forever"):
                await server.serve_forever()
            inner.cancel_scope.cancel()  # ends serve_forever(): the server closes
        assert not server.is_serving()

    # A handler whose connection is reset while flushing: logged at DEBUG.
    caplog.set_level(logging.DEBUG, logger="sansio_streams")
    flushing = anyio.Event()

    async def big_answer(reader: Any, writer: Any) -> None:
        writer.write(b"z" * (32 * 1024 * 1024))
        flushing.set()

    async with anyio.create_task_group() as group:
        server = await streams.start_server(big_answer, "127.0.0.1", 0, task_group=group)
        with socket.create_connection(server.sockets[0].getsockname()) as client:
            with anyio.fail_after(5):
                await flushing.wait()
            reset(client)
        server.close()
        with anyio.fail_after(10):
            await server.wait_closed()
    assert any(r.getMessage() == "error closing a server connection" for r in caplog.records)


def test_accept_retry_delay(caplog: pytest.LogCaptureFixture) -> None:
    # One connection gone before accept(): accept the next at once, quietly.
    assert front.accept_retry_delay(OSError(errno.ECONNABORTED, "aborted")) == 0
    assert caplog.records == []
    # Out of descriptors: log, pause, try again (trio's policy).
    assert front.accept_retry_delay(OSError(errno.EMFILE, "too many")) == 0.1
    assert [r.getMessage() for r in caplog.records] == ["accept() failed; retrying soon"]
    # Anything else is the listener's own failure.
    with pytest.raises(OSError, match="bad fd"):
        front.accept_retry_delay(OSError(errno.EBADF, "bad fd"))


async def _drive_read_and_write(streams: ModuleType) -> tuple[Any, Any, socket.socket]:
    """A connection whose reader, once it waits, drives a readable-or-writable
    wait: 16 MiB are queued and the peer reads nothing."""
    a, b = socket.socketpair()
    reader, writer = await streams.open_connection(sock=a)
    writer.write(b"x" * (16 << 20))
    return reader, writer, b


async def _read_one_after(reader: Any, action: Callable[[], object]) -> bytes:
    """read(1) in a task; once it drives the connection, ``action()``."""
    got: list[bytes] = []

    async def read() -> None:
        got.append(await reader.read(1))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(read)
            while not reader._link.driving:
                await anyio.lowlevel.checkpoint()
            action()
    return got[0]


@pytest.fixture(params=["epoll", "nursery"])
def either_wait(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How the trio transport waits for readable-or-writable: one wait on a
    private epoll object (Linux), or two waits raced in a nursery (elsewhere,
    forced here)."""
    if request.param == "nursery":
        monkeypatch.setattr(trio_socket, "_EPOLL", None)
    elif trio_socket._EPOLL is None:
        pytest.skip("no epoll here")
    return str(request.param)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "check",
    [
        conformance.check_full_duplex,
        conformance.check_drain_water_marks,
        conformance.check_peer_reset_during_drain,
    ],
    ids=lambda check: check.__name__,
)
async def test_either_wait(
    streams: ModuleType, either_wait: str, check: Callable[[conformance.Subject], Any]
) -> None:
    # Both ways of waiting for readable-or-writable pass the checks that
    # wait that way (drain() receives while it waits for the peer to read).
    await check(conformance.Subject(streams))


@pytest.mark.timeout(30)
async def test_feeding_wakes_a_read_and_write_wait_at_any_point(
    streams: ModuleType, either_wait: str
) -> None:
    # The wake may come before the wait's tasks have registered with the
    # framework (right after the driver started): it must not be lost.
    for _ in range(20):
        reader, writer, peer = await _drive_read_and_write(streams)
        with peer:
            assert await _read_one_after(reader, partial(reader.feed_data, b"y")) == b"y"
            writer.transport.abort()


@pytest.mark.timeout(30)
async def test_abort_during_a_read_and_write_wait_gives_eof(
    streams: ModuleType, either_wait: str
) -> None:
    # Aborting before the wait's tasks run must not make them wait on a
    # closed socket (trio: ValueError, then BusyResourceError for later waits).
    for _ in range(20):
        reader, writer, peer = await _drive_read_and_write(streams)
        with peer:
            assert await _read_one_after(reader, writer.transport.abort) == b""


@pytest.mark.timeout(30)
@pytest.mark.parametrize("size", [100, 65536])
async def test_close_wakes_a_waiting_read(streams: ModuleType, size: int) -> None:
    # Another task closes the writer while a read waits: the read sees EOF,
    # after the bytes that arrived before the close.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        reader, writer = await streams.open_connection("127.0.0.1", listener.getsockname()[1])
        peer, _ = listener.accept()
        with peer, anyio.fail_after(10):
            got: list[bytes] = []
            received = anyio.Event()
            async with anyio.create_task_group() as group:

                async def read_all() -> None:
                    while data := await reader.read(size):
                        got.append(data)
                        received.set()

                group.start_soon(read_all)
                await anyio.wait_all_tasks_blocked()
                peer.sendall(b"before the close")
                await received.wait()
                writer.close()
            await writer.wait_closed()
        assert b"".join(got) == b"before the close"
        assert reader.at_eof()


@pytest.mark.timeout(30)
async def test_anyio_bytes_received_before_the_takeover_come_first(
    streams: ModuleType,
) -> None:
    # anyio on asyncio connects with asyncio's transport and takes its socket
    # over; bytes that transport had received are read first, by small and
    # large reads alike (a large read receives straight from the socket only
    # once they are gone).
    if streams is sansio_streams_trio:
        pytest.skip("anyio backend only")
    ours, peer = socket.socketpair()
    with peer:
        reader, writer = await anyio_api._open(
            ours,
            limit=2**16,
            ssl=None,
            server_hostname=None,
            ssl_handshake_timeout=None,
            ssl_shutdown_timeout=None,
            early=b"early bytes, ",
        )
        peer.sendall(b"then the socket's")
        peer.shutdown(socket.SHUT_WR)
        with anyio.fail_after(10):
            received = []
            while data := await reader.read(65536):
                received.append(data)
        assert b"".join(received) == b"early bytes, then the socket's"
        await close_writer(writer)
