"""Resets, floods, cancellation: the failure paths behave as asyncio's."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

import anyio
import anyio.to_thread
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from .conftest import close_writer, serving

pytestmark = pytest.mark.anyio

# The most one receive adds to the reader's buffer (the front's _MAX_RECV).
RECEIVE_CHUNK = 256 * 1024


def reset(sock: socket.socket) -> None:
    """Close ``sock`` abortively: SO_LINGER 0 makes the kernel send RST."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


async def accept(listener: socket.socket) -> socket.socket:
    listener.setblocking(False)
    while True:
        try:
            return listener.accept()[0]
        except BlockingIOError:
            await anyio.wait_readable(listener)


async def outcome(what: str, call: Callable[[], Awaitable[Any]]) -> str:
    try:
        result = await call()
    except Exception as exc:
        return f"{what} raised {type(exc).__name__}"
    return f"{what} returned {result!r}" if result is not None else f"{what} returned"


async def reset_during_read(streams: ModuleType) -> list[str]:
    out: list[str] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        reader, writer = await streams.open_connection("127.0.0.1", listener.getsockname()[1])
        peer = await accept(listener)
        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:

                async def read() -> None:
                    out.append(await outcome("read", lambda: reader.read(100)))

                group.start_soon(read)
                await anyio.wait_all_tasks_blocked()
                reset(peer)
            out.append(await outcome("second read", lambda: reader.read(100)))
            writer.close()
            out.append(await outcome("wait_closed", writer.wait_closed))
    return out


async def reset_during_drain(streams: ModuleType) -> list[str]:
    out: list[str] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        reader, writer = await streams.open_connection("127.0.0.1", listener.getsockname()[1])
        peer = await accept(listener)
        writer.write(b"x" * (16 * 1024 * 1024))
        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:

                async def drain() -> None:
                    out.append(await outcome("drain", writer.drain))

                group.start_soon(drain)
                await anyio.sleep(0.05)
                assert not out, "drain() never blocked"
                reset(peer)
            out.append(await outcome("read", lambda: reader.read(100)))
            writer.write(b"more")  # no error here...
            out.append(await outcome("second drain", writer.drain))  # ...but here
            writer.close()
            out.append(await outcome("wait_closed", writer.wait_closed))
    return out


@pytest.mark.timeout(30)
async def test_peer_reset_during_read_like_asyncio(streams: ModuleType) -> None:
    # What asyncio 3.11-3.13 does (checked by tests/asyncio_backend against asyncio).
    assert await reset_during_read(streams) == [
        "read raised ConnectionResetError",
        "second read raised ConnectionResetError",
        "wait_closed raised ConnectionResetError",
    ]


@pytest.mark.timeout(30)
async def test_peer_reset_during_drain_like_asyncio(streams: ModuleType) -> None:
    assert await reset_during_drain(streams) == [
        "drain raised ConnectionResetError",
        "read raised ConnectionResetError",
        "second drain raised ConnectionResetError",
        "wait_closed raised ConnectionResetError",
    ]


@pytest.mark.timeout(30)
async def test_connection_refused_like_asyncio(streams: ModuleType) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        await streams.open_connection("127.0.0.1", port)


@pytest.mark.timeout(30)
async def test_flood_without_separator_is_bounded(streams: ModuleType) -> None:
    limit = 64 * 1024
    stop = threading.Event()
    sent = [0]

    def flood(listener: socket.socket) -> None:
        listener.settimeout(10)
        peer, _ = listener.accept()
        with peer:
            peer.settimeout(0.1)
            chunk = b"x" * 65536
            while not stop.is_set():
                try:
                    sent[0] += peer.send(chunk)
                except TimeoutError:
                    continue
                except OSError:
                    return

    with socket.create_server(("127.0.0.1", 0)) as listener:
        async with anyio.create_task_group() as group:
            group.start_soon(anyio.to_thread.run_sync, flood, listener)
            reader, writer = await streams.open_connection(
                "127.0.0.1", listener.getsockname()[1], limit=limit
            )
            peak = 0
            try:
                with anyio.fail_after(10):
                    with pytest.raises(streams.LimitOverrunError) as excinfo:
                        await reader.readuntil(b"\n")
                    assert excinfo.value.consumed > limit
                    peak = max(peak, len(reader._core))
                    await anyio.sleep(0.2)  # flood on: nothing is received meanwhile
                    peak = max(peak, len(reader._core))
                    with pytest.raises(streams.LimitOverrunError):
                        await reader.readuntil(b"\n")
                    for _ in range(20):
                        data = await reader.read(limit)
                        assert data == b"x" * len(data)
                        assert 0 < len(data) <= limit
                        peak = max(peak, len(reader._core))
                    # A drain() that has to wait receives too, within the bound.
                    writer.transport.set_write_buffer_limits(high=0)
                    writer.write(b"ping")
                    await writer.drain()
                    peak = max(peak, len(reader._core))
            finally:
                stop.set()
                await close_writer(writer)
    assert sent[0] > 2 * limit + RECEIVE_CHUNK  # the flood outran the bound
    assert limit < peak <= 2 * limit + RECEIVE_CHUNK, f"peak buffer {peak} bytes"


