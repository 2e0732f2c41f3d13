"""TLS tests of the asyncio streams API: real sockets on loopback, certificates from trustme.

As in test_network.py, ``streams`` is the module under test (the backend, or stdlib
asyncio with ``SANSIO_TEST_STREAMS=asyncio``) and every test runs on the default loop
and on uvloop. Where the expected behaviour is "what asyncio does" (the exception of a
failed verification or of a handshake timeout), the test runs the same scenario against
stdlib asyncio on the same loop and compares.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from types import ModuleType
from typing import Any

import pytest
import trustme

pytestmark = pytest.mark.anyio

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_context(ca: trustme.CA) -> ssl.SSLContext:
    """A server context with a certificate for "localhost" and 127.0.0.1."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


@pytest.fixture(scope="session")
def client_context(ca: trustme.CA) -> ssl.SSLContext:
    """A client context trusting ``ca``, verification on (the default context's)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(context)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    return context


# --------------------------------------------------------------------------- helpers


@contextlib.asynccontextmanager
async def serving(
    streams: ModuleType, handler: Handler, **kwargs: Any
) -> AsyncIterator[tuple[Any, int, list[BaseException]]]:
    """Serve ``handler`` on 127.0.0.1 port 0: yield (server, port, handler errors).

    The handler's writer is always closed; on a clean exit the server is closed, every
    handler waited for (bounded) and the first handler exception re-raised.
    """
    loop = asyncio.get_running_loop()
    errors: list[BaseException] = []
    finished: list[asyncio.Future[None]] = []

    async def client_connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        done: asyncio.Future[None] = loop.create_future()
        finished.append(done)
        try:
            await handler(reader, writer)
        except Exception as exc:
            errors.append(exc)
        finally:
            try:
                writer.close()
                with contextlib.suppress(OSError):  # TLS errors are OSErrors too
                    await writer.wait_closed()
            finally:
                done.set_result(None)

    server = await streams.start_server(client_connected, "127.0.0.1", 0, **kwargs)
    try:
        yield server, server.sockets[0].getsockname()[1], errors
    except BaseException:
        server.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await server.wait_closed()
        raise
    server.close()
    async with asyncio.timeout(20):
        if finished:
            await asyncio.wait(finished)
        await server.wait_closed()
    if errors:
        raise errors[0]


async def echo_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


async def close_writer(writer: asyncio.StreamWriter) -> None:
    writer.close()
    async with asyncio.timeout(10):
        await writer.wait_closed()


def describe(exc: BaseException) -> tuple[str, ...]:
    """An exception's class and, for certificate errors, the verification result."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (type(exc).__name__, str(exc.verify_code), exc.verify_message)
    return (type(exc).__name__,)


# --------------------------------------------------------------------------- TLS basics


@pytest.mark.timeout(30)
@pytest.mark.parametrize("server_hostname", [None, "localhost"])
async def test_tls_echo_and_extra_info(
    streams: ModuleType,
    server_context: ssl.SSLContext,
    client_context: ssl.SSLContext,
    server_hostname: str | None,
) -> None:
    server_side: dict[str, Any] = {}

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for name in ("sslcontext", "ssl_object", "peercert", "peername", "cipher"):
            server_side[name] = writer.get_extra_info(name)
        server_side["can_write_eof"] = writer.can_write_eof()
        await echo_handler(reader, writer)

    async with serving(streams, handler, ssl=server_context) as (_, port, _):
        reader, writer = await streams.open_connection(
            "127.0.0.1", port, ssl=client_context, server_hostname=server_hostname
        )
        try:
            async with asyncio.timeout(10):
                writer.write(b"over TLS\n")
                assert await reader.readline() == b"over TLS\n"

            ssl_object = writer.get_extra_info("ssl_object")
            assert isinstance(ssl_object, ssl.SSLObject)
            assert ssl_object.server_hostname == (server_hostname or "127.0.0.1")
            assert writer.get_extra_info("sslcontext") is client_context
            peercert = writer.get_extra_info("peercert")
            assert peercert == ssl_object.getpeercert()
            assert set(peercert["subjectAltName"]) == {
                ("DNS", "localhost"),
                ("IP Address", "127.0.0.1"),
            }
            assert writer.get_extra_info("cipher") == ssl_object.cipher()
            assert writer.get_extra_info("peername") == ("127.0.0.1", port)
            assert writer.get_extra_info("socket").getpeername() == ("127.0.0.1", port)
            assert not writer.can_write_eof()  # TLS transports cannot half-close
        finally:
            await close_writer(writer)
    assert server_side["sslcontext"] is server_context
    assert isinstance(server_side["ssl_object"], ssl.SSLObject)
    assert server_side["ssl_object"].server_side
    assert server_side["peercert"] is None  # no client certificate was asked for
    assert server_side["peername"][0] == "127.0.0.1"
    assert server_side["cipher"] is not None
    assert server_side["can_write_eof"] is False


