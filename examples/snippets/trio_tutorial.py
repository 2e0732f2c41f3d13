"""The trio tutorial's (docs/tutorial-trio.rst) short examples, runnable.

The page shows the lines between each ``# docs: start NAME`` and
``# docs: end NAME`` comment; tests/test_docs_code.py runs every function
against a real connection.
"""

# The page's except clause names the exception for the comment that uses it.
# ruff: noqa: F841

import ssl

import trio

import sansio_streams_trio as streams


async def read_head(reader: streams.StreamReader) -> bytes | None:
    """A header block that must fit within the reader's limit, or None."""
    head: bytes | None = None
    # docs: start read-head
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except streams.LimitOverrunError:
        ...  # too long: the bytes are still buffered; answer an error, or close
    except streams.IncompleteReadError as exc:
        ...  # EOF first; exc.partial holds what came
    # docs: end read-head
    return head


async def upgrade_to_tls(reader: streams.StreamReader, writer: streams.StreamWriter) -> bytes:
    """STARTTLS: ask, read the server's reply, upgrade; return the reply."""
    # docs: start starttls
    writer.write(b"STARTTLS\r\n")
    reply = await reader.readline()
    await writer.start_tls(ssl.create_default_context(), server_hostname="mail.example.com")
    # docs: end starttls
    return reply


async def read_line_within(reader: streams.StreamReader) -> bytes | None:
    """A line, or None if none came within 5 seconds."""
    line: bytes | None = None
    # docs: start timeout
    with trio.move_on_after(5):
        line = await reader.readline()
    # If the deadline expired, nothing was consumed: the next readline()
    # returns the whole line.
    # docs: end timeout
    return line
