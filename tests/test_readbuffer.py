"""ReadBuffer, example by example: asyncio's results, errors and leftovers.

The exhaustive comparison with asyncio.StreamReader is test_differential.py;
this file pins each rule down by name, plus what asyncio has no counterpart for
(flow control as data, zero-copy receive, the line cache, bad input).
"""

from __future__ import annotations

import asyncio
import ctypes
import pickle

import pytest

from sansio_streams import (
    DEFAULT_LIMIT,
    NEED_DATA,
    IncompleteReadError,
    LimitOverrunError,
    NeedData,
    ReadBuffer,
)


def fed(*chunks: bytes, limit: int = DEFAULT_LIMIT, eof: bool = False) -> ReadBuffer:
    buf = ReadBuffer(limit)
    for chunk in chunks:
        buf.feed_data(chunk)
    if eof:
        buf.feed_eof()
    return buf


def rest(buf: ReadBuffer) -> bytes:
    """Every unread byte, read without waiting (feeds EOF if needed)."""
    if not buf.at_eof() and buf.exception() is None:
        buf.feed_eof()
    result = buf.read()
    assert isinstance(result, bytes)
    return result


# ------------------------------------------------------------------ NEED_DATA


def test_need_data_sentinel() -> None:
    assert repr(NEED_DATA) == "NEED_DATA"
    assert NEED_DATA is NeedData.NEED_DATA
    assert pickle.loads(pickle.dumps(NEED_DATA)) is NEED_DATA
    assert not isinstance(NEED_DATA, bytes)


# ---------------------------------------------------------------------- read


def test_read_returns_what_is_there_up_to_n() -> None:
    buf = fed(b"hello")
    assert buf.read(3) == b"hel"
    assert buf.read(100) == b"lo"
    assert buf.read(1) is NEED_DATA
    assert len(buf) == 0


def test_read_zero_returns_empty_at_once() -> None:
    assert ReadBuffer().read(0) == b""


def test_read_all_waits_for_eof_keeping_the_bytes() -> None:
    buf = fed(b"abc")
    assert buf.read() is NEED_DATA
    assert len(buf) == 3  # kept buffered while waiting: nothing lost if abandoned
    buf.feed_data(b"def")
    assert buf.read(-1) is NEED_DATA
    buf.feed_eof()
    assert buf.read(-5) == b"abcdef"
    assert buf.read() == b""
    assert buf.at_eof()


def test_read_at_eof_returns_empty() -> None:
    buf = fed(eof=True)
    assert buf.read(10) == b""
    assert buf.read() == b""


def test_read_large_and_small_copies_agree() -> None:
    data = bytes(range(256)) * 64  # 16 KiB: crosses the small-copy threshold
    buf = fed(data)
    assert buf.read(10) == data[:10]
    assert buf.read(8000) == data[10:8010]
    assert buf.read(10**9) == data[8010:]


# ---------------------------------------------------------------- readexactly


def test_readexactly_waits_until_enough() -> None:
    buf = fed(b"ab")
    assert buf.readexactly(3) is NEED_DATA
    assert len(buf) == 2
    buf.feed_data(b"cd")
    assert buf.readexactly(3) == b"abc"
    assert buf.readexactly(1) == b"d"
    assert buf.readexactly(0) == b""


def test_readexactly_incomplete_empties_the_buffer() -> None:
    buf = fed(b"ab", eof=True)
    with pytest.raises(IncompleteReadError) as info:
        buf.readexactly(5)
    assert info.value.partial == b"ab"
    assert info.value.expected == 5
    assert info.value.args == ("2 bytes read on a total of 5 expected bytes",)
    assert len(buf) == 0
    assert buf.at_eof()


def test_readexactly_negative_is_rejected_before_the_exception() -> None:
    buf = fed(b"x")
    buf.set_exception(ConnectionResetError("boom"))
    with pytest.raises(ValueError, match="readexactly size can not be less than zero"):
        buf.readexactly(-1)


