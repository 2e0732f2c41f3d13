"""Write the intersphinx inventories that docs/conf.py reads instead of the web.

The docs are built without network access, so intersphinx cannot download
``objects.inv`` from docs.python.org, trio.readthedocs.io and
anyio.readthedocs.io.  This script writes small stand-ins (Sphinx inventory
format version 2) listing only the objects our docs refer to, with their real
addresses relative to the base URLs in conf.py, so the links in the built docs
point to the real pages.

When a page refers to a new outside object, add it below and run::

    python docs/_inventories/make_inventories.py          # rewrite the files
    python docs/_inventories/make_inventories.py --check  # exit 1 if they are stale

``--check`` compares the uncompressed contents, so another zlib build that
compresses differently does not make the files look stale.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (name, domain:role, page#anchor); the anchor is the object's name unless given.
Entry = tuple[str, str, str]


def _objects(page: str, role: str, *names: str) -> list[Entry]:
    return [(name, role, f"{page}#{name}") for name in names]


_STREAMS = "library/asyncio-stream.html"
_PROTOCOLS = "library/asyncio-protocol.html"
_EXCEPTIONS = "library/exceptions.html"

PYTHON: list[Entry] = [
    ("asyncio", "py:module", "library/asyncio.html#module-asyncio"),
    ("selectors", "py:module", "library/selectors.html#module-selectors"),
    ("socket", "py:module", "library/socket.html#module-socket"),
    ("struct", "py:module", "library/struct.html#module-struct"),
    *_objects(_STREAMS, "py:class", "asyncio.StreamReader", "asyncio.StreamWriter"),
    *_objects(_STREAMS, "py:function", "asyncio.open_connection", "asyncio.start_server"),
    *_objects(
        _STREAMS,
        "py:method",
        "asyncio.StreamReader.read",
        "asyncio.StreamReader.readline",
        "asyncio.StreamReader.readexactly",
        "asyncio.StreamReader.readuntil",
        "asyncio.StreamReader.at_eof",
        "asyncio.StreamWriter.write",
        "asyncio.StreamWriter.writelines",
        "asyncio.StreamWriter.write_eof",
        "asyncio.StreamWriter.drain",
        "asyncio.StreamWriter.close",
    ),
    *_objects(
        "library/asyncio-exceptions.html",
        "py:exception",
        "asyncio.IncompleteReadError",
        "asyncio.LimitOverrunError",
    ),
    *_objects(
        "library/asyncio-exceptions.html",
        "py:attribute",
        "asyncio.IncompleteReadError.partial",
        "asyncio.IncompleteReadError.expected",
        "asyncio.LimitOverrunError.consumed",
    ),
    *_objects(
        "library/asyncio-eventloop.html",
        "py:class",
        "asyncio.AbstractEventLoop",
        "asyncio.Server",
    ),
    *_objects(
        "library/asyncio-eventloop.html",
        "py:method",
        "asyncio.loop.add_reader",
        "asyncio.loop.add_writer",
        "asyncio.loop.create_connection",
        "asyncio.loop.start_tls",
    ),
    *_objects(
        _PROTOCOLS,
        "py:class",
        "asyncio.BaseTransport",
        "asyncio.WriteTransport",
        "asyncio.Transport",
        "asyncio.BaseProtocol",
        "asyncio.Protocol",
    ),
    *_objects(
        _PROTOCOLS,
        "py:method",
        "asyncio.ReadTransport.pause_reading",
        "asyncio.ReadTransport.resume_reading",
        "asyncio.Protocol.data_received",
        "asyncio.Protocol.eof_received",
        "asyncio.BaseProtocol.connection_lost",
    ),
    *_objects("library/ssl.html", "py:exception", "ssl.SSLError"),
    *_objects("library/ssl.html", "py:class", "ssl.SSLContext", "ssl.SSLObject", "ssl.MemoryBIO"),
    *_objects("library/ssl.html", "py:method", "ssl.SSLContext.wrap_bio"),
    *_objects("library/os.html", "py:class", "os.PathLike"),
    *_objects(
        "library/contextlib.html",
        "py:class",
        "contextlib.AbstractContextManager",
        "contextlib.AbstractAsyncContextManager",
    ),
    *_objects("library/logging.html", "py:class", "logging.Logger"),
    *_objects("library/io.html", "py:class", "io.BytesIO"),
    *_objects("library/time.html", "py:function", "time.perf_counter_ns"),
    *_objects("library/gc.html", "py:function", "gc.collect"),
    *_objects(_PROTOCOLS, "py:class", "asyncio.BufferedProtocol"),
    *_objects(
        _PROTOCOLS,
        "py:method",
        "asyncio.BufferedProtocol.get_buffer",
        "asyncio.BufferedProtocol.buffer_updated",
        "asyncio.BaseProtocol.pause_writing",
        "asyncio.BaseProtocol.resume_writing",
        "asyncio.WriteTransport.set_write_buffer_limits",
        "asyncio.WriteTransport.get_write_buffer_limits",
        "asyncio.WriteTransport.get_write_buffer_size",
        "asyncio.WriteTransport.write_eof",
        "asyncio.WriteTransport.abort",
    ),
    *_objects(
        "library/selectors.html",
        "py:class",
        "selectors.BaseSelector",
        "selectors.DefaultSelector",
    ),
    *_objects(
        "library/selectors.html",
        "py:method",
        "selectors.BaseSelector.register",
        "selectors.BaseSelector.unregister",
        "selectors.BaseSelector.modify",
        "selectors.BaseSelector.select",
    ),
    *_objects("library/socket.html", "py:class", "socket.socket"),
    *_objects(
        "library/socket.html",
        "py:method",
        "socket.socket.recv_into",
        "socket.socket.send",
        "socket.socket.shutdown",
        "socket.socket.setblocking",
        "socket.socket.close",
    ),
    *_objects("library/struct.html", "py:function", "struct.pack", "struct.unpack"),
    *_objects("library/stdtypes.html", "py:class", "bytes", "bytearray", "memoryview"),
    *_objects("library/stdtypes.html", "py:class", "str", "list", "tuple"),
    *_objects("library/stdtypes.html", "py:method", "memoryview.release"),
    *_objects("library/functions.html", "py:class", "int", "bool", "object", "type"),
    *_objects("library/constants.html", "py:data", "None", "True", "False"),
    *_objects(
        _EXCEPTIONS,
        "py:exception",
        "BaseException",
        "Exception",
        "AssertionError",
        "ValueError",
        "RuntimeError",
        "TypeError",
        "BlockingIOError",
        "ConnectionError",
        "TimeoutError",
    ),
    *_objects(
        "library/collections.abc.html",
        "py:class",
        "collections.abc.AsyncIterator",
        "collections.abc.Awaitable",
        "collections.abc.Callable",
        "collections.abc.Iterable",
        "collections.abc.Sequence",
    ),
    *_objects("library/enum.html", "py:class", "enum.Enum"),
    *_objects(
        "library/typing.html", "py:class", "typing.Generic", "typing.Protocol", "typing.TypeVar"
    ),
    *_objects("library/typing.html", "py:data", "typing.Literal"),
]

TRIO: list[Entry] = [
    *_objects(
        "reference-io.html",
        "py:class",
        "trio.abc.Stream",
        "trio.abc.HalfCloseableStream",
        "trio.SocketStream",
    ),
    *_objects(
        "reference-io.html",
        "py:method",
        "trio.abc.ReceiveStream.receive_some",
        "trio.abc.SendStream.send_all",
        "trio.abc.HalfCloseableStream.send_eof",
    ),
    *_objects(
        "reference-io.html",
        "py:function",
        "trio.open_tcp_stream",
        "trio.open_unix_socket",
        "trio.serve_tcp",
    ),
    *_objects("reference-core.html", "py:class", "trio.Nursery", "trio.CancelScope"),
    *_objects("reference-core.html", "py:function", "trio.open_nursery", "trio.run"),
    *_objects(
        "reference-lowlevel.html",
        "py:function",
        "trio.lowlevel.wait_readable",
        "trio.lowlevel.wait_writable",
    ),
]

ANYIO: list[Entry] = [
    *_objects(
        "api.html",
        "py:class",
        "anyio.abc.ByteStream",
        "anyio.abc.ByteReceiveStream",
        "anyio.streams.buffered.BufferedByteReceiveStream",
    ),
    *_objects("api.html", "py:class", "anyio.abc.TaskGroup"),
    *_objects(
        "api.html",
        "py:function",
        "anyio.connect_tcp",
        "anyio.create_tcp_listener",
        "anyio.run",
        "anyio.wait_readable",
    ),
]

INVENTORIES = {
    "python.inv": ("Python", "3", PYTHON),
    "trio.inv": ("Trio", "stable", TRIO),
    "anyio.inv": ("AnyIO", "stable", ANYIO),
}


def render(project: str, version: str, entries: list[Entry]) -> bytes:
    """An ``objects.inv`` in Sphinx's format version 2."""
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    # Each line: name, domain:role, priority (1: an ordinary object), URI, and
    # the display name ("-": the same as the name).
    body = "".join(
        f"{name} {role} 1 {uri} -\n" for name, role, uri in sorted(entries, key=lambda e: e[:2])
    )
    return header.encode() + zlib.compress(body.encode(), 9)


def _contents(inventory: bytes) -> bytes:
    """An inventory's header and uncompressed body, for comparisons."""
    header_end = 0
    for _ in range(4):
        header_end = inventory.index(b"\n", header_end) + 1
    return inventory[:header_end] + zlib.decompress(inventory[header_end:])


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    if argv and not check:
        print(f"usage: {Path(__file__).name} [--check]", file=sys.stderr)
        return 2
    stale = []
    for filename, (project, version, entries) in INVENTORIES.items():
        path = HERE / filename
        data = render(project, version, entries)
        if check:
            if not path.exists() or _contents(path.read_bytes()) != _contents(data):
                stale.append(filename)
        else:
            path.write_bytes(data)
            print(f"wrote {path} ({len(entries)} objects)")
    if stale:
        print(f"stale: {', '.join(stale)}; run {Path(__file__).name}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
