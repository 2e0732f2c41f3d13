"""Connections: the spec's behaviour, per backend flavour, over real loopback sockets."""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import pytest

from .conftest import close_writer, echo_handler, serving

pytestmark = pytest.mark.anyio


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