# ------------------------------------------------------------------ readuntil


def test_readuntil_includes_separator() -> None:
    buf = fed(b"one\r\ntwo\r\n")
    assert buf.readuntil(b"\r\n") == b"one\r\n"
    assert buf.readuntil(b"\r\n") == b"two\r\n"
    assert buf.readuntil(b"\r\n") is NEED_DATA


def test_readuntil_separator_split_across_feeds() -> None:
    buf = fed(b"abc\r")
    assert buf.readuntil(b"\r\n") is NEED_DATA
    buf.feed_data(b"\nrest")
    assert buf.readuntil(b"\r\n") == b"abc\r\n"
    assert rest(buf) == b"rest"


def test_readuntil_accepts_bytes_like_separators() -> None:
    buf = fed(b"a|b|c|")
    assert buf.readuntil(bytearray(b"|")) == b"a|"
    assert buf.readuntil(memoryview(b"|")) == b"b|"


def test_readuntil_tuple_shortest_match_wins() -> None:
    buf = fed(b"ab\r\ncd\n")
    assert buf.readuntil((b"\r\n", b"\n")) == b"ab\r\n"
    assert buf.readuntil((b"\n", b"\r\n")) == b"cd\n"
    buf = fed(b"xxEND-yyyy.")
    # b"." ends later than b"END": the match that ends first wins.
    assert buf.readuntil((b".", b"END")) == b"xxEND"


def test_readuntil_incomplete_at_eof_empties_the_buffer() -> None:
    buf = fed(b"abc\r", eof=True)
    with pytest.raises(IncompleteReadError) as info:
        buf.readuntil(b"\r\n")
    assert info.value.partial == b"abc\r"
    assert info.value.expected is None
    assert len(buf) == 0


def test_readuntil_complete_message_before_eof_is_still_returned() -> None:
    buf = fed(b"abc\n", eof=True)
    assert buf.readuntil() == b"abc\n"
    assert buf.at_eof()


def test_readuntil_limit_overrun_without_separator_keeps_data() -> None:
    buf = fed(b"x" * 11, limit=10)
    with pytest.raises(LimitOverrunError) as info:
        buf.readuntil(b"\n")
    assert info.value.consumed == 11
    assert info.value.args == ("Separator is not found, and chunk exceed the limit",)
    assert len(buf) == 11
    # The same error again: the state is unchanged.
    with pytest.raises(LimitOverrunError) as again:
        buf.readuntil(b"\n")
    assert again.value.consumed == 11
    assert buf.read(100) == b"x" * 11


def test_readuntil_limit_overrun_with_separator_found_late() -> None:
    buf = fed(b"x" * 11 + b"\n", limit=10)
    with pytest.raises(LimitOverrunError) as info:
        buf.readuntil(b"\n")
    assert info.value.consumed == 11
    assert info.value.args[0] == "Separator is found, but chunk is longer than limit"
    assert len(buf) == 12


def test_readuntil_exactly_at_limit_is_fine() -> None:
    buf = fed(b"x" * 10 + b"\n", limit=10)
    assert buf.readuntil(b"\n") == b"x" * 10 + b"\n"


def test_readuntil_long_separator_offset_rule() -> None:
    # asyncio's offset after a failed search is len + 1 - len(longest separator).
    buf = fed(b"x" * 12, limit=10)
    assert buf.readuntil(b"abc") is NEED_DATA  # offset 10: not past the limit
    buf.feed_data(b"x")
    with pytest.raises(LimitOverrunError) as info:
        buf.readuntil(b"abc")
    assert info.value.consumed == 11
    buf = fed(b"x" * 13, limit=10)
    with pytest.raises(LimitOverrunError) as info:
        buf.readuntil((b"a", b"abc"))
    assert info.value.consumed == 11


# ------------------------------------------------------------------- readline


def test_readline_lines_then_partial_then_empty() -> None:
    buf = fed(b"a\nbb\nccc", eof=True)
    assert buf.readline() == b"a\n"
    assert buf.readline() == b"bb\n"
    assert buf.readline() == b"ccc"
    assert buf.readline() == b""
    assert buf.at_eof()


