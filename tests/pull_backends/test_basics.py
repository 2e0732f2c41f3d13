"""Connections: the spec's behaviour, per backend flavour, over real loopback sockets."""

from __future__ import annotations

import hashlib
import os
import random
import socket
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import pytest

from .conftest import close_writer, echo_handler, open_fds, serving

pytestmark = pytest.mark.anyio


@pytest.mark.timeout(30)
async def test_echo_and_readline_variants(streams: ModuleType) -> None:
    async with serving(streams, echo_handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        try:
            with anyio.fail_after(10):
                writer.write(b"one\ntwo\r\nthree|four")
                await writer.drain()
                assert await reader.readline() == b"one\n"
                assert await reader.readuntil(b"\r\n") == b"two\r\n"
                assert await reader.readuntil((b"|", b"\n")) == b"three|"
                assert await reader.readexactly(4) == b"four"
                writer.writelines([b"a", bytearray(b"b"), memoryview(b"c\n")])
                assert [await reader.readline()] == [b"abc\n"]
                writer.write_eof()
                assert await reader.read() == b""
                assert reader.at_eof()
        finally:
            await close_writer(writer)


@pytest.mark.timeout(30)
async def test_half_close(streams: ModuleType) -> None:
    server_saw: list[object] = []

    async def handler(reader: Any, writer: Any) -> None:
        request = await reader.read()
        server_saw.extend([request, reader.at_eof(), await reader.read(), await reader.readline()])
        writer.write(b"response to " + request)
        await writer.drain()

    async with serving(streams, handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        try:
            with anyio.fail_after(10):
                assert writer.can_write_eof()
                writer.write(b"the request")
                writer.write_eof()
                assert not writer.is_closing()
                with pytest.raises(RuntimeError, match="write_eof"):
                    writer.write(b"more")
                assert await reader.read() == b"response to the request"
                assert reader.at_eof()
                assert await reader.read(10) == b""
                assert await reader.readline() == b""
                with pytest.raises(streams.IncompleteReadError) as excinfo:
                    await reader.readexactly(1)
                assert excinfo.value.partial == b""
        finally:
            await close_writer(writer)
    assert server_saw == [b"the request", True, b"", b""]


@pytest.mark.timeout(30)
async def test_unix_socket_echo_and_cleanup(streams: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "echo.sock"
    async with serving(streams, echo_handler, unix=True, unix_path=path) as srv:
        assert path.is_socket()
        assert srv.server.sockets[0].family == socket.AF_UNIX
        for client_path in (path, str(path)):
            reader, writer = await streams.open_unix_connection(client_path)
            try:
                with anyio.fail_after(10):
                    writer.writelines([b"hello ", b"unix\n"])
                    assert await reader.readline() == b"hello unix\n"
                    writer.write_eof()
                    assert await reader.read() == b""
            finally:
                await close_writer(writer)
    assert not path.exists()  # cleanup_socket=True, as asyncio 3.13


@pytest.mark.timeout(30)
async def test_unix_sock_arguments(streams: ModuleType, tmp_path: Path) -> None:
    path = os.fspath(tmp_path / "sock-arg.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    async with serving(streams, echo_handler, unix=True, sock=listener):
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(path)
        reader, writer = await streams.open_unix_connection(sock=client)
        try:
            with anyio.fail_after(10):
                writer.write(b"via sock=\n")
                assert await reader.readline() == b"via sock=\n"
        finally:
            await close_writer(writer)
        assert client.fileno() == -1
    assert listener.fileno() == -1


@pytest.mark.timeout(30)
async def test_ipv6_loopback(streams: ModuleType) -> None:
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6):
            pass
    except OSError as exc:
        pytest.skip(f"cannot bind ::1: {exc}")
    async with serving(streams, echo_handler, host="::1") as srv:
        reader, writer = await streams.open_connection("::1", srv.port)
        try:
            with anyio.fail_after(10):
                writer.write(b"six\n")
                assert await reader.readline() == b"six\n"
                assert writer.get_extra_info("peername")[:2] == ("::1", srv.port)
                assert writer.get_extra_info("socket").family == socket.AF_INET6
        finally:
            await close_writer(writer)


@pytest.mark.timeout(30)
async def test_get_extra_info_and_transport(streams: ModuleType) -> None:
    server_side: dict[str, Any] = {}

    async def handler(reader: Any, writer: Any) -> None:
        server_side["peername"] = writer.get_extra_info("peername")
        server_side["sockname"] = writer.get_extra_info("sockname")
        assert await reader.read() == b""

    async with serving(streams, handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        try:
            peername = writer.get_extra_info("peername")
            sockname = writer.get_extra_info("sockname")
            assert peername == ("127.0.0.1", srv.port)
            sock = writer.get_extra_info("socket")
            assert sock.getsockname() == sockname
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            transport = writer.transport
            assert transport.get_extra_info("peername") == peername
            assert writer.get_extra_info("sslcontext") is None
            assert writer.get_extra_info("no such key", 42) == 42
            assert transport.get_write_buffer_size() == 0
            assert transport.get_write_buffer_limits() == (16384, 65536)
            transport.set_write_buffer_limits(high=100)
            assert transport.get_write_buffer_limits() == (25, 100)
            assert "StreamWriter" in repr(writer)
            assert "StreamReader" in repr(reader)
            writer.write_eof()
            with anyio.fail_after(10):
                assert await reader.read() == b""
        finally:
            await close_writer(writer)
    assert server_side == {"peername": sockname, "sockname": peername}


@pytest.mark.timeout(30)
async def test_socketpair_sock_argument(streams: ModuleType) -> None:
    rsock, wsock = socket.socketpair()
    with wsock:
        reader, writer = await streams.open_connection(sock=rsock)
        wsock.sendall(b"abc")
        with anyio.fail_after(10):
            assert await reader.read(100) == b"abc"
        await close_writer(writer)
    assert rsock.fileno() == -1


@pytest.mark.timeout(30)
async def test_async_iteration(streams: ModuleType) -> None:
    async def handler(reader: Any, writer: Any) -> None:
        writer.writelines([b"one\n", b"two\n", b"three"])
        # Returning closes the connection after flushing.

    async with serving(streams, handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        try:
            with anyio.fail_after(10):
                assert [line async for line in reader] == [b"one\n", b"two\n", b"three"]
        finally:
            await close_writer(writer)


@pytest.mark.timeout(30)
async def test_limit_overrun_and_line_too_long(streams: ModuleType) -> None:
    async def handler(reader: Any, writer: Any) -> None:
        writer.write(b"a" * 300 + b"\nrest\n" + b"b" * 20 + b"\nshort\n")

    async with serving(streams, handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port, limit=100)
        try:
            with anyio.fail_after(10):
                with pytest.raises(streams.LimitOverrunError):
                    await reader.readuntil(b"\n")
                assert await reader.readexactly(301) == b"a" * 300 + b"\n"
                assert await reader.readuntil(b"\n") == b"rest\n"
                assert await reader.readline() == b"b" * 20 + b"\n"
                assert await reader.readline() == b"short\n"
                assert await reader.read() == b""
        finally:
            await close_writer(writer)


@pytest.mark.timeout(30)
async def test_two_concurrent_readers(streams: ModuleType) -> None:
    async with serving(streams, echo_handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        try:
            with anyio.fail_after(10):
                async with anyio.create_task_group() as group:
                    group.start_soon(reader.readline)
                    await anyio.wait_all_tasks_blocked()
                    for call, name in [
                        (reader.read(10), "read"),
                        (reader.readline(), "readuntil"),
                        (reader.readexactly(3), "readexactly"),
                        (reader.readuntil(b"!"), "readuntil"),
                    ]:
                        with pytest.raises(RuntimeError) as excinfo:
                            await call
                        assert str(excinfo.value) == (
                            f"{name}() called while another coroutine is "
                            f"already waiting for incoming data"
                        )
                    writer.write(b"done\n")  # the first reader finishes
        finally:
            await close_writer(writer)


@pytest.mark.timeout(30)
async def test_full_duplex_reader_and_writer_tasks(streams: ModuleType) -> None:
    """One task reads while another writes and drains: they share the socket."""
    size = 8 * 1024 * 1024
    payload = random.Random(7).randbytes(size)
    async with serving(streams, echo_handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        received = bytearray()

        async def read_all() -> None:
            while chunk := await reader.read(1 << 20):
                received.extend(chunk)

        async def write_all() -> None:
            for start in range(0, size, 100_000):
                writer.write(payload[start : start + 100_000])
                await writer.drain()
            writer.write_eof()

        try:
            with anyio.fail_after(30):
                async with anyio.create_task_group() as group:
                    group.start_soon(read_all)
                    group.start_soon(write_all)
        finally:
            await close_writer(writer)
    assert hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()


@pytest.mark.timeout(60)
async def test_64mib_single_write_without_drain(streams: ModuleType) -> None:
    size = 64 * 1024 * 1024
    payload = random.Random(64).randbytes(size)
    expected = hashlib.sha256(payload).digest()
    async with serving(streams, echo_handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        try:
            writer.write(payload)  # one write, no drain: the rest is queued
            del payload
            writer.write_eof()  # sent after the queue
            received = hashlib.sha256()
            total = 0
            with anyio.fail_after(45):
                while chunk := await reader.read(1024 * 1024):  # sends while it waits
                    received.update(chunk)
                    total += len(chunk)
            assert total == size
            assert received.digest() == expected
        finally:
            await close_writer(writer)


@pytest.mark.timeout(30)
async def test_drain_follows_the_water_marks(streams: ModuleType) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    with listener:
        _reader, writer = await streams.open_connection("127.0.0.1", listener.getsockname()[1])
        peer, _ = listener.accept()
        with peer:
            transport = writer.transport
            transport.set_write_buffer_limits(high=64 * 1024, low=16 * 1024)
            writer.write(b"x" * (8 * 1024 * 1024))  # far more than the kernel takes
            assert transport.get_write_buffer_size() > 64 * 1024
            drained = anyio.Event()

            async def drain() -> None:
                await writer.drain()
                drained.set()

            peer.setblocking(False)
            async with anyio.create_task_group() as group:
                group.start_soon(drain)
                await anyio.sleep(0.05)
                assert not drained.is_set()  # the peer reads nothing
                got = 0
                with anyio.fail_after(10):
                    while not drained.is_set():
                        try:
                            got += len(peer.recv(1 << 20))
                        except BlockingIOError:
                            await anyio.sleep(0.001)
            assert transport.get_write_buffer_size() <= 16 * 1024
            writer.transport.abort()  # the peer never reads the rest
            with anyio.fail_after(5):
                await writer.wait_closed()
            assert writer.is_closing()


@pytest.mark.timeout(30)
async def test_close_flushes_then_wait_closed(streams: ModuleType) -> None:
    got: list[int] = []

    async def handler(reader: Any, writer: Any) -> None:
        await anyio.sleep(0.1)  # let the client's kernel buffers fill
        got.append(len(await reader.read()))

    async with serving(streams, handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        writer.write(b"y" * (16 * 1024 * 1024))
        writer.close()
        assert writer.is_closing()
        with anyio.fail_after(20):
            await writer.wait_closed()
        assert await reader.read() == b""  # EOF fed by the close, as asyncio
        with pytest.raises(ConnectionResetError):
            await writer.drain()
        writer.write(b"dropped quietly after close, as asyncio")
    assert got == [16 * 1024 * 1024]


@pytest.mark.timeout(30)
async def test_write_from_another_task_is_sent_while_a_reader_waits(streams: ModuleType) -> None:
    """write() with no drain() from task B goes out while task A waits in read()."""

    async def handler(reader: Any, writer: Any) -> None:
        data = await reader.readexactly(4 * 1024 * 1024)
        writer.write(hashlib.sha256(data).digest())

    async with serving(streams, handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        payload = b"z" * (4 * 1024 * 1024)
        try:
            with anyio.fail_after(10):
                async with anyio.create_task_group() as group:
                    result: list[bytes] = []

                    async def read() -> None:
                        result.append(await reader.readexactly(32))

                    group.start_soon(read)
                    await anyio.wait_all_tasks_blocked()
                    writer.write(payload)  # the kernel takes only part of it
            assert result == [hashlib.sha256(payload).digest()]
        finally:
            await close_writer(writer)


@pytest.mark.timeout(60)
async def test_500_concurrent_clients_no_fd_leak(streams: ModuleType) -> None:
    clients = 500

    async def line_echo(reader: Any, writer: Any) -> None:
        async for line in reader:
            writer.write(line)
            await writer.drain()

    async with serving(streams, line_echo, backlog=clients) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        writer.write(b"warm-up\n")
        with anyio.fail_after(10):
            assert await reader.readline() == b"warm-up\n"
        await close_writer(writer)
        await anyio.sleep(0.05)
        baseline = open_fds()
        connected = 0
        all_connected = anyio.Event()

        async def client(ident: int) -> None:
            nonlocal connected
            reader, writer = await streams.open_connection("127.0.0.1", srv.port)
            try:
                connected += 1
                if connected == clients:
                    all_connected.set()
                await all_connected.wait()
                lines = [
                    f"client {ident} line {j} {'x' * (ident % 97)}\n".encode() for j in range(5)
                ]
                for line in lines:
                    writer.write(line)
                    await anyio.lowlevel.checkpoint()
                await writer.drain()
                assert [await reader.readline() for _ in lines] == lines
                writer.write_eof()
                assert await reader.read() == b""
            finally:
                writer.close()
                await writer.wait_closed()

        with anyio.fail_after(50):
            async with anyio.create_task_group() as group:
                for ident in range(clients):
                    group.start_soon(client, ident)
        assert connected == clients
    # serving() closed the server and waited for every handler to close its end.
    leaked = {fd: target for fd, target in open_fds().items() if fd not in baseline}
    assert not leaked, f"file descriptors left open: {leaked}"
