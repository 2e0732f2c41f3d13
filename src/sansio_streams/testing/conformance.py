"""The conformance suite: what every backend of the streams API must do.

Each *check* is a coroutine function taking a :class:`Subject` (the streams
module under test and what the suite needs to know about it) that opens real
connections on the loopback interface, asserts, and raises
:class:`AssertionError` when the backend misbehaves.  The checks use only the
asyncio streams API -- ``open_connection``, ``start_server``,
``open_unix_connection``, ``start_unix_server``, the reader, the writer, the
server -- plus :mod:`anyio` for timeouts and tasks, so the same assertions run
on asyncio (any event loop, uvloop included) and on trio.

The suite is written to the portable subset of the API: handlers close their
writer (asyncio leaves a returning handler's connection open), and servers are
used as ``async with server:`` with an explicit ``close()`` and
``wait_closed()``, which serves on asyncio, trio and anyio alike.

Run it from pytest, one test per check (anyio's pytest plugin runs the
coroutines)::

    import pytest
    from sansio_streams.testing import conformance

    import my_streams

    @pytest.mark.anyio
    @pytest.mark.parametrize("check", conformance.CHECKS.values(), ids=conformance.CHECKS.keys())
    async def test_conformance(check):
        try:
            await check(conformance.Subject(my_streams))
        except conformance.NotApplicable as exc:
            pytest.skip(str(exc))

or without pytest, all at once: ``await conformance.run_checks(subject)``.

Needs the ``testing`` extra (hypothesis, anyio, trustme).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import random
import socket
import ssl
import struct
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
from hypothesis import strategies as st

__all__ = (
    "CHECKS",
    "Check",
    "NotApplicable",
    "Scenario",
    "Subject",
    "cancellation_scenarios",
    "check_cancellation_scenario",
    "run_checks",
)

#: The most one receive may add to a reader's buffer when nothing says otherwise:
#: 256 KiB, what asyncio's selector transport and uvloop read at once.
DEFAULT_RECEIVE_CHUNK = 256 * 1024


@dataclasses.dataclass(frozen=True)
class Subject:
    """The streams implementation under test.

    Args:
        streams: The module (or any object) with the streams API:
            ``open_connection``, ``start_server``, ``open_unix_connection``,
            ``start_unix_server``, ``IncompleteReadError``,
            ``LimitOverrunError``.
        name: A name for messages.
        buffered: How many received bytes a reader holds, for the flood check
            (the only check that looks inside a reader).  ``None`` makes that
            check not applicable.
        receive_chunk: The most bytes one receive adds to a reader's buffer:
            the flood check allows ``2 * limit + receive_chunk``.
        start_tls_injection_error: The exception class ``start_tls()`` raises
            when plaintext follows the upgrade point (the STARTTLS injection
            rule); ``None`` makes that check not applicable.
    """

    streams: Any
    name: str = "streams"
    buffered: Callable[[Any], int] | None = None
    receive_chunk: int = DEFAULT_RECEIVE_CHUNK
    start_tls_injection_error: type[BaseException] | None = None


class NotApplicable(Exception):
    """Raised by a check that cannot run here (no ``::1``, no AF_UNIX, no
    ``Subject.buffered``): report it as skipped, not passed."""


#: A check: a coroutine function that returns when the subject conforms.
Check = Callable[[Subject], Awaitable[None]]


# ------------------------------------------------------------------ helpers

Handler = Callable[[Any, Any], Awaitable[None]]


@dataclasses.dataclass
class _Served:
    server: Any
    port: int


@contextlib.asynccontextmanager
async def _serving(
    subject: Subject,
    handler: Handler,
    *,
    unix_path: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    **kwargs: Any,
) -> AsyncIterator[_Served]:
    """Serve ``handler`` for the block; re-raise the first handler error after it.

    The handler's writer is closed when it returns (the portable form: asyncio
    would leave the connection open).  On a clean exit the server is closed and
    every connection waited for, so no socket outlives the check.
    """
    streams = subject.streams
    errors: list[BaseException] = []

    async def client_connected(reader: Any, writer: Any) -> None:
        try:
            await handler(reader, writer)
        except Exception as exc:
            errors.append(exc)
        finally:
            writer.close()
            with contextlib.suppress(OSError):  # the peer may have reset
                await writer.wait_closed()

    if unix_path is not None or (kwargs.get("sock") is not None and _is_unix(kwargs["sock"])):
        server = await streams.start_unix_server(client_connected, unix_path, **kwargs)
    elif "sock" in kwargs:
        server = await streams.start_server(client_connected, **kwargs)
    else:
        server = await streams.start_server(client_connected, host, 0, **kwargs)
    sockname = server.sockets[0].getsockname()
    port = sockname[1] if isinstance(sockname, tuple) else 0
    async with server:
        try:
            yield _Served(server, port)
        except BaseException as exc:
            # Do not wait for connections the failed check left open.
            server.close()
            server.abort_clients()
            for error in errors:
                exc.add_note(f"a handler failed before: {error!r}")
            raise
        server.close()
        with anyio.fail_after(20):
            await server.wait_closed()
    if errors:
        raise errors[0]


def _is_unix(sock: socket.socket) -> bool:
    return getattr(socket, "AF_UNIX", None) == sock.family


async def _echo(reader: Any, writer: Any) -> None:
    """Echo everything until EOF, then half-close."""
    while data := await reader.read(65536):
        writer.write(data)
        try:
            await writer.drain()
        except ConnectionResetError:
            if writer.is_closing():
                return  # closed by the server (close_clients()): as asyncio may
            raise
    if writer.can_write_eof() and not writer.is_closing():
        writer.write_eof()


async def _close(writer: Any) -> None:
    writer.close()
    with anyio.fail_after(10):
        await writer.wait_closed()


@contextlib.asynccontextmanager
async def _connection(subject: Subject, port: int, **kwargs: Any) -> AsyncIterator[tuple[Any, Any]]:
    reader, writer = await subject.streams.open_connection("127.0.0.1", port, **kwargs)
    try:
        yield reader, writer
    finally:
        await _close(writer)


class _Raised:
    value: BaseException


@contextlib.contextmanager
def _raises(kind: type[BaseException] | tuple[type[BaseException], ...]) -> Iterator[_Raised]:
    """Like ``pytest.raises``: the block must raise ``kind``."""
    raised = _Raised()
    try:
        yield raised
    except kind as exc:
        raised.value = exc
    else:
        raise AssertionError(f"did not raise {kind}")


def _open_fds() -> dict[int, str]:
    """This process's open file descriptors and what they point to."""
    folder = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
    fds = {}
    for name in os.listdir(folder):
        try:
            fds[int(name)] = os.readlink(f"{folder}/{name}")
        except OSError:
            # Gone (the listing's own descriptor), or not a link (/dev/fd
            # on macOS and the BSDs): still an open descriptor.
            fds[int(name)] = "?"
    return fds


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` abortively: SO_LINGER 0 makes the kernel send a RST."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


async def _accept(listener: socket.socket) -> socket.socket:
    listener.setblocking(False)
    while True:
        try:
            return listener.accept()[0]
        except BlockingIOError:
            await anyio.wait_readable(listener)


@contextlib.asynccontextmanager
async def _raw_peer(
    subject: Subject, **kwargs: Any
) -> AsyncIterator[tuple[Any, Any, socket.socket]]:
    """A connection to a plain socket peer: ``(reader, writer, peer)``.

    The client's send buffer is made small, so that "more than the kernel
    takes" means the same on every host (SO_SNDBUF also turns off the
    kernel's autotuning).  On exit the writer is aborted and the peer closed.
    """
    with socket.create_server(("127.0.0.1", 0)) as listener:
        reader, writer = await subject.streams.open_connection(
            "127.0.0.1", listener.getsockname()[1], **kwargs
        )
        try:
            writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
            peer = await _accept(listener)
            with peer:
                yield reader, writer, peer
        finally:
            writer.transport.abort()
            with contextlib.suppress(Exception), anyio.move_on_after(5):
                await writer.wait_closed()


async def _outcome(what: str, call: Callable[[], Awaitable[Any]]) -> str:
    try:
        result = await call()
    except Exception as exc:
        return f"{what} raised {type(exc).__name__}"
    return f"{what} returned {result!r}" if result is not None else f"{what} returned"


@cache
def _tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server and a client context trusting a throwaway CA (trustme)."""
    import trustme  # noqa: PLC0415 - only the TLS checks need it

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx


def _unix_dir() -> tempfile.TemporaryDirectory[str]:
    if not hasattr(socket, "AF_UNIX"):
        raise NotApplicable("no AF_UNIX sockets on this platform")
    # Short paths: AF_UNIX paths are limited to ~100 bytes.
    return tempfile.TemporaryDirectory(prefix="ssc-")


# ----------------------------------------------------- the spec's examples


async def check_example_echo(subject: Subject) -> None:
    """The spec's TCP echo client against its echo server (one read of 100 bytes,
    the server answers once and closes), served with ``serve_forever()``."""
    streams = subject.streams
    received: list[bytes] = []

    async def handle_echo(reader: Any, writer: Any) -> None:
        data = await reader.read(100)
        writer.write(data)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await streams.start_server(handle_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, anyio.create_task_group() as group:
        group.start_soon(server.serve_forever)
        with anyio.fail_after(10):
            reader, writer = await streams.open_connection("127.0.0.1", port)
            writer.write(b"Hello World!")
            received.append(await reader.read(100))
            received.append(await reader.read(100))
            writer.close()
            await writer.wait_closed()
        group.cancel_scope.cancel()
    assert received == [b"Hello World!", b""]
    assert not server.is_serving()
    with _raises(ConnectionRefusedError), anyio.fail_after(10):
        await streams.open_connection("127.0.0.1", port)


async def check_example_http_headers(subject: Subject) -> None:
    """The spec's "get HTTP headers" client, against a small HTTP server."""

    async def http(reader: Any, writer: Any) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        assert request.startswith(b"HEAD / HTTP/1.0\r\nHost: localhost\r\n"), request
        writer.write(b"HTTP/1.0 200 OK\r\nServer: test\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with _serving(subject, http) as srv, _connection(subject, srv.port) as (reader, writer):
        headers = []
        with anyio.fail_after(10):
            writer.write(b"HEAD / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            while True:
                line = await reader.readline()
                if not line:
                    break
                line = line.decode("latin1").rstrip()
                if line:
                    headers.append(line)
    assert headers == ["HTTP/1.0 200 OK", "Server: test", "Content-Length: 0"]


async def check_example_socketpair(subject: Subject) -> None:
    """The spec's "register an open socket to wait for data": ``sock=`` with a
    socketpair; the stream owns the socket and closes it."""
    rsock, wsock = socket.socketpair()
    with wsock:
        reader, writer = await subject.streams.open_connection(sock=rsock)
        try:
            wsock.sendall(b"abc")
            with anyio.fail_after(10):
                assert await reader.read(100) == b"abc"
        finally:
            writer.close()
            await writer.wait_closed()
    assert rsock.fileno() == -1


# ----------------------------------------------------------------- reading


async def check_reading_methods(subject: Subject) -> None:
    """readline, readuntil (one and several separators), readexactly, read,
    writelines of bytes-like objects, write_eof and EOF."""
    async with (
        _serving(subject, _echo) as srv,
        _connection(subject, srv.port) as (reader, writer),
    ):
        with anyio.fail_after(10):
            writer.write(b"one\ntwo\r\nthree|four")
            await writer.drain()
            assert await reader.readline() == b"one\n"
            assert await reader.readuntil(b"\r\n") == b"two\r\n"
            assert await reader.readuntil((b"|", b"\n")) == b"three|"
            assert await reader.readexactly(4) == b"four"
            writer.writelines([b"a", bytearray(b"b"), memoryview(b"c\n")])
            assert await reader.readline() == b"abc\n"
            writer.write(b"partial")
            writer.write_eof()
            with _raises(subject.streams.IncompleteReadError) as raised:
                await reader.readexactly(100)
            assert raised.value.partial == b"partial"  # type: ignore[attr-defined]
            assert raised.value.expected == 100  # type: ignore[attr-defined]
            assert await reader.read() == b""
            assert reader.at_eof()
            assert await reader.readline() == b""


async def check_async_iteration(subject: Subject) -> None:
    """``async for line in reader`` yields lines, then the unterminated tail."""

    async def handler(reader: Any, writer: Any) -> None:
        writer.writelines([b"one\n", b"two\n", b"three"])

    async with _serving(subject, handler) as srv, _connection(subject, srv.port) as (reader, _):
        with anyio.fail_after(10):
            assert [line async for line in reader] == [b"one\n", b"two\n", b"three"]


async def check_limit_overrun(subject: Subject) -> None:
    """A separator beyond ``limit`` raises LimitOverrunError and keeps the data;
    readline() over the limit raises ValueError and drops the line."""
    streams = subject.streams

    async def handler(reader: Any, writer: Any) -> None:
        writer.write(b"a" * 300 + b"\nrest\n" + b"b" * 20 + b"\n" + b"c" * 150 + b"\nshort\n")

    async with (
        _serving(subject, handler) as srv,
        _connection(subject, srv.port, limit=100) as (reader, _),
    ):
        with anyio.fail_after(10):
            with _raises(streams.LimitOverrunError) as raised:
                await reader.readuntil(b"\n")
            assert raised.value.consumed >= 100  # type: ignore[attr-defined]
            assert await reader.readexactly(301) == b"a" * 300 + b"\n"
            assert await reader.readuntil(b"\n") == b"rest\n"
            assert await reader.readline() == b"b" * 20 + b"\n"
            with _raises(ValueError):
                await reader.readline()  # 151 bytes: the line is dropped
            assert await reader.readline() == b"short\n"
            assert await reader.read() == b""


async def check_concurrent_readers(subject: Subject) -> None:
    """A second task reading while one waits gets asyncio's RuntimeError, and
    the first reader is unaffected."""
    async with (
        _serving(subject, _echo) as srv,
        _connection(subject, srv.port) as (reader, writer),
    ):
        got: list[bytes] = []
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:

                async def first() -> None:
                    got.append(await reader.readline())

                group.start_soon(first)
                await anyio.wait_all_tasks_blocked()
                calls: list[tuple[Callable[[], Awaitable[Any]], str]] = [
                    (lambda: reader.read(10), "read"),
                    (lambda: reader.read(65536), "read"),
                    (reader.readline, "readuntil"),
                    (lambda: reader.readexactly(3), "readexactly"),
                    (lambda: reader.readuntil(b"!"), "readuntil"),
                ]
                for call, name in calls:
                    with _raises(RuntimeError) as raised:
                        await call()
                    assert str(raised.value) == (
                        f"{name}() called while another coroutine is already waiting "
                        f"for incoming data"
                    ), raised.value
                writer.write(b"done\n")
        assert got == [b"done\n"]


# --------------------------------------------------------- connections


async def check_half_close(subject: Subject) -> None:
    """write_eof() ends our direction only; the peer still answers."""
    server_saw: list[object] = []

    async def handler(reader: Any, writer: Any) -> None:
        request = await reader.read()
        server_saw.extend([request, reader.at_eof(), await reader.read()])
        writer.write(b"response to " + request)
        await writer.drain()

    async with (
        _serving(subject, handler) as srv,
        _connection(subject, srv.port) as (reader, writer),
    ):
        with anyio.fail_after(10):
            assert writer.can_write_eof()
            writer.write(b"the request")
            writer.write_eof()
            assert not writer.is_closing()
            with _raises(RuntimeError):
                writer.write(b"more")
            assert await reader.read() == b"response to the request"
            assert reader.at_eof()
            with _raises(subject.streams.IncompleteReadError) as raised:
                await reader.readexactly(1)
            assert raised.value.partial == b""  # type: ignore[attr-defined]
    assert server_saw == [b"the request", True, b""]


async def check_unix_sockets(subject: Subject) -> None:
    """start_unix_server/open_unix_connection with a str and a Path; the socket
    file is removed when the server closes (asyncio 3.13)."""
    streams = subject.streams
    with _unix_dir() as folder:
        path = Path(folder) / "echo.sock"
        async with _serving(subject, _echo, unix_path=path) as srv:
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
                    await _close(writer)
        assert not path.exists()


async def check_ipv6(subject: Subject) -> None:
    """A server on ::1 and a client connecting to it."""
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6):
            pass
    except OSError as exc:
        raise NotApplicable(f"cannot bind ::1: {exc}") from exc
    async with _serving(subject, _echo, host="::1") as srv:
        reader, writer = await subject.streams.open_connection("::1", srv.port)
        try:
            with anyio.fail_after(10):
                writer.write(b"six\n")
                assert await reader.readline() == b"six\n"
            assert writer.get_extra_info("peername")[:2] == ("::1", srv.port)
            assert writer.get_extra_info("socket").family == socket.AF_INET6
        finally:
            await _close(writer)


async def check_extra_info(subject: Subject) -> None:
    """get_extra_info(), TCP_NODELAY, and the transport's write-buffer accessors."""
    server_side: dict[str, Any] = {}

    async def handler(reader: Any, writer: Any) -> None:
        server_side["peername"] = writer.get_extra_info("peername")
        server_side["sockname"] = writer.get_extra_info("sockname")
        await reader.read()

    async with (
        _serving(subject, handler) as srv,
        _connection(subject, srv.port) as (reader, writer),
    ):
        peername = writer.get_extra_info("peername")
        sockname = writer.get_extra_info("sockname")
        assert peername == ("127.0.0.1", srv.port)
        sock = writer.get_extra_info("socket")
        assert sock.getsockname() == sockname
        assert (sock.family, sock.type) == (socket.AF_INET, socket.SOCK_STREAM)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert writer.get_extra_info("sslcontext") is None
        assert writer.get_extra_info("ssl_object") is None
        assert writer.get_extra_info("no such key", 42) == 42
        transport = writer.transport
        assert transport.get_extra_info("peername") == peername
        assert transport.get_write_buffer_size() == 0
        transport.set_write_buffer_limits(high=100)
        assert transport.get_write_buffer_limits() == (25, 100)
        writer.write_eof()
        with anyio.fail_after(10):
            assert await reader.read() == b""
    assert server_side == {"peername": sockname, "sockname": peername}


async def check_argument_errors(subject: Subject) -> None:
    """Conflicting or missing host/port/path/sock arguments raise ValueError
    before anything connects or listens; so do sockets of the wrong kind."""
    streams = subject.streams

    async def handler(reader: Any, writer: Any) -> None:
        raise AssertionError("nothing may be served")

    calls: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("open_connection()", streams.open_connection),
        ("start_server()", lambda: streams.start_server(handler)),
    ]
    a, b = socket.socketpair()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with a, b, udp, tcp:
        calls += [
            (
                "open_connection(host, port, sock=)",
                lambda: streams.open_connection("127.0.0.1", 9, sock=a),
            ),
            ("open_connection(sock=<UDP>)", lambda: streams.open_connection(sock=udp)),
            (
                "start_server(cb, host, port, sock=)",
                lambda: streams.start_server(handler, "127.0.0.1", 0, sock=tcp),
            ),
            ("start_server(cb, sock=<UDP>)", lambda: streams.start_server(handler, sock=udp)),
        ]
        if hasattr(socket, "AF_UNIX"):
            calls += [
                ("open_unix_connection()", streams.open_unix_connection),
                (
                    "open_unix_connection(path, sock=)",
                    lambda: streams.open_unix_connection("/nonexistent", sock=a),
                ),
                (
                    "open_unix_connection(sock=<TCP>)",
                    lambda: streams.open_unix_connection(sock=tcp),
                ),
                ("start_unix_server(cb)", lambda: streams.start_unix_server(handler)),
                (
                    "start_unix_server(cb, path, sock=)",
                    lambda: streams.start_unix_server(handler, "/nonexistent", sock=a),
                ),
                (
                    "start_unix_server(cb, sock=<TCP>)",
                    lambda: streams.start_unix_server(handler, sock=tcp),
                ),
            ]
        for what, call in calls:
            try:
                with anyio.fail_after(10):
                    await call()
            except ValueError:
                continue
            except Exception as exc:
                raise AssertionError(f"{what} raised {exc!r}, not ValueError") from exc
            raise AssertionError(f"{what} did not raise ValueError")


async def check_connection_refused(subject: Subject) -> None:
    """Connecting to a closed port raises ConnectionRefusedError."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with _raises(ConnectionRefusedError), anyio.fail_after(10):
        await subject.streams.open_connection("127.0.0.1", port)


async def check_peer_reset_during_read(subject: Subject) -> None:
    """A reset while reading (a small read, and a large one): ConnectionResetError
    from the read, the next read and wait_closed(), as asyncio."""
    for size in (100, 65536):
        out = await _reset_during_read(subject, size)
        assert out == [
            "read raised ConnectionResetError",
            "second read raised ConnectionResetError",
            "wait_closed raised ConnectionResetError",
        ], (size, out)


async def _reset_during_read(subject: Subject, size: int) -> list[str]:
    out: list[str] = []
    async with _raw_peer(subject) as (reader, writer, peer):
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:

                async def read() -> None:
                    out.append(await _outcome("read", lambda: reader.read(size)))

                group.start_soon(read)
                await anyio.wait_all_tasks_blocked()
                _reset(peer)
            out.append(await _outcome("second read", lambda: reader.read(size)))
            writer.close()
            out.append(await _outcome("wait_closed", writer.wait_closed))
    return out


async def check_peer_reset_during_drain(subject: Subject) -> None:
    """A reset while drain() waits: ConnectionResetError from drain(), reads,
    the next drain() and wait_closed()."""
    out: list[str] = []
    async with _raw_peer(subject) as (reader, writer, peer):
        writer.write(b"x" * (16 * 1024 * 1024))
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:

                async def drain() -> None:
                    out.append(await _outcome("drain", writer.drain))

                group.start_soon(drain)
                await anyio.sleep(0.05)
                assert not out, "drain() did not wait"
                _reset(peer)
            out.append(await _outcome("read", lambda: reader.read(100)))
            # No write() here: after a loss uvloop's transport raises RuntimeError
            # from write(), asyncio's default loop ignores it; both are asyncio.
            out.append(await _outcome("second drain", writer.drain))
            writer.close()
            out.append(await _outcome("wait_closed", writer.wait_closed))
    assert out == [
        "drain raised ConnectionResetError",
        "read raised ConnectionResetError",
        "second drain raised ConnectionResetError",
        "wait_closed raised ConnectionResetError",
    ], out


# ------------------------------------------------------------------ writing


async def check_large_single_write(subject: Subject) -> None:
    """64 MiB in one write() with no drain(), then write_eof(), echoed back by a
    server of the same backend: both kernel buffers fill, so the reads must
    keep sending meanwhile."""
    size = 64 * 1024 * 1024
    payload = random.Random(64).randbytes(size)
    expected = hashlib.sha256(payload).digest()
    async with (
        _serving(subject, _echo) as srv,
        _connection(subject, srv.port) as (reader, writer),
    ):
        writer.write(payload)
        del payload  # the writer holds what the kernel has not taken
        writer.write_eof()
        received = hashlib.sha256()
        total = 0
        with anyio.fail_after(60):
            while chunk := await reader.read(1024 * 1024):
                received.update(chunk)
                total += len(chunk)
        assert total == size
        assert received.digest() == expected


async def check_full_duplex(subject: Subject) -> None:
    """One task reads while another writes and drains, on one connection."""
    size = 8 * 1024 * 1024
    payload = random.Random(7).randbytes(size)
    received = bytearray()
    async with (
        _serving(subject, _echo) as srv,
        _connection(subject, srv.port) as (reader, writer),
    ):

        async def read_all() -> None:
            while chunk := await reader.read(1 << 20):
                received.extend(chunk)

        async def write_all() -> None:
            for start in range(0, size, 100_000):
                writer.write(payload[start : start + 100_000])
                await writer.drain()
            writer.write_eof()

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(read_all)
                group.start_soon(write_all)
    assert hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()


async def check_drain_water_marks(subject: Subject) -> None:
    """drain() waits while more than the high water mark is queued, and
    returns once the queue is at or below the low one."""
    async with _raw_peer(subject) as (_reader, writer, peer):
        peer.setblocking(False)
        transport = writer.transport
        transport.set_write_buffer_limits(high=64 * 1024, low=16 * 1024)
        writer.write(b"x" * (8 * 1024 * 1024))  # far more than the kernel takes
        assert transport.get_write_buffer_size() > 64 * 1024
        drained = anyio.Event()

        async def drain() -> None:
            await writer.drain()
            drained.set()

        async with anyio.create_task_group() as group:
            group.start_soon(drain)
            await anyio.sleep(0.05)
            assert not drained.is_set(), "drain() returned while the peer read nothing"
            with anyio.fail_after(10):
                while not drained.is_set():
                    try:
                        peer.recv(1 << 20)
                    except BlockingIOError:
                        await anyio.sleep(0.001)
        assert transport.get_write_buffer_size() <= 16 * 1024
        transport.abort()
        with anyio.fail_after(5), contextlib.suppress(ConnectionError):
            await writer.wait_closed()
        assert writer.is_closing()


async def check_close_flushes(subject: Subject) -> None:
    """close() then wait_closed() sends every queued byte first; afterwards
    the reader is at EOF and drain() raises ConnectionResetError."""
    got: list[int] = []

    async def handler(reader: Any, writer: Any) -> None:
        await anyio.sleep(0.1)  # let the client's kernel buffers fill
        got.append(len(await reader.read()))

    async with (
        _serving(subject, handler) as srv,
        _connection(subject, srv.port) as (reader, writer),
    ):
        writer.write(b"y" * (16 * 1024 * 1024))
        writer.close()
        assert writer.is_closing()
        with anyio.fail_after(20):
            await writer.wait_closed()
        assert await reader.read() == b""
        with _raises(ConnectionResetError):
            await writer.drain()
    assert got == [16 * 1024 * 1024]


# -------------------------------------------------------------- the server


async def check_server_lifecycle(subject: Subject) -> None:
    """close() stops accepting but keeps the connections; wait_closed() waits
    for them; close_clients() closes them."""
    streams = subject.streams
    async with _serving(subject, _echo) as srv:
        server = srv.server
        async with _connection(subject, srv.port) as (reader, writer):
            assert server.is_serving()
            writer.write(b"ping\n")
            with anyio.fail_after(10):
                assert await reader.readline() == b"ping\n"
            server.close()
            assert not server.is_serving()
            with _raises(ConnectionRefusedError), anyio.fail_after(10):
                await streams.open_connection("127.0.0.1", srv.port)
            with anyio.move_on_after(0.1) as scope:
                await server.wait_closed()
            assert scope.cancelled_caught, "wait_closed() returned with a connection open"
            writer.write(b"still served\n")
            with anyio.fail_after(10):
                assert await reader.readline() == b"still served\n"
            server.close_clients()
            with anyio.fail_after(10):
                assert await reader.read() == b""  # the server closed our connection
                await server.wait_closed()


async def check_many_clients(subject: Subject) -> None:
    """500 clients connected at once, each exchanging lines; afterwards no
    file descriptor is left open."""
    clients = 500
    streams = subject.streams
    _ensure_descriptors(4 * clients)

    async def line_echo(reader: Any, writer: Any) -> None:
        async for line in reader:
            writer.write(line)
            await writer.drain()

    async with _serving(subject, line_echo, backlog=clients) as srv:
        async with _connection(subject, srv.port) as (reader, writer):
            writer.write(b"warm-up\n")
            with anyio.fail_after(10):
                assert await reader.readline() == b"warm-up\n"
        await anyio.sleep(0.05)
        baseline = _open_fds()
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

        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                for ident in range(clients):
                    group.start_soon(client, ident)
        assert connected == clients
    # Closing may finish in callbacks after the server's wait_closed() (asyncio).
    for _ in range(500):  # up to 5 s
        leaked = {fd: t for fd, t in _open_fds().items() if fd not in baseline}
        if not leaked:
            break
        await anyio.sleep(0.01)
    assert not leaked, f"file descriptors left open: {leaked}"


def _ensure_descriptors(needed: int) -> None:
    """Raise the soft limit on open files to ``needed`` if it is lower (both
    ends of every connection are in this process); NotApplicable if the hard
    limit does not allow it."""
    try:
        import resource  # noqa: PLC0415 - POSIX only
    except ImportError:  # pragma: no cover - Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise NotApplicable(f"needs {needed} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


# -------------------------------------------------------------- robustness


async def check_flood_bounded(subject: Subject) -> None:  # noqa: PLR0915 - one scenario
    """A peer that sends without end and never a separator: readuntil() raises
    LimitOverrunError, and the reader never holds more than ``2 * limit`` plus
    one receive, whatever it does next (waits, reads, drains)."""
    if subject.buffered is None:
        raise NotApplicable("Subject.buffered is not given")
    buffered = subject.buffered
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

    peak = 0
    with socket.create_server(("127.0.0.1", 0)) as listener:
        async with anyio.create_task_group() as group:
            group.start_soon(anyio.to_thread.run_sync, flood, listener)
            try:
                reader, writer = await subject.streams.open_connection(
                    "127.0.0.1", listener.getsockname()[1], limit=limit
                )
            except BaseException:
                stop.set()
                raise
            try:
                with anyio.fail_after(20):
                    with _raises(subject.streams.LimitOverrunError) as raised:
                        await reader.readuntil(b"\n")
                    assert raised.value.consumed > limit  # type: ignore[attr-defined]
                    peak = max(peak, buffered(reader))
                    await anyio.sleep(0.3)  # the flood goes on; the reader must not read
                    peak = max(peak, buffered(reader))
                    with _raises(subject.streams.LimitOverrunError):
                        await reader.readuntil(b"\n")
                    for _ in range(20):
                        data = await reader.read(limit)
                        assert data == b"x" * len(data)
                        assert 0 < len(data) <= limit
                        peak = max(peak, buffered(reader))
                    # A drain() that waits must not read without bound either:
                    # the flooding peer reads nothing, so with a small send
                    # buffer these 4 MiB keep drain() waiting.
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
                    writer.write(b"p" * (4 * 1024 * 1024))
                    with anyio.move_on_after(0.3) as scope:
                        await writer.drain()
                    assert scope.cancelled_caught, "drain() did not wait"
                    peak = max(peak, buffered(reader))
            finally:
                stop.set()
                writer.transport.abort()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    bound = 2 * limit + subject.receive_chunk
    assert sent[0] > bound, "the flood did not outrun the bound"
    assert limit < peak <= bound, f"peak buffer {peak} bytes, bound {bound}"


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One run of the cancellation check.

    The server sends ``payload`` in pieces of ``chunk_sizes`` (cycled) with
    ``pauses`` (cycled, seconds) between them, then reads everything the
    client sent.  The client runs ``ops`` -- ``((kind, argument), deadline,
    use_move_on)`` where kind is ``readline``, ``readexactly``, ``read``,
    ``readuntil`` or ``drain`` (which first writes ``argument`` bytes) --
    each under a deadline that may expire at any point.
    """

    payload: bytes
    chunk_sizes: Sequence[int]
    pauses: Sequence[float]
    ops: Sequence[tuple[tuple[str, Any], float, bool]]


_DEADLINES = [0.0, 0.0002, 0.001, 0.002, 0.005, 0.02]
_READ_OPS = st.one_of(
    st.tuples(st.just("readline"), st.just(0)),
    st.tuples(st.just("readexactly"), st.integers(0, 300)),
    st.tuples(st.just("read"), st.integers(0, 300)),
    # Large reads: a backend may receive these without its buffer.
    st.tuples(st.just("read"), st.sampled_from([2**15, 2**16, 2**20])),
    st.tuples(st.just("readuntil"), st.sampled_from([b"\n", b"\r\n", b"ab"])),
    st.tuples(st.just("drain"), st.integers(0, 200_000)),
)
_PAYLOADS = st.lists(
    st.one_of(st.sampled_from([b"\n", b"\r\n", b"ab", b"a", b"\r", b"b"]), st.binary(max_size=60)),
    max_size=120,
).map(b"".join)


def cancellation_scenarios() -> st.SearchStrategy[Scenario]:
    """Hypothesis strategy of :class:`Scenario` for
    :func:`check_cancellation_scenario`."""
    return st.builds(
        Scenario,
        payload=_PAYLOADS,
        chunk_sizes=st.lists(st.integers(1, 400), min_size=1, max_size=20),
        pauses=st.lists(st.sampled_from([0.0, 0.0, 0.0005, 0.002]), min_size=1, max_size=20),
        ops=st.lists(st.tuples(_READ_OPS, st.sampled_from(_DEADLINES), st.booleans()), max_size=25),
    )


def _random_scenario(rng: random.Random) -> Scenario:
    """A :class:`Scenario` drawn with ``random`` (for runs without hypothesis'
    engine, e.g. inside :data:`CHECKS`)."""
    pieces = [b"\n", b"\r\n", b"ab", b"a", b"\r", b"b"]
    payload = b"".join(
        rng.choice(pieces) if rng.random() < 0.5 else rng.randbytes(rng.randint(0, 60))
        for _ in range(rng.randint(0, 120))
    )
    ops: list[tuple[tuple[str, Any], float, bool]] = []
    for _ in range(rng.randint(0, 25)):
        kind = rng.choice(["readline", "readexactly", "read", "readuntil", "drain"])
        arg: Any = {
            "readline": 0,
            "readexactly": rng.randint(0, 300),
            "read": rng.choice([rng.randint(0, 300), 2**16]),
            "readuntil": rng.choice([b"\n", b"\r\n", b"ab"]),
            "drain": rng.randint(0, 200_000),
        }[kind]
        ops.append(((kind, arg), rng.choice(_DEADLINES), rng.random() < 0.5))
    return Scenario(
        payload=payload,
        chunk_sizes=[rng.randint(1, 400) for _ in range(rng.randint(1, 20))],
        pauses=[rng.choice([0.0, 0.0, 0.0005, 0.002]) for _ in range(rng.randint(1, 20))],
        ops=ops,
    )


async def check_cancellation_scenario(subject: Subject, scenario: Scenario) -> None:
    """Deadlines expire anywhere in reads and drains (``fail_after`` and
    ``move_on_after``): no byte is lost or duplicated, in either direction."""
    streams = subject.streams
    uploaded = bytearray()
    payload = scenario.payload

    async def handler(reader: Any, writer: Any) -> None:
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        position = 0
        step = 0
        while position < len(payload):
            size = scenario.chunk_sizes[step % len(scenario.chunk_sizes)]
            writer.write(payload[position : position + size])
            await writer.drain()
            position += size
            if pause := scenario.pauses[step % len(scenario.pauses)]:
                await anyio.sleep(pause)
            step += 1
        writer.write_eof()
        uploaded.extend(await reader.read())

    sent = bytearray()
    received = bytearray()
    async with (
        _serving(subject, handler) as srv,
        _connection(subject, srv.port) as (reader, writer),
    ):
        # Small buffers, so that drain() has to wait (and can be cancelled).
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
        writer.transport.set_write_buffer_limits(high=16 * 1024)
        with anyio.fail_after(30):
            for op in scenario.ops:
                received += await _deadlined(streams, reader, writer, op, sent)
            received += await reader.read()
            writer.write_eof()
    assert bytes(received) == payload
    assert uploaded == sent


async def _deadlined(
    streams: Any, reader: Any, writer: Any, op: tuple[tuple[str, Any], float, bool], sent: bytearray
) -> bytes:
    """Run one op under its deadline; return the bytes it consumed."""
    (kind, arg), deadline, use_move_on = op
    data = b""
    try:
        if kind == "drain":
            chunk = bytes([len(sent) % 251]) * arg
            writer.write(chunk)
            sent += chunk
        if use_move_on:
            with anyio.move_on_after(deadline):
                data = await _op(reader, writer, kind, arg)
        else:
            with anyio.fail_after(deadline):
                data = await _op(reader, writer, kind, arg)
    except TimeoutError:
        pass  # cancelled: nothing was consumed
    except streams.IncompleteReadError as exc:
        data = exc.partial  # EOF: the partial bytes were consumed
    return data


async def _op(reader: Any, writer: Any, kind: str, arg: Any) -> bytes:
    if kind == "drain":
        await writer.drain()
        return b""
    method = getattr(reader, kind)
    data: bytes = await (method() if kind == "readline" else method(arg))
    return data


async def check_cancellation(subject: Subject) -> None:
    """:func:`check_cancellation_scenario` over 8 seeded random scenarios (use
    :func:`cancellation_scenarios` with hypothesis for a real search)."""
    rng = random.Random(796)  # trio issue #796, which asked for these streams
    for _ in range(8):
        await check_cancellation_scenario(subject, _random_scenario(rng))


# ----------------------------------------------------------------------- TLS


async def _tls_echo(reader: Any, writer: Any) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


async def check_tls(subject: Subject) -> None:
    """ssl= on both sides: extra info, 8 MiB echoed with no drain(), no
    write_eof() over TLS, and server_hostname."""
    server_ctx, client_ctx = _tls_contexts()
    payload = random.Random(3).randbytes(8 * 1024 * 1024)
    async with (
        _serving(subject, _tls_echo, ssl=server_ctx) as srv,
        _connection(subject, srv.port, ssl=client_ctx, server_hostname="localhost") as (
            reader,
            writer,
        ),
    ):
        assert isinstance(writer.get_extra_info("ssl_object"), ssl.SSLObject | ssl.SSLSocket)
        assert writer.get_extra_info("sslcontext") is client_ctx
        assert writer.get_extra_info("peercert")["subjectAltName"]
        assert writer.get_extra_info("peername") == ("127.0.0.1", srv.port)
        assert not writer.can_write_eof()
        with anyio.fail_after(30):
            writer.write(b"hello tls\n")
            assert await reader.readline() == b"hello tls\n"
            writer.write(payload)
            echoed = await reader.readexactly(len(payload))
        assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()


async def check_tls_verification(subject: Subject) -> None:
    """An untrusted certificate and a wrong host name raise
    ssl.SSLCertVerificationError; the handler never runs."""
    server_ctx, client_ctx = _tls_contexts()
    handled: list[int] = []

    async def handler(reader: Any, writer: Any) -> None:
        handled.append(1)

    async with _serving(subject, handler, ssl=server_ctx) as srv:
        with _raises(ssl.SSLCertVerificationError), anyio.fail_after(10):
            await subject.streams.open_connection("127.0.0.1", srv.port, ssl=True)
        with _raises(ssl.SSLCertVerificationError), anyio.fail_after(10):
            await subject.streams.open_connection(
                "127.0.0.1", srv.port, ssl=client_ctx, server_hostname="example.com"
            )
        await anyio.sleep(0.05)
    assert handled == []


async def check_tls_handshake_timeout(subject: Subject) -> None:
    """A peer that never answers the handshake: ConnectionAbortedError after
    ssl_handshake_timeout, as asyncio."""
    _, client_ctx = _tls_contexts()
    with (
        socket.create_server(("127.0.0.1", 0)) as silent,  # accepts, never answers
        _raises(ConnectionAbortedError) as raised,
        anyio.fail_after(10),
    ):
        await subject.streams.open_connection(
            "127.0.0.1",
            silent.getsockname()[1],
            ssl=client_ctx,
            server_hostname="localhost",
            ssl_handshake_timeout=0.2,
        )
    assert "SSL handshake" in str(raised.value), raised.value


async def check_start_tls(subject: Subject) -> None:
    """writer.start_tls() upgrades both sides of a plaintext connection."""
    server_ctx, client_ctx = _tls_contexts()

    async def handler(reader: Any, writer: Any) -> None:
        assert await reader.readline() == b"STARTTLS\n"
        writer.write(b"OK\n")
        await writer.drain()
        await writer.start_tls(server_ctx)
        assert writer.get_extra_info("ssl_object") is not None
        await _tls_echo(reader, writer)

    async with (
        _serving(subject, handler) as srv,
        _connection(subject, srv.port) as (reader, writer),
    ):
        with anyio.fail_after(10):
            writer.write(b"STARTTLS\n")
            assert await reader.readline() == b"OK\n"
            assert writer.get_extra_info("ssl_object") is None
            await writer.start_tls(client_ctx, server_hostname="localhost")
            assert writer.get_extra_info("peercert") is not None
            writer.write(b"secret\n")
            assert await reader.readline() == b"secret\n"


async def check_start_tls_injection(subject: Subject) -> None:
    """Plaintext received after the upgrade point makes start_tls() raise
    ``Subject.start_tls_injection_error`` and changes nothing."""
    error = subject.start_tls_injection_error
    if error is None:
        raise NotApplicable("Subject.start_tls_injection_error is not given")
    _, client_ctx = _tls_contexts()

    async def handler(reader: Any, writer: Any) -> None:
        assert await reader.readline() == b"STARTTLS\n"
        writer.write(b"OK\nINJECTED")  # a man in the middle appends plaintext
        await reader.read()

    async with (
        _serving(subject, handler) as srv,
        _connection(subject, srv.port) as (reader, writer),
    ):
        with anyio.fail_after(10):
            writer.write(b"STARTTLS\n")
            # One send of 11 bytes on loopback arrives in one receive.
            assert await reader.readline() == b"OK\n"
            with _raises(error):
                await writer.start_tls(client_ctx, server_hostname="localhost")
            assert writer.get_extra_info("ssl_object") is None
            assert await reader.read(100) == b"INJECTED"
            writer.write_eof()


# ------------------------------------------------------------------- running

#: Every check, by name, in a sensible order (fast and basic first).
CHECKS: Mapping[str, Check] = {
    name.removeprefix("check_"): check
    for name, check in [
        ("check_example_echo", check_example_echo),
        ("check_example_http_headers", check_example_http_headers),
        ("check_example_socketpair", check_example_socketpair),
        ("check_reading_methods", check_reading_methods),
        ("check_async_iteration", check_async_iteration),
        ("check_limit_overrun", check_limit_overrun),
        ("check_concurrent_readers", check_concurrent_readers),
        ("check_half_close", check_half_close),
        ("check_unix_sockets", check_unix_sockets),
        ("check_ipv6", check_ipv6),
        ("check_extra_info", check_extra_info),
        ("check_argument_errors", check_argument_errors),
        ("check_connection_refused", check_connection_refused),
        ("check_peer_reset_during_read", check_peer_reset_during_read),
        ("check_peer_reset_during_drain", check_peer_reset_during_drain),
        ("check_large_single_write", check_large_single_write),
        ("check_full_duplex", check_full_duplex),
        ("check_drain_water_marks", check_drain_water_marks),
        ("check_close_flushes", check_close_flushes),
        ("check_server_lifecycle", check_server_lifecycle),
        ("check_many_clients", check_many_clients),
        ("check_flood_bounded", check_flood_bounded),
        ("check_cancellation", check_cancellation),
        ("check_tls", check_tls),
        ("check_tls_verification", check_tls_verification),
        ("check_tls_handshake_timeout", check_tls_handshake_timeout),
        ("check_start_tls", check_start_tls),
        ("check_start_tls_injection", check_start_tls_injection),
    ]
}


async def run_checks(subject: Subject, names: Sequence[str] | None = None) -> dict[str, str]:
    """Run the checks named (all by default) one after the other.

    Returns:
        ``{name: "ok" | "not applicable: <why>"}``.

    Raises:
        ExceptionGroup: of every failed check's exception (each with a note
            naming the check), after all of them ran.
    """
    report: dict[str, str] = {}
    failures: list[Exception] = []
    for name in names if names is not None else list(CHECKS):
        try:
            await CHECKS[name](subject)
        except NotApplicable as exc:
            report[name] = f"not applicable: {exc}"
        except Exception as exc:
            exc.add_note(f"conformance check {name!r} failed on {subject.name}")
            failures.append(exc)
            report[name] = f"FAILED: {type(exc).__name__}"
        else:
            report[name] = "ok"
    if failures:
        raise ExceptionGroup(f"{len(failures)} conformance checks failed", failures)
    return report
