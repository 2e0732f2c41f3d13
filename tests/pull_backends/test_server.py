"""The structured server lifecycle."""

from __future__ import annotations

import logging
import socket
from types import ModuleType
from typing import Any

import anyio
import pytest

from .conftest import close_writer, echo_handler, open_fds

pytestmark = pytest.mark.anyio


async def can_connect(port: int) -> bool:
    try:
        stream = await anyio.connect_tcp("127.0.0.1", port)
    except OSError:
        return False
    await stream.aclose()
    return True


async def echo_once(streams: ModuleType, port: int, data: bytes = b"ping\n") -> bytes:
    reader, writer = await streams.open_connection("127.0.0.1", port)
    try:
        with anyio.fail_after(10):
            writer.write(data)
            line: bytes = await reader.readline()
            return line
    finally:
        await close_writer(writer)


@pytest.mark.timeout(30)
async def test_async_with_serves_inside_the_block(streams: ModuleType) -> None:
    server = await streams.start_server(echo_handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    assert not server.is_serving()  # bound, not serving: no scope yet
    async with server:
        assert server.is_serving()
        assert await echo_once(streams, port) == b"ping\n"
    assert not server.is_serving()
    assert server.sockets == ()
    assert not await can_connect(port)
    with anyio.fail_after(5):
        await server.wait_closed()
    with pytest.raises(RuntimeError, match="is closed"):
        await server.serve_forever()


@pytest.mark.timeout(30)
async def test_serve_forever_until_cancelled(streams: ModuleType) -> None:
    server = await streams.start_server(echo_handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with anyio.create_task_group() as group:
        group.start_soon(server.serve_forever)
        await anyio.wait_all_tasks_blocked()
        assert server.is_serving()
        with pytest.raises(RuntimeError, match="serve_forever"):
            await server.serve_forever()
        assert await echo_once(streams, port) == b"ping\n"
        group.cancel_scope.cancel()
    assert not server.is_serving()
    assert not await can_connect(port)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("in_group", [False, True], ids=["own-scope", "task_group"])
async def test_close_ends_serve_forever_after_the_handlers(
    streams: ModuleType, in_group: bool
) -> None:
    """close() ends serve_forever() (asyncio's raises CancelledError there); it
    returns once the running handlers are done, which close() does not stop."""
    events: list[str] = []
    started = anyio.Event()
    release = anyio.Event()

    async def handler(reader: Any, writer: Any) -> None:
        events.append("handler started")
        started.set()
        await release.wait()
        writer.write(b"bye\n")
        events.append("handler done")

    async def serve(server: Any) -> None:
        await server.serve_forever()
        events.append("serve_forever returned")

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            kwargs = {"task_group": group} if in_group else {}
            server = await streams.start_server(handler, "127.0.0.1", 0, **kwargs)
            port = server.sockets[0].getsockname()[1]
            group.start_soon(serve, server)
            await anyio.wait_all_tasks_blocked()
            reader, writer = await streams.open_connection("127.0.0.1", port)
            await started.wait()
            server.close()
            await anyio.sleep(0.05)
            assert events == ["handler started"]  # the handler still runs
            release.set()
            assert await reader.readline() == b"bye\n"
            await close_writer(writer)
    assert events == ["handler started", "handler done", "serve_forever returned"]


@pytest.mark.timeout(30)
async def test_task_group_serves_at_once(streams: ModuleType) -> None:
    async with anyio.create_task_group() as group:
        server = await streams.start_server(echo_handler, "127.0.0.1", 0, task_group=group)
        port = server.sockets[0].getsockname()[1]
        assert server.is_serving()
        assert await echo_once(streams, port) == b"ping\n"
        server.close()
        with anyio.fail_after(5):
            await server.wait_closed()
    assert not await can_connect(port)


@pytest.mark.timeout(30)
async def test_start_serving_false(streams: ModuleType) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = await streams.start_server(echo_handler, sock=listener, start_serving=False)
    with pytest.raises(RuntimeError, match="scope"):
        await server.start_serving()
    async with server:
        assert not server.is_serving()
        await server.start_serving()
        assert server.is_serving()
        assert await echo_once(streams, port) == b"ping\n"
    assert listener.fileno() == -1
    async with anyio.create_task_group() as group:
        server = await streams.start_server(
            echo_handler, "127.0.0.1", 0, start_serving=False, task_group=group
        )
        assert not server.is_serving()
        await server.start_serving()
        assert await echo_once(streams, server.sockets[0].getsockname()[1]) == b"ping\n"
        server.close()


@pytest.mark.timeout(30)
async def test_handler_return_flushes_and_closes(streams: ModuleType) -> None:
    size = 8 * 1024 * 1024

    async def handler(reader: Any, writer: Any) -> None:
        writer.write(b"q" * size)  # no drain(): returning flushes, then closes

    async with anyio.create_task_group() as group:
        server = await streams.start_server(handler, "127.0.0.1", 0, task_group=group)
        reader, writer = await streams.open_connection(
            "127.0.0.1", server.sockets[0].getsockname()[1]
        )
        with anyio.fail_after(10):
            await anyio.sleep(0.05)  # let the server's buffers fill
            assert len(await reader.read()) == size  # then EOF: the server closed
        await close_writer(writer)
        server.close()
        await server.wait_closed()


@pytest.mark.timeout(30)
async def test_plain_function_callback(streams: ModuleType) -> None:
    def callback(reader: Any, writer: Any) -> None:
        writer.write(b"hi from a plain function\n")  # its connection closes on return

    async with anyio.create_task_group() as group:
        server = await streams.start_server(callback, "127.0.0.1", 0, task_group=group)
        reader, writer = await streams.open_connection(
            "127.0.0.1", server.sockets[0].getsockname()[1]
        )
        with anyio.fail_after(10):
            assert await reader.read() == b"hi from a plain function\n"
        await close_writer(writer)
        server.close()


@pytest.mark.timeout(30)
async def test_handler_raising_is_logged_and_closed(
    streams: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(reader: Any, writer: Any) -> None:
        writer.write(b"partial answer\n")
        if await reader.readline() == b"boom\n":
            raise ValueError("handler failed")
        await echo_handler(reader, writer)

    caplog.set_level(logging.ERROR, logger="sansio_streams")
    async with anyio.create_task_group() as group:
        server = await streams.start_server(handler, "127.0.0.1", 0, task_group=group)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await streams.open_connection("127.0.0.1", port)
        writer.write(b"boom\n")
        with anyio.fail_after(10):
            assert await reader.read() == b"partial answer\n"  # flushed, then closed
        await close_writer(writer)
        # The server is still up.
        reader, writer = await streams.open_connection("127.0.0.1", port)
        writer.write(b"fine\nand echoed\n")
        with anyio.fail_after(10):
            assert await reader.readline() == b"partial answer\n"
            assert await reader.readline() == b"and echoed\n"
        await close_writer(writer)
        server.close()
        await server.wait_closed()
    [record] = [r for r in caplog.records if r.name == "sansio_streams"]
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith("Unhandled exception in client_connected_cb")
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)


@pytest.mark.timeout(30)
async def test_wait_closed_waits_for_handlers(streams: ModuleType) -> None:
    release = anyio.Event()
    finished: list[str] = []

    async def handler(reader: Any, writer: Any) -> None:
        await release.wait()
        finished.append("handler")

    async with anyio.create_task_group() as group:
        server = await streams.start_server(handler, "127.0.0.1", 0, task_group=group)
        _reader, writer = await streams.open_connection(
            "127.0.0.1", server.sockets[0].getsockname()[1]
        )
        await anyio.sleep(0.05)
        server.close()
        with anyio.move_on_after(0.1) as scope:
            await server.wait_closed()
        assert scope.cancelled_caught  # a handler still runs
        release.set()
        with anyio.fail_after(5):
            await server.wait_closed()
        assert finished == ["handler"]
        await close_writer(writer)


@pytest.mark.timeout(30)
async def test_close_clients_and_abort_clients(streams: ModuleType) -> None:
    seen: list[object] = []

    async def handler(reader: Any, writer: Any) -> None:
        writer.write(b"hello\n")
        try:
            seen.append(await reader.read())  # until close_clients()
        except OSError as exc:
            seen.append(type(exc))

    async with anyio.create_task_group() as group:
        server = await streams.start_server(handler, "127.0.0.1", 0, task_group=group)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await streams.open_connection("127.0.0.1", port)
        with anyio.fail_after(10):
            assert await reader.readline() == b"hello\n"
            server.close_clients()
            assert await reader.read() == b""  # the server closed: EOF
            await close_writer(writer)
            reader, writer = await streams.open_connection("127.0.0.1", port)
            assert await reader.readline() == b"hello\n"
            server.abort_clients()
            with pytest.raises(ConnectionResetError):
                await reader.read()
            writer.close()
            with pytest.raises(ConnectionResetError):
                await writer.wait_closed()
        server.close()
        with anyio.fail_after(5):
            await server.wait_closed()
    assert seen == [b"", b""]


@pytest.mark.timeout(30)
async def test_cancelling_the_group_cancels_handlers_and_leaks_nothing(
    streams: ModuleType,
) -> None:
    started = 0
    all_started = anyio.Event()

    async def handler(reader: Any, writer: Any) -> None:
        nonlocal started
        started += 1
        if started == 10:
            all_started.set()
        await reader.read()

    baseline = open_fds()
    async with anyio.create_task_group() as group:
        server = await streams.start_server(handler, "127.0.0.1", 0, task_group=group)
        port = server.sockets[0].getsockname()[1]
        clients = [await streams.open_connection("127.0.0.1", port) for _ in range(10)]
        with anyio.fail_after(5):
            await all_started.wait()
        group.cancel_scope.cancel()
    assert not server.is_serving()
    for reader, writer in clients:
        with anyio.fail_after(5), pytest.raises(ConnectionResetError):
            await reader.read()  # cancelled handlers abort their connections
        writer.close()
    leaked = set(open_fds()) - set(baseline)
    assert not leaked


@pytest.mark.timeout(30)
async def test_failing_block_cancels_handlers_and_propagates_unwrapped(
    streams: ModuleType,
) -> None:
    cancelled: list[bool] = []

    async def handler(reader: Any, writer: Any) -> None:
        try:
            await reader.read()
        except BaseException:
            cancelled.append(True)
            raise

    server = await streams.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pair: list[Any] = []

    async def failing_block() -> None:
        async with server:
            pair.extend(await streams.open_connection("127.0.0.1", port))
            await anyio.sleep(0.05)
            raise KeyError("the block failed")

    with pytest.raises(KeyError):
        await failing_block()
    reader, writer = pair
    assert cancelled == [True]
    with anyio.fail_after(5), pytest.raises(ConnectionResetError):
        await reader.read()
    writer.close()
