"""Fixtures for the pull-based backends (sansio_streams_trio, sansio_streams_anyio).

Every async test runs once per *flavour*: the trio backend under trio, and the
anyio backend under anyio's asyncio and trio backends -- through anyio's pytest
plugin (``@pytest.mark.anyio`` and the ``anyio_backend`` fixture below).  Tests
use anyio's primitives (timeouts, task groups), which are trio's under trio.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import anyio
import pytest

FLAVOURS = [
    pytest.param(("sansio_streams_trio", "trio"), id="trio"),
    pytest.param(("sansio_streams_anyio", "asyncio"), id="anyio-asyncio"),
    pytest.param(("sansio_streams_anyio", "trio"), id="anyio-trio"),
]


@pytest.fixture(scope="module", params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> tuple[str, str]:
    value: tuple[str, str] = request.param
    return value


@pytest.fixture(scope="module")
def anyio_backend(flavour: tuple[str, str]) -> str:
    return flavour[1]


@pytest.fixture(scope="module")
def streams(flavour: tuple[str, str]) -> ModuleType:
    """The backend module under test."""
    return importlib.import_module(flavour[0])


Handler = Callable[[Any, Any], Awaitable[None]]


@dataclass
class Served:
    server: Any
    port: int
    errors: list[BaseException] = field(default_factory=list)


@contextlib.asynccontextmanager
async def serving(
    streams: ModuleType,
    handler: Handler,
    *,
    unix: bool = False,
    unix_path: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    **kwargs: Any,
) -> AsyncIterator[Served]:
    """Serve ``handler`` in a task group; collect its exceptions; close on exit."""
    errors: list[BaseException] = []

    async def client_connected(reader: Any, writer: Any) -> None:
        try:
            await handler(reader, writer)
        except Exception as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        if unix:
            server = await streams.start_unix_server(
                client_connected, unix_path, task_group=group, **kwargs
            )
        elif "sock" in kwargs:
            server = await streams.start_server(client_connected, task_group=group, **kwargs)
        else:
            server = await streams.start_server(
                client_connected, host, 0, task_group=group, **kwargs
            )
        sockname = server.sockets[0].getsockname()
        port = sockname[1] if isinstance(sockname, tuple) else 0
        try:
            yield Served(server, port, errors)
        except BaseException:
            server.close()
            server.abort_clients()
            raise
        server.close()
        with anyio.fail_after(20):
            await server.wait_closed()
    if errors:
        raise errors[0]


async def echo_handler(reader: Any, writer: Any) -> None:
    """Echo everything until EOF, then half-close."""
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()


async def close_writer(writer: Any) -> None:
    writer.close()
    with anyio.fail_after(10):
        await writer.wait_closed()


def open_fds() -> dict[int, str]:
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
    return fds
