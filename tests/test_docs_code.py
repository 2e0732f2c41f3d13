"""The docs' short Python examples run and do what the pages say; no page shows
Python that no test runs.

The pages show code with ``.. literalinclude::`` only, from files the tests
run: the examples (tests/test_backend_examples.py, tests/test_examples.py,
tests/test_frames_example.py, tests/conformance/test_examples.py) and, for the
short examples, ``examples/snippets/``, whose functions this file runs against
real connections on every backend.  The API page's two docstring examples
run here as written.  The last part of the file is the guard: it fails if a
page, or a docstring the API page renders, gets Python of its own again.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import contextvars
import dataclasses
import functools
import importlib
import importlib.util
import inspect
import re
import runpy
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVarTuple

import anyio
import pytest
import trio
import trio.testing
import trustme

import sansio_streams_anyio
import sansio_streams_asyncio
import sansio_streams_trio
from sansio_streams import NEED_DATA, ReadBuffer

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SNIPPETS = ROOT / "examples" / "snippets"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # examples/ is not an installed package

from examples.snippets import (  # noqa: E402
    anyio_tutorial,
    asyncio_tutorial,
    core_receive,
    trio_tutorial,
)

HAVE_UVLOOP = importlib.util.find_spec("uvloop") is not None

# ------------------------------------------------------------------ the runners

#: Each tutorial's snippets, on every way the tutorial runs them.
FLAVOURS = [
    pytest.param("asyncio", id="asyncio"),
    pytest.param(
        "asyncio-uvloop",
        id="asyncio-uvloop",
        marks=pytest.mark.skipif(not HAVE_UVLOOP, reason="uvloop is not installed"),
    ),
    pytest.param("trio", id="trio"),
    pytest.param("anyio-asyncio", id="anyio-asyncio"),
    pytest.param("anyio-trio", id="anyio-trio"),
]
BACKEND: dict[str, tuple[ModuleType, ModuleType]] = {
    "asyncio": (sansio_streams_asyncio, asyncio_tutorial),
    "asyncio-uvloop": (sansio_streams_asyncio, asyncio_tutorial),
    "trio": (sansio_streams_trio, trio_tutorial),
    "anyio-asyncio": (sansio_streams_anyio, anyio_tutorial),
    "anyio-trio": (sansio_streams_anyio, anyio_tutorial),
}

_Ts = TypeVarTuple("_Ts")

#: How much faster than real time the fast-forward loops' timers fire.
SPEEDUP = 1000.0


class _FastForward(asyncio.AbstractEventLoop):
    """An event loop on which time flies: a timer set for an absolute deadline
    (``asyncio.timeout()``'s, anyio's cancel scopes') fires after a thousandth
    of its delay, and the loop's clock then jumps to the deadline.  trio's
    ``MockClock(autojump_threshold=0)`` does the same for trio."""

    skipped = 0.0

    def time(self) -> float:
        return super().time() + self.skipped

    def call_at(
        self,
        when: float,
        callback: Callable[[*_Ts], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        delay = max(0.0, when - self.time())
        return super().call_at(
            self.time() + delay / SPEEDUP,
            self._arrive,
            when,
            functools.partial(callback, *args),
            context=context,
        )

    def _arrive(self, when: float, callback: Callable[[], object]) -> None:
        self.skipped += max(0.0, when - self.time())
        callback()


class FastForwardLoop(_FastForward, asyncio.SelectorEventLoop):
    pass


def uvloop_factory(time_flies: bool) -> Callable[[], asyncio.AbstractEventLoop]:
    import uvloop  # noqa: PLC0415 - optional

    if not time_flies:
        return uvloop.new_event_loop

    # uvloop's stubs and typeshed disagree on many of the loop's signatures.
    class FastForwardUvloop(_FastForward, uvloop.Loop):  # type: ignore[misc]
        pass

    return FastForwardUvloop


Scenario = Callable[[], Coroutine[Any, Any, None]]


def run(flavour: str, scenario: Scenario, *, time_flies: bool = False) -> None:
    """Run ``scenario()`` as the tutorial of ``flavour`` runs a program; with
    ``time_flies``, timeouts expire at once instead of after seconds."""
    clock = trio.testing.MockClock(autojump_threshold=0) if time_flies else None
    if flavour == "asyncio":
        with asyncio.Runner(loop_factory=FastForwardLoop if time_flies else None) as runner:
            runner.run(scenario())
    elif flavour == "asyncio-uvloop":
        with asyncio.Runner(loop_factory=uvloop_factory(time_flies)) as runner:
            runner.run(scenario())
    elif flavour == "trio":
        trio.run(scenario, clock=clock)
    elif flavour == "anyio-asyncio":
        options = {"loop_factory": FastForwardLoop} if time_flies else {}
        anyio.run(scenario, backend="asyncio", backend_options=options)
    else:
        assert flavour == "anyio-trio"
        anyio.run(scenario, backend="trio", backend_options={"clock": clock})


# ------------------------------------------ the tutorials' snippets, per backend


@pytest.mark.timeout(30)
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_read_head(flavour: str) -> None:
    """Reading a header block that must fit within the limit: the head; or
    LimitOverrunError, caught, with the bytes still buffered; or
    IncompleteReadError at EOF, caught."""
    streams, snippets = BACKEND[flavour]

    async def scenario() -> None:
        rsock, peer = socket.socketpair()
        reader, writer = await streams.open_connection(sock=rsock, limit=64)
        with peer:
            peer.sendall(b"GET / HTTP/1.0\r\nHost: example.com\r\n\r\nbody")
            head = await snippets.read_head(reader)
            assert head == b"GET / HTTP/1.0\r\nHost: example.com\r\n\r\n"
            assert await reader.readexactly(4) == b"body"

            # No separator within the limit: the LimitOverrunError branch (EOF
            # has not come), and every byte is still there to read.
            too_long = b"X-Padding: " + b"x" * 100 + b"\r\n"
            peer.sendall(too_long)
            assert await snippets.read_head(reader) is None
            assert not reader.at_eof()
            assert await reader.readexactly(len(too_long)) == too_long

            # EOF first: the IncompleteReadError branch, which took the bytes.
            peer.sendall(b"GET / HTTP/1.0\r\n")
            peer.shutdown(socket.SHUT_WR)
            assert await snippets.read_head(reader) is None
            assert reader.at_eof()
            writer.close()
            await writer.wait_closed()

    run(flavour, scenario)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_read_line_within_a_deadline(flavour: str) -> None:
    """A read that times out consumes nothing: the next readline() returns
    the whole line, the bytes received before the deadline included."""
    streams, snippets = BACKEND[flavour]

    async def scenario() -> None:
        rsock, peer = socket.socketpair()
        reader, writer = await streams.open_connection(sock=rsock)
        with peer:
            peer.sendall(b"hel")
            assert await snippets.read_line_within(reader) is None  # 5 s went by
            peer.sendall(b"lo\n")
            assert await snippets.read_line_within(reader) == b"hello\n"
            writer.close()
            await writer.wait_closed()

    run(flavour, scenario, time_flies=True)


@dataclasses.dataclass
class MailServer:
    """A STARTTLS server in a thread, on blocking sockets: answers STARTTLS,
    takes the server's side of the handshake, then answers one line in
    capitals over TLS."""

    context: ssl.SSLContext
    listener: socket.socket = dataclasses.field(init=False)
    errors: list[BaseException] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        port: int = self.listener.getsockname()[1]
        return port

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
            conn.settimeout(10)
            with conn:
                assert self._readline(conn) == b"STARTTLS\r\n"
                conn.sendall(b"220 Ready to start TLS\r\n")
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(self._readline(tls).upper())
                    assert tls.recv(1) == b""  # the client's close_notify
                    with contextlib.suppress(OSError):  # the client may not wait for ours
                        tls.unwrap()
        except BaseException as exc:  # reported by close()
            self.errors.append(exc)

    @staticmethod
    def _readline(sock: socket.socket) -> bytes:
        line = b""
        while not line.endswith(b"\n"):
            byte = sock.recv(1)  # one byte at a time: nothing read past the line
            if not byte:
                break
            line += byte
        return line

    def close(self) -> None:
        self.thread.join(10)
        self.listener.close()
        assert not self.thread.is_alive()
        if self.errors:
            raise self.errors[0]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def mail_server(
    ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MailServer]:
    """The server, with a certificate for mail.example.com from a CA that
    ``ssl.create_default_context()`` trusts for the test's duration (OpenSSL
    reads SSL_CERT_FILE whenever a context loads the default certificates)."""
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("mail.example.com").configure_cert(context)
    server = MailServer(context)
    yield server
    server.close()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_starttls(flavour: str, mail_server: MailServer) -> None:
    """STARTTLS: the reply is read in the clear, then the connection is
    upgraded in place, the server checked as mail.example.com."""
    streams, snippets = BACKEND[flavour]

    async def scenario() -> None:
        reader, writer = await streams.open_connection("127.0.0.1", mail_server.port)
        assert writer.get_extra_info("ssl_object") is None
        reply = await snippets.upgrade_to_tls(reader, writer)
        assert reply == b"220 Ready to start TLS\r\n"
        ssl_object = writer.get_extra_info("ssl_object")
        assert ssl_object is not None
        assert ssl_object.server_hostname == "mail.example.com"
        writer.write(b"hello over tls\n")
        assert await reader.readline() == b"HELLO OVER TLS\n"
        writer.close()
        await writer.wait_closed()

    run(flavour, scenario)


# ----------------------------------------------------------- docs/core.rst


def test_core_need_data() -> None:
    """The NEED_DATA example's assertions hold, and it reads every byte."""
    namespace = runpy.run_path(str(SNIPPETS / "core_need_data.py"))
    buf = namespace["buf"]
    assert isinstance(buf, ReadBuffer)
    assert len(buf) == 0
    assert buf.readuntil(b"\r\n") is NEED_DATA


