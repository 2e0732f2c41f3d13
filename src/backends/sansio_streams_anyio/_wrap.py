"""Wrapping an existing anyio byte stream into a reader/writer pair."""

from __future__ import annotations

from typing import Any, Final

import anyio
import anyio.abc
from anyio.abc import SocketAttribute
from anyio.streams.tls import TLSAttribute, TLSStream

from sansio_streams import DEFAULT_LIMIT
from sansio_streams import _front as front

from ._api import StreamReader, StreamWriter, backend

__all__ = ("wrap_stream",)

# asyncio's extra-info names, as anyio's typed attributes.
_ATTRIBUTES: Final[dict[str, Any]] = {
    "peername": SocketAttribute.remote_address,
    "sockname": SocketAttribute.local_address,
    "socket": SocketAttribute.raw_socket,
    "ssl_object": TLSAttribute.ssl_object,
    "peercert": TLSAttribute.peer_certificate,
    "cipher": TLSAttribute.cipher,
}


class _AnyioStream:
    """An anyio ByteStream, as the front's ByteStream."""

    __slots__ = ("_stream",)

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self._stream = stream

    def __repr__(self) -> str:
        return repr(self._stream)

    async def receive(self) -> bytes:
        try:
            return bytes(await self._stream.receive())
        except anyio.EndOfStream:
            return b""
        except anyio.BrokenResourceError as exc:
            raise front.as_oserror(exc, ConnectionResetError) from None

    async def send_all(self, data: bytes) -> None:
        try:
            await self._stream.send(data)
        except anyio.BrokenResourceError as exc:
            raise front.as_oserror(exc, BrokenPipeError) from None

    async def send_eof(self) -> None:
        try:
            await self._stream.send_eof()
        except anyio.BrokenResourceError as exc:
            raise front.as_oserror(exc, BrokenPipeError) from None

    def can_write_eof(self) -> bool:
        return not isinstance(self._stream, TLSStream)

    async def aclose(self, forcefully: bool) -> None:
        try:
            if forcefully:
                await anyio.aclose_forcefully(self._stream)
            else:
                await self._stream.aclose()
        except anyio.BrokenResourceError:
            pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "stream":
            return self._stream
        attribute = _ATTRIBUTES.get(name)
        if attribute is None:
            return default
        return self._stream.extra(attribute, default)


async def wrap_stream(
    stream: anyio.abc.ByteStream, *, limit: int | None = DEFAULT_LIMIT, server_side: bool = False
) -> tuple[StreamReader, StreamWriter]:
    """A reader/writer pair over any anyio ``ByteStream``, which the pair then owns.

    Driven through ``receive()``/``send()``; extra info maps asyncio's names to
    anyio's typed attributes (``peername``, ``sockname``, ``socket``,
    ``ssl_object``, ``peercert``, ``cipher``; ``stream`` is the stream itself).
    ``server_side`` says which side ``start_tls()`` takes.  Close with
    ``writer.close()`` and ``await writer.wait_closed()``, which closes ``stream``.
    """
    return await front.wrap_pair(
        backend(),
        _AnyioStream(stream),
        StreamReader,
        StreamWriter,
        limit=front.check_limit(limit),
        server_side=server_side,
    )
