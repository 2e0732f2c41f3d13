"""asyncio's reading methods on a trio stream you already have: ``wrap_stream()``.

``wrap_stream()`` takes any ``trio.abc.Stream`` -- a ``trio.SocketStream``, a
``trio.SSLStream``, a ``trio.StapledStream``, ... -- and returns a reader and
a writer that own it.  Here the stream is one end of an in-memory pair from
``trio.testing``, whose other end answers in capitals::

    python examples/trio/wrap_stream.py
"""

import trio
import trio.testing

import sansio_streams_trio as streams


async def shout(stream: trio.abc.Stream) -> None:
    """The other end, written with trio's own stream API."""
    async with stream:
        async for data in stream:
            await stream.send_all(data.upper())


async def main() -> None:
    ours, theirs = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(shout, theirs)

        reader, writer = await streams.wrap_stream(ours)
        writer.write(b"hello\nworld\n")
        print(await reader.readline())
        print(await reader.readexactly(6))

        writer.close()
        await writer.wait_closed()  # closes the wrapped stream: shout() sees EOF


if __name__ == "__main__":
    trio.run(main)
