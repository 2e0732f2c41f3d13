"""Network tests of the asyncio streams API: real sockets on the loopback interface.

Every test takes the module under test from the ``streams`` fixture (the backend, or
stdlib asyncio with ``SANSIO_TEST_STREAMS=asyncio``) and runs on the default event loop
and on uvloop. Servers listen on port 0 of 127.0.0.1 (or ::1, or a Unix socket in
``tmp_path``); every wait is bounded by a timeout so that a bug fails, never hangs.

Where the expected behaviour is "what asyncio does" (exception classes on a reset), the
test runs the same scenario against stdlib asyncio on the same loop and compares.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import socket
import struct
import sys
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.anyio

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

#: The most a transport reads from a socket at once: 256 KiB, asyncio's
#: ``_SelectorSocketTransport.max_size`` (uvloop reads at most as much).
RECEIVE_CHUNK = 256 * 1024


# --------------------------------------------------------------------------- helpers


@dataclasses.dataclass
class Served:
    """A running server and what its connection handlers left behind."""

    server: Any
    port: int
    errors: list[BaseException]


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
    """Serve ``handler`` with ``streams.start_server`` (``start_unix_server`` if ``unix``).

    The handler's exceptions are collected and re-raised when the block exits cleanly,
    its writer is always closed, and on exit the server is closed and every handler is
    waited for (bounded), so that no socket outlives the test.
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
                with contextlib.suppress(OSError):  # the peer may have reset the connection
                    await writer.wait_closed()
            finally:
                done.set_result(None)

    if unix:
        server = await streams.start_unix_server(client_connected, unix_path, **kwargs)
    elif "sock" in kwargs:
        server = await streams.start_server(client_connected, **kwargs)
    else:
        server = await streams.start_server(client_connected, host, 0, **kwargs)
    sockname = server.sockets[0].getsockname()
    port = sockname[1] if isinstance(sockname, tuple) else 0
    try:
        yield Served(server, port, errors)
    except BaseException:
        # Do not mask the test's own failure with a cleanup timeout.
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
    """Echo everything until EOF, then half-close."""
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    # Not if the connection is gone (e.g. Server.close_clients()): on uvloop,
    # write_eof() on a closed transport raises RuntimeError (the default loop ignores it).
    if writer.can_write_eof() and not writer.is_closing():
        writer.write_eof()


async def close_writer(writer: asyncio.StreamWriter) -> None:
    writer.close()
    async with asyncio.timeout(10):
        await writer.wait_closed()


def open_fds(*, sockets_only: bool = False) -> dict[int, str]:
    """This process's open file descriptors and what they point to ("socket:[inode]"...)."""
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the directory listing's own fd is gone
            target = os.readlink(f"/proc/self/fd/{name}")
            if target.startswith("socket:") or not sockets_only:
                fds[int(name)] = target
    return fds


async def settled_fds(baseline: dict[int, str], *, sockets_only: bool = False) -> dict[int, str]:
    """Let the loop run callbacks until the open fds are back to ``baseline`` (<= 3 s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 3.0
    while True:
        fds = open_fds(sockets_only=sockets_only)
        if fds.items() <= baseline.items() or loop.time() > deadline:
            return fds
        await asyncio.sleep(0.01)


def reset(sock: socket.socket) -> None:
    """Close ``sock`` abortively: SO_LINGER 0 makes the kernel send a RST."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def buffered(reader: asyncio.StreamReader) -> int:
    """How many bytes the reader holds in its internal buffer.

    sansio_streams_asyncio keeps them in a sans-IO core object (``reader._core``, which
    supports ``len()``); stdlib asyncio in a bytearray (``reader._buffer``). Both are
    private, but reading them is the only portable way to observe the buffer bound
    without patching the transport.
    """
    core = getattr(reader, "_core", None)
    if core is not None:
        return len(core)
    return len(reader._buffer)  # type: ignore[attr-defined]