def test_readline_waits_for_newline() -> None:
    buf = fed(b"abc")
    assert buf.readline() is NEED_DATA
    buf.feed_data(b"\n")
    assert buf.readline() == b"abc\n"


def test_readline_overrun_with_newline_discards_through_it() -> None:
    buf = fed(b"x" * 11 + b"\nnext\n", limit=10)
    with pytest.raises(ValueError, match="Separator is found, but chunk is longer") as info:
        buf.readline()
    assert isinstance(info.value.__cause__, asyncio.LimitOverrunError)
    assert buf.readline() == b"next\n"


def test_readline_overrun_without_newline_discards_everything() -> None:
    buf = fed(b"x" * 25, limit=10)
    with pytest.raises(ValueError, match="Separator is not found"):
        buf.readline()
    assert len(buf) == 0
    buf.feed_data(b"tail\n")
    assert buf.readline() == b"tail\n"


def test_readline_window_respects_the_limit() -> None:
    lines = [b"a\n", b"bb\n", b"x" * 30 + b"\n", b"c\n", b"d\n"]
    buf = fed(*lines, limit=10)
    assert buf.readline() == b"a\n"
    assert buf.readline() == b"bb\n"
    with pytest.raises(ValueError, match="chunk is longer than limit"):
        buf.readline()
    assert buf.readline() == b"c\n"
    assert buf.readline() == b"d\n"


def test_readline_second_line_over_the_limit() -> None:
    buf = fed(b"a\n" + b"x" * 30 + b"\nb\n", limit=10)
    assert buf.readline() == b"a\n"
    with pytest.raises(ValueError, match="chunk is longer than limit"):
        buf.readline()
    assert buf.readline() == b"b\n"


def test_read_window_then_other_reads_see_the_same_bytes() -> None:
    data = b"".join(b"line %d\n" % i for i in range(100))
    buf = fed(data)
    assert buf.readline() == b"line 0\n"
    assert buf.readline() == b"line 1\n"
    assert len(buf) == len(data) - 14
    assert buf.readexactly(5) == b"line "
    assert buf.readline() == b"2\n"
    assert buf.readuntil(b"5\n") == b"line 3\nline 4\nline 5\n"
    assert buf.readline() == b"line 6\n"
    assert buf.read(3) == b"lin"
    remaining = data[data.index(b"line 7") + 3 :]
    assert rest(buf) == remaining


def test_read_window_survives_feeding_and_eof() -> None:
    buf = fed(b"a\nb\nc\npartial")
    assert buf.readline() == b"a\n"
    buf.feed_data(b" line\n")
    buf.feed_eof()
    assert buf.readline() == b"b\n"
    assert buf.readline() == b"c\n"
    assert buf.readline() == b"partial line\n"
    assert buf.readline() == b""


def test_read_window_grows_and_stays_exact() -> None:
    lines = [b"%06d\n" % i for i in range(200_000)]  # 1.4 MB, past the largest window
    buf = fed(b"".join(lines))
    got = []
    while (line := buf.readline()) is not NEED_DATA:
        got.append(line)
    assert got == lines
    assert len(buf) == 0


def test_stored_exception_comes_before_windowed_bytes() -> None:
    buf = fed(b"a\nb\nc\n")
    assert buf.readline() == b"a\n"
    error = ConnectionResetError("gone")
    buf.set_exception(error)
    with pytest.raises(ConnectionResetError) as info:
        buf.readline()
    assert info.value is error
    assert len(buf) == 4


# ------------------------------------------------------------- readline_batch


def test_readline_batch_takes_every_complete_line() -> None:
    buf = fed(b"a\nbb\nccc")
    assert buf.readline_batch() == [b"a\n", b"bb\n"]
    assert buf.readline_batch() == []
    assert len(buf) == 3
    buf.feed_data(b"\n")
    assert buf.readline_batch() == [b"ccc\n"]


