"""The examples and the docs' code run and do what the docs say they do."""

from __future__ import annotations

import importlib.util
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

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
# Its worked example is examples/frames.py, tested by tests/test_frames_example.py;
# the page shows both with literalinclude, so what it shows is what runs.


def test_testing_page_includes_the_tested_code() -> None:
    text = TESTING_RST.read_text()
    assert ".. literalinclude:: ../examples/frames.py" in text
    assert ".. literalinclude:: ../tests/test_frames_example.py" in text
    assert ".. code-block:: python" not in text, "show code by literalinclude, so that it runs"
