"""The API surface: names, keywords, argument checks, hand-fed readers, GC warnings."""

from __future__ import annotations

import pickle
import socket
import ssl
from types import ModuleType
from typing import Any

import anyio
import pytest
import trio

import sansio_streams
from sansio_streams._front import StartTLSInjectionError

from .conftest import close_writer, echo_handler, serving

ASYNCIO_NAMES = {
    "open_connection",
    "start_server",
    "open_unix_connection",
    "start_unix_server",
    "StreamReader",
    "StreamWriter",
    "Server",
    "IncompleteReadError",
    "LimitOverrunError",
}


@pytest.mark.parametrize("name", ["sansio_streams_trio", "sansio_streams_anyio"])
def test_exports(name: str) -> None:
    module = __import__(name)
    assert set(module.__all__) >= ASYNCIO_NAMES | {"wrap_stream", "StartTLSInjectionError"}
    assert module.IncompleteReadError is sansio_streams.IncompleteReadError
    assert module.LimitOverrunError is sansio_streams.LimitOverrunError
    assert module.StartTLSInjectionError is StartTLSInjectionError
    assert issubclass(StartTLSInjectionError, ssl.SSLError)
    with pytest.raises(TypeError, match="open_connection"):
        module.StreamWriter()


pytestmark = pytest.mark.anyio


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("keyword", "value"),
    [("proto", 6), ("flags", 1), ("interleave", 1), ("all_errors", True)],
)
async def test_meaningless_connect_keywords(streams: ModuleType, keyword: str, value: Any) -> None:
    with pytest.raises(TypeError, match=f"'{keyword}' is not supported on"):
        await streams.open_connection("127.0.0.1", 9, **{keyword: value})
    with pytest.raises(TypeError, match="no_such_keyword"):
        await streams.open_connection("127.0.0.1", 9, no_such_keyword=1)


@pytest.mark.timeout(10)
async def test_server_keywords(streams: ModuleType, flavour: tuple[str, str]) -> None:
    with pytest.raises(TypeError, match="ssl argument must be an SSLContext"):
        await streams.start_server(echo_handler, "127.0.0.1", 0, ssl=True)
    with pytest.raises(ValueError, match="ssl_handshake_timeout is only meaningful"):
        await streams.start_server(echo_handler, "127.0.0.1", 0, ssl_handshake_timeout=1)
    with pytest.raises(ValueError, match="Neither host/port nor sock"):
        await streams.start_server(echo_handler)
    if flavour[0] == "sansio_streams_anyio":
        with pytest.raises(TypeError, match="'reuse_address' is not supported on anyio"):
            await streams.start_server(echo_handler, "127.0.0.1", 0, reuse_address=False)
        with pytest.raises(TypeError, match="'flags' is not supported on anyio"):
            await streams.start_server(echo_handler, "127.0.0.1", 0, flags=0)
    # Meaningful ones work: family, backlog, reuse_port, keep_alive.
    server = await streams.start_server(
        echo_handler,
        "127.0.0.1",
        0,
        family=socket.AF_INET,
        backlog=5,
        reuse_port=True,
        keep_alive=True,
    )
    sock = server.sockets[0]
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
    async with server:
        reader, writer = await streams.open_connection(
            "localhost", sock.getsockname()[1], family=socket.AF_INET, happy_eyeballs_delay=None
        )
        writer.write(b"ok\n")
        with anyio.fail_after(10):
            assert await reader.readline() == b"ok\n"
        await close_writer(writer)


