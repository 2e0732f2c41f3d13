"""The specification's four examples, unchanged but for the import line, the runner
and the port (a free one instead of 8888 / 80).

Each example's source is kept verbatim below (the ``import asyncio`` line and the
final ``asyncio.run(...)`` line removed); it is executed with ``asyncio`` bound to
the backend module (the changed import line: ``import sansio_streams_trio as
asyncio``) and run with ``trio.run`` or ``anyio.run`` on both of anyio's backends.
"""

from __future__ import annotations

import importlib
import socket
import textwrap
from collections.abc import Callable, Coroutine
from types import ModuleType
from typing import Any

import anyio
import pytest
import trio

ECHO_CLIENT = """
async def tcp_echo_client(message):
    reader, writer = await asyncio.open_connection(
        '127.0.0.1', 8888)

    print(f'Send: {message!r}')
    writer.write(message.encode())

    data = await reader.read(100)
    print(f'Received: {data.decode()!r}')

    print('Close the connection')
    writer.close()
    await writer.wait_closed()
"""

ECHO_SERVER = """
async def handle_echo(reader, writer):
    data = await reader.read(100)
    message = data.decode()
    addr = writer.get_extra_info('peername')

    print(f"Received {message!r} from {addr!r}")

    print(f"Send: {message!r}")
    writer.write(data)
    await writer.drain()

    print("Close the connection")
    writer.close()
    await writer.wait_closed()

async def main():
    server = await asyncio.start_server(
        handle_echo, '127.0.0.1', 8888)

    addrs = ', '.join(str(sock.getsockname()) for sock in server.sockets)
    print(f'Serving on {addrs}')

    async with server:
        await server.serve_forever()
"""

HTTP_HEADERS = """
import urllib.parse
import sys

async def print_http_headers(url):
    url = urllib.parse.urlsplit(url)
    if url.scheme == 'https':
        reader, writer = await asyncio.open_connection(
            url.hostname, 443, ssl=True)
    else:
        reader, writer = await asyncio.open_connection(
            url.hostname, 80)

    query = (
        f"HEAD {url.path or '/'} HTTP/1.0\\r\\n"
        f"Host: {url.hostname}\\r\\n"
        f"\\r\\n"
    )

    writer.write(query.encode('latin-1'))
    while True:
        line = await reader.readline()
        if not line:
            break

        line = line.decode('latin1').rstrip()
        if line:
            print(f'HTTP header> {line}')

    # Ignore the body, close the socket
    writer.close()
    await writer.wait_closed()
"""

SOCKETPAIR = """
import socket

async def wait_for_data():
    # Get a reference to the current event loop because
    # we want to access low-level APIs.
    loop = asyncio.get_running_loop()

    # Create a pair of connected sockets.
    rsock, wsock = socket.socketpair()

    # Register the open socket to wait for data.
    reader, writer = await asyncio.open_connection(sock=rsock)

    # Simulate the reception of data from the network
    loop.call_soon(wsock.send, 'abc'.encode())

    # Wait for data
    data = await reader.read(100)

    # Got data, we are done: close the socket
    print("Received:", data.decode())
    writer.close()
    await writer.wait_closed()

    # Close the second socket
    wsock.close()
"""

RUNNERS = [
    pytest.param("sansio_streams_trio", "trio.run", id="trio"),
    pytest.param("sansio_streams_anyio", "asyncio", id="anyio-asyncio"),
    pytest.param("sansio_streams_anyio", "trio", id="anyio-trio"),
]


def load(source: str, module: str, port: int | None = None) -> dict[str, Any]:
    """Execute an example with ``asyncio`` bound to the backend module."""
    if port is not None:
        source = source.replace("8888", str(port)).replace("80)", f"{port})")
    namespace: dict[str, Any] = {"asyncio": importlib.import_module(module)}
    exec(compile(textwrap.dedent(source), f"<example for {module}>", "exec"), namespace)
    return namespace


def run(runner: str, main: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
    if runner == "trio.run":
        trio.run(main, *args)
    else:
        anyio.run(main, *args, backend=runner)


def is_bound(port: int) -> bool:
    """Whether something is bound to ``port`` (without connecting to it)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("module", "runner"), RUNNERS)
def test_echo_client_and_server_examples(
    module: str, runner: str, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    server_ns = load(ECHO_SERVER, module, port)
    client_ns = load(ECHO_CLIENT, module, port)

    async def both() -> None:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(server_ns["main"])
                # Until the server example listens (it prints, but gives us nothing).
                while not is_bound(port):  # noqa: ASYNC110
                    await anyio.sleep(0.005)
                await client_ns["tcp_echo_client"]("Hello World!")
                await anyio.wait_all_tasks_blocked()  # the handler finishes
                group.cancel_scope.cancel()  # ends serve_forever()

    run(runner, both)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Serving on ('127.0.0.1', {port})"
    assert out[1] == "Send: 'Hello World!'"
    assert out[2].startswith("Received 'Hello World!' from ('127.0.0.1', ")
    # The server's last line and the client's lines interleave as the tasks
    # are scheduled; each side's own order is fixed.
    assert out[3] == "Send: 'Hello World!'"
    assert sorted(out[4:]) == [
        "Close the connection",
        "Close the connection",
        "Received: 'Hello World!'",
    ]
    assert out[-1] == "Close the connection"


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("module", "runner"), RUNNERS)
def test_http_headers_example(module: str, runner: str, capsys: pytest.CaptureFixture[str]) -> None:
    streams: ModuleType = importlib.import_module(module)
    requests: list[list[bytes]] = []

    async def tiny_http_server(reader: Any, writer: Any) -> None:
        lines = []
        while (line := await reader.readline()) not in (b"\r\n", b""):
            lines.append(line)
        requests.append(lines)
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\nX-Served-By: sansio_streams\r\n\r\n")

    async def main() -> None:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                server = await streams.start_server(
                    tiny_http_server, "127.0.0.1", 0, task_group=group
                )
                port = server.sockets[0].getsockname()[1]
                namespace = load(HTTP_HEADERS, module, port)
                await namespace["print_http_headers"](f"http://127.0.0.1:{port}/path/page.html")
                server.close()

    run(runner, main)
    assert requests == [[b"HEAD /path/page.html HTTP/1.0\r\n", b"Host: 127.0.0.1\r\n"]]
    assert capsys.readouterr().out.splitlines() == [
        "HTTP header> HTTP/1.0 200 OK",
        "HTTP header> Content-Length: 5",
        "HTTP header> X-Served-By: sansio_streams",
    ]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("module", "runner"), RUNNERS)
def test_socketpair_example(module: str, runner: str, capsys: pytest.CaptureFixture[str]) -> None:
    namespace = load(SOCKETPAIR, module)
    run(runner, namespace["wait_for_data"])
    assert capsys.readouterr().out == "Received: abc\n"