# ----------------------------------------------------------------- cancellation

READ_TIMEOUTS = [0.0, 0.0002, 0.001, 0.002, 0.005, 0.02]
read_ops = st.one_of(
    st.tuples(st.just("readline"), st.just(0)),
    st.tuples(st.just("readexactly"), st.integers(0, 300)),
    st.tuples(st.just("read"), st.integers(0, 300)),
    st.tuples(st.just("readuntil"), st.sampled_from([b"\n", b"\r\n", b"ab"])),
    st.tuples(st.just("drain"), st.integers(0, 200_000)),
)
payloads = st.lists(
    st.one_of(st.sampled_from([b"\n", b"\r\n", b"ab", b"a", b"\r", b"b"]), st.binary(max_size=60)),
    max_size=120,
).map(b"".join)


@pytest.mark.timeout(120)
@settings(max_examples=15, deadline=None)
@given(
    payload=payloads,
    chunk_sizes=st.lists(st.integers(1, 400), min_size=1, max_size=20),
    pauses=st.lists(st.sampled_from([0.0, 0.0, 0.0005, 0.002]), min_size=1, max_size=20),
    ops=st.lists(
        st.tuples(read_ops, st.sampled_from(READ_TIMEOUTS), st.booleans()),
        max_size=25,
    ),
)
async def test_cancelled_reads_and_drains_lose_nothing(
    streams: ModuleType,
    payload: bytes,
    chunk_sizes: list[int],
    pauses: list[float],
    ops: list[tuple[tuple[str, Any], float, bool]],
) -> None:
    """Deadlines expire anywhere in reads and drains: no byte is lost or
    duplicated, in either direction (the server checks what it received)."""
    uploaded = bytearray()

    async def handler(reader: Any, writer: Any) -> None:
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        position = 0
        step = 0
        while position < len(payload):
            size = chunk_sizes[step % len(chunk_sizes)]
            writer.write(payload[position : position + size])
            await writer.drain()
            position += size
            if pause := pauses[step % len(pauses)]:
                await anyio.sleep(pause)
            step += 1
        writer.write_eof()
        uploaded.extend(await reader.read())

    sent = bytearray()
    async with serving(streams, handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        # Small buffers, so that drain() has to wait (and can be cancelled).
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
        writer.transport.set_write_buffer_limits(high=16 * 1024)
        received = bytearray()
        try:
            with anyio.fail_after(20):
                for op in ops:
                    received += await run_deadlined(streams, reader, writer, op, sent)
                received += await reader.read()
                writer.write_eof()
        finally:
            await close_writer(writer)
    assert bytes(received) == payload
    assert uploaded == sent


async def run_deadlined(
    streams: ModuleType,
    reader: Any,
    writer: Any,
    op: tuple[tuple[str, Any], float, bool],
    sent: bytearray,
) -> bytes:
    """Run one op under a deadline; return the bytes it consumed."""
    (kind, arg), timeout, use_move_on = op
    data = b""
    try:
        if kind == "drain":
            chunk = bytes([len(sent) % 251]) * arg
            writer.write(chunk)
            sent += chunk
        if use_move_on:
            with anyio.move_on_after(timeout) as scope:
                data = await run_op(reader, writer, kind, arg)
            if scope.cancelled_caught:
                event(f"{kind} cancelled")
        else:
            with anyio.fail_after(timeout):
                data = await run_op(reader, writer, kind, arg)
    except TimeoutError:
        event(f"{kind} cancelled")  # nothing was consumed
    except streams.IncompleteReadError as exc:
        data = exc.partial  # EOF: the partial data was consumed
    return data


async def run_op(reader: Any, writer: Any, kind: str, arg: Any) -> bytes:
    if kind == "drain":
        await writer.drain()
        return b""
    if kind == "readline":
        data: bytes = await reader.readline()
    elif kind == "readexactly":
        data = await reader.readexactly(arg)
    elif kind == "readuntil":
        data = await reader.readuntil(arg)
    else:
        data = await reader.read(arg)
    return data