@pytest.mark.timeout(10)
async def test_client_argument_checks(streams: ModuleType, flavour: tuple[str, str]) -> None:
    with pytest.raises(ValueError, match="server_hostname is only meaningful with ssl"):
        await streams.open_connection("127.0.0.1", 9, server_hostname="x")
    with pytest.raises(ValueError, match="ssl_handshake_timeout is only meaningful"):
        await streams.open_connection("127.0.0.1", 9, ssl_handshake_timeout=1)
    with pytest.raises(ValueError, match="host and port was not specified"):
        await streams.open_connection()
    a, b = socket.socketpair()
    with a, b, pytest.raises(ValueError, match="host/port and sock"):
        await streams.open_connection("127.0.0.1", 9, sock=a)
    with pytest.raises(ValueError, match="server_hostname"):
        await streams.open_unix_connection("/nonexistent", ssl=True)
    with pytest.raises(ValueError, match="Limit cannot be <= 0"):
        await streams.open_connection("127.0.0.1", 9, limit=0)  # before connecting
    if flavour[1] == "trio":
        with pytest.raises(TypeError, match="'local_addr' with a non-zero port"):
            await streams.open_connection("127.0.0.1", 9, local_addr=("127.0.0.1", 5555))


@pytest.mark.timeout(10)
async def test_local_addr(streams: ModuleType) -> None:
    async with serving(streams, echo_handler) as srv:
        _reader, writer = await streams.open_connection(
            "127.0.0.1", srv.port, local_addr=("127.0.0.1", 0)
        )
        assert writer.get_extra_info("sockname")[0] == "127.0.0.1"
        await close_writer(writer)


@pytest.mark.timeout(10)
async def test_write_checks(streams: ModuleType) -> None:
    a, b = socket.socketpair()
    with b:
        _reader, writer = await streams.open_connection(sock=a)
        with pytest.raises(TypeError, match="data argument must be a bytes-like object"):
            writer.write("text")
        with pytest.raises(TypeError):
            writer.writelines([b"ok", "text"])
        writer.write(b"")
        writer.write(bytearray(b"ab"))
        writer.writelines([memoryview(b"cd")])
        assert b.recv(10) == b"abcd"
        await close_writer(writer)
        writer.write(b"after close: dropped, as asyncio")
        writer.write_eof()  # a no-op after close, as asyncio


