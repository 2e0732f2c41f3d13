"""wrap_stream(): a reader/writer pair over an existing framework stream."""

from __future__ import annotations

import hashlib
import random
import ssl
from types import ModuleType
from typing import Any

import anyio
import anyio.abc
import pytest
import trio
import trio.testing
import trustme
from anyio.streams.stapled import StapledByteStream

import sansio_streams_trio

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


async def framework_stream(flavour: tuple[str, str], port: int, tls: ssl.SSLContext | None) -> Any:
    """A connected stream of the backend's framework (trio's, or anyio's)."""
    if flavour[0] == "sansio_streams_trio":
        stream: Any = await trio.open_tcp_stream("127.0.0.1", port)
        if tls is not None:
            stream = trio.SSLStream(stream, tls, server_hostname="localhost")
        return stream
    if tls is not None:
        return await anyio.connect_tcp("127.0.0.1", port, ssl_context=tls, tls_hostname="localhost")
    return await anyio.connect_tcp("127.0.0.1", port)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
async def test_wrapped_stream_echo(
    streams: ModuleType,
    flavour: tuple[str, str],
    tls: bool,
    contexts: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_ctx, client_ctx = contexts
    payload = random.Random(5).randbytes(4 * 1024 * 1024)

    async def handler(reader: Any, writer: Any) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()

    async with serving(streams, handler, ssl=server_ctx if tls else None) as srv:
        stream = await framework_stream(flavour, srv.port, client_ctx if tls else None)
        reader, writer = await streams.wrap_stream(stream)
        try:
            with anyio.fail_after(20):
                writer.write(b"line\n")
                assert await reader.readline() == b"line\n"
                writer.write(payload)  # no drain: reading sends it meanwhile
                echoed = await reader.readexactly(len(payload))
                assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()
                if tls:
                    assert writer.get_extra_info("ssl_object") is not None or flavour[0].endswith(
                        "trio"
                    )
                else:
                    assert writer.get_extra_info("peername") == ("127.0.0.1", srv.port)
        finally:
            await close_writer(writer)


@pytest.mark.timeout(30)
async def test_wrapped_stream_half_close_and_close(
    streams: ModuleType, flavour: tuple[str, str]
) -> None:
    async with serving(streams, echo_handler) as srv:
        stream = await framework_stream(flavour, srv.port, None)
        reader, writer = await streams.wrap_stream(stream)
        with anyio.fail_after(10):
            assert writer.can_write_eof()
            writer.write(b"request")
            writer.write_eof()
            assert await reader.read() == b"request"
            await close_writer(writer)
        assert writer.is_closing()


async def test_trio_lockstep_stream_without_buffers() -> None:
    """A zero-buffer trio stream pair (trio.testing.lockstep_stream_pair): the
    wrapped side sends and receives at once, else it would deadlock."""
    left, right = trio.testing.lockstep_stream_pair()
    payload = random.Random(9).randbytes(2 * 1024 * 1024)

    async def echo_peer() -> None:
        while data := await right.receive_some(10_000):
            await right.send_all(data)
        await right.aclose()

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(echo_peer)
            reader, writer = await sansio_streams_trio.wrap_stream(left)
            writer.write(payload)
            assert await reader.readexactly(len(payload)) == payload
            writer.write_eof()
            assert await reader.read() == b""
            await close_writer(writer)


test_trio_lockstep_stream_without_buffers = pytest.mark.parametrize("anyio_backend", ["trio"])(
    pytest.mark.timeout(30)(test_trio_lockstep_stream_without_buffers)
)


@pytest.mark.timeout(30)
async def test_wrapped_memory_streams_start_tls(
    streams: ModuleType,
    flavour: tuple[str, str],
    contexts: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    """start_tls() over wrapped in-memory streams, both sides ours."""
    server_ctx, client_ctx = contexts
    a: Any
    b: Any
    if flavour[0] == "sansio_streams_trio":
        a, b = trio.testing.memory_stream_pair()
    else:
        send1, receive1 = anyio.create_memory_object_stream[bytes](100)
        send2, receive2 = anyio.create_memory_object_stream[bytes](100)
        a = StapledByteStream(_ByteSend(send1), _ByteReceive(receive2))
        b = StapledByteStream(_ByteSend(send2), _ByteReceive(receive1))
    client_r, client_w = await streams.wrap_stream(a)
    server_r, server_w = await streams.wrap_stream(b, server_side=True)

    async def server() -> None:
        assert await server_r.readline() == b"STARTTLS\n"
        server_w.write(b"OK\n")
        await server_w.start_tls(server_ctx)
        server_w.write(await server_r.readline())
        await server_w.drain()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(server)
            client_w.write(b"STARTTLS\n")
            assert await client_r.readline() == b"OK\n"
            await client_w.start_tls(client_ctx, server_hostname="localhost")
            client_w.write(b"over tls over memory\n")
            assert await client_r.readline() == b"over tls over memory\n"
    client_w.close()
    server_w.close()
    with anyio.fail_after(5):
        await client_w.wait_closed()
        await server_w.wait_closed()


class _ByteSend(anyio.abc.ByteSendStream):
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def send(self, item: bytes) -> None:
        await self._inner.send(item)

    async def send_eof(self) -> None:
        await self._inner.aclose()

    async def aclose(self) -> None:
        await self._inner.aclose()


class _ByteReceive(anyio.abc.ByteReceiveStream):
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def receive(self, max_bytes: int = 65536) -> bytes:
        data: bytes = await self._inner.receive()
        return data

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.timeout(30)
async def test_wrapped_stream_cancelled_reads_lose_nothing(
    streams: ModuleType, flavour: tuple[str, str]
) -> None:
    async def handler(reader: Any, writer: Any) -> None:
        for i in range(50):
            writer.write(b"%d\n" % i)
            await writer.drain()
            await anyio.sleep(0.002)

    async with serving(streams, handler) as srv:
        stream = await framework_stream(flavour, srv.port, None)
        reader, writer = await streams.wrap_stream(stream)
        lines = []
        with anyio.fail_after(20):
            while True:
                with anyio.move_on_after(0.001):
                    line = await reader.readline()
                    if not line:
                        break
                    lines.append(line)
        assert lines == [b"%d\n" % i for i in range(50)]
        await close_writer(writer)
