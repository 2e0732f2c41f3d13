"""sansio_streams.testing: the helpers catch chunking bugs and pass correct parsers."""

from __future__ import annotations

import asyncio
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sansio_streams import NEED_DATA, IncompleteReadError, NeedData, ReadBuffer
from sansio_streams.testing import (
    Outcome,
    assert_chunking_invariant,
    chunked,
    chunkings,
    parse_chunks,
    split_at,
)


def read_line(buf: ReadBuffer) -> bytes | NeedData:
    return buf.readline()


class Frames:
    """Frames of a 2-byte big-endian length then the payload; keeps state."""

    def __init__(self) -> None:
        self.size: int | None = None

    def step(self, buf: ReadBuffer) -> bytes | NeedData:
        if self.size is None:
            if buf.at_eof():
                return NEED_DATA  # a clean end, between two frames
            header = buf.readexactly(2)
            if header is NEED_DATA:
                return NEED_DATA
            (self.size,) = struct.unpack(">H", header)
        payload = buf.readexactly(self.size)
        if payload is not NEED_DATA:
            self.size = None
        return payload


def frames(*payloads: bytes) -> bytes:
    return b"".join(struct.pack(">H", len(p)) + p for p in payloads)


def test_split_at() -> None:
    assert split_at(b"abcdef", [2, 2, 5]) == [b"ab", b"", b"cde", b"f"]
    assert split_at(b"", []) == [b""]
    with pytest.raises(ValueError, match="sorted offsets"):
        split_at(b"abc", [2, 1])
    with pytest.raises(ValueError, match="sorted offsets"):
        split_at(b"abc", [4])


@given(st.data(), st.binary(max_size=40), st.booleans())
def test_chunkings_join_back(data: st.DataObject, value: bytes, allow_empty: bool) -> None:
    chunks = data.draw(chunkings(value, allow_empty=allow_empty))
    assert b"".join(chunks) == value
    if not allow_empty:
        assert all(chunks)


@given(chunked(st.binary(max_size=20)))
def test_chunked_draws_value_and_chunking(pair: tuple[bytes, list[bytes]]) -> None:
    value, chunks = pair
    assert b"".join(chunks) == value


LINES = st.lists(st.sampled_from([b"a", b"b", b"\n"]), max_size=200).map(b"".join)


@given(chunked(LINES))
def test_readline_is_chunking_invariant(pair: tuple[bytes, list[bytes]]) -> None:
    data, chunks = pair
    outcome = assert_chunking_invariant(lambda: read_line, data, chunks)
    assert outcome.error is None
    assert b"".join(outcome.results) == data


def test_readline_over_the_limit_depends_on_chunking_and_is_caught() -> None:
    # asyncio's rule: an over-limit line is discarded through its newline if the
    # newline has arrived, else only what has arrived -- and the rest then reads
    # as a line of its own.  A parser relying on readline() with a limit thus
    # depends on chunking, and the helper says so.
    with pytest.raises(AssertionError, match="one byte at a time"):
        assert_chunking_invariant(lambda: read_line, b"x" * 20 + b"\nok\n", limit=8)


@given(chunked(st.lists(st.binary(max_size=300), max_size=5).map(lambda ps: frames(*ps))))
def test_stateful_frame_parser_is_chunking_invariant(pair: tuple[bytes, list[bytes]]) -> None:
    data, chunks = pair
    outcome = assert_chunking_invariant(lambda: Frames().step, data, chunks)
    assert outcome.error is None
    assert frames(*outcome.results) == data


def test_parse_chunks_records_results_error_and_leftover() -> None:
    outcome = parse_chunks(Frames().step, [frames(b"abc", b"de"), b"\x00\x05ab"])
    assert outcome.results == [b"abc", b"de"]
    assert outcome.error is not None
    error_type, args = outcome.error
    assert issubclass(error_type, EOFError)
    assert args == ("2 bytes read on a total of 5 expected bytes",)
    assert outcome.remaining == 0
    assert outcome.at_eof


def test_parse_chunks_without_eof_leaves_bytes_buffered() -> None:
    outcome = parse_chunks(read_line, [b"a\nb", b"c"], eof=False)
    assert outcome == Outcome([b"a\n"], None, 2, False)


def test_a_parser_that_depends_on_chunking_is_caught() -> None:
    def greedy(buf: ReadBuffer) -> bytes | NeedData:
        # Bug: returns whatever arrived, so results follow the chunk boundaries.
        return buf.read(100)

    with pytest.raises(AssertionError, match="one byte at a time"):
        assert_chunking_invariant(lambda: greedy, b"hello")


def test_a_parser_sharing_state_between_runs_is_caught() -> None:
    shared = Frames()  # one instance for every run: state leaks between runs
    data = frames(b"xy")
    with pytest.raises(AssertionError, match="fed"):
        assert_chunking_invariant(lambda: shared.step, data[:3], [data[:1], data[1:3]])


def test_given_chunks_are_checked_too() -> None:
    calls: list[int] = []

    def counting(buf: ReadBuffer) -> bytes | NeedData:
        result = buf.read(1)
        if result is not NEED_DATA:
            calls.append(len(result))
        return result

    assert_chunking_invariant(lambda: counting, b"abc", [b"a", b"bc"])
    assert sum(calls) == 9  # three runs of three bytes
    with pytest.raises(ValueError, match="do not join back"):
        assert_chunking_invariant(lambda: counting, b"abc", [b"ab"])