@pytest.mark.timeout(30)
async def test_tls_client_certificate(
    streams: ModuleType, ca: trustme.CA, server_context: ssl.SSLContext
) -> None:
    strict_server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(strict_server)
    ca.configure_trust(strict_server)
    strict_server.verify_mode = ssl.CERT_REQUIRED
    client = ssl.create_default_context()
    ca.configure_trust(client)
    ca.issue_cert("client.example").configure_cert(client)
    peercerts = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peercerts.append(writer.get_extra_info("peercert"))
        await echo_handler(reader, writer)

    async with serving(streams, handler, ssl=strict_server) as (_, port, _):
        reader, writer = await streams.open_connection(
            "127.0.0.1", port, ssl=client, server_hostname="localhost"
        )
        try:
            async with asyncio.timeout(10):
                writer.write(b"mutual\n")
                assert await reader.readline() == b"mutual\n"
        finally:
            await close_writer(writer)
    assert len(peercerts) == 1
    assert ("DNS", "client.example") in peercerts[0]["subjectAltName"]


@pytest.mark.timeout(60)
async def test_tls_large_payload_and_eof(
    streams: ModuleType, server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    size = 8 * 1024 * 1024
    payload = random.Random(8).randbytes(size)
    expected = hashlib.sha256(payload).digest()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received = hashlib.sha256()
        received.update(await reader.readexactly(size))
        writer.write(received.digest())
        await writer.drain()
        # Closing here sends close_notify: the client reads b"" (EOF).

    async with serving(streams, handler, ssl=server_context) as (_, port, _):
        reader, writer = await streams.open_connection(
            "127.0.0.1", port, ssl=client_context, server_hostname="localhost"
        )
        try:
            writer.write(payload)  # one write, no drain
            del payload
            async with asyncio.timeout(30):
                assert await reader.readexactly(32) == expected
                assert await reader.read() == b""
                assert reader.at_eof()
        finally:
            await close_writer(writer)


# ------------------------------------------------------------------ verification failures


async def verification_failure(
    module: ModuleType, port: int, context: ssl.SSLContext, server_hostname: str
) -> tuple[str, ...]:
    """Connect with ``context`` / ``server_hostname``: what fails (or "connected")."""
    try:
        async with asyncio.timeout(10):
            _reader, writer = await module.open_connection(
                "127.0.0.1", port, ssl=context, server_hostname=server_hostname
            )
    except Exception as exc:
        return describe(exc)
    await close_writer(writer)
    return ("connected",)


@pytest.mark.timeout(30)
async def test_tls_wrong_hostname_fails_like_asyncio(
    streams: ModuleType, server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    async with serving(streams, echo_handler, ssl=server_context) as (_, port, _):
        expected = await verification_failure(asyncio, port, client_context, "wrong.example")
        got = await verification_failure(streams, port, client_context, "wrong.example")
    assert expected[0] == "SSLCertVerificationError"
    assert "Hostname mismatch" in expected[2]
    assert got == expected


@pytest.mark.timeout(30)
async def test_tls_untrusted_certificate_fails_like_asyncio(
    streams: ModuleType, server_context: ssl.SSLContext
) -> None:
    other_ca = trustme.CA()
    distrustful = ssl.create_default_context()
    other_ca.configure_trust(distrustful)
    async with serving(streams, echo_handler, ssl=server_context) as (_, port, _):
        expected = await verification_failure(asyncio, port, distrustful, "localhost")
        got = await verification_failure(streams, port, distrustful, "localhost")
    assert expected[0] == "SSLCertVerificationError"
    assert got == expected


async def handshake_timeout(
    module: ModuleType, client_context: ssl.SSLContext
) -> tuple[str, float]:
    """Connect with TLS to a TCP server that never answers: what fails, and when."""
    loop = asyncio.get_running_loop()
    # Listening without ever accepting: the kernel completes the TCP handshake, nobody
    # ever answers the ClientHello.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        start = loop.time()
        try:
            async with asyncio.timeout(10):
                _reader, writer = await module.open_connection(
                    "127.0.0.1",
                    silent.getsockname()[1],
                    ssl=client_context,
                    server_hostname="localhost",
                    ssl_handshake_timeout=0.5,
                )
        except Exception as exc:
            return type(exc).__name__, loop.time() - start
    await close_writer(writer)
    return "connected", loop.time() - start


@pytest.mark.timeout(30)
async def test_tls_handshake_timeout_like_asyncio(
    streams: ModuleType, client_context: ssl.SSLContext
) -> None:
    expected, asyncio_elapsed = await handshake_timeout(asyncio, client_context)
    got, elapsed = await handshake_timeout(streams, client_context)
    assert expected in ("TimeoutError", "ConnectionAbortedError")
    assert got == expected
    assert 0.45 <= asyncio_elapsed < 3
    assert 0.45 <= elapsed < 3, f"gave up after {elapsed:.2f} s, not ~0.5 s"


# -------------------------------------------------------------------------- STARTTLS
