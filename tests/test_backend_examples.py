"""The backends' examples (examples/asyncio, examples/trio, examples/anyio) run as
scripts and print what the specification's examples print.

Each script runs in an interpreter of its own, on the loopback interface only:
the echo client against the echo server script of the same backend (and
asyncio's client against trio's server), ``http_headers.py`` against a stdlib
HTTP server in a thread of this process, ``socketpair.py`` alone.  anyio's
scripts run on both of anyio's backends (``--backend``).  Warnings are errors
in the scripts (``-W error``), and anything on their stderr fails the test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.server
import importlib.util
import os
import queue
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
#: The longest any one script may take, in seconds.
SCRIPT_TIMEOUT = 20


@dataclasses.dataclass(frozen=True)
class Flavour:
    """Which scripts, and how to run them."""

    folder: str  # examples/<folder>
    args: tuple[str, ...] = ()  # extra arguments (anyio's --backend)
    uvloop: bool = False  # asyncio.run replaced by uvloop.run


HAVE_UVLOOP = importlib.util.find_spec("uvloop") is not None
FLAVOURS = [
    pytest.param(Flavour("asyncio"), id="asyncio"),
    pytest.param(
        Flavour("asyncio", uvloop=True),
        id="asyncio-uvloop",
        marks=pytest.mark.skipif(not HAVE_UVLOOP, reason="uvloop is not installed"),
    ),
    pytest.param(Flavour("trio"), id="trio"),
    pytest.param(Flavour("anyio", ("--backend", "asyncio")), id="anyio-asyncio"),
    pytest.param(Flavour("anyio", ("--backend", "trio")), id="anyio-trio"),
]

#: Runs ``python LAUNCHER [--uvloop] script.py ARGS`` as ``python script.py ARGS``
#: would, with two changes.  Python's own SIGINT handler is installed even if
#: this process was started with SIGINT ignored (as a background job is): the
#: echo servers stop on Ctrl-C, and the tests send SIGINT.  ``--uvloop`` makes
#: ``asyncio.run`` run on uvloop, as ``uvloop.run`` (which the asyncio tutorial
#: shows) does; not ``asyncio.run = uvloop.run``, since from Python 3.12 on
#: ``uvloop.run`` calls ``asyncio.run`` itself.
LAUNCHER = """\
import os, runpy, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
del sys.argv[0]
if sys.argv[0] == "--uvloop":
    import asyncio, uvloop
    if sys.version_info >= (3, 12):
        _run = asyncio.run
        asyncio.run = lambda main, **kw: _run(main, loop_factory=uvloop.new_event_loop, **kw)
    else:
        asyncio.run = uvloop.run
    del sys.argv[0]
sys.path[0] = os.path.dirname(sys.argv[0])
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def command(flavour: Flavour, name: str, *args: str) -> list[str]:
    """The command line that runs an example: warnings are errors, stdout unbuffered."""
    path = EXAMPLES / flavour.folder / f"{name}.py"
    assert path.is_file(), path
    launcher = [sys.executable, "-u", "-W", "error", "-c", LAUNCHER]
    if flavour.uvloop:
        launcher.append("--uvloop")
    return [*launcher, str(path), *args, *flavour.args]


def run_script(
    flavour: Flavour, name: str, *args: str, env: dict[str, str] | None = None
) -> list[str]:
    """Run an example to completion; return its stdout lines (stderr must be empty)."""
    stdout, stderr = run_script_with_stderr(flavour, name, *args, env=env)
    assert stderr == ""
    return stdout


