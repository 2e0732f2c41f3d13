"""TCP echo server using streams: the spec's example on sansio_streams_anyio.

The example of asyncio's streams documentation, with the stream functions
taken from ``sansio_streams_anyio`` and ``anyio.run`` as the runner, on
anyio's asyncio backend (the default) or its trio backend.  The server serves
inside ``async with server:``, in ``serve_forever()``, until Ctrl-C (SIGINT)::

    python examples/anyio/echo_server.py [--host HOST] [--port PORT] [--backend trio]

``--port 0`` lets the system choose a free port; the first line printed says
which.
"""

import argparse
import contextlib

import anyio

import sansio_streams_anyio as streams


async def handle_echo(reader: streams.StreamReader, writer: streams.StreamWriter) -> None:
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


async def main(host: str = "127.0.0.1", port: int = 8888) -> None:
    server = await streams.start_server(handle_echo, host, port)

    addrs = ", ".join(str(sock.getsockname()) for sock in server.sockets)
    print(f"Serving on {addrs}")

    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="TCP echo server (anyio)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops the server
        anyio.run(main, args.host, args.port, backend=args.backend)
