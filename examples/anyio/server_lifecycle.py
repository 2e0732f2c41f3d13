"""A server's lifecycle on sansio_streams_anyio: ``task_group=``, ``async with
server:``, and handlers that return or raise.

* With ``task_group=`` (an anyio task group) the server serves at once, in a
  task of that group, until ``server.close()``.
* ``async with server:`` serves inside the block; leaving it closes the server
  and waits for the handlers.
* When a handler returns, the server flushes what it wrote and closes the
  connection.  When it raises, the error is logged on the ``"sansio_streams"``
  logger and the connection closed; the server goes on serving.

Run it, on anyio's asyncio backend (the default) or its trio backend::

    python examples/anyio/server_lifecycle.py [--backend trio]
"""

import argparse
import logging

import anyio

import sansio_streams_anyio as streams


async def greet(reader: streams.StreamReader, writer: streams.StreamWriter) -> None:
    name = (await reader.readline()).decode().strip()
    if not name:
        raise ValueError("no name given")
    writer.write(f"Hello, {name}!\n".encode())
    # No close() here: returning flushes the answer and closes the connection.


async def ask(port: int, line: bytes) -> bytes:
    reader, writer = await streams.open_connection("127.0.0.1", port)
    writer.write(line)
    answer = await reader.read()  # everything, until the server closes
    writer.close()
    await writer.wait_closed()
    return answer


async def main() -> None:
    async with anyio.create_task_group() as group:
        server = await streams.start_server(greet, "127.0.0.1", 0, task_group=group)
        port = server.sockets[0].getsockname()[1]
        print("task_group=:", await ask(port, b"task group\n"))
        print("handler raised:", await ask(port, b"\n"))  # logged; connection closed
        server.close()  # stop accepting; the group's task ends after the handlers
        await server.wait_closed()

    server = await streams.start_server(greet, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:  # serves inside the block
        print("async with:", await ask(port, b"block\n"))
    print("serving after the block:", server.is_serving())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A server's lifecycle (anyio)")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    args = parser.parse_args()
    logging.basicConfig(format="%(levelname)s:%(name)s:%(message)s")
    anyio.run(main, backend=args.backend)
