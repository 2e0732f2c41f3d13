"""TLS: ssl=, server_hostname, handshake timeout, start_tls and its injection rule."""

from __future__ import annotations

import logging
import socket
import ssl
from types import ModuleType
from typing import Any

import anyio
import pytest
import trustme

from .conftest import close_writer, echo_handler, serving

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
    return ctx


@pytest.fixture(scope="module")
def client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


async def tls_echo(reader: Any, writer: Any) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


@pytest.mark.timeout(30)
async def test_tls_verification_failure(
    streams: ModuleType, server_ctx: ssl.SSLContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sansio_streams")
    handled: list[int] = []

    async def handler(reader: Any, writer: Any) -> None:
        handled.append(1)

    async with serving(streams, handler, ssl=server_ctx) as srv:
        # ssl=True: the system's CAs, which do not trust ours.
        with pytest.raises(ssl.SSLCertVerificationError):
            await streams.open_connection("127.0.0.1", srv.port, ssl=True)
        with anyio.fail_after(5):
            # Polling the log: the failure is reported by the server's task.
            while not any("TLS handshake failed" in r.getMessage() for r in caplog.records):  # noqa: ASYNC110
                await anyio.sleep(0.01)
    assert handled == []  # the handler never ran
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "sansio_streams")


@pytest.mark.timeout(30)
async def test_tls_server_handshake_timeout(
    streams: ModuleType, server_ctx: ssl.SSLContext
) -> None:
    async with serving(streams, tls_echo, ssl=server_ctx, ssl_handshake_timeout=0.2) as srv:
        with socket.create_connection(("127.0.0.1", srv.port)) as idle:
            idle.settimeout(5)
            assert await anyio.to_thread.run_sync(idle.recv, 10) == b""  # dropped


@pytest.mark.timeout(30)
async def test_tls_unix_socket(
    streams: ModuleType,
    server_ctx: ssl.SSLContext,
    client_ctx: ssl.SSLContext,
    tmp_path: Any,
) -> None:
    path = tmp_path / "tls.sock"
    async with serving(streams, echo_handler, unix=True, unix_path=path, ssl=server_ctx):
        reader, writer = await streams.open_unix_connection(
            path, ssl=client_ctx, server_hostname="localhost"
        )
        writer.write(b"over unix\n")
        with anyio.fail_after(10):
            assert await reader.readline() == b"over unix\n"
        await close_writer(writer)
