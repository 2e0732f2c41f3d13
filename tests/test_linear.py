"""Cost grows linearly with the input, never quadratically.

Each test times the same work at size N and 4N in one run and asserts on the
ratio (linear: about 4; quadratic: about 16), taking the best of a few repeats
so that a noisy machine can only make a run slower, never faster.  No absolute
time is asserted.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sansio_streams import NEED_DATA, ReadBuffer

# Between linear (4) and quadratic (16), with room for noise and cache effects.
MAX_RATIO = 8.0


def best_time(work: Callable[[int], None], size: int, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work(size)
        times.append(time.perf_counter() - start)
    return min(times)


def ratio(work: Callable[[int], None], size: int) -> float:
    work(size // 8)  # warm up
    return best_time(work, 4 * size) / best_time(work, size)


def long_line_in_small_pieces(method: Callable[[ReadBuffer], object]) -> Callable[[int], None]:
    def work(size: int) -> None:
        buf = ReadBuffer(limit=8 * size)
        piece = b"x" * 64
        for _ in range(size // 64):
            buf.feed_data(piece)
            assert method(buf) in (NEED_DATA, [])
        buf.feed_data(b"\r\n")
        assert method(buf) not in (NEED_DATA, [])

    return work


def test_readline_of_a_long_line_fed_in_small_pieces_is_linear() -> None:
    assert ratio(long_line_in_small_pieces(ReadBuffer.readline), 1 << 18) < MAX_RATIO


def test_readuntil_of_a_long_line_fed_in_small_pieces_is_linear() -> None:
    def readuntil(buf: ReadBuffer) -> object:
        return buf.readuntil((b"\r\n", b"\n\n"))

    assert ratio(long_line_in_small_pieces(readuntil), 1 << 18) < MAX_RATIO


def test_readline_batch_of_a_long_line_fed_in_small_pieces_is_linear() -> None:
    assert ratio(long_line_in_small_pieces(ReadBuffer.readline_batch), 1 << 18) < MAX_RATIO


def test_consuming_small_reads_from_a_large_buffer_is_linear() -> None:
    # Front consumption must not move the remaining bytes on every call.
    def work(size: int) -> None:
        buf = ReadBuffer()
        buf.feed_data(b"0123456789abcdef" * (size // 16))
        for _ in range(size // 16):
            buf.readexactly(16)

    assert ratio(work, 1 << 20) < MAX_RATIO


def test_readline_mixed_with_readexactly_is_linear() -> None:
    # An HTTP-like stream: two header lines then a body, many messages buffered
    # at once.  The line cache must not re-split the whole buffer per message.
    message = b"Header: 1\r\nOther: 2\r\n" + b"B" * 40

    def work(size: int) -> None:
        buf = ReadBuffer()
        count = size // len(message)
        buf.feed_data(message * count)
        for _ in range(count):
            buf.readline()
            buf.readline()
            buf.readexactly(40)
        assert len(buf) == 0

    assert ratio(work, 1 << 20) < MAX_RATIO