def test_core_receive_into() -> None:
    """Zero-copy receive: the bytes land in the buffer; EOF is fed at EOF."""
    buf = ReadBuffer(limit=2**16)
    ours, peer = socket.socketpair()
    with ours, peer:
        peer.sendall(b"hello\nwor")
        core_receive.receive_into(ours, buf)
        assert buf.readline() == b"hello\n"
        peer.sendall(b"ld\n")
        peer.shutdown(socket.SHUT_WR)
        core_receive.receive_into(ours, buf)
        assert not buf.at_eof()
        core_receive.receive_into(ours, buf)  # recv_into() returns 0: EOF
        assert buf.readline() == b"world\n"
        assert buf.at_eof()


def test_core_readline_batch() -> None:
    """Every complete line at once; else what readline() does: NEED_DATA, the
    partial last line at EOF, b"", or ValueError for a line over the limit."""
    buf = ReadBuffer(limit=16)
    buf.feed_data(b"one\ntwo\nthr")
    assert core_receive.next_lines(buf) == [b"one\n", b"two\n"]
    assert core_receive.next_lines(buf) == [NEED_DATA]
    buf.feed_eof()
    assert core_receive.next_lines(buf) == [b"thr"]
    assert core_receive.next_lines(buf) == [b""]

    buf = ReadBuffer(limit=16)
    buf.feed_data(b"x" * 40 + b"\n")
    with pytest.raises(ValueError, match="limit"):
        core_receive.next_lines(buf)


