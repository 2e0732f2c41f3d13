"""A server's shutdown on sansio_streams_asyncio: Python 3.13's semantics on
every version and loop.

* ``server.close()`` stops accepting; the connections stay open.
* ``server.wait_closed()`` returns once the server is closed *and* every
  connection it accepted is gone (asyncio 3.11 returns as soon as the server is
  closed).
* ``server.close_clients()`` closes those connections, flushing what was
  written first; ``server.abort_clients()`` drops them at once.  (asyncio has
  both from 3.13 only.)

Run it::

    python examples/asyncio/server_lifecycle.py
"""

import asyncio

import sansio_streams_asyncio as streams


async def handle(reader: streams.StreamReader, writer: streams.StreamWriter) -> None:
    writer.write(b"welcome\n")
    await reader.read()  # until EOF: this client sends nothing
    writer.close()
    await writer.wait_closed()


async def main() -> None:
    server = await streams.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await streams.open_connection("127.0.0.1", port)
    print("client reads:", await reader.readline())

    server.close()  # stop accepting: the connection stays open
    print("serving:", server.is_serving())
    waiting = asyncio.create_task(server.wait_closed())
    await asyncio.sleep(0.1)
    print("wait_closed() returned:", waiting.done())  # not yet: a connection is open

    server.close_clients()  # close the server's side of every connection
    print("client reads:", await reader.read())  # EOF
    await waiting
    print("wait_closed() returned:", waiting.done())
    writer.close()
    await writer.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
