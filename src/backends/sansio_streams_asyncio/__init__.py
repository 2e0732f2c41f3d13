"""sansio_streams_asyncio: asyncio's streams API on the sans-IO core -- a drop-in.

Change one import line::

    import sansio_streams_asyncio as streams   # instead of asyncio's functions
    reader, writer = await streams.open_connection("127.0.0.1", 8888)

The names, signatures and behaviour are asyncio 3.13's, on Python 3.11, 3.12
and 3.13, on the default event loop and on uvloop.  Parsing is the core's
(:class:`sansio_streams.ReadBuffer`); this package only waits and moves bytes.

One addition: :meth:`StreamWriter.start_tls` refuses to upgrade while
plaintext bytes received before the handshake are unread, raising
:class:`StartTLSInjectionError` (an :class:`ssl.SSLError`).
"""

import socket

from sansio_streams import IncompleteReadError, LimitOverrunError

from ._api import open_connection, start_server
from ._protocol import StreamReaderProtocol
from ._reader import StreamReader
from ._server import Server
from ._writer import StartTLSInjectionError, StreamWriter

__all__: tuple[str, ...] = (
    "IncompleteReadError",
    "LimitOverrunError",
    "Server",
    "StartTLSInjectionError",
    "StreamReader",
    "StreamReaderProtocol",
    "StreamWriter",
    "open_connection",
    "start_server",
)

if hasattr(socket, "AF_UNIX"):
    from ._api import open_unix_connection, start_unix_server

    __all__ += ("open_unix_connection", "start_unix_server")
