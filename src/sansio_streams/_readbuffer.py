"""The read side of a stream: asyncio's ``StreamReader`` as a synchronous state machine.

Every read method returns what ``asyncio.StreamReader``'s coroutine of the same
name (CPython 3.13) would return, raises what it would raise and leaves the same
bytes buffered -- or returns :data:`NEED_DATA` exactly where the coroutine would
wait.  The driver then waits for bytes (or EOF, or an error), feeds them in, and
calls the same method again.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import io
import operator
from collections.abc import Iterable
from typing import Final, Literal, TypeAlias

from ._errors import IncompleteReadError, LimitOverrunError

__all__ = ("DEFAULT_LIMIT", "NEED_DATA", "NeedData", "ReadBuffer", "ReadResult")

DEFAULT_LIMIT: Final = 2**16

# get_buffer() size when the driver gives no hint.
_RECEIVE_SIZE: Final = 2**16
# Below this, bytes(buf[:n]) (two small copies) beats bytes(memoryview(buf)[:n])
# (one copy, two extra objects); above it the memoryview wins (measured).
_SMALL_COPY: Final = 4096
# The read window (see ReadBuffer) copies at most this many bytes at first.  It
# doubles while small reads use most of each window, and falls back to the
# minimum when another kind of read leaves most of one unused: a stream of
# lines or small frames soon reaches _MAX_WINDOW, while a protocol that mixes
# small and large reads (HTTP: header lines, then a body) wastes O(_MIN_WINDOW)
# per switch.
_MIN_WINDOW: Final = 1024
_MAX_WINDOW: Final = 2**18


class NeedData(enum.Enum):
    """The type of :data:`NEED_DATA`."""

    NEED_DATA = "NEED_DATA"

    def __repr__(self) -> str:
        return "NEED_DATA"


#: Returned by a read method where asyncio's coroutine would wait for more data.
NEED_DATA: Final = NeedData.NEED_DATA

#: What a read method returns.
ReadResult: TypeAlias = bytes | Literal[NeedData.NEED_DATA]


def _size(value: object, name: str) -> int:
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None


def _separators(separator: object) -> tuple[bytes, ...]:
    """Validate ``separator`` as asyncio 3.13 does, and sort it shortest first."""
    if isinstance(separator, tuple):
        candidates: Iterable[object] = separator
    else:
        candidates = (separator,)
    seps = []
    for sep in candidates:
        if isinstance(sep, str) or not isinstance(sep, bytes | bytearray | memoryview):
            raise TypeError(
                f"separator must be bytes or a tuple of bytes, not {type(sep).__name__}"
            )
        seps.append(bytes(sep))
    if not seps:
        raise ValueError("Separator should contain at least one element")
    seps.sort(key=len)
    if not seps[0]:
        raise ValueError("Separator should be at least one-byte string")
    return tuple(seps)


_NEWLINE: Final = (b"\n",)
_BytesLike: TypeAlias = bytes | bytearray | memoryview
_Separator: TypeAlias = _BytesLike | tuple[_BytesLike, ...]


class ReadBuffer:
    """Bytes received from a peer, and asyncio's rules for reading them.

    Args:
        limit: the longest line :meth:`readuntil` returns (separator not
            counted), and half the size at which the producer should pause.

    Feeding: :meth:`feed_data` (or :meth:`get_buffer` then
    :meth:`buffer_updated`), :meth:`feed_eof`, :meth:`set_exception`.

    Reading: :meth:`read`, :meth:`readline`, :meth:`readexactly`,
    :meth:`readuntil` return ``bytes`` or :data:`NEED_DATA`; :meth:`readline_batch`
    returns every complete line at once.

    Flow control: :attr:`reading_paused` says whether the producer should stop
    feeding for now.

    Internals, for the curious: unread bytes live in one ``bytearray``.  After a
    small read, the next bytes are copied once into a ``bytes`` *read window*;
    the small reads that follow are slices of it (one copy each, no resizing),
    while the bytes stay in the bytearray until the window is dropped, so
    nothing ever moves back.
    """

    __slots__ = (
        "_bio",
        "_buf",
        "_eof",
        "_exception",
        "_lent",
        "_limit",
        "_paused",
        "_reserved",
        "_scan_key",
        "_scan_offset",
        "_view",
        "_window",
        "_window_size",
    )

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        limit = _size(limit, "limit")
        if limit <= 0:
            raise ValueError("Limit cannot be <= 0")
        self._limit = limit
        self._buf = bytearray()
        self._eof = False
        self._exception: BaseException | None = None
        self._paused = False
        # The read window: a copy of the first len(_window) bytes of _buf, read
        # through _bio, a BytesIO over it (its readline() and read() are one C
        # call each; it shares the bytes, no copy).  What _bio has read is still
        # in _buf until the window is dropped.  No window: _bio is None.
        self._window = b""
        self._bio: io.BytesIO | None = None
        self._window_size = _MIN_WINDOW
        # Where a separator search may resume: no match starts before
        # _scan_offset in _buf, for the separators _scan_key.
        self._scan_key: tuple[bytes, ...] | None = None
        self._scan_offset = 0
        # get_buffer() lends the last _reserved bytes of _buf through _view;
        # _lent until buffer_updated().  The view is released and the unused
        # space given back as soon as nobody else holds a view of the buffer
        # (see buffer_updated()); until then _reserved counts that space.
        self._reserved = 0
        self._view: memoryview | None = None
        self._lent = False

    # ------------------------------------------------------------------ state

    @property
    def limit(self) -> int:
        """The limit given to the constructor."""
        return self._limit

    def __len__(self) -> int:
        """The number of bytes buffered and not yet read."""
        bio = self._bio
        return len(self._buf) - self._reserved - (0 if bio is None else bio.tell())

    def at_eof(self) -> bool:
        """Return True if the buffer is empty and :meth:`feed_eof` was called."""
        return self._eof and not len(self)

    def exception(self) -> BaseException | None:
        """The exception given to :meth:`set_exception`, or None."""
        return self._exception

    @property
    def reading_paused(self) -> bool:
        """Whether the producer should stop feeding for now.

        It becomes True when more than ``2 * limit`` bytes are buffered, and
        False again when reads bring the buffer down to ``limit`` or a read
        returns :data:`NEED_DATA` (a reader waiting for data must never stall,
        whatever it waits for: ``read(-1)``, ``readexactly(n)`` with a large
        ``n``).  A driver checks it after each feed and each read.
        """
        return self._paused

    def __repr__(self) -> str:
        info = [type(self).__name__]
        size = len(self)
        if size:
            info.append(f"{size} bytes")
        if self._eof:
            info.append("eof")
        if self._limit != DEFAULT_LIMIT:
            info.append(f"limit={self._limit}")
        if self._exception is not None:
            info.append(f"exception={self._exception!r}")
        if self._paused:
            info.append("paused")
        return "<{}>".format(" ".join(info))

    # ---------------------------------------------------------------- feeding

    def feed_data(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data`` (any bytes-like object) to the buffer.

        Raises:
            TypeError: ``data`` is not bytes-like (the buffer is unchanged).
            RuntimeError: :meth:`feed_eof` was called before.
        """
        if self._eof:
            raise RuntimeError("feed_data() called after feed_eof()")
        if self._reserved or self._view is not None:
            self._drop_reservation()
        size = len(self._buf)
        try:
            self._buf += data
        except TypeError:
            raise TypeError(
                f"data must be a bytes-like object, not {type(data).__name__}"
            ) from None
        # Empty data changes nothing, as in asyncio: it must not pause a reader
        # that waits for more (see _need_data).
        if len(self._buf) != size:
            self._check_pause()

    def get_buffer(self, sizehint: int = -1) -> memoryview:
        """Lend free space at the end of the buffer, for ``recv_into()``.

        The same contract as :meth:`asyncio.BufferedProtocol.get_buffer`: write
        received bytes at the start of the returned view, then call
        :meth:`buffer_updated` with their count.  ``sizehint`` <= 0 means no
        hint.  Release (or drop) every view taken from the returned one before
        calling :meth:`buffer_updated`.
        """
        if self._eof:
            raise RuntimeError("get_buffer() called after feed_eof()")
        sizehint = _size(sizehint, "sizehint")
        if self._reserved or self._view is not None:
            self._drop_reservation()
        size = sizehint if sizehint > 0 else _RECEIVE_SIZE
        start = len(self._buf)
        self._buf += bytes(size)
        self._reserved = size
        self._lent = True
        view = self._view = memoryview(self._buf)[start:]
        return view

    def buffer_updated(self, nbytes: int) -> None:
        """Take ``nbytes`` written at the start of the last :meth:`get_buffer` view."""
        nbytes = _size(nbytes, "nbytes")
        if not self._lent:
            raise RuntimeError("buffer_updated() called without get_buffer()")
        if not 0 <= nbytes <= self._reserved:
            raise ValueError(f"nbytes must be between 0 and {self._reserved}, not {nbytes}")
        self._lent = False
        self._reserved -= nbytes
        # uvloop (unlike asyncio) still holds its export of the view while it
        # calls buffer_updated(); then the view cannot be released yet, and the
        # unused space is given back by the next call instead.
        with contextlib.suppress(BufferError):
            self._drop_reservation()
        if nbytes:  # as in feed_data()
            self._check_pause()

    def feed_eof(self) -> None:
        """Record that the peer will send nothing more."""
        if self._reserved or self._view is not None:
            self._drop_reservation()
        self._eof = True

    def set_exception(self, exc: BaseException) -> None:
        """Make every later read raise ``exc`` (before any buffered data)."""
        if not isinstance(exc, BaseException):
            raise TypeError(f"exc must be an exception instance, not {type(exc).__name__}")
        self._exception = exc

    # ---------------------------------------------------------------- reading

    def read(self, n: int = -1) -> ReadResult:
        """Read up to ``n`` bytes; with ``n < 0``, everything up to EOF.

        ``n > 0``: at least one byte as soon as one is buffered; ``b""`` at
        EOF.  ``n == 0``: ``b""`` at once.  ``n < 0``: :data:`NEED_DATA` until
        EOF, then every buffered byte.  Unlike asyncio, ``read(-1)`` keeps the
        bytes buffered while it waits, so abandoning it loses nothing.
        """
        bio = self._bio
        if bio is not None and n.__class__ is int and n > 0 and self._exception is None:
            data = bio.read(n)
            if len(data) == n:
                if self._paused:
                    self._check_resume()
                return data
            bio.seek(-len(data), 1)
        n = _size(n, "n")
        if self._exception is not None:
            raise self._exception
        if n == 0:
            return b""
        self._settle()
        buf = self._buf
        if not buf:
            return b"" if self._eof else self._need_data()
        if n < 0:
            if not self._eof:
                return self._need_data()
            n = len(buf)
        return self._take(n)

    def readexactly(self, n: int) -> ReadResult:
        """Read exactly ``n`` bytes.

        Raises:
            IncompleteReadError: EOF came first; ``partial`` holds every
                buffered byte and the buffer is emptied.
        """
        bio = self._bio
        if bio is not None and n.__class__ is int and n > 0 and self._exception is None:
            data = bio.read(n)
            if len(data) == n:
                if self._paused:
                    self._check_resume()
                return data
            bio.seek(-len(data), 1)
        n = _size(n, "n")
        if n < 0:
            raise ValueError("readexactly size can not be less than zero")
        if self._exception is not None:
            raise self._exception
        if n == 0:
            return b""
        self._settle()
        if len(self._buf) < n:
            if self._eof:
                raise IncompleteReadError(self._take(len(self._buf)), n)
            return self._need_data()
        return self._take(n)

    def readuntil(self, separator: _Separator = b"\n") -> ReadResult:
        """Read up to and including ``separator`` (or the first of a tuple to end).

        Raises:
            LimitOverrunError: more than ``limit`` bytes before a separator; the
                data stays buffered.
            IncompleteReadError: EOF before a separator; ``partial`` holds every
                buffered byte and the buffer is emptied.
        """
        bio = self._bio
        if bio is not None and separator.__class__ is bytes and separator and not self._exception:
            # The window is a prefix of the buffer: its first match is the first.
            window = self._window
            pos = bio.tell()
            start = window.find(separator, pos)
            if start >= 0 and start - pos <= self._limit:
                end = start + len(separator)
                bio.seek(end)
                if self._paused:
                    self._check_resume()
                return window[pos:end]
        seps = separator if separator is _NEWLINE else _separators(separator)
        if self._exception is not None:
            raise self._exception
        self._settle()
        end = self._find(seps)
        if end < 0:
            if self._eof:
                raise IncompleteReadError(self._take(len(self._buf)), None)
            return self._need_data()
        return self._take(end)

    def readline(self) -> ReadResult:
        """Read one line, ending with ``b"\\n"``.

        At EOF, returns the partial last line, then ``b""``.

        Raises:
            ValueError: the line is longer than ``limit``.  The line is
                discarded through its newline, or the whole buffer if no
                newline was seen (asyncio's rule).
        """
        if self._exception is not None:
            return self._readline_failed(self._exception)
        bio = self._bio
        if bio is not None:
            line = bio.readline(self._limit + 1)
            if line and line[-1] == 10:
                # A whole line, within the window and the limit: the hottest path.
                if self._paused:
                    self._check_resume()
                return line
            bio.seek(-len(line), 1)
            self._settle()
        elif self._reserved or self._view is not None:
            self._settle()
        buf = self._buf
        size = len(buf)
        if not size:
            # Nothing buffered: nothing to search, no line to take.
            if self._eof:
                return b""
            self._paused = False  # _need_data()
            return NEED_DATA
        if buf[-1] == 10 and size <= self._limit + 1:
            # Exactly one line buffered, as in request/response traffic: take
            # the whole buffer, without _find() and _take().
            start = self._scan_offset if self._scan_key is _NEWLINE else 0
            if buf.find(b"\n", start) == size - 1:
                data = bytes(buf)
                buf.clear()
                self._scan_key = None
                self._paused = False  # _check_resume(): nothing is left
                return data
        try:
            end = self._find(_NEWLINE)
        except LimitOverrunError as exc:
            return self._readline_failed(exc)
        if end < 0:
            return self._take(len(buf)) if self._eof else self._need_data()
        return self._take(end)

    def readline_batch(self) -> list[bytes]:
        """Read every complete line buffered, at once.

        The list is exactly what successive :meth:`readline` calls would return
        while each returns a complete line.  It is empty where :meth:`readline`
        would do something else: need data, return a partial line or ``b""`` at
        EOF, or raise for a line over the limit -- call :meth:`readline` then.
        """
        exc = self._exception
        if exc is not None:
            if isinstance(exc, asyncio.IncompleteReadError | asyncio.LimitOverrunError):
                return []  # readline() does something else with these
            raise exc
        self._settle()
        buf = self._buf
        # No newline starts before a failed search's offset: keep this linear
        # while a long line arrives in small pieces.
        start = self._scan_offset if self._scan_key == _NEWLINE else 0
        if buf.find(b"\n", start) < 0:
            self._scan_key = _NEWLINE
            self._scan_offset = len(buf)
            return []
        end = buf.rfind(b"\n") + 1
        with memoryview(buf) as view:
            # BytesIO.readlines() splits at b"\n" only, at C speed.
            lines = io.BytesIO(view[:end]).readlines()
        limit = self._limit + 1
        if max(map(len, lines)) > limit:
            for index, line in enumerate(lines):  # pragma: no branch
                if len(line) > limit:
                    del lines[index:]
                    end = sum(map(len, lines))
                    break
        if end:
            self._consume(end)
        return lines

    # ------------------------------------------------------------- internals

    def _readline_failed(self, exc: BaseException) -> bytes:
        """What asyncio's readline() makes of an error from readuntil() -- its
        own, or a stored exception of the same kinds."""
        if isinstance(exc, asyncio.IncompleteReadError):
            return exc.partial
        if isinstance(exc, asyncio.LimitOverrunError):
            self._settle()
            buf = self._buf
            if buf.startswith(b"\n", exc.consumed):
                self._consume(exc.consumed + 1)
            else:
                self._consume(len(buf))
            raise ValueError(exc.args[0]) from exc  # noqa: TRY004 - asyncio raises ValueError
        raise exc

    def _need_data(self) -> NeedData:
        # A waiting reader unpauses the producer: it may need more than fits
        # under the limit (read(-1), readexactly(n)).
        self._paused = False
        return NEED_DATA

    def _check_pause(self) -> None:
        if not self._paused and len(self._buf) > 2 * self._limit:
            self._paused = len(self) > 2 * self._limit

    def _check_resume(self) -> None:
        if len(self) <= self._limit:
            self._paused = False

    def _settle(self) -> None:
        """Make _buf hold exactly the unread bytes: drop the read window (and the
        bytes read through it) and any get_buffer() reservation."""
        if self._reserved or self._view is not None:
            self._drop_reservation()
        bio = self._bio
        if bio is not None:
            window = self._window
            pos = bio.tell()
            # Grow the next window if small reads used most of this one, else
            # start small again (see _MIN_WINDOW).
            if 2 * pos >= len(window):
                self._window_size = min(2 * self._window_size, _MAX_WINDOW)
            else:
                self._window_size = _MIN_WINDOW
            self._window = b""
            self._bio = None
            self._consume(pos)

    def _drop_reservation(self) -> None:
        """Release the lent view and give back its unused space.

        Raises BufferError while someone else holds a view of the buffer; what
        is not done yet is done by the next call.
        """
        self._lent = False
        if self._view is not None:
            # Release ours first: a bytearray with live exports cannot resize.
            self._view.release()
            self._view = None
        if self._reserved:
            del self._buf[len(self._buf) - self._reserved :]
            self._reserved = 0

    def _find(self, seps: tuple[bytes, ...]) -> int:
        """Return where the shortest match of ``seps`` ends, or -1.

        Raises LimitOverrunError as asyncio's readuntil() does.  A failed
        search remembers where the next one may start, so a long line that
        arrives in small pieces is scanned once: O(bytes), not O(bytes**2).
        """
        buf = self._buf
        buflen = len(buf)
        offset = self._scan_offset if seps == self._scan_key else 0
        if buflen - offset >= len(seps[0]):
            if len(seps) == 1:
                start = buf.find(seps[0], offset)
                if start >= 0:
                    return self._check_match(start, start + len(seps[0]))
            else:
                match_start = match_end = -1
                for sep in seps:
                    start = buf.find(sep, offset)
                    if start >= 0 and (match_end < 0 or start + len(sep) < match_end):
                        match_start, match_end = start, start + len(sep)
                if match_end >= 0:
                    return self._check_match(match_start, match_end)
            offset = max(0, buflen + 1 - len(seps[-1]))
            self._scan_key = seps
            self._scan_offset = offset
        # asyncio's readuntil() raises here whenever the offset it reached is
        # past the limit; with an unchanged buffer a fresh call reaches the same
        # offset, so check it even when there was nothing new to search.
        if offset > self._limit:
            raise LimitOverrunError("Separator is not found, and chunk exceed the limit", offset)
        return -1

    def _check_match(self, start: int, end: int) -> int:
        if start > self._limit:
            raise LimitOverrunError("Separator is found, but chunk is longer than limit", start)
        return end

    def _take(self, n: int) -> bytes:
        """Remove and return the first ``n`` bytes of _buf (settled)."""
        buf = self._buf
        if n >= len(buf):
            data = bytes(buf)
            buf.clear()
        elif n < _SMALL_COPY:
            # A small read with more buffered: small reads tend to come in runs
            # (lines, frame headers), so serve this one and the next ones from a
            # read window.
            size = max(n, min(len(buf), self._window_size))
            if size < _SMALL_COPY:
                window = bytes(buf[:size])
            else:
                with memoryview(buf) as view:
                    window = view[:size].tobytes()
            self._window = window
            self._bio = bio = io.BytesIO(window)
            data = bio.read(n)
            if self._paused:
                self._check_resume()
            return data
        else:
            with memoryview(buf) as view:
                data = view[:n].tobytes()
            del buf[:n]
        self._scan_key = None
        if self._paused:
            self._check_resume()
        return data

    def _consume(self, n: int) -> None:
        """Discard the first ``n`` bytes of _buf."""
        del self._buf[:n]
        self._scan_key = None
        if self._paused:
            self._check_resume()
