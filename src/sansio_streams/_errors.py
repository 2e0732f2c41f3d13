"""The core's exceptions: asyncio's own classes, with readable reprs.

They subclass :class:`asyncio.IncompleteReadError` and
:class:`asyncio.LimitOverrunError`, so ``except asyncio.IncompleteReadError``
catches what the core raises, and pickling round-trips through asyncio's
``__reduce__`` (which rebuilds ``type(self)``).
"""

from __future__ import annotations

import asyncio

__all__ = ("IncompleteReadError", "LimitOverrunError")

# How many bytes of ``partial`` a repr shows: the payload may be megabytes.
_REPR_BYTES = 32


class IncompleteReadError(asyncio.IncompleteReadError):
    """EOF came before the read could complete.

    ``partial`` holds the bytes read before EOF (they are no longer buffered);
    ``expected`` is the number of bytes asked for, or ``None`` for a separator
    search.
    """

    def __repr__(self) -> str:
        partial = self.partial
        shown = repr(partial[:_REPR_BYTES])
        if len(partial) > _REPR_BYTES:
            shown += f"...<{len(partial)} bytes>"
        return f"{type(self).__name__}(partial={shown}, expected={self.expected!r})"


class LimitOverrunError(asyncio.LimitOverrunError):
    """A separator search passed the reader's limit.

    The data stays buffered; ``consumed`` is how many bytes would have to be
    consumed (asyncio's meaning: the search position when it gave up, or where
    the separator starts).
    """

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.args[0]!r}, consumed={self.consumed!r})"
