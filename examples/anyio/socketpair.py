"""Register an open socket to wait for data: the spec's example on sansio_streams_anyio.

The example of asyncio's streams documentation, with ``open_connection()``
and ``get_running_loop()`` taken from ``sansio_streams_anyio`` (the asyncio
loop on anyio's asyncio backend; on its trio backend, an object with asyncio's
``call_soon()``) and ``anyio.run`` as the runner::

    python examples/anyio/socketpair.py [--backend trio]
"""

import argparse
import socket

import anyio

import sansio_streams_anyio as streams


async def wait_for_data() -> None:
    # Get a reference to the current event loop because
    # we want to access low-level APIs.
    loop = streams.get_running_loop()

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
    parser = argparse.ArgumentParser(description="Wait for data on a socketpair (anyio)")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    args = parser.parse_args()
    anyio.run(wait_for_data, backend=args.backend)
