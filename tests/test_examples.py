"""The examples and the docs' code run and do what the docs say they do."""

from __future__ import annotations

import importlib.util
import inspect
import selectors
import socket
import struct
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sansio_streams import NEED_DATA, IncompleteReadError, NeedData, ReadBuffer
from sansio_streams.testing import assert_chunking_invariant, chunked, parse_chunks

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TESTING_RST = ROOT / "docs" / "testing.rst"
CUSTOM_LOOP = EXAMPLES / "custom_loop.py"
DEMO_OUTPUT = ["HELLO, WORLD", "SPLIT ACROSS SENDS", "TWO", "LINES", "ERROR line too long"]


def load_example(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def custom_loop() -> ModuleType:
    return load_example(CUSTOM_LOOP)


# ------------------------------------------------------ examples/custom_loop.py


@pytest.mark.timeout(30)
def test_custom_loop_runs_as_a_script() -> None:
    proc = subprocess.run(
        [sys.executable, str(CUSTOM_LOOP)],
        capture_output=True,
        text=True,
        timeout=25,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.splitlines() == DEMO_OUTPUT


@pytest.mark.timeout(30)
def test_custom_loop_main(custom_loop: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert custom_loop.main() == DEMO_OUTPUT
    assert capsys.readouterr().out.splitlines() == DEMO_OUTPUT


class Harness:
    """An EchoConnection on one end of a socketpair; the test plays the peer."""

    def __init__(self, custom_loop: ModuleType) -> None:
        self.sel = selectors.DefaultSelector()
        server_sock, self.peer = socket.socketpair()
        self.peer.setblocking(False)
        self.conn = custom_loop.EchoConnection(self.sel, server_sock)
        self.received = bytearray()
        self.peer_got_eof = False

    def step(self) -> None:
        """One turn of the server's loop, then the peer reads what it can."""
        for key, mask in self.sel.select(0.01):
            key.data.on_ready(mask)
        self.peer_reads()

    def peer_sends(self, data: bytes) -> int:
        """Send what the peer's socket takes now; return how much that was."""
        try:
            return self.peer.send(data)
        except BlockingIOError:
            return 0

    def peer_reads(self) -> None:
        while not self.peer_got_eof:
            try:
                data = self.peer.recv(65536)
            except BlockingIOError:
                return
            self.received += data
            self.peer_got_eof = not data

    def run_until(self, done: Callable[[], bool], seconds: float = 10.0) -> None:
        deadline = time.monotonic() + seconds
        while not done():
            assert time.monotonic() < deadline, "the server made no progress"
            self.step()

    def close(self) -> None:
        if not self.conn.closed:
            self.conn.close()
        self.peer.close()
        self.sel.close()


@pytest.fixture
def harness(custom_loop: ModuleType) -> Iterator[Harness]:
    h = Harness(custom_loop)
    yield h
    h.close()


@pytest.mark.timeout(30)
def test_line_split_across_sends(harness: Harness) -> None:
    harness.peer.sendall(b"hel")
    for _ in range(5):
        harness.step()
    # readline() said NEED_DATA: no answer yet, the partial line stays buffered.
    assert harness.received == b""
    assert len(harness.conn.reader) == 3
    harness.peer.sendall(b"lo\nwor")
    harness.run_until(lambda: harness.received == b"HELLO\n")
    harness.peer.sendall(b"ld\n")
    harness.run_until(lambda: harness.received == b"HELLO\nWORLD\n")
    assert not harness.conn.closed


@pytest.mark.timeout(30)
def test_partial_last_line_is_answered_at_eof(harness: Harness) -> None:
    harness.peer.sendall(b"one\ntwo")
    harness.peer.shutdown(socket.SHUT_WR)
    harness.run_until(lambda: harness.conn.closed and harness.peer_got_eof)
    assert harness.received == b"ONE\nTWO"


@pytest.mark.timeout(30)
def test_line_over_the_limit_ends_the_answers(harness: Harness, custom_loop: ModuleType) -> None:
    limit = custom_loop.LIMIT
    harness.peer.sendall(b"fine\n" + b"x" * (limit + 1) + b"\nignored\n")
    # The server answers up to the long line, then an error, then EOF...
    harness.run_until(lambda: harness.peer_got_eof)
    assert harness.received == b"FINE\nERROR line too long\n"
    # ...but keeps reading (and ignoring) until the peer's EOF, then closes.
    assert not harness.conn.closed
    harness.peer.sendall(b"y" * (3 * limit) + b"\nstill ignored\n")
    for _ in range(5):
        harness.step()
    assert not harness.conn.closed
    harness.peer.shutdown(socket.SHUT_WR)
    harness.run_until(lambda: harness.conn.closed)
    assert harness.received == b"FINE\nERROR line too long\n"


@pytest.mark.timeout(30)
def test_a_peer_that_does_not_read_is_stopped(harness: Harness) -> None:
    conn = harness.conn
    payload = b"".join(b"line %6d\n" % i for i in range(100_000))  # 1.2 MB
    sent = 0
    deadline = time.monotonic() + 10
    # The peer sends and never reads: the answers back up in the kernel, then in the
    # WriteBuffer, so the server stops taking lines; they back up in the ReadBuffer,
    # so the server stops reading the socket.
    while conn.events & selectors.EVENT_READ:
        assert time.monotonic() < deadline, "the server never stopped reading"
        sent += harness.peer_sends(payload[sent : sent + 65536])
        for key, mask in harness.sel.select(0):
            key.data.on_ready(mask)
    assert sent < len(payload)
    assert conn.writer.writing_paused
    assert conn.reader.reading_paused
    assert conn.events == selectors.EVENT_WRITE
    # Once the peer reads, everything flows again, and nothing was lost.
    while sent < len(payload):
        assert time.monotonic() < deadline
        sent += harness.peer_sends(payload[sent : sent + 65536])
        harness.step()
    harness.peer.shutdown(socket.SHUT_WR)
    harness.run_until(lambda: harness.conn.closed and harness.peer_got_eof)
    assert harness.received == payload.upper()


# ------------------------------------------------------------- docs/testing.rst
# The frame parser below is the worked example of docs/testing.rst, copied here
# so that it runs: keep the two copies the same (test_docs_show_this_code checks).


class FrameParser:
    """Frames: a 2-byte big-endian payload size, then the payload."""

    def __init__(self) -> None:
        # The current frame's payload size, once its header is read: a step
        # may return NEED_DATA between the header and the payload.
        self._size: int | None = None

    def next_frame(self, buf: ReadBuffer) -> bytes | NeedData:
        if self._size is None:
            header = buf.readexactly(2)
            if header is NEED_DATA:
                return NEED_DATA
            (self._size,) = struct.unpack(">H", header)
        payload = buf.readexactly(self._size)
        if payload is NEED_DATA:
            return NEED_DATA
        self._size = None
        return payload


def frame(payload: bytes) -> bytes:
    return struct.pack(">H", len(payload)) + payload


def forgetful_next_frame(buf: ReadBuffer) -> bytes | NeedData:
    header = buf.readexactly(2)
    if header is NEED_DATA:
        return NEED_DATA
    (size,) = struct.unpack(">H", header)
    return buf.readexactly(size)  # NEED_DATA here drops the header


payload_lists = st.lists(st.binary(max_size=300), max_size=8)
streams = st.builds(
    lambda payloads, tail: b"".join(map(frame, payloads)) + tail,
    payload_lists,
    st.binary(max_size=3),  # a truncated frame at the end, sometimes
)


@settings(deadline=None)
@given(chunked(streams))
def test_frame_parser_chunking_invariant(data_and_chunks: tuple[bytes, list[bytes]]) -> None:
    data, chunks = data_and_chunks
    assert_chunking_invariant(lambda: FrameParser().next_frame, data, chunks)


@settings(deadline=None)
@given(payload_lists)
def test_frame_parser_results(payloads: list[bytes]) -> None:
    data = b"".join(map(frame, payloads))
    outcome = assert_chunking_invariant(lambda: FrameParser().next_frame, data)
    assert outcome.results == payloads
    assert outcome.error is None
    assert outcome.at_eof


def test_frame_parser_truncated_frame() -> None:
    outcome = parse_chunks(FrameParser().next_frame, [frame(b"abc"), b"\x00\x05ab"])
    assert outcome.results == [b"abc"]
    # Outcome keeps (type, args); asyncio's IncompleteReadError args are its message.
    assert outcome.error == (IncompleteReadError, ("2 bytes read on a total of 5 expected bytes",))
    assert outcome.remaining == 0


def test_forgetful_parser_fails_the_invariant() -> None:
    data = frame(b"abc")
    assert parse_chunks(forgetful_next_frame, [data]).results == [b"abc"]
    with pytest.raises(AssertionError, match="one byte at a time"):
        assert_chunking_invariant(lambda: forgetful_next_frame, data)


def rst_code_blocks(path: Path) -> list[str]:
    """The contents of the ``.. code-block:: python`` directives in ``path``."""
    blocks = []
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() != ".. code-block:: python":
            continue
        body = []
        for text in lines[i + 1 :]:
            if text and not text.startswith(" "):
                break
            body.append(text)
        blocks.append(textwrap.dedent("\n".join(body)).strip())
    return blocks


@pytest.mark.parametrize("name", ["FrameParser", "frame", "forgetful_next_frame"])
def test_docs_show_this_code(name: str) -> None:
    source = inspect.getsource(globals()[name]).strip()
    assert any(source in block for block in rst_code_blocks(TESTING_RST)), (
        f"docs/testing.rst no longer shows {name} as tests/test_examples.py has it"
    )
