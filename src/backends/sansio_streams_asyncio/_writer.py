"""``StreamWriter``: asyncio 3.13's writer over a transport, with a STARTTLS guard."""

from __future__ import annotations

import asyncio
import inspect
import ssl
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sansio_streams import StartTLSInjectionError

from ._reader import StreamReader

if TYPE_CHECKING:
    from ._protocol import StreamReaderProtocol

__all__ = ("StartTLSInjectionError", "StreamWriter")


# Per loop type: does loop.start_tls() take ssl_shutdown_timeout?
_SHUTDOWN_TIMEOUT_SUPPORT: dict[type[asyncio.AbstractEventLoop], bool] = {}


def _start_tls_takes_shutdown_timeout(loop: asyncio.AbstractEventLoop) -> bool:
    cls = type(loop)
    known = _SHUTDOWN_TIMEOUT_SUPPORT.get(cls)
    if known is None:
        try:
            params = inspect.signature(loop.start_tls).parameters
        except (TypeError, ValueError):  # pragma: no cover - uninspectable loop
            known = True  # let the loop decide
        else:
            known = "ssl_shutdown_timeout" in params or any(
                p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
            )
        _SHUTDOWN_TIMEOUT_SUPPORT[cls] = known
    return known


class StreamWriter:
    """Write to a transport, with flow control through :meth:`drain`.

    Args:
        transport: the transport written to.
        protocol: the :class:`StreamReaderProtocol` the transport calls.
        reader: the connection's reader (``drain()`` raises its exception), or
            ``None``.
        loop: the event loop.

    Made by :func:`open_connection` and :func:`start_server`.  Close it (and
    ``await wait_closed()``): a writer garbage-collected with its transport
    still open closes it and warns with :class:`ResourceWarning`, as asyncio's
    does.
    """

    __slots__ = ("__weakref__", "_loop", "_protocol", "_reader", "_transport")

    def __init__(
        self,
        transport: asyncio.BaseTransport,
        protocol: StreamReaderProtocol,
        reader: StreamReader | None,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        # Set first: __del__ runs even if the checks below raise.
        self._transport: asyncio.WriteTransport = transport  # type: ignore[assignment]
        self._protocol = protocol
        # drain() relies on the reader's exception().
        assert reader is None or isinstance(reader, StreamReader)
        self._reader = reader
        self._loop = loop

    def __repr__(self) -> str:
        info = [type(self).__name__, f"transport={self._transport!r}"]
        if self._reader is not None:
            info.append(f"reader={self._reader!r}")
        return "<{}>".format(" ".join(info))

    @property
    def transport(self) -> asyncio.WriteTransport:
        """The underlying transport (the TLS one after :meth:`start_tls`)."""
        return self._transport

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data`` on the transport; never blocks.  Follow with :meth:`drain`."""
        self._transport.write(data)

    def writelines(self, data: Iterable[bytes | bytearray | memoryview]) -> None:
        """Queue each item of ``data``; never blocks.  Follow with :meth:`drain`."""
        self._transport.writelines(data)

    def write_eof(self) -> None:
        """Close the write side once the buffered data is sent."""
        return self._transport.write_eof()

    def can_write_eof(self) -> bool:
        """Whether the transport supports :meth:`write_eof`."""
        return self._transport.can_write_eof()

    def close(self) -> None:
        """Close the transport (buffered data is still sent)."""
        return self._transport.close()

    def is_closing(self) -> bool:
        """Whether the transport is closed or closing."""
        return self._transport.is_closing()

    async def wait_closed(self) -> None:
        """Wait until the connection is lost; raise the error it was lost with, if any."""
        await self._protocol._wait_closed()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The transport's extra info ``name`` (``peername``, ``socket``, ``ssl_object``...)."""
        return self._transport.get_extra_info(name, default)

    async def drain(self) -> None:
        """Wait until writing may go on: at once unless the transport's buffer is
        over its high-water mark, then until it is down to its low-water mark.

        Raises:
            BaseException: the reader's exception, if one was set.
            ConnectionResetError: the connection was lost.
        """
        reader = self._reader
        if reader is not None:
            exc = reader._core.exception()
            if exc is not None:
                raise exc
        if self._transport.is_closing():
            # Let connection_lost() run first, so that a write()/drain() loop
            # on a closed connection sees the error instead of spinning.
            await asyncio.sleep(0)
        await self._protocol._drain_helper()

    async def start_tls(
        self,
        sslcontext: ssl.SSLContext,
        *,
        server_hostname: str | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> None:
        """Upgrade the connection to TLS (server side if made by ``start_server()``).

        Drains the writer, then hands the transport to ``loop.start_tls()``;
        the writer and the reader then use the TLS transport.

        Raises:
            StartTLSInjectionError: the reader holds received bytes not yet
                read; nothing was changed (see the class).  Checked after the
                drain, in the same step as the call to ``loop.start_tls()``, so
                no byte can slip in between.
            TypeError: ``ssl_shutdown_timeout`` given to an event loop whose
                ``start_tls()`` does not take it.
        """
        protocol = self._protocol
        loop = self._loop
        server_side = protocol._client_connected_cb is not None
        kwargs: dict[str, Any] = {}
        if ssl_shutdown_timeout is not None:
            if not _start_tls_takes_shutdown_timeout(loop):
                raise TypeError(
                    f"ssl_shutdown_timeout is not supported by {type(loop).__name__}.start_tls()"
                )
            kwargs["ssl_shutdown_timeout"] = ssl_shutdown_timeout
        await self.drain()
        # No await between this check and loop.start_tls(), which pauses
        # reading before its first await: no plaintext can arrive unnoticed.
        reader = self._reader
        if reader is not None:
            unread = len(reader._core)
            if unread:
                raise StartTLSInjectionError(unread)
        transport = self._transport
        try:
            new_transport = await loop.start_tls(
                transport,
                protocol,
                sslcontext,
                server_side=server_side,
                server_hostname=server_hostname,
                ssl_handshake_timeout=ssl_handshake_timeout,
                **kwargs,
            )
        except BaseException as exc:
            self._tls_failed(transport, exc)
            raise
        if new_transport is None:
            # asyncio's start_tls() returns None when the connection is lost
            # mid-handshake without an error.
            lost = ConnectionResetError("Connection lost during the TLS handshake")
            self._tls_failed(transport, lost)
            raise lost
        self._transport = new_transport
        protocol._replace_transport(new_transport)

    def _tls_failed(self, transport: asyncio.BaseTransport, exc: BaseException) -> None:
        """After a failed upgrade, tell our protocol the connection is gone.

        Once ``loop.start_tls()`` has taken the transport over, a failure
        closes it -- but its protocol is then the loop's SSL protocol, which
        does not always pass the loss on (not when it happens mid-handshake).
        Without this the reader would wait forever and the server's
        ``wait_closed()`` would never return.  A later ``connection_lost()``
        from the SSL protocol is ignored.
        """
        protocol = self._protocol
        if transport.get_protocol() is protocol:
            return  # refused before taking the transport: nothing changed
        protocol.connection_lost(exc if isinstance(exc, Exception) else None)

    def __del__(self, warnings: Any = warnings) -> None:
        # Mirrors asyncio 3.13: an unclosed writer closes its transport and warns.
        try:
            transport = self._transport
        except AttributeError:  # pragma: no cover - failed constructor
            return
        if not transport.is_closing():
            if self._loop.is_closed():
                warnings.warn("loop is closed", ResourceWarning, stacklevel=1)
            else:
                self.close()
                warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=1)
