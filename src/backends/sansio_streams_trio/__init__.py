"""sansio_streams_trio: asyncio's streams API on trio.

The same names as ``asyncio``'s streams (and ``sansio_streams_asyncio``), with
the same results, exceptions and buffer semantics; servers follow trio's
structured concurrency (see :class:`Server`).  Built on the sans-IO core and the
framework-agnostic front (:mod:`sansio_streams._front`): this package supplies
only trio's readiness waits, connects, listeners and task groups.
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