def test_readline_batch_after_readline_continues_where_it_stopped() -> None:
    buf = fed(b"1\n2\n3\n4\n")
    assert buf.readline() == b"1\n"
    assert buf.readline_batch() == [b"2\n", b"3\n", b"4\n"]
    assert len(buf) == 0


def test_readline_batch_stops_before_what_readline_handles() -> None:
    buf = fed(b"ok\n" + b"x" * 20 + b"\nlast", limit=10, eof=True)
    assert buf.readline_batch() == [b"ok\n"]
    assert buf.readline_batch() == []
    with pytest.raises(ValueError, match="limit"):
        buf.readline()
    assert buf.readline_batch() == []
    assert buf.readline() == b"last"


def test_readline_batch_raises_stored_exception() -> None:
    buf = fed(b"a\n")
    buf.set_exception(OSError("x"))
    with pytest.raises(OSError, match="x"):
        buf.readline_batch()


# ------------------------------------------------------------ EOF, exceptions


def test_at_eof_needs_eof_and_empty_buffer() -> None:
    buf = fed(b"a")
    assert not buf.at_eof()
    buf.feed_eof()
    assert not buf.at_eof()
    assert buf.read() == b"a"
    assert buf.at_eof()
    buf.feed_eof()  # idempotent
    assert buf.at_eof()


def test_stored_exception_is_raised_before_buffered_data() -> None:
    buf = fed(b"data\n")
    error = ConnectionResetError("reset")
    buf.set_exception(error)
    assert buf.exception() is error
    for call in (buf.read, buf.readline, lambda: buf.readexactly(1), buf.readuntil):
        with pytest.raises(ConnectionResetError):
            call()
    assert len(buf) == 5
    # read(0) and readexactly(0) raise too, as in asyncio.
    with pytest.raises(ConnectionResetError):
        buf.read(0)
    with pytest.raises(ConnectionResetError):
        buf.readexactly(0)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("limit", [0, -1])
def test_limit_must_be_positive(limit: int) -> None:
    with pytest.raises(ValueError, match="Limit cannot be <= 0"):
        ReadBuffer(limit)


@pytest.mark.parametrize("limit", [1.5, "10", None])
def test_limit_must_be_an_integer(limit: object) -> None:
    with pytest.raises(TypeError, match="limit must be an integer"):
        ReadBuffer(limit)  # type: ignore[arg-type]


@pytest.mark.parametrize("data", ["text", 42, [1, 2, 3], None])
def test_feed_data_rejects_non_bytes_and_keeps_state(data: object) -> None:
    buf = fed(b"kept\n")
    with pytest.raises(TypeError, match="data must be a bytes-like object"):
        buf.feed_data(data)  # type: ignore[arg-type]
    assert len(buf) == 5
    assert buf.readline() == b"kept\n"


def test_feed_data_accepts_bytes_like() -> None:
    buf = ReadBuffer()
    buf.feed_data(bytearray(b"ab"))
    buf.feed_data(memoryview(b"cd"))
    buf.feed_data(b"")
    assert rest(buf) == b"abcd"


def test_feed_data_after_eof_is_an_error_and_keeps_state() -> None:
    buf = fed(b"abc", eof=True)
    with pytest.raises(RuntimeError, match="feed_data\\(\\) called after feed_eof\\(\\)"):
        buf.feed_data(b"more")
    assert buf.read() == b"abc"


@pytest.mark.parametrize("n", [1.0, "3", None, b"1"])
def test_sizes_must_be_integers(n: object) -> None:
    buf = fed(b"abcdef")
    for method in (buf.read, buf.readexactly):
        with pytest.raises(TypeError, match="n must be an integer"):
            method(n)  # type: ignore[arg-type]
    assert len(buf) == 6


