"""The core's exceptions: asyncio's own classes, with readable reprs.

They subclass :class:`asyncio.IncompleteReadError` and
:class:`asyncio.LimitOverrunError`, so ``except asyncio.IncompleteReadError``
catches what the core raises, and pickling round-trips through asyncio's
``__reduce__`` (which rebuilds ``type(self)``).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

__all__ = ("IncompleteReadError", "LimitOverrunError", "StartTLSInjectionError")

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


class StartTLSInjectionError(ssl.SSLError):
    """``start_tls()`` refused: plaintext bytes were received and not yet read.

    Bytes that arrive before the TLS handshake were sent in the clear, so
    anyone on the path could have injected them (the CVE-2021-23222 class of
    attack: a reply or command smuggled in ahead of STARTTLS and later taken
    for protected data).  The upgrade is refused *before* anything happens: the
    connection, the reader's buffer and the transport are left exactly as they
    were.  Usually the peer broke the protocol and the connection should be
    closed; a client that expects extra bytes may read them and retry.

    It is an :class:`ssl.SSLError` (hence an :class:`OSError`), so code that
    already handles a failed handshake handles this too.  ``unread`` is the
    number of bytes buffered.
    """

    def __init__(self, unread: int) -> None:
        super().__init__(
            None,
            f"start_tls() refused: {unread} plaintext byte(s) received before the "
            f"TLS handshake are still unread (possible injection)",
        )
        self.unread = unread

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.unread,))
