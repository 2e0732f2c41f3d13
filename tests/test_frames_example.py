"""Property tests of examples/frames.py with sansio_streams.testing.

docs/testing.rst shows this file's tests (by name, with literalinclude): keep
the names in step with the page.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
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
    header_end = whole.index(b"\n") + 1
    # Any cut but the one right after a FRAME header (see the next test).
    cut = data.draw(st.integers(1, len(whole) - 1).filter(lambda n: n != header_end), label="cut")
    stream = stream_of(msgs) + whole[:cut]  # the last message never ends
    chunks = data.draw(chunkings(stream), label="chunks")
    outcome = assert_chunking_invariant(
        lambda: FrameParser().next_message, stream, chunks, limit=LIMIT
    )
    assert outcome.results == msgs
    assert outcome.error is not None
    assert outcome.error[0] is ProtocolError


@given(message_lists, st.binary(min_size=1, max_size=100), st.data())
def test_a_stream_cut_after_a_frame_header(
    msgs: list[Message], payload: bytes, data: st.DataObject
) -> None:
    stream = stream_of(msgs) + b"FRAME %d\n" % len(payload)  # and no payload
    chunks = data.draw(chunkings(stream), label="chunks")
    # parse_chunks() stops calling the step once the buffer is at EOF (empty,
    # and EOF fed): it never learns that the parser waits for a payload.
    outcome = parse_chunks(FrameParser().next_message, chunks, limit=LIMIT)
    assert outcome == Outcome(results=msgs, at_eof=True)
    # A driver that asks the parser after EOF, as it should, gets the error.
    with pytest.raises(ProtocolError, match=f"inside a frame: 0 of {len(payload)} bytes"):
        parse_all(chunks, limit=LIMIT)


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


Step = Callable[[ReadBuffer], Message | NeedData]


def assert_same_verdict(
    make_step: Callable[[], Step], data: bytes, chunks: list[bytes], *, limit: int
) -> Outcome[Message]:
    """Like assert_chunking_invariant, but compare the results and the error
    only: after an error, how many bytes are still buffered depends on how many
    had arrived when the parser gave up, which depends on the chunking."""
    whole: Outcome[Message] = parse_chunks(make_step(), [data], limit=limit)
    splits = {
        "one byte at a time": [data[i : i + 1] for i in range(len(data))],
        f"as {chunks!r}": chunks,
    }
    for name, split in splits.items():
        outcome = parse_chunks(make_step(), split, limit=limit)
        assert (outcome.results, outcome.error) == (whole.results, whole.error), (
            f"fed {name}, the parser gave\n  {outcome!r}\nbut fed whole it gave\n  {whole!r}"
        )
    return whole


@given(message_lists, bad_header_lines, st.binary(max_size=50), st.data())
def test_bad_input_is_an_error(
    msgs: list[Message], bad_line: bytes, rest: bytes, data: st.DataObject
) -> None:
    stream = stream_of(msgs) + bad_line + rest
    chunks = data.draw(chunkings(stream), label="chunks")
    outcome = assert_same_verdict(lambda: FrameParser().next_message, stream, chunks, limit=LIMIT)
    assert outcome.results == msgs
    assert outcome.error is not None
    assert outcome.error[0] is ProtocolError


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
        (b"PING\nFRA", "the stream ends inside a header line: b'FRA'"),
    ],
)
def test_error_messages(stream: bytes, message: str) -> None:
    outcome = assert_same_verdict(lambda: FrameParser().next_message, stream, [stream], limit=LIMIT)
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
        assert_same_verdict(lambda: LeakyParser().next_message, stream, [stream], limit=LIMIT)
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