def test_a_step_that_makes_no_progress_is_reported() -> None:
    def stuck(buf: ReadBuffer) -> bytes | NeedData:
        return b"nothing consumed"

    with pytest.raises(AssertionError, match="without consuming"):
        parse_chunks(stuck, [b"abc"])


# ------------------------------------------- remaining and at_eof after an error


def strict_line(buf: ReadBuffer) -> bytes | NeedData:
    """Lines, and ValueError for the line b"bad\\n"."""
    line = buf.readline()
    if line == b"bad\n":
        raise ValueError("bad line")
    return line


GOOD_LINES = st.lists(st.sampled_from([b"ok\n", b"fine\n"]), max_size=5).map(b"".join)


@given(GOOD_LINES, st.binary(max_size=30), st.data())
def test_remaining_after_an_error_counts_the_input_not_consumed(
    good: bytes, rest: bytes, data: st.DataObject
) -> None:
    # Fed whole, ``rest`` is buffered when the step raises; fed one byte at a
    # time, it is not fed yet.  Either way the step did not consume it.
    stream = good + b"bad\n" + rest
    chunks = data.draw(chunkings(stream, allow_empty=True))
    outcome = assert_chunking_invariant(lambda: strict_line, stream, chunks)
    assert outcome == Outcome(
        results=good.splitlines(keepends=True),
        error=(ValueError, ("bad line",)),
        remaining=len(rest),
        at_eof=False,
    )


def test_remaining_counts_the_chunks_never_fed() -> None:
    outcome = parse_chunks(strict_line, [b"bad\nx", b"yz"], eof=False)
    assert outcome == Outcome([], (ValueError, ("bad line",)), 3, False)


def test_at_eof_after_an_error_says_whether_eof_had_come() -> None:
    # Raised before EOF: False, even with every byte consumed, for every chunking.
    before = assert_chunking_invariant(lambda: strict_line, b"ok\nbad\n", [b"ok\nb", b"ad\n"])
    assert before == Outcome([b"ok\n"], (ValueError, ("bad line",)), 0, False)
    # Raised after EOF, with nothing left: True.
    after = assert_chunking_invariant(lambda: Frames().step, b"\x00\x03ab", [b"\x00", b"\x03ab"])
    assert after.error is not None
    assert (after.remaining, after.at_eof) == (0, True)


# ------------------------------------------------------ the final call at EOF


@given(st.lists(st.binary(max_size=50), max_size=4), st.integers(1, 300), st.data())
def test_a_stream_cut_after_a_frame_header_is_an_error(
    payloads: list[bytes], size: int, data: st.DataObject
) -> None:
    # The buffer is empty at EOF, but the parser is owed a payload: only the
    # final call can tell.
    stream = frames(*payloads) + struct.pack(">H", size)
    chunks = data.draw(chunkings(stream))
    outcome = assert_chunking_invariant(lambda: Frames().step, stream, chunks)
    assert outcome == Outcome(
        results=payloads,
        error=(IncompleteReadError, (f"0 bytes read on a total of {size} expected bytes",)),
        remaining=0,
        at_eof=True,
    )


def test_the_step_is_called_once_at_eof_and_its_answer_dropped() -> None:
    calls_at_eof: list[bytes | NeedData] = []

    def recording(buf: ReadBuffer) -> bytes | NeedData:
        line = buf.readline()
        if buf.at_eof():
            calls_at_eof.append(line)
        return line

    # readline() returns b"" at EOF for ever: one call, and b"" is no result.
    assert parse_chunks(recording, [b"a\n", b"b"]) == Outcome([b"a\n", b"b"], None, 0, True)
    # The call that took the last line, then the final call.
    assert calls_at_eof == [b"b", b""]
    calls_at_eof.clear()
    assert parse_chunks(recording, []) == Outcome([], None, 0, True)
    assert calls_at_eof == [b""]
    calls_at_eof.clear()
    # Without EOF there is no final call.
    assert parse_chunks(recording, [b"a\n"], eof=False) == Outcome([b"a\n"], None, 0, False)
    assert calls_at_eof == []


def test_no_final_call_when_the_step_answered_need_data_at_eof() -> None:
    calls: list[int] = []

    def waiting(buf: ReadBuffer) -> bytes | NeedData:
        calls.append(len(buf))
        return NEED_DATA  # ignores the bytes left: they stay in ``remaining``

    assert parse_chunks(waiting, [b"ab"]) == Outcome([], None, 2, False)
    assert calls == [2, 2]  # after the chunk, after EOF


def test_a_readexactly_step_reports_a_clean_end_as_asyncio_does() -> None:
    # Asked after EOF, ``readexactly(2)`` on an empty buffer raises, even on a
    # frame boundary, as asyncio's ``while True: await reader.readexactly(2)``.
    async def asyncio_driver() -> tuple[list[bytes], BaseException]:
        reader = asyncio.StreamReader()
        reader.feed_data(b"abcd")
        reader.feed_eof()
        items = []
        try:
            while True:
                items.append(await reader.readexactly(2))
        except asyncio.IncompleteReadError as exc:
            return items, exc

    items, exc = asyncio.run(asyncio_driver())
    outcome = assert_chunking_invariant(lambda: lambda buf: buf.readexactly(2), b"abcd")
    assert outcome == Outcome(items, (IncompleteReadError, exc.args), 0, True)

    # A step that checks for EOF before it starts an item ends cleanly.
    def pairs(buf: ReadBuffer) -> bytes | NeedData:
        return NEED_DATA if buf.at_eof() else buf.readexactly(2)

    assert assert_chunking_invariant(lambda: pairs, b"abcd") == Outcome(items, None, 0, True)
