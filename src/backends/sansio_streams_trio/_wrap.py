"""Wrapping an existing trio stream into a reader/writer pair."""

from __future__ import annotations

import socket
from typing import Any, Final

import trio

from sansio_streams import DEFAULT_LIMIT
from sansio_streams import _front as front

from ._api import StreamReader, StreamWriter
from ._socket import BACKEND, SocketTransport

__all__ = ("wrap_stream",)

_RECEIVE_SIZE: Final = 2**16


class _TrioStream:
    """A trio.abc.Stream, as the front's ByteStream."""

    __slots__ = ("_stream",)

    def __init__(self, stream: trio.abc.Stream) -> None:
        self._stream = stream

    def __repr__(self) -> str:
        return repr(self._stream)

    async def receive(self) -> bytes:
        try:
            return bytes(await self._stream.receive_some(_RECEIVE_SIZE))
        except trio.BrokenResourceError as exc:
            raise front.as_oserror(exc, ConnectionResetError) from None

    async def send_all(self, data: bytes) -> None:
        try:
            await self._stream.send_all(data)
        except trio.BrokenResourceError as exc:
            raise front.as_oserror(exc, BrokenPipeError) from None

    async def send_eof(self) -> None:
        stream = self._stream
        assert isinstance(stream, trio.abc.HalfCloseableStream)
        try:
            await stream.send_eof()
        except trio.BrokenResourceError as exc:
            raise front.as_oserror(exc, BrokenPipeError) from None

    def can_write_eof(self) -> bool:
        return isinstance(self._stream, trio.abc.HalfCloseableStream)

    async def aclose(self, forcefully: bool) -> None:
        try:
            if forcefully:
                await trio.aclose_forcefully(self._stream)
            else:
                await self._stream.aclose()
        except trio.BrokenResourceError:
            pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "stream":
            return self._stream
        return default


async def wrap_stream(
    stream: trio.abc.Stream, *, limit: int | None = DEFAULT_LIMIT, server_side: bool = False
) -> tuple[StreamReader, StreamWriter]:
    """A reader/writer pair over ``stream``, which the pair then owns.

    A ``trio.SocketStream`` is taken apart (its socket is detached from it) and
    served like ``open_connection()``'s; any other ``trio.abc.Stream`` is driven
    through ``receive_some()``/``send_all()``.  ``server_side`` says which side
    ``start_tls()`` takes.  Close with ``writer.close()`` and ``await
    writer.wait_closed()``, which closes ``stream``.
    """
    limit = front.check_limit(limit)
    if isinstance(stream, trio.SocketStream):
        raw = socket.socket(fileno=stream.socket.detach())
        return front.pair_over(
            BACKEND,
            SocketTransport(raw),
            StreamReader,
            StreamWriter,
            limit=limit,
            server_side=server_side,
        )
    return await front.wrap_pair(
        BACKEND,
        _TrioStream(stream),
        StreamReader,
        StreamWriter,
        limit=limit,
        server_side=server_side,
    )