def skip_if_stdlib_before_313(
    streams: ModuleType, what: str, *, uvloop_lacks_it: bool = False
) -> None:
    """Skip a check of asyncio 3.13 behaviour when stdlib asyncio here does not have it.

    The backend has 3.13 semantics everywhere; stdlib asyncio before 3.13 does not, and
    on uvloop some of it comes from uvloop's own Server, which lacks it too.
    """
    if streams is not asyncio:
        return
    if sys.version_info < (3, 13):
        pytest.skip(f"{what} is asyncio 3.13 behaviour; stdlib asyncio here is older")
    if uvloop_lacks_it and type(asyncio.get_running_loop()).__module__.startswith("uvloop"):
        pytest.skip(f"{what} is asyncio 3.13 behaviour that uvloop's Server lacks")


# ----------------------------------------------------- the specification's four examples
# Each example keeps the spec's code; the differences are the import line (``streams``
# instead of ``asyncio``), the port (0, chosen by the OS, instead of 8888 / 80) and
# ``await`` instead of ``asyncio.run`` (the test already runs in a loop). Output is
# checked through ``capsys``.


@pytest.mark.timeout(30)
async def test_example_echo_client(streams: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    async def tcp_echo_client(message: str, port: int) -> None:
        reader, writer = await streams.open_connection("127.0.0.1", port)

        print(f"Send: {message!r}")
        writer.write(message.encode())
        await writer.drain()

        data = await reader.read(100)
        print(f"Received: {data.decode()!r}")

        print("Close the connection")
        writer.close()
        await writer.wait_closed()

    async with serving(streams, echo_handler) as srv:
        async with asyncio.timeout(10):
            await tcp_echo_client("Hello World!", srv.port)
    assert capsys.readouterr().out.splitlines() == [
        "Send: 'Hello World!'",
        "Received: 'Hello World!'",
        "Close the connection",
    ]


@pytest.mark.timeout(30)
async def test_example_echo_server(streams: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    async def handle_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read(100)
        message = data.decode()
        addr = writer.get_extra_info("peername")

        print(f"Received {message!r} from {addr!r}")

        print(f"Send: {message!r}")
        writer.write(data)
        await writer.drain()

        print("Close the connection")
        writer.close()
        await writer.wait_closed()

    started: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    async def main() -> None:
        server = await streams.start_server(handle_echo, "127.0.0.1", 0)

        addrs = ", ".join(str(sock.getsockname()) for sock in server.sockets)
        print(f"Serving on {addrs}")
        started.set_result(server)

        async with server:
            await server.serve_forever()

    async def tcp_echo_client(message: str, port: int) -> None:
        # The spec's client example (the "Examples" section variant, without drain()).
        reader, writer = await streams.open_connection("127.0.0.1", port)

        print(f"Send: {message!r}")
        writer.write(message.encode())

        data = await reader.read(100)
        print(f"Received: {data.decode()!r}")

        print("Close the connection")
        writer.close()
        await writer.wait_closed()
        client_addr.append(writer.get_extra_info("sockname"))

    client_addr: list[tuple[str, int]] = []
    serve_task = asyncio.create_task(main())
    async with asyncio.timeout(10):
        server = await started
        port = server.sockets[0].getsockname()[1]
        assert server.is_serving()
        await tcp_echo_client("Hello World!", port)
        serve_task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serve_task
    assert not server.is_serving()
    assert capsys.readouterr().out.splitlines() == [
        f"Serving on ('127.0.0.1', {port})",
        "Send: 'Hello World!'",
        f"Received 'Hello World!' from {client_addr[0]!r}",
        "Send: 'Hello World!'",
        "Close the connection",
        "Received: 'Hello World!'",
        "Close the connection",
    ]


@pytest.mark.timeout(30)
async def test_example_http_headers(
    streams: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    requests: list[list[bytes]] = []

    async def tiny_http_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines = []
        while (line := await reader.readline()) not in (b"\r\n", b""):
            lines.append(line)
        requests.append(lines)
        writer.write(
            b"HTTP/1.0 200 OK\r\n"
            b"Content-Type: text/html\r\n"
            b"Content-Length: 5\r\n"
            b"X-Served-By: sansio_streams\r\n"
            b"\r\n"
        )  # HEAD: no body
        await writer.drain()

    async def print_http_headers(url_text: str) -> None:
        url = urllib.parse.urlsplit(url_text)
        if url.scheme == "https":
            reader, writer = await streams.open_connection(url.hostname, url.port or 443, ssl=True)
        else:
            reader, writer = await streams.open_connection(url.hostname, url.port or 80)

        query = f"HEAD {url.path or '/'} HTTP/1.0\r\nHost: {url.hostname}\r\n\r\n"

        writer.write(query.encode("latin-1"))
        while True:
            line = await reader.readline()
            if not line:
                break

            line = line.decode("latin1").rstrip()
            if line:
                print(f"HTTP header> {line}")

        # Ignore the body, close the socket
        writer.close()
        await writer.wait_closed()

    async with serving(streams, tiny_http_server) as srv:
        async with asyncio.timeout(10):
            await print_http_headers(f"http://127.0.0.1:{srv.port}/path/page.html")
    assert requests == [[b"HEAD /path/page.html HTTP/1.0\r\n", b"Host: 127.0.0.1\r\n"]]
    assert capsys.readouterr().out.splitlines() == [
        "HTTP header> HTTP/1.0 200 OK",
        "HTTP header> Content-Type: text/html",
        "HTTP header> Content-Length: 5",
        "HTTP header> X-Served-By: sansio_streams",
    ]


@pytest.mark.timeout(30)
async def test_example_socketpair(streams: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    async def wait_for_data() -> None:
        # Get a reference to the current event loop because
        # we want to access low-level APIs.
        loop = asyncio.get_running_loop()

        # Create a pair of connected sockets.
        rsock, wsock = socket.socketpair()

        # Register the open socket to wait for data.
        reader, writer = await streams.open_connection(sock=rsock)

        # Simulate the reception of data from the network
        loop.call_soon(wsock.send, "abc".encode())  # noqa: UP012 (the spec's code)

        # Wait for data
        data = await reader.read(100)

        # Got data, we are done: close the socket
        print("Received:", data.decode())
        writer.close()
        await writer.wait_closed()

        # Close the second socket
        wsock.close()
        sockets.append(rsock)

    sockets: list[socket.socket] = []
    # Sockets only: uvloop opens /dev/null the first time it is used (not a leak).
    before = open_fds(sockets_only=True)
    async with asyncio.timeout(10):
        await wait_for_data()
    assert capsys.readouterr().out == "Received: abc\n"
    # The writer owned rsock: closing it closed the socket, no descriptor left behind.
    assert sockets[0].fileno() == -1
    assert (await settled_fds(before, sockets_only=True)).items() <= before.items()


# ------------------------------------------------------------------------- basic usage


@pytest.mark.timeout(30)
async def test_unix_socket_sock_argument(streams: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "sock-arg.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(os.fspath(path))
    async with serving(streams, echo_handler, unix=True, sock=listener) as srv:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(os.fspath(path))
        reader, writer = await streams.open_unix_connection(sock=client)
        try:
            async with asyncio.timeout(10):
                writer.write(b"via sock=\n")
                assert await reader.readline() == b"via sock=\n"
        finally:
            await close_writer(writer)
        assert client.fileno() == -1  # the writer owned the socket
        assert srv.server.sockets[0].family == socket.AF_UNIX
    assert listener.fileno() == -1  # so did the server


@pytest.mark.timeout(30)
async def test_get_extra_info(streams: ModuleType) -> None:
    server_side: dict[str, Any] = {}

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for name in ("peername", "sockname"):
            server_side[name] = writer.get_extra_info(name)
        sock = writer.get_extra_info("socket")
        server_side["socket"] = (sock.getsockname(), sock.getpeername(), sock.family, sock.type)
        assert await reader.read() == b""

    async with serving(streams, handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        try:
            peername = writer.get_extra_info("peername")
            sockname = writer.get_extra_info("sockname")
            assert peername == ("127.0.0.1", srv.port)
            assert sockname[0] == "127.0.0.1"
            assert writer.transport.get_extra_info("peername") == peername
            sock = writer.get_extra_info("socket")
            assert sock.getsockname() == sockname
            assert sock.getpeername() == peername
            assert sock.family == socket.AF_INET
            assert sock.type == socket.SOCK_STREAM
            assert sock.fileno() >= 0
            assert writer.get_extra_info("sslcontext") is None
            assert writer.get_extra_info("ssl_object") is None
            assert writer.get_extra_info("peercert") is None
            assert writer.get_extra_info("no such key") is None
            assert writer.get_extra_info("no such key", 42) == 42
            writer.write_eof()
            async with asyncio.timeout(10):
                assert await reader.read() == b""
        finally:
            await close_writer(writer)
    assert server_side == {
        "peername": sockname,
        "sockname": peername,
        "socket": (peername, sockname, socket.AF_INET, socket.SOCK_STREAM),
    }


@pytest.mark.timeout(30)
async def test_server_sock_argument_and_start_serving(streams: ModuleType) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await echo_handler(reader, writer)
        finally:
            writer.close()

    server = await streams.start_server(handler, sock=listener, start_serving=False)
    async with server:
        assert not server.is_serving()
        assert server.get_loop() is asyncio.get_running_loop()
        await server.start_serving()
        assert server.is_serving()
        reader, writer = await streams.open_connection("127.0.0.1", port, limit=10)
        try:
            async with asyncio.timeout(10):
                writer.write(b"0123456789abcdef\n")
                with pytest.raises(ValueError, match="limit"):
                    await reader.readline()  # longer than limit=10
                writer.write(b"short\n")
                assert await reader.readline() == b"short\n"
                writer.write_eof()
                assert await reader.read() == b""
        finally:
            await close_writer(writer)
    assert not server.is_serving()
    assert listener.fileno() == -1


@pytest.mark.timeout(30)
async def test_async_iteration_and_close_from_server(streams: ModuleType) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.writelines([b"one\n", b"two\n", b"three"])
        await writer.drain()
        # serving() closes the writer when we return: the client sees EOF.

    async with serving(streams, handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        try:
            async with asyncio.timeout(10):
                assert [line async for line in reader] == [b"one\n", b"two\n", b"three"]
                assert reader.at_eof()
        finally:
            await close_writer(writer)
        assert writer.is_closing()


@pytest.mark.timeout(30)
async def test_close_while_reading_gives_eof(streams: ModuleType) -> None:
    async with serving(streams, echo_handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        read = asyncio.create_task(reader.read(100))
        await asyncio.sleep(0.02)
        assert not read.done()
        writer.close()  # our own close ends our pending read with EOF
        assert writer.is_closing()
        async with asyncio.timeout(10):
            assert await read == b""
            await writer.wait_closed()
        assert reader.at_eof()


# ------------------------------------------------------------------------- big & many


@pytest.mark.timeout(60)
async def test_pipelined_lines(streams: ModuleType) -> None:
    count = 20000
    rng = random.Random(20000)
    lines = [b"%d %s\r\n" % (i, b"y" * rng.randrange(200)) for i in range(count)]

    async def line_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readuntil(b"\r\n"):
            writer.write(line)
            await writer.drain()
            if line.startswith(b"%d " % (count - 1)):
                break

    async with serving(streams, line_echo, limit=1024) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port, limit=1024)
        try:
            writer.writelines(lines)  # all at once: the server's reader pauses and resumes
            async with asyncio.timeout(30):
                for i, line in enumerate(lines):
                    got = await (reader.readline() if i % 2 else reader.readuntil(b"\r\n"))
                    assert got == line
                writer.write_eof()
                assert await reader.read() == b""
        finally:
            await close_writer(writer)


# ----------------------------------------------------------------------------- resets


async def reset_during_read(module: ModuleType) -> list[str]:
    """Block in read(), have the peer reset: return what each call raised."""
    loop = asyncio.get_running_loop()
    outcome = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        reader, writer = await module.open_connection("127.0.0.1", listener.getsockname()[1])
        try:
            peer, _ = await loop.sock_accept(listener)
            read = asyncio.create_task(reader.read(100))
            await asyncio.sleep(0.05)
            assert not read.done()
            reset(peer)
            async with asyncio.timeout(5):  # no hang
                try:
                    outcome.append(f"read returned {await read!r}")
                except Exception as exc:
                    outcome.append(f"read raised {type(exc).__name__}")
                try:
                    outcome.append(f"second read returned {await reader.read(100)!r}")
                except Exception as exc:
                    outcome.append(f"second read raised {type(exc).__name__}")
        finally:
            writer.close()
            async with asyncio.timeout(5):
                try:
                    await writer.wait_closed()
                    outcome.append("wait_closed returned")
                except Exception as exc:
                    outcome.append(f"wait_closed raised {type(exc).__name__}")
    return outcome


async def reset_during_drain(module: ModuleType) -> list[str]:
    """Block in drain() (the peer does not read), have the peer reset: what is raised."""
    loop = asyncio.get_running_loop()
    outcome = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        reader, writer = await module.open_connection("127.0.0.1", listener.getsockname()[1])
        try:
            peer, _ = await loop.sock_accept(listener)
            chunk = b"x" * (4 * 1024 * 1024)
            for _ in range(16):  # fill the socket buffers until drain() blocks (bounded)
                writer.write(chunk)
                drain = asyncio.create_task(writer.drain())
                await asyncio.sleep(0.05)
                if not drain.done():
                    break
                await drain
            assert not drain.done(), "drain() never blocked"
            reset(peer)
            async with asyncio.timeout(5):  # no hang
                try:
                    await drain
                    outcome.append("drain returned")
                except Exception as exc:
                    outcome.append(f"drain raised {type(exc).__name__}")
                try:
                    outcome.append(f"read returned {await reader.read(100)!r}")
                except Exception as exc:
                    outcome.append(f"read raised {type(exc).__name__}")
                try:
                    await writer.drain()
                    outcome.append("second drain returned")
                except Exception as exc:
                    outcome.append(f"second drain raised {type(exc).__name__}")
        finally:
            writer.close()
            async with asyncio.timeout(5):
                try:
                    await writer.wait_closed()
                    outcome.append("wait_closed returned")
                except Exception as exc:
                    outcome.append(f"wait_closed raised {type(exc).__name__}")
    return outcome


async def drain_after_close(module: ModuleType) -> list[str]:
    """drain() on a writer we closed ourselves: what is raised."""
    outcome = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        reader, writer = await module.open_connection("127.0.0.1", listener.getsockname()[1])
        writer.write(b"data")
        writer.close()
        async with asyncio.timeout(5):
            try:
                await writer.drain()
                outcome.append("drain returned")
            except Exception as exc:
                outcome.append(f"drain raised {type(exc).__name__}")
            await writer.wait_closed()
            outcome.append(f"read returned {await reader.read()!r}")
    return outcome


@pytest.mark.timeout(30)
@pytest.mark.parametrize("scenario", [reset_during_read, reset_during_drain, drain_after_close])
async def test_broken_connection_raises_like_asyncio(
    streams: ModuleType, scenario: Callable[[ModuleType], Awaitable[list[str]]]
) -> None:
    expected = await scenario(asyncio)
    # What asyncio does, so that a change in asyncio is noticed here first.
    assert expected[0].endswith("raised ConnectionResetError")
    assert await scenario(streams) == expected


# -------------------------------------------------------------------- limit and flood


@pytest.mark.timeout(30)
async def test_limit_overrun_separator_found_beyond_limit(streams: ModuleType) -> None:
    big = random.Random(3).randbytes(3 * 1024 * 1024)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"a" * 300 + b"\nrest\n")
        writer.write(big)
        await writer.drain()

    async with serving(streams, handler) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port, limit=100)
        try:
            async with asyncio.timeout(10):
                with pytest.raises(asyncio.LimitOverrunError) as excinfo:
                    await reader.readuntil(b"\n")
                assert excinfo.value.consumed == 300  # where the separator starts
                # Left in the buffer: readable again.
                assert await reader.readexactly(301) == b"a" * 300 + b"\n"
                assert await reader.readuntil(b"\n") == b"rest\n"
                # readexactly() is not bound by the limit: the paused transport resumes.
                assert await reader.readexactly(len(big)) == big
                assert await reader.read() == b""
        finally:
            await close_writer(writer)


# ---------------------------------------------------------------------- cancellation

READ_TIMEOUTS = [0.0, 0.0002, 0.001, 0.002, 0.005, 0.02]

read_ops = st.one_of(
    st.tuples(st.just("readline"), st.just(0)),
    st.tuples(st.just("readexactly"), st.integers(0, 300)),
    st.tuples(st.just("read"), st.integers(0, 300)),
    st.tuples(st.just("readuntil"), st.sampled_from([b"\n", b"\r\n", b"ab"])),
)
payloads = st.lists(
    st.one_of(st.sampled_from([b"\n", b"\r\n", b"ab", b"a", b"\r", b"b"]), st.binary(max_size=60)),
    max_size=120,
).map(b"".join)


async def run_read_op(reader: asyncio.StreamReader, kind: str, arg: Any) -> bytes:
    if kind == "readline":
        data: bytes = await reader.readline()
    elif kind == "readexactly":
        data = await reader.readexactly(arg)
    elif kind == "readuntil":
        data = await reader.readuntil(arg)
    else:
        data = await reader.read(arg)
    return data


@pytest.mark.timeout(120)
@settings(max_examples=60, deadline=None)
@given(
    payload=payloads,
    chunk_sizes=st.lists(st.integers(1, 400), min_size=1, max_size=20),
    pauses=st.lists(st.sampled_from([0.0, 0.0, 0.0005, 0.002, 0.005]), min_size=1, max_size=20),
    ops=st.lists(
        st.tuples(
            read_ops,
            st.sampled_from(READ_TIMEOUTS),
            st.booleans(),  # asyncio.wait_for() or asyncio.timeout()
            st.sampled_from([0.0, 0.0, 0.001, 0.003]),  # pause after the op
        ),
        max_size=25,
    ),
)
async def test_cancelled_reads_lose_no_data(
    streams: ModuleType,
    payload: bytes,
    chunk_sizes: list[int],
    pauses: list[float],
    ops: list[tuple[tuple[str, Any], float, bool, float]],
) -> None:
    async def send_in_chunks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        position = 0
        step = 0
        while position < len(payload):
            size = chunk_sizes[step % len(chunk_sizes)]
            writer.write(payload[position : position + size])
            await writer.drain()
            position += size
            if pause := pauses[step % len(pauses)]:
                await asyncio.sleep(pause)
            step += 1
        writer.write_eof()
        await reader.read()  # until the client is done

    async with serving(streams, send_in_chunks) as srv:
        reader, writer = await streams.open_connection("127.0.0.1", srv.port)
        received = bytearray()
        try:
            async with asyncio.timeout(20):
                for (kind, arg), timeout, use_wait_for, pause in ops:
                    try:
                        if use_wait_for:
                            data = await asyncio.wait_for(run_read_op(reader, kind, arg), timeout)
                        else:
                            async with asyncio.timeout(timeout):
                                data = await run_read_op(reader, kind, arg)
                    except TimeoutError:
                        data = b""  # cancelled: nothing may have been consumed
                    except asyncio.IncompleteReadError as exc:
                        data = exc.partial  # EOF: the partial data was consumed
                    received += data
                    if pause:
                        await asyncio.sleep(pause)
                # Never cancelled: read(-1) may lose data when cancelled (asyncio too).
                received += await reader.read()
        finally:
            await close_writer(writer)
    assert bytes(received) == payload
