"""sansio_streams: asyncio's stream semantics as a synchronous, I/O-free core.

:class:`ReadBuffer` is the read side of ``asyncio.StreamReader`` without the
coroutines: feed it bytes, call a read method, get ``bytes`` or
:data:`NEED_DATA`.  :class:`WriteBuffer` is the write side a transport keeps.
The backends (``sansio_streams_asyncio``, ``sansio_streams_trio``,
``sansio_streams_anyio``) wrap them in the awaitable streams API; this package
imports none of them and opens no socket.
"""

from ._errors import IncompleteReadError, LimitOverrunError, StartTLSInjectionError
from ._readbuffer import DEFAULT_LIMIT, NEED_DATA, NeedData, ReadBuffer, ReadResult
from ._writebuffer import WriteBuffer

__all__ = (
    "DEFAULT_LIMIT",
    "NEED_DATA",
    "IncompleteReadError",
    "LimitOverrunError",
    "NeedData",
    "ReadBuffer",
    "ReadResult",
    "StartTLSInjectionError",
    "WriteBuffer",
)

__version__ = "0.1.0"