@pytest.mark.parametrize(
    ("separator", "error", "message"),
    [
        (b"", ValueError, "Separator should be at least one-byte string"),
        ((), ValueError, "Separator should contain at least one element"),
        ((b"\n", b""), ValueError, "Separator should be at least one-byte string"),
        ("\n", TypeError, "separator must be bytes"),
        ((b"\n", "\r"), TypeError, "separator must be bytes"),
        ([b"\n"], TypeError, "separator must be bytes"),
        (10, TypeError, "separator must be bytes"),
    ],
)
def test_readuntil_rejects_bad_separators(
    separator: object, error: type[Exception], message: str
) -> None:
    buf = fed(b"abc\n")
    with pytest.raises(error, match=message):
        buf.readuntil(separator)  # type: ignore[arg-type]
    assert buf.readline() == b"abc\n"


def test_set_exception_needs_an_exception_instance() -> None:
    buf = fed(b"a")
    with pytest.raises(TypeError, match="exc must be an exception instance"):
        buf.set_exception("nope")  # type: ignore[arg-type]
    assert buf.exception() is None
    assert buf.read(1) == b"a"


# ---------------------------------------------------------------- flow control


def test_flow_control_pauses_above_twice_the_limit_and_resumes_at_limit() -> None:
    buf = ReadBuffer(limit=10)
    buf.feed_data(b"x" * 20)
    assert not buf.reading_paused
    buf.feed_data(b"x")
    assert buf.reading_paused
    assert buf.read(5) == b"xxxxx"  # 16 left: still above the limit
    assert buf.reading_paused
    assert buf.read(6) == b"xxxxxx"  # 10 left: resume
    assert not buf.reading_paused


def test_flow_control_resumes_when_a_reader_waits() -> None:
    buf = ReadBuffer(limit=10)
    buf.feed_data(b"y" * 25)
    assert buf.reading_paused
    # readexactly(n) with n > 2*limit must never stall on the pause.
    assert buf.readexactly(100) is NEED_DATA
    assert not buf.reading_paused
    buf.feed_data(b"y" * 75)
    assert buf.readexactly(100) == b"y" * 100


def test_flow_control_resumes_for_pending_read_all() -> None:
    buf = ReadBuffer(limit=4)
    buf.feed_data(b"z" * 9)
    assert buf.reading_paused
    assert buf.read() is NEED_DATA
    assert not buf.reading_paused


def test_flow_control_through_read_window_and_readline_overrun() -> None:
    buf = ReadBuffer(limit=10)
    buf.feed_data(b"aaaa\n" * 5)  # 25 bytes
    assert buf.reading_paused
    assert buf.readline() == b"aaaa\n"
    assert buf.reading_paused  # 20 left
    assert buf.readline() == b"aaaa\n"
    assert buf.readline() == b"aaaa\n"
    assert not buf.reading_paused  # 10 left
    buf = ReadBuffer(limit=10)
    buf.feed_data(b"b" * 30)
    assert buf.reading_paused
    with pytest.raises(ValueError, match="limit"):
        buf.readline()
    assert not buf.reading_paused


# ------------------------------------------------------------ zero-copy receive


def test_get_buffer_and_buffer_updated() -> None:
    buf = fed(b"ab")
    view = buf.get_buffer(16)
    assert len(view) == 16
    assert len(buf) == 2  # the lent space is not data
    view[:5] = b"c\nde\n"
    del view
    buf.buffer_updated(5)
    assert buf.readline() == b"abc\n"
    assert buf.readline() == b"de\n"
    assert len(buf) == 0


def test_buffer_updated_with_the_whole_view() -> None:
    buf = ReadBuffer()
    view = buf.get_buffer(4)
    view[:] = b"full"
    buf.buffer_updated(4)
    assert buf.read() is NEED_DATA
    buf.feed_eof()
    assert buf.read() == b"full"


def test_get_buffer_without_hint_lends_a_default_size() -> None:
    buf = ReadBuffer()
    view = buf.get_buffer()
    assert len(view) == 2**16
    view[:3] = b"abc"
    buf.buffer_updated(3)
    assert buf.read(10) == b"abc"