def run_script_with_stderr(
    flavour: Flavour, name: str, *args: str, env: dict[str, str] | None = None
) -> tuple[list[str], str]:
    """Run an example to completion; return its stdout lines and its stderr."""
    proc = subprocess.run(
        command(flavour, name, *args),
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=False,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines(), proc.stderr


class ServerScript:
    """An echo server script running in the background, read line by line."""

    def __init__(self, flavour: Flavour, *args: str) -> None:
        self.proc = subprocess.Popen(
            command(flavour, "echo_server", *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def next_line(self) -> str:
        """The next line the server prints (fails if it exits or stays silent)."""
        line = self._lines.get(timeout=SCRIPT_TIMEOUT)
        assert line is not None, "the server exited"
        return line

    def interrupt(self) -> tuple[int, list[str], str]:
        """Ctrl-C: the return code, the lines not read yet and stderr."""
        self.proc.send_signal(signal.SIGINT)
        returncode = self.proc.wait(timeout=SCRIPT_TIMEOUT)
        self._reader.join(timeout=SCRIPT_TIMEOUT)
        rest = []
        while (line := self._lines.get_nowait()) is not None:
            rest.append(line)
        assert self.proc.stderr is not None
        return returncode, rest, self.proc.stderr.read()

    def kill(self) -> None:
        """Make sure the process is gone and its pipes closed."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=SCRIPT_TIMEOUT)
        self._reader.join(timeout=SCRIPT_TIMEOUT)  # at EOF: before its pipe is closed
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


@contextlib.contextmanager
def echo_server(flavour: Flavour, *args: str) -> Iterator[ServerScript]:
    server = ServerScript(flavour, *args)
    try:
        yield server
    finally:
        server.kill()


# ---------------------------------------------------- echo_client.py, echo_server.py


def check_echo(server_flavour: Flavour, client_flavour: Flavour) -> None:
    with echo_server(server_flavour, "--port", "0") as server:
        serving = server.next_line()
        match = re.fullmatch(r"Serving on \('127\.0\.0\.1', (\d+)\)", serving)
        assert match is not None, serving

        assert run_script(client_flavour, "echo_client", "--port", match[1]) == [
            "Send: 'Hello World!'",
            "Received: 'Hello World!'",
            "Close the connection",
        ]

        received = server.next_line()
        assert re.fullmatch(r"Received 'Hello World!' from \('127\.0\.0\.1', \d+\)", received)
        assert [server.next_line(), server.next_line()] == [
            "Send: 'Hello World!'",
            "Close the connection",
        ]
        # Ctrl-C ends serve_forever(): a clean exit, nothing more printed.  Once
        # the server is idle: on trio, a KeyboardInterrupt that lands while a
        # handler's task runs is raised in that task, and reaches trio.run()
        # in an exception group that contextlib.suppress() lets through on 3.11.
        time.sleep(0.2)
        assert server.interrupt() == (0, [], "")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_echo_client_and_server(flavour: Flavour) -> None:
    check_echo(flavour, flavour)


@pytest.mark.timeout(60)
def test_asyncio_echo_client_and_trio_echo_server() -> None:
    check_echo(Flavour("trio"), Flavour("asyncio"))


# ------------------------------------------------------------------ http_headers.py


class HeadHandler(http.server.BaseHTTPRequestHandler):
    """Answers HEAD with fixed headers (no Date or Server: the output is fixed)."""

    def do_HEAD(self) -> None:
        server = self.server
        assert isinstance(server, RecordingHTTPServer)
        server.requests.append((self.requestline, self.headers["Host"]))
        self.send_response_only(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", "5")
        self.send_header("X-Served-By", "http.server")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class RecordingHTTPServer(http.server.ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 (a free port) that records the requests."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), HeadHandler)
        self.requests: list[tuple[str, str | None]] = []


@contextlib.contextmanager
def http_server(tls: ssl.SSLContext | None) -> Iterator[RecordingHTTPServer]:
    server = RecordingHTTPServer()
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=SCRIPT_TIMEOUT)
        server.server_close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_http_headers(flavour: Flavour, scheme: str, ca: trustme.CA, tmp_path: Path) -> None:
    tls = None
    env = None
    if scheme == "https":
        # ssl=True in the script: the default context, which trusts the CAs
        # OpenSSL finds in SSL_CERT_FILE -- ours only.
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(tls)
        ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        env = {**os.environ, "SSL_CERT_FILE": str(tmp_path / "ca.pem")}
    with http_server(tls) as server:
        url = f"{scheme}://127.0.0.1:{server.server_address[1]}/path/page.html"
        assert run_script(flavour, "http_headers", url, env=env) == [
            "HTTP header> HTTP/1.0 200 OK",
            "HTTP header> Content-Type: text/html",
            "HTTP header> Content-Length: 5",
            "HTTP header> X-Served-By: http.server",
        ]
    assert server.requests == [("HEAD /path/page.html HTTP/1.0", "127.0.0.1")]


# -------------------------------------------------------------------- socketpair.py


@pytest.mark.timeout(60)
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_socketpair(flavour: Flavour) -> None:
    assert run_script(flavour, "socketpair") == ["Received: abc"]


# ------------------------------------------------------------- server_lifecycle.py


ASYNCIO_FLAVOURS = [p for p in FLAVOURS if p.id in ("asyncio", "asyncio-uvloop")]
PULL_FLAVOURS = [p for p in FLAVOURS if p.id in ("trio", "anyio-asyncio", "anyio-trio")]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("flavour", ASYNCIO_FLAVOURS)
def test_asyncio_server_lifecycle(flavour: Flavour) -> None:
    assert run_script(flavour, "server_lifecycle") == [
        "client reads: b'welcome\\n'",
        "serving: False",
        "wait_closed() returned: False",
        "client reads: b''",
        "wait_closed() returned: True",
    ]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("flavour", PULL_FLAVOURS)
def test_structured_server_lifecycle(flavour: Flavour) -> None:
    stdout, stderr = run_script_with_stderr(flavour, "server_lifecycle")
    group = "nursery" if flavour.folder == "trio" else "task group"
    assert stdout == [
        f"task_group=: b'Hello, {group}!\\n'",
        "handler raised: b''",
        "async with: b'Hello, block!\\n'",
        "serving after the block: False",
    ]
    # The handler that raised, logged with its traceback, once.
    lines = stderr.splitlines()
    assert re.fullmatch(
        r"ERROR:sansio_streams:Unhandled exception in client_connected_cb "
        r"\(peer \('127\.0\.0\.1', \d+\)\)",
        lines[0],
    )
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: no name given"
    assert stderr.count("Traceback") == 1


# ------------------------------------------------------------------ wrap_stream.py


@pytest.mark.timeout(60)
@pytest.mark.parametrize("flavour", PULL_FLAVOURS)
def test_wrap_stream(flavour: Flavour) -> None:
    assert run_script(flavour, "wrap_stream") == ["b'HELLO\\n'", "b'WORLD\\n'"]
