"""Property tests of examples/frames.py with sansio_streams.testing.

docs/testing.rst shows this file's tests (by name, with literalinclude): keep
the names in step with the page.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sansio_streams import NEED_DATA, NeedData, ReadBuffer
from sansio_streams.testing import (
    Outcome,
    assert_chunking_invariant,
    chunkings,
    parse_chunks,
)

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # examples/ is not an installed package

from examples.frames import (  # noqa: E402
    MAX_PAYLOAD,
    Frame,
    FrameParser,
    Message,
    Ping,
    ProtocolError,
    encode,
    parse_all,
    parse_frame_header,
)

# ------------------------------------------------------------ valid streams

LIMIT = 32  # the buffer's limit, the longest header line: small, for Hypothesis to reach
messages = st.one_of(st.just(Ping()), st.builds(Frame, st.binary(max_size=100)))
message_lists = st.lists(messages, max_size=6)


def stream_of(msgs: list[Message]) -> bytes:
    return b"".join(map(encode, msgs))


@given(message_lists, st.data())
def test_messages_whatever_the_chunking(msgs: list[Message], data: st.DataObject) -> None:
    stream = stream_of(msgs)
    chunks = data.draw(chunkings(stream), label="chunks")
    outcome = assert_chunking_invariant(
        lambda: FrameParser().next_message, stream, chunks, limit=LIMIT
    )
    # The same outcome for every chunking, and the right one.
    assert outcome == Outcome(results=msgs, at_eof=True)


@given(message_lists, messages, st.data())
def test_a_truncated_stream_is_an_error(
    msgs: list[Message], last: Message, data: st.DataObject
) -> None:
    whole = encode(last)
    cut = data.draw(st.integers(1, len(whole) - 1), label="cut")
    stream = stream_of(msgs) + whole[:cut]  # the last message never ends
    chunks = data.draw(chunkings(stream), label="chunks")
    outcome = assert_chunking_invariant(
        lambda: FrameParser().next_message, stream, chunks, limit=LIMIT
    )
    assert outcome.results == msgs
    assert outcome.error is not None
    assert outcome.error[0] is ProtocolError
    assert (outcome.remaining, outcome.at_eof) == (0, True)


# --------------------------------------------------------------- bad input


def no_newline(data: bytes) -> bytes:
    return data.replace(b"\n", b" ")


bad_header_lines = st.one_of(
    # An unknown command.
    st.binary(max_size=20)
    .map(no_newline)
    .filter(lambda line: line != b"PING" and not line.startswith(b"FRAME ")),
    # A length that is not plain ASCII digits.
    st.binary(max_size=20).map(no_newline).filter(lambda n: not n.isdigit()).map(b"FRAME ".__add__),
    # A frame over the maximum.
    st.integers(MAX_PAYLOAD + 1, 10**12).map(b"FRAME %d".__mod__),
    # A line over the limit.
    st.binary(min_size=LIMIT + 1, max_size=3 * LIMIT).map(no_newline),
).map(lambda line: line + b"\n")


@given(message_lists, bad_header_lines, st.binary(max_size=50), st.data())
def test_bad_input_is_an_error(
    msgs: list[Message], bad_line: bytes, rest: bytes, data: st.DataObject
) -> None:
    stream = stream_of(msgs) + bad_line + rest
    chunks = data.draw(chunkings(stream), label="chunks")
    outcome = assert_chunking_invariant(
        lambda: FrameParser().next_message, stream, chunks, limit=LIMIT
    )
    assert outcome.results == msgs
    assert outcome.error is not None
    assert outcome.error[0] is ProtocolError
    # What follows the bad header line, and the line itself if it is over the
    # limit: the parser gives up on that one before consuming it.
    over_limit = len(bad_line) - 1 > LIMIT
    assert outcome.remaining == len(rest) + (len(bad_line) if over_limit else 0)
    assert not outcome.at_eof  # raised as soon as the line was complete, before EOF


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (b"HELLO\n", "unknown command: b'HELLO\\n'"),
        (b"PING \n", "unknown command: b'PING \\n'"),
        (b"FRAME\n", "unknown command: b'FRAME\\n'"),
        (b"FRAME \n", "bad frame length: b''"),
        (b"FRAME +1_0\n", "bad frame length: b'+1_0'"),
        (b"FRAME 9999999\n", f"a frame of 9999999 bytes is over the maximum, {MAX_PAYLOAD}"),
        (b"F" * (LIMIT + 1) + b"\n", f"a header line is longer than {LIMIT} bytes"),
        (b"F" * (LIMIT + 1), f"a header line is longer than {LIMIT} bytes"),
        (b"FRAME 5\nabc", "the stream ends inside a frame: 3 of 5 bytes"),
        (b"FRAME 5\n", "the stream ends inside a frame: 0 of 5 bytes"),
        (b"PING\nFRA", "the stream ends inside a header line: b'FRA'"),
    ],
)
def test_error_messages(stream: bytes, message: str) -> None:
    outcome = assert_chunking_invariant(lambda: FrameParser().next_message, stream, limit=LIMIT)
    assert outcome.error == (ProtocolError, (message,))


def test_a_frame_of_the_maximum_size() -> None:
    assert parse_frame_header(b"FRAME %d\n" % MAX_PAYLOAD) == MAX_PAYLOAD
    payload = bytes(MAX_PAYLOAD)
    assert parse_all([encode(Frame(payload))]) == [Frame(payload)]


# ------------------------------------------------- the bugs the tests catch


class ForgetfulParser(FrameParser):
    """The bug: the FRAME's size is lost when its payload has not all arrived."""

    def next_message(self, buf: ReadBuffer) -> Message | NeedData:
        line = self.read_header(buf)
        if line is NEED_DATA:
            return NEED_DATA
        if line == b"PING\n":
            return Ping()
        payload = buf.readexactly(parse_frame_header(line))
        if payload is NEED_DATA:
            return NEED_DATA  # the header line is consumed, and forgotten
        return Frame(payload)