@pytest.mark.timeout(10)
async def test_hand_fed_reader(streams: ModuleType) -> None:
    reader = streams.StreamReader(limit=10)
    got: list[bytes] = []
    async with anyio.create_task_group() as group:

        async def read() -> None:
            got.append(await reader.readline())
            got.append(await reader.read())

        group.start_soon(read)
        await anyio.wait_all_tasks_blocked()
        with pytest.raises(RuntimeError, match="already waiting"):
            await reader.read(1)
        reader.feed_data(b"one\ntw")
        await anyio.wait_all_tasks_blocked()
        reader.feed_data(b"o")
        reader.feed_eof()
    assert got == [b"one\n", b"two"]
    assert reader.at_eof()
    reader = streams.StreamReader()
    reader.set_exception(ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        await reader.read()
    assert isinstance(reader.exception(), ValueError)
    assert "exception=ValueError" in repr(reader)


@pytest.mark.timeout(10)
async def test_unclosed_writer_warns_on_gc(streams: ModuleType) -> None:
    a, b = socket.socketpair()
    with b:
        reader, writer = await streams.open_connection(sock=a)
        del reader
        holder = [writer]
        del writer
        with pytest.warns(ResourceWarning, match="unclosed <StreamWriter"):
            holder.clear()  # the last reference
        assert a.fileno() == -1  # closed by the warning writer
        assert b.recv(10) == b""


@pytest.mark.timeout(10)
async def test_writer_with_unsent_bytes_warns_on_gc(streams: ModuleType) -> None:
    a, b = socket.socketpair()
    with b:
        reader, writer = await streams.open_connection(sock=a)
        writer.write(b"u" * (16 * 1024 * 1024))  # more than the socket takes
        writer.close()  # nobody awaits wait_closed()
        assert writer.transport.get_write_buffer_size() != 0
        del reader
        holder = [writer]
        del writer
        with pytest.warns(ResourceWarning, match="unsent bytes"):
            holder.clear()  # the last reference
        assert a.fileno() == -1


def test_start_tls_injection_error_matches_the_asyncio_backend() -> None:
    """Same name, base class, message and pickling as sansio_streams_asyncio's."""
    asyncio_backend = pytest.importorskip("sansio_streams_asyncio")
    theirs = asyncio_backend.StartTLSInjectionError(7)
    ours = StartTLSInjectionError(7)
    assert type(theirs).__name__ == type(ours).__name__
    assert type(theirs).__mro__[1:] == type(ours).__mro__[1:]
    assert str(theirs) == str(ours)
    assert ours.unread == 7
    assert pickle.loads(pickle.dumps(ours)).unread == 7


@pytest.mark.timeout(10)
async def test_server_speaks_first(streams: ModuleType) -> None:
    """A banner sent the moment the connection is accepted is never lost
    (on asyncio, bytes may reach the connecting transport before we take the
    socket over)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        port = listener.getsockname()[1]
        async with anyio.create_task_group() as group:

            async def banner() -> None:
                while True:
                    try:
                        peer, _ = listener.accept()
                    except BlockingIOError:
                        await anyio.wait_readable(listener)
                        continue
                    with peer:
                        peer.sendall(b"220 hello\r\n")
                        await anyio.sleep(0.05)
                    return

            group.start_soon(banner)
            reader, writer = await streams.open_connection("127.0.0.1", port)
            with anyio.fail_after(5):
                assert await reader.readline() == b"220 hello\r\n"
                assert await reader.read() == b""
            await close_writer(writer)


@pytest.mark.timeout(10)
async def test_keep_alive_on_accepted_sockets(streams: ModuleType) -> None:
    options: list[int] = []

    async def handler(reader: Any, writer: Any) -> None:
        sock = writer.get_extra_info("socket")
        options.append(sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))

    async with serving(streams, handler, keep_alive=True) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        with anyio.fail_after(5):
            assert await reader.read() == b""
        await close_writer(writer)
    assert options == [1]


@pytest.mark.timeout(10)
async def test_limit_none_means_the_default(streams: ModuleType) -> None:
    # The reference's signatures document limit=None as the default (64 KiB).
    async with serving(streams, echo_handler, limit=None) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port, limit=None)
        try:
            writer.write(b"x" * 70_000 + b"\n")
            with pytest.raises(ValueError, match="limit"), anyio.fail_after(10):
                await reader.readline()  # over 64 KiB: the default limit applies
        finally:
            await close_writer(writer)


@pytest.mark.timeout(10)
async def test_wrap_stream_limit_none_means_the_default(streams: ModuleType) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        stream: Any
        if streams.__name__ == "sansio_streams_trio":
            stream = await trio.open_tcp_stream("127.0.0.1", port)
        else:
            stream = await anyio.connect_tcp("127.0.0.1", port)
        peer, _ = listener.accept()
        with peer:
            reader, writer = await streams.wrap_stream(stream, limit=None)
            peer.sendall(b"x" * 70_000 + b"\n")
            with pytest.raises(ValueError, match="limit"), anyio.fail_after(10):
                await reader.readline()  # over 64 KiB: the default limit applies
            await close_writer(writer)


@pytest.mark.timeout(10)
async def test_sock_argument_rules_as_asyncio(streams: ModuleType) -> None:
    # With sock=, family and local_addr are ignored (as asyncio does).
    a, b = socket.socketpair()
    with b:
        _reader, writer = await streams.open_connection(
            sock=a, family=socket.AF_INET, local_addr=("127.0.0.1", 0)
        )
        await close_writer(writer)
    # One of host and port alone: a clear ValueError before any connecting.
    with pytest.raises(ValueError, match="both host and port are needed"):
        await streams.open_connection("127.0.0.1")
    with pytest.raises(ValueError, match="both host and port are needed"):
        await streams.open_connection(port=1)
    # A given socket that cannot listen (a connected one) is the caller's:
    # the error propagates and the socket stays open, as with asyncio.
    c, d = socket.socketpair()
    with c, d:
        with pytest.raises(OSError, match="Invalid argument"):
            await streams.start_server(echo_handler, sock=c)
        assert c.fileno() >= 0
