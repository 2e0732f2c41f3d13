"""Register an open socket to wait for data: the spec's example on sansio_streams_asyncio.

The example of asyncio's streams documentation, with ``open_connection()``
taken from ``sansio_streams_asyncio``::

    python examples/asyncio/socketpair.py
"""

import asyncio
import socket

import sansio_streams_asyncio as streams


async def wait_for_data() -> None:
    # Get a reference to the current event loop because
    # we want to access low-level APIs.
    loop = asyncio.get_running_loop()

    # Create a pair of connected sockets.
    rsock, wsock = socket.socketpair()

    # Register the open socket to wait for data.
    reader, writer = await streams.open_connection(sock=rsock)

    # Simulate the reception of data from the network
    loop.call_soon(wsock.send, "abc".encode())  # noqa: UP012 - the spec's code

    # Wait for data
    data = await reader.read(100)

    # Got data, we are done: close the socket
    print("Received:", data.decode())
    writer.close()
    await writer.wait_closed()

    # Close the second socket
    wsock.close()


if __name__ == "__main__":
    asyncio.run(wait_for_data())
