"""asyncio's reading methods on an anyio stream you already have: ``wrap_stream()``.

``wrap_stream()`` takes any ``anyio.abc.ByteStream`` -- from
``anyio.connect_tcp()`` (with or without TLS), a listener, a stapled stream,
... -- and returns a reader and a writer that own it.  Here the stream comes
from ``anyio.connect_tcp()``, connected to a listener that answers in
capitals; on anyio's asyncio backend (the default) or its trio backend::

    python examples/anyio/wrap_stream.py [--backend trio]
"""

import argparse

import anyio
import anyio.abc

import sansio_streams_anyio as streams


async def shout(stream: anyio.abc.SocketStream) -> None:
    """The other end, written with anyio's own stream API."""
    async with stream:
        async for data in stream:
            await stream.send(data.upper())


async def main() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, shout)

        stream = await anyio.connect_tcp("127.0.0.1", port)
        reader, writer = await streams.wrap_stream(stream)
        writer.write(b"hello\nworld\n")
        print(await reader.readline())
        print(await reader.readexactly(6))

        writer.close()
        await writer.wait_closed()  # closes the wrapped stream
        group.cancel_scope.cancel()  # stop the listener


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="wrap_stream() (anyio)")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    args = parser.parse_args()
    anyio.run(main, backend=args.backend)
