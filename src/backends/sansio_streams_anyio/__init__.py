"""sansio_streams_anyio: asyncio's streams API on anyio (asyncio and trio backends).

The same names as ``asyncio``'s streams (and ``sansio_streams_asyncio``), with
the same results, exceptions and buffer semantics; servers follow structured
concurrency (see :class:`Server`).  Built on the sans-IO core and the
framework-agnostic front (:mod:`sansio_streams._front`).  Under anyio's trio
backend the connections are ``sansio_streams_trio``'s (trio must be installed
then); under asyncio, sockets are waited on with the event loop directly.
"""

from sansio_streams import IncompleteReadError, LimitOverrunError
from sansio_streams._front import StartTLSInjectionError

from ._api import (
    Server,
    StreamReader,
    StreamWriter,
    get_running_loop,
    open_connection,
    open_unix_connection,
    start_server,
    start_unix_server,
)
from ._wrap import wrap_stream

__all__ = (
    "IncompleteReadError",
    "LimitOverrunError",
    "Server",
    "StartTLSInjectionError",
    "StreamReader",
    "StreamWriter",
    "get_running_loop",
    "open_connection",
    "open_unix_connection",
    "start_server",
    "start_unix_server",
    "wrap_stream",
)
