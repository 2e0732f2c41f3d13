"""The core's read paths against asyncio.StreamReader and a plain find loop.

Run from the repository root (see benchmarks/README.md)::

    .venv/bin/python benchmarks/bench_core.py [--rounds N] [--quick] [--json PATH]

Workloads (every stream is cut into 64 KiB chunks; each chunk is fed, then
everything it completes is read before the next chunk is fed):

* lines: 100-byte lines (99 bytes and b"\\n"), read by
  ``ReadBuffer.readline()`` until NEED_DATA, by ``ReadBuffer.readline_batch()``,
  by ``asyncio.StreamReader.readline()`` awaited on a real event loop, and by a
  ``bytearray.find`` loop (the ceiling of one-line-at-a-time parsing in pure
  Python).  Per line.
* frames: a 4-byte big-endian length, then the payload (16 B, 1 KiB, 64 KiB),
  read by ``ReadBuffer.readexactly(4)`` + ``readexactly(n)`` and by
  ``asyncio.StreamReader.readexactly`` awaited the same way.  Per frame.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

if not __package__:  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import Case, Comparison, main

from sansio_streams import NEED_DATA, ReadBuffer

CHUNK = 2**16
LINE_SIZE = 100
HEADER_SIZE = 4

# Bytes per stream: (full run, --quick).
LINES_BYTES = (2**20, 2**17)
FRAME_BYTES = {16: (2**18, 2**15), 2**10: (2**20, 2**17), 2**16: (2**23, 2**20)}

LineResult = tuple[bytes | bytearray, int]  # (last line, bytes left buffered)
FrameResult = tuple[bytes, int]  # (last payload, bytes left buffered)


# ---------------------------------------------------------------- workloads


def _chunks(data: bytes) -> list[bytes]:
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def _completed(chunks: Sequence[bytes], unit: int) -> list[int]:
    """How many ``unit``-byte records each chunk completes (for asyncio, which
    must not await a record that is not there: nobody would feed it)."""
    counts = []
    fed = done = 0
    for chunk in chunks:
        fed += len(chunk)
        counts.append(fed // unit - done)
        done = fed // unit
    return counts


def make_lines(total: int) -> tuple[list[bytes], int, bytes]:
    """(chunks, number of lines, last line): numbered 100-byte lines."""
    count = total // LINE_SIZE
    lines = [b"%09d " % i + b"L" * (LINE_SIZE - 11) + b"\n" for i in range(count)]
    return _chunks(b"".join(lines)), count, lines[-1]


def make_frames(payload_size: int, total: int) -> tuple[list[bytes], int, bytes]:
    """(chunks, number of frames, last payload): numbered length-prefixed frames."""
    count = max(1, total // (HEADER_SIZE + payload_size))
    header = payload_size.to_bytes(HEADER_SIZE, "big")
    filler = b"P" * (payload_size - 8)
    payloads = [i.to_bytes(8, "big") + filler for i in range(count)]
    data = b"".join(header + payload for payload in payloads)
    return _chunks(data), count, payloads[-1]


# --------------------------------------------------------------- line cases


def readbuffer_readline(chunks: Sequence[bytes]) -> Callable[[], LineResult]:
    def run() -> LineResult:
        rb = ReadBuffer()
        feed = rb.feed_data
        readline = rb.readline
        last: bytes = b""
        for chunk in chunks:
            feed(chunk)
            while (line := readline()) is not NEED_DATA:
                last = line
        return last, len(rb)

    return run


def readbuffer_readline_batch(chunks: Sequence[bytes]) -> Callable[[], LineResult]:
    def run() -> LineResult:
        rb = ReadBuffer()
        feed = rb.feed_data
        batch = rb.readline_batch
        line = b""
        for chunk in chunks:
            feed(chunk)
            for line in batch():  # noqa: B007 -- where a consumer handles each line
                pass
        return line, len(rb)

    return run


def find_loop(chunks: Sequence[bytes]) -> Callable[[], LineResult]:
    """The fastest reasonable one-line-at-a-time parser: find from a moving
    offset, slice, compact once per chunk.  Its lines are bytearray slices:
    converting each to bytes would cost a second copy (about +70 ns/line on
    3.11), so this is the ceiling, not a strawman."""

    def run() -> LineResult:
        buf = bytearray()
        find = buf.find
        line = bytearray()
        for chunk in chunks:
            buf += chunk
            start = 0
            end = find(b"\n") + 1
            while end:
                line = buf[start:end]
                start = end
                end = find(b"\n", start) + 1
            del buf[:start]
        return line, len(buf)

    return run


def asyncio_readline(
    chunks: Sequence[bytes], loop: asyncio.AbstractEventLoop
) -> Callable[[], LineResult]:
    counts = _completed(chunks, LINE_SIZE)

    async def consume(reader: asyncio.StreamReader) -> LineResult:
        feed = reader.feed_data
        readline = reader.readline
        line = b""
        for chunk, count in zip(chunks, counts, strict=True):
            feed(chunk)
            for _ in range(count):
                line = await readline()
        reader.feed_eof()
        rest = await reader.read()
        return line, len(rest)

    def run() -> LineResult:
        return loop.run_until_complete(consume(asyncio.StreamReader(loop=loop)))

    return run


# -------------------------------------------------------------- frame cases


def readbuffer_frames(chunks: Sequence[bytes]) -> Callable[[], FrameResult]:
    def run() -> FrameResult:
        rb = ReadBuffer()
        feed = rb.feed_data
        readexactly = rb.readexactly
        size = -1  # the payload size once its header is read
        payload = b""
        for chunk in chunks:
            feed(chunk)
            while True:
                if size < 0:
                    header = readexactly(HEADER_SIZE)
                    if header is NEED_DATA:
                        break
                    size = int.from_bytes(header, "big")
                data = readexactly(size)
                if data is NEED_DATA:
                    break
                payload = data
                size = -1
        return payload, len(rb)

    return run


def asyncio_frames(
    chunks: Sequence[bytes], payload_size: int, loop: asyncio.AbstractEventLoop
) -> Callable[[], FrameResult]:
    counts = _completed(chunks, HEADER_SIZE + payload_size)

    async def consume(reader: asyncio.StreamReader) -> FrameResult:
        feed = reader.feed_data
        readexactly = reader.readexactly
        payload = b""
        for chunk, count in zip(chunks, counts, strict=True):
            feed(chunk)
            for _ in range(count):
                size = int.from_bytes(await readexactly(HEADER_SIZE), "big")
                payload = await readexactly(size)
        reader.feed_eof()
        rest = await reader.read()
        return payload, len(rest)

    def run() -> FrameResult:
        return loop.run_until_complete(consume(asyncio.StreamReader(loop=loop)))

    return run


# -------------------------------------------------------------------- cases


def _size_name(size: int) -> str:
    return f"{size // 1024} KiB" if size >= 1024 else f"{size} B"


def build(quick: bool, loop: asyncio.AbstractEventLoop) -> tuple[list[Case], list[Comparison]]:
    pick = 1 if quick else 0
    chunks, count, last = make_lines(LINES_BYTES[pick])
    group = f"lines: {count} x {LINE_SIZE} B in {CHUNK // 1024} KiB chunks"
    expected = (last, 0)
    cases = [
        Case("readline", readbuffer_readline(chunks), count, expected, "line", group),
        Case("readline_batch", readbuffer_readline_batch(chunks), count, expected, "line", group),
        Case("asyncio readline", asyncio_readline(chunks, loop), count, expected, "line", group),
        Case("bytearray.find loop", find_loop(chunks), count, expected, "line", group),
    ]
    comparisons = [
        Comparison("readline vs asyncio readline", "readline", "asyncio readline", 2.0),
        Comparison("readline_batch vs find loop", "readline_batch", "bytearray.find loop", 1.0),
        Comparison("readline vs find loop", "readline", "bytearray.find loop"),
        Comparison("readline_batch vs asyncio readline", "readline_batch", "asyncio readline"),
    ]
    for payload_size, sizes in FRAME_BYTES.items():
        chunks, count, last = make_frames(payload_size, sizes[pick])
        name = _size_name(payload_size)
        group = f"frames: {count} x (4 B + {name}) in {CHUNK // 1024} KiB chunks"
        expected = (last, 0)
        mine, theirs = f"readexactly {name}", f"asyncio readexactly {name}"
        cases += [
            Case(mine, readbuffer_frames(chunks), count, expected, "frame", group),
            Case(
                theirs, asyncio_frames(chunks, payload_size, loop), count, expected, "frame", group
            ),
        ]
        goal = 1.5 if payload_size <= 2**10 else None
        comparisons.append(Comparison(f"frames {name} vs asyncio", mine, theirs, goal))
    return cases, comparisons


def run(argv: Sequence[str] | None = None) -> int:
    loop = asyncio.new_event_loop()
    try:
        return main(
            f"sansio_streams core: ReadBuffer vs asyncio.StreamReader "
            f"(Python {sys.version.split()[0]})",
            lambda quick: build(quick, loop),
            argv,
            description=__doc__.splitlines()[0] if __doc__ else None,
        )
    finally:
        loop.close()


if __name__ == "__main__":
    sys.exit(run())