class LeakyParser(FrameParser):
    """The bug: the core's exceptions get through, messages and all."""

    def read_header(self, buf: ReadBuffer) -> bytes | NeedData:
        return buf.readuntil(b"\n")


def test_the_forgetful_parser_fails() -> None:
    stream = encode(Frame(b"abc"))
    # Fed whole, it works...
    assert parse_chunks(ForgetfulParser().next_message, [stream]).results == [Frame(b"abc")]
    # ...fed one byte at a time, it reads the payload as a header line.
    with pytest.raises(AssertionError, match="one byte at a time") as failure:
        assert_chunking_invariant(lambda: ForgetfulParser().next_message, stream)
    assert "the stream ends inside a header line: b'abc'" in str(failure.value)


def test_the_leaky_parser_fails() -> None:
    stream = b"FRAME " + b"1" * LIMIT + b"\n"
    with pytest.raises(AssertionError, match="one byte at a time") as failure:
        assert_chunking_invariant(lambda: LeakyParser().next_message, stream, limit=LIMIT)
    # asyncio's two messages for one line over the limit:
    assert "Separator is not found, and chunk exceed the limit" in str(failure.value)
    assert "Separator is found, but chunk is longer than limit" in str(failure.value)


def test_the_property_finds_the_forgetful_parser() -> None:
    @settings(database=None)
    @given(message_lists, st.data())
    def forgetful_property(msgs: list[Message], data: st.DataObject) -> None:
        stream = stream_of(msgs)
        chunks = data.draw(chunkings(stream), label="chunks")
        assert_chunking_invariant(
            lambda: ForgetfulParser().next_message, stream, chunks, limit=LIMIT
        )

    with pytest.raises(AssertionError, match="the stream ends inside"):
        forgetful_property()


# ----------------------------------------------------------- the example


def test_the_example_runs() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "frames.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert proc.stdout == "[Ping(), Frame(payload=b'hello\\nworld'), Frame(payload=b'')]\n"


def test_parse_all_stops_at_the_first_error() -> None:
    with pytest.raises(ProtocolError, match="unknown command"):
        parse_all([encode(Ping()), b"PONG\n", encode(Ping())])