# ------------------------------------------ docs/api.rst: docstring examples
#
# The API page shows two examples from module docstrings (autodoc), which
# this project's docs cannot include from a file: they run here as written.


def docstring_example(module: ModuleType) -> str:
    """The one Python example in ``module``'s docstring."""
    examples = [
        block.text
        for block in rst_blocks(module.__name__, inspect.cleandoc(module.__doc__ or ""))
        if looks_like_python(block.text)
    ]
    assert len(examples) == 1, examples
    return examples[0]


def test_testing_docstring_example() -> None:
    """sansio_streams.testing's example: its property test runs, and passes."""
    import sansio_streams.testing  # noqa: PLC0415 - the module under test

    namespace: dict[str, Any] = {"__name__": "docstring_example"}
    exec(compile(docstring_example(sansio_streams.testing), "<docstring>", "exec"), namespace)
    namespace["test_lines"]()


@pytest.mark.timeout(30)
def test_asyncio_docstring_example() -> None:
    """sansio_streams_asyncio's example connects to 127.0.0.1:8888 -- a server
    of the package's own here -- with the package's reader and writer."""
    code = compile(
        docstring_example(sansio_streams_asyncio),
        "<docstring>",
        "exec",
        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
        dont_inherit=True,
    )

    async def handle(reader: Any, writer: Any) -> None:
        writer.write(b"hello\n")
        writer.close()
        await writer.wait_closed()

    async def scenario() -> None:
        try:
            server = await sansio_streams_asyncio.start_server(handle, "127.0.0.1", 8888)
        except OSError as exc:
            pytest.skip(f"port 8888 is not free: {exc}")
        async with server:
            namespace: dict[str, Any] = {}
            await eval(code, namespace)  # a coroutine: the code awaits
            reader, writer = namespace["reader"], namespace["writer"]
            assert isinstance(reader, sansio_streams_asyncio.StreamReader)
            assert isinstance(writer, sansio_streams_asyncio.StreamWriter)
            assert await reader.readline() == b"hello\n"
            writer.close()
            await writer.wait_closed()

    asyncio.run(scenario())