def test_get_buffer_twice_drops_the_first_reservation() -> None:
    buf = ReadBuffer()
    buf.get_buffer(8)[:2] = b"zz"
    view = buf.get_buffer(8)
    view[:2] = b"ok"
    buf.buffer_updated(2)
    assert buf.read(10) == b"ok"


def test_reads_ignore_an_unfinished_reservation() -> None:
    buf = fed(b"a\n")
    buf.get_buffer(8)[:] = b"\n" * 8
    assert buf.readline() == b"a\n"
    assert buf.readline() is NEED_DATA
    assert len(buf) == 0
    with pytest.raises(RuntimeError, match="without get_buffer"):
        buf.buffer_updated(1)


def test_buffer_updated_validates_and_keeps_state() -> None:
    buf = ReadBuffer()
    with pytest.raises(RuntimeError, match="without get_buffer"):
        buf.buffer_updated(0)
    view = buf.get_buffer(4)
    with pytest.raises(ValueError, match="between 0 and 4"):
        buf.buffer_updated(5)
    view[:1] = b"q"
    del view
    buf.buffer_updated(1)
    assert buf.read(5) == b"q"


def test_buffer_updated_while_the_caller_still_holds_the_view() -> None:
    # uvloop keeps its export of the view while it calls buffer_updated().
    buf = fed(b"a")
    view = buf.get_buffer(8)
    view[:3] = b"bc\n"
    held = (ctypes.c_char * 8).from_buffer(view)  # an export, as uvloop's
    buf.buffer_updated(3)
    assert len(buf) == 4
    with pytest.raises(RuntimeError, match="without get_buffer"):
        buf.buffer_updated(1)
    del held
    assert buf.readline() == b"abc\n"
    assert len(buf) == 0
    view = buf.get_buffer(4)
    view[:2] = b"d\n"
    del view
    buf.buffer_updated(2)
    assert buf.readline() == b"d\n"


def test_buffer_updated_zero_is_no_data() -> None:
    buf = ReadBuffer()
    buf.get_buffer(4)
    buf.buffer_updated(0)
    assert len(buf) == 0
    assert buf.read(1) is NEED_DATA


def test_get_buffer_pauses_like_feed_data() -> None:
    buf = ReadBuffer(limit=4)
    view = buf.get_buffer(16)
    view[:9] = b"x" * 9
    del view
    buf.buffer_updated(9)
    assert buf.reading_paused


def test_get_buffer_after_eof_is_an_error() -> None:
    buf = fed(eof=True)
    with pytest.raises(RuntimeError, match="after feed_eof"):
        buf.get_buffer()


def test_feed_eof_and_feed_data_drop_a_reservation() -> None:
    buf = ReadBuffer()
    buf.get_buffer(4)
    buf.feed_data(b"x")
    assert len(buf) == 1
    buf.get_buffer(4)
    buf.feed_eof()
    assert buf.read() == b"x"


# ---------------------------------------------------------------------- reprs


def test_repr_like_asyncio() -> None:
    assert repr(ReadBuffer()) == "<ReadBuffer>"
    buf = fed(b"abcde", limit=2, eof=True)
    assert repr(buf) == "<ReadBuffer 5 bytes eof limit=2 paused>"
    buf.set_exception(ValueError("v"))
    assert "exception=ValueError('v')" in repr(buf)


def test_limit_property() -> None:
    assert ReadBuffer().limit == DEFAULT_LIMIT == 2**16
    assert ReadBuffer(7).limit == 7


# --------------------------------------------------------------------- errors


def test_errors_are_asyncios_and_pickle() -> None:
    incomplete = IncompleteReadError(b"abc", 10)
    overrun = LimitOverrunError("too long", 42)
    assert isinstance(incomplete, asyncio.IncompleteReadError)
    assert isinstance(incomplete, EOFError)
    assert isinstance(overrun, asyncio.LimitOverrunError)
    for error in (incomplete, overrun):
        clone = pickle.loads(pickle.dumps(error))
        assert type(clone) is type(error)
        assert clone.args == error.args
    clone_incomplete = pickle.loads(pickle.dumps(incomplete))
    assert (clone_incomplete.partial, clone_incomplete.expected) == (b"abc", 10)
    assert pickle.loads(pickle.dumps(overrun)).consumed == 42


