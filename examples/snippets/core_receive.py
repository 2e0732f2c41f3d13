"""docs/core.rst, "Zero-copy receive" and "Many small reads", runnable.

The page shows the lines between each ``# docs: start NAME`` and
``# docs: end NAME`` comment; tests/test_docs_code.py runs both functions.
"""

import socket
from collections.abc import Sequence

from sansio_streams import ReadBuffer, ReadResult


def receive_into(sock: socket.socket, buf: ReadBuffer) -> None:
    """One receive from ``sock`` straight into ``buf``, or EOF."""
    # docs: start recv-into
    nbytes = sock.recv_into(buf.get_buffer(65536))
    if nbytes:
        buf.buffer_updated(nbytes)
    else:
        buf.feed_eof()  # also gives the lent space back
    # docs: end recv-into


def next_lines(buf: ReadBuffer) -> Sequence[ReadResult]:
    """Every complete line buffered; else what one readline() returns."""
    # docs: start readline-batch
    lines = buf.readline_batch()
    if not lines:
        line = buf.readline()  # NEED_DATA, a partial last line or b"", or raises
    # docs: end readline-batch
    return lines or [line]
