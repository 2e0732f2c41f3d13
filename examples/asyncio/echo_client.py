"""TCP echo client using streams: the spec's example on sansio_streams_asyncio.

The example of asyncio's streams documentation, with the stream functions
taken from ``sansio_streams_asyncio`` (the runner is still ``asyncio.run``).
Start ``echo_server.py`` first, then::

    python examples/asyncio/echo_client.py [--host HOST] [--port PORT]
"""

import argparse
import asyncio

import sansio_streams_asyncio as streams


async def tcp_echo_client(message: str, host: str = "127.0.0.1", port: int = 8888) -> None:
    reader, writer = await streams.open_connection(host, port)

    print(f"Send: {message!r}")
    writer.write(message.encode())

    data = await reader.read(100)
    print(f"Received: {data.decode()!r}")

    print("Close the connection")
    writer.close()
    await writer.wait_closed()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="TCP echo client (asyncio)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8888)
    args = parser.parse_args()
    asyncio.run(tcp_echo_client("Hello World!", args.host, args.port))