def test_error_reprs_are_helpful() -> None:
    assert (
        repr(IncompleteReadError(b"abc", 10)) == "IncompleteReadError(partial=b'abc', expected=10)"
    )
    long = repr(IncompleteReadError(b"x" * 1000, None))
    assert long.endswith("...<1000 bytes>, expected=None)")
    assert len(long) < 120
    assert repr(LimitOverrunError("too long", 42)) == "LimitOverrunError('too long', consumed=42)"


# ----------------------------------------------------------------- read window


def test_small_frames_through_the_window_match_the_data() -> None:
    payloads = [bytes([i % 251]) * (i % 37) for i in range(3000)]
    data = b"".join(len(p).to_bytes(2, "big") + p for p in payloads)
    buf = fed(data)
    got = []
    for _ in payloads:
        header = buf.readexactly(2)
        assert isinstance(header, bytes)
        payload = buf.readexactly(int.from_bytes(header, "big"))
        assert isinstance(payload, bytes)
        got.append(payload)
    assert got == payloads
    assert len(buf) == 0
    assert buf.readexactly(1) is NEED_DATA


def test_window_serves_read_and_readuntil_exactly() -> None:
    buf = fed(b"ab" + b"0123456789" * 10 + b"END")
    assert buf.read(2) == b"ab"  # opens a window
    assert buf.read(3) == b"012"
    assert buf.readuntil(b"9") == b"3456789"
    assert buf.readuntil(b"END") == b"0123456789" * 9 + b"END"
    assert buf.read(5) is NEED_DATA


def test_window_readuntil_respects_the_limit() -> None:
    buf = fed(b"a\n" + b"x" * 20 + b"\n", limit=10)
    assert buf.readline() == b"a\n"
    with pytest.raises(LimitOverrunError) as info:
        buf.readuntil(b"\n")
    assert info.value.consumed == 20
    assert len(buf) == 21


def test_window_read_past_its_end_returns_everything_buffered() -> None:
    buf = ReadBuffer()
    buf.feed_data(b"h" + b"x" * 5000)  # more than the first window
    assert buf.read(1) == b"h"
    assert buf.read(10_000) == b"x" * 5000


def test_window_then_read_all_and_incomplete() -> None:
    buf = fed(b"12345678", eof=True)
    assert buf.readexactly(2) == b"12"
    with pytest.raises(IncompleteReadError) as info:
        buf.readexactly(10)
    assert info.value.partial == b"345678"
    buf = fed(b"12345678", eof=True)
    assert buf.readexactly(2) == b"12"
    assert buf.read() == b"345678"


def test_window_survives_get_buffer() -> None:
    buf = fed(b"aa\nbb\n")
    assert buf.readline() == b"aa\n"
    view = buf.get_buffer(8)
    view[:3] = b"cc\n"
    del view
    buf.buffer_updated(3)
    assert buf.readline() == b"bb\n"
    assert buf.readline() == b"cc\n"
    assert len(buf) == 0


def test_stored_limit_overrun_in_readline_is_asyncios_value_error() -> None:
    # asyncio's readline() treats a stored LimitOverrunError like its own.
    buf = fed(b"ab\ncd\n")
    buf.set_exception(LimitOverrunError("stored", 2))
    with pytest.raises(ValueError, match="stored"):
        buf.readline()
    assert len(buf) == 3  # discarded through the newline at 2
    assert buf.readline_batch() == []
    buf = fed(b"abcd")
    buf.set_exception(IncompleteReadError(b"xy", 5))
    assert buf.readline() == b"xy"
    assert buf.readline_batch() == []
    assert len(buf) == 4