# ------------------------------------------------------------------ the guard
#
# Rule: a page may show Python only by ``.. literalinclude::`` (a file that a
# test runs).  So a page fails if it has
#
# * a code block labelled Python: ``.. code-block::`` / ``.. code::`` /
#   ``.. sourcecode::`` or a Markdown fence (also ``{code-block}``) whose
#   language is python, py, python3, py3, pycon, ipython or ipython3 -- or that
#   has no language, which Sphinx highlights as Python;
# * a block with no language -- a ``::`` literal block, a Markdown indented
#   block -- or labelled text, none, console, shell, bash or sh, whose content
#   looks like Python: a ``>>>`` prompt, or code that parses as Python
#   (``await`` allowed) with a statement other than bare names and constants
#   (``HELLO, WORLD``) or ``name: value`` (``Received: abc``), which is what
#   program output can look like.  Shell commands and output do not parse;
# * a doctest block (a paragraph of ``>>>`` lines).
#
# Other languages (toml, json, ...) are not Python, whatever they parse as.

PYTHON_LANGUAGES = {"", "python", "py", "python3", "py3", "pycon", "ipython", "ipython3"}
CHECKED_LANGUAGES = {"text", "none", "console", "shell", "bash", "sh", None}
RST_CODE_DIRECTIVES = {"code-block", "code", "sourcecode"}
RST_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+([\w:-]+)::(.*)$")
MD_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})\s*(.*)$")


@dataclasses.dataclass(frozen=True)
class Block:
    page: str
    line: int  # where the block's directive, fence or ``::`` is, from 1
    language: str | None  # None: a ``::`` or indented block, whose language is not stated
    text: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line} ({self.language or 'no language'})"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _dedent(lines: list[str]) -> str:
    body = [line for line in lines if line.strip()]
    width = min((_indent(line) for line in body), default=0)
    return "\n".join(line[width:] for line in lines).strip("\n") + "\n"


def _indented_block(lines: list[str], start: int, base: int) -> tuple[list[str], int]:
    """The lines from ``start`` indented more than ``base`` (blank lines
    included), and the index after them."""
    end = start
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > base):
        end += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end], end


def rst_blocks(page: str, text: str, first_line: int = 1) -> Iterator[Block]:
    lines = text.expandtabs().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = RST_DIRECTIVE.match(line)
        if directive:
            indent, name, argument = directive.groups()
            content, end = _indented_block(lines, i + 1, len(indent))
            if name in RST_CODE_DIRECTIVES:
                while content and re.match(r"\s+:[\w-]+:", content[0]):
                    content = content[1:]  # the directive's options
                yield Block(page, first_line + i, argument.strip().lower(), _dedent(content))
                i = end
                continue
            i += 1  # other directives' content is text: scanned as such
            continue
        stripped = line.strip()
        if stripped.startswith(">>>"):
            paragraph, end = [line], i + 1
            while end < len(lines) and lines[end].strip():
                paragraph.append(lines[end])
                end += 1
            yield Block(page, first_line + i, "pycon", _dedent(paragraph))
            i = end
            continue
        if stripped.endswith("::") and not stripped.startswith(".."):
            content, end = _indented_block(lines, i + 1, _indent(line))
            if any(part.strip() for part in content):
                yield Block(page, first_line + i, None, _dedent(content))
                i = end
                continue
        i += 1


