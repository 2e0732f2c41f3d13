"""``python -m sansio_streams core``: a walk-through of the core, no I/O."""

from __future__ import annotations

from sansio_streams import NEED_DATA, IncompleteReadError, ReadBuffer


def walkthrough() -> None:
    """Print each step of reading a header block and a body with a :class:`ReadBuffer`.

    Only the stdlib and the core are used: this runs where no framework is installed.
    """
    buf = ReadBuffer(limit=64)
    body_size: int | None = None  # None while reading header lines
    print("A header block and a 5-byte body, fed to a ReadBuffer in awkward pieces:")
    for chunk in (b"HELLO wor", b"ld\r\nContent-Len", b"gth: 5\r\n\r\nab", b"cde", b"tail"):
        print(f"feed_data({chunk!r})")
        buf.feed_data(chunk)
        while True:
            if body_size is None:
                result = buf.readuntil(b"\r\n")
                print(f"    readuntil(b'\\r\\n') -> {result!r}")
                if result is NEED_DATA:
                    break
                if result == b"\r\n":
                    body_size = 5
            else:
                result = buf.readexactly(body_size)
                print(f"    readexactly({body_size}) -> {result!r}")
                if result is NEED_DATA:
                    break
                body_size = None
    buf.feed_eof()
    print("feed_eof()")
    try:
        buf.readexactly(10)
    except IncompleteReadError as exc:
        print(f"    readexactly(10) -> raises {exc!r}")
    print(f"    at_eof() -> {buf.at_eof()}")
