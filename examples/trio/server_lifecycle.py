"""A server's lifecycle on sansio_streams_trio: ``task_group=``, ``async with
server:``, and handlers that return or raise.

* With ``task_group=`` (a nursery) the server serves at once, in a task of that
  nursery, until ``server.close()``.
* ``async with server:`` serves inside the block; leaving it closes the server
  and waits for the handlers.
* When a handler returns, the server flushes what it wrote and closes the
  connection.  When it raises, the error is logged on the ``"sansio_streams"``
  logger and the connection closed; the server goes on serving.

Run it::

    python examples/trio/server_lifecycle.py
"""

import logging

import trio

import sansio_streams_trio as streams


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
    async with trio.open_nursery() as nursery:
        server = await streams.start_server(greet, "127.0.0.1", 0, task_group=nursery)
        port = server.sockets[0].getsockname()[1]
        print("task_group=:", await ask(port, b"nursery\n"))
        print("handler raised:", await ask(port, b"\n"))  # logged; connection closed
        server.close()  # stop accepting; the nursery's task ends after the handlers
        await server.wait_closed()

    server = await streams.start_server(greet, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:  # serves inside the block
        print("async with:", await ask(port, b"block\n"))
    print("serving after the block:", server.is_serving())


if __name__ == "__main__":
    logging.basicConfig(format="%(levelname)s:%(name)s:%(message)s")
    trio.run(main)