def md_blocks(page: str, text: str) -> Iterator[Block]:
    lines = text.expandtabs().splitlines()
    i = 0
    previous_blank = True
    while i < len(lines):
        line = lines[i]
        fence = MD_FENCE.match(line)
        if fence:
            marker, info = fence.group(2), fence.group(3).strip()
            end = i + 1
            closing = re.compile(rf"^ {{0,3}}{marker[0]}{{{len(marker)},}}\s*$")
            while end < len(lines) and not closing.match(lines[end]):
                end += 1
            content = lines[i + 1 : end]
            words = info.split()
            directive = words[0] if words and words[0].startswith("{") else None
            if directive == "{eval-rst}":
                yield from rst_blocks(page, "\n".join(content), first_line=i + 2)
            elif directive is None or directive.strip("{}") in RST_CODE_DIRECTIVES:
                language = words[1] if directive and len(words) > 1 else ""
                if directive is None and words:
                    language = words[0]
                while content and re.match(r"\s*:[\w-]+:", content[0]):
                    content = content[1:]  # the directive's options
                yield Block(page, i + 1, language.lower(), _dedent(content))
            i, previous_blank = end + 1, False
            continue
        if previous_blank and _indent(line) >= 4 and line.strip():
            content, end = _indented_block(lines, i, 3)
            yield Block(page, i + 1, None, _dedent(content))
            i, previous_blank = end, False
            continue
        previous_blank = not line.strip()
        i += 1


def doc_blocks(path: Path) -> list[Block]:
    page = str(path.relative_to(ROOT))
    text = path.read_text(encoding="utf-8")
    scan = md_blocks if path.suffix == ".md" else rst_blocks
    return list(scan(page, text))


def _output_like(statement: ast.stmt) -> bool:
    """Whether a statement is bare names and constants, or ``name: value``:
    what a line of program output can parse as."""
    if isinstance(statement, ast.Expr):
        nodes = list(ast.walk(statement.value))
    elif isinstance(statement, ast.AnnAssign) and statement.value is None:
        nodes = [*ast.walk(statement.target), *ast.walk(statement.annotation)]
    else:
        return False
    return all(
        isinstance(node, ast.Name | ast.Constant | ast.Tuple | ast.Load | ast.Store)
        for node in nodes
    )


def looks_like_python(text: str) -> bool:
    if any(line.lstrip().startswith(">>>") for line in text.splitlines()):
        return True
    try:
        tree = compile(
            text,
            "<docs>",
            "exec",
            flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
            dont_inherit=True,
        )
    except (SyntaxError, ValueError):
        return False
    assert isinstance(tree, ast.Module)
    return not all(_output_like(statement) for statement in tree.body)


def untested_python(block: Block) -> bool:
    if block.language in PYTHON_LANGUAGES:
        return True
    return block.language in CHECKED_LANGUAGES and looks_like_python(block.text)


def doc_pages() -> list[Path]:
    return sorted(
        path
        for path in DOCS.rglob("*")
        if path.suffix in {".rst", ".md"}
        and not any(part.startswith("_") for part in path.relative_to(DOCS).parts)
    )


def test_no_page_shows_untested_python() -> None:
    offenders = [
        f"{block}:\n{block.text}"
        for path in doc_pages()
        for block in doc_blocks(path)
        if untested_python(block)
    ]
    assert not offenders, (
        "Python shown inline in the docs, which no test runs: move it to a file "
        "under examples/snippets/, test it in tests/test_docs_code.py, and show it "
        "with `.. literalinclude::`.\n\n" + "\n".join(offenders)
    )


#: The docstrings with a Python example, each run above.
TESTED_DOCSTRINGS = {"sansio_streams.testing", "sansio_streams_asyncio"}


def docstrings(module: ModuleType) -> Iterator[tuple[str, str]]:
    """``module``'s docstring and those of its classes, functions, methods and
    properties that this project defines: ``(qualified name, docstring)``."""
    stack: list[tuple[str, object]] = [(module.__name__, module)]
    seen: set[int] = set()
    while stack:
        name, obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        doc = getattr(obj, "__doc__", None)
        if isinstance(doc, str):
            yield name, inspect.cleandoc(doc)
        if not (inspect.ismodule(obj) or inspect.isclass(obj)):
            continue
        for member_name, attribute in vars(obj).items():
            member = getattr(attribute, "__func__", attribute)  # staticmethod, classmethod
            origin = member.fget if isinstance(member, property) else member
            documented = inspect.isclass(member) or inspect.isfunction(origin)
            defined_in = getattr(origin, "__module__", None) or ""
            if documented and defined_in.startswith("sansio_streams"):
                stack.append((f"{name}.{member_name}", member))


def test_no_docstring_shows_untested_python() -> None:
    """The same rule for the docstrings of the modules the pages document with
    ``.. automodule::``: a Python example there is one of those run above."""
    modules = {
        name
        for path in doc_pages()
        for name in re.findall(r"^\.\. automodule:: (\S+)", path.read_text(), re.MULTILINE)
    }
    assert modules >= TESTED_DOCSTRINGS
    found = {
        name
        for module_name in modules
        for name, doc in docstrings(importlib.import_module(module_name))
        if any(untested_python(block) for block in rst_blocks(name, doc))
    }
    assert found == TESTED_DOCSTRINGS, "a docstring's Python example that no test runs"


def test_the_guard_sees_the_pages_blocks() -> None:
    """The scanner finds the pages' literal blocks (the shell commands and
    output they do show), so the guard is not passing for want of blocks."""
    blocks = {path.name: doc_blocks(path) for path in doc_pages()}
    assert {"core.rst", "design.md", "tutorial-trio.rst"} <= set(blocks)
    trio_blocks = blocks["tutorial-trio.rst"]
    assert any("$ python examples/trio/echo_client.py" in b.text for b in trio_blocks)
    assert [b.language for b in blocks["design.md"]] == ["text"]
    assert sum(len(page_blocks) for page_blocks in blocks.values()) >= 20


GUARD_SAMPLE_RST = """\
Title
=====

Shell::

   $ python examples/custom_loop.py
   HELLO, WORLD

Output::

   Received: abc
   TWO

.. code-block:: console

   $ pip install sansio-streams

.. code-block:: toml

   [project]
   name = "x"

.. literalinclude:: ../examples/frames.py
   :pyobject: encode

* A list item with code::

     reply = await reader.readline()

.. code-block:: python

   print("hello")

.. code-block::

   x = 1

.. code-block:: text
   :caption: Python in disguise

   buf.feed_data(b"x")

>>> 1 + 1
2

.. note::

   Nested::

      import sansio_streams
"""

GUARD_SAMPLE_MD = """\
# Title

```text
┌────┐
│ box │
└────┘
```

```console
$ python -m sansio_streams
```

```python
print("hello")
```

```{code-block} python
:caption: a directive
print("hello")
```

```{literalinclude} ../examples/frames.py
:pyobject: encode
```

Indented:

    writer.write(b"x")

```{eval-rst}
.. code-block:: py

   x = 1
```
"""


def test_the_guard_rule() -> None:
    """What the guard flags, on samples of every form."""
    rst = [(b.line, untested_python(b)) for b in rst_blocks("sample.rst", GUARD_SAMPLE_RST)]
    assert rst == [
        (4, False),  # shell command and output
        (9, False),  # output that parses as bare names
        (14, False),  # console
        (18, False),  # another language
        (26, True),  # a `::` block of Python, in a list item
        (30, True),  # code-block:: python
        (34, True),  # code-block without a language: highlighted as Python
        (38, True),  # text that is Python
        (43, True),  # a doctest block
        (48, True),  # a `::` block of Python, in a directive
    ]
    md = [(b.line, untested_python(b)) for b in md_blocks("sample.md", GUARD_SAMPLE_MD)]
    assert md == [
        (3, False),  # a diagram
        (9, False),  # console
        (13, True),  # a python fence
        (17, True),  # a {code-block} python directive
        (28, True),  # an indented block of Python
        (31, True),  # Python in an {eval-rst} block
    ]


def test_every_snippet_is_shown() -> None:
    """Each file of examples/snippets/ is shown by a page, and each page's
    snippet exists (Sphinx fails the build on a missing start/end marker)."""
    shown = {
        match
        for path in doc_pages()
        for match in re.findall(
            r"literalinclude:: \.\./examples/snippets/(\S+)", path.read_text(encoding="utf-8")
        )
    }
    files = {path.name for path in SNIPPETS.glob("*.py")}
    assert shown == files
