"""Differential tests: :class:`ReadBuffer` against the real ``asyncio.StreamReader``.

Hypothesis drives both with the same random events -- ``feed_data`` (bytes rich in
separator bytes, empty chunks, separators split across chunks), ``feed_eof``,
``set_exception`` -- and the same reads, and after every step compares each
outcome (the bytes, NEED_DATA against "the coroutine waits", or the exception),
``len()`` of the buffers, ``at_eof()``, ``exception()`` and, before EOF,
``reading_paused`` against the reader's flow control (it gets a do-nothing
transport).  The core is also fed through ``get_buffer()``/``buffer_updated()``
(with the view still exported during the call, as uvloop does) and with
bytearrays and memoryviews scribbled over once fed.  After EOF or an exception,
a rule may start over with fresh objects.  Example tests then run the same
machine through small exhaustive scripts at the edges random steps reach only
now and then: line lengths at the limit, reads across the core's read window,
separator searches interrupted by other reads.

How asyncio is stepped
----------------------
Nothing here runs an event loop, sleeps or depends on timing.  Each example makes
an ``asyncio.StreamReader(limit=..., loop=loop)`` on a fresh event loop that is
never run (it is closed at the end), and drives each read coroutine by hand:

* ``coro.send(None)`` runs the coroutine until it returns (``StopIteration.value``
  is the result), raises, or suspends in ``StreamReader._wait_for_data()``.  Only
  that last case yields, and what it yields is the waiter future itself
  (``Future.__await__`` yields ``self``), checked to be ``reader._waiter``.  That is
  exactly where the core's method must return NEED_DATA.
* After each later event (``feed_data``, ``feed_eof``, ``set_exception``), if and
  only if that waiter is done, the coroutine is sent ``None`` again -- what its
  task does once the loop runs the waiter's wake-up callback, with no other event
  in between -- and the same core method is called again; the outcomes are
  compared.  Resuming returns the waiter's result or raises its exception (the one
  given to ``set_exception``).  ``feed_data(b"")`` is the one event that does not
  wake asyncio; the core's side of a spurious wake-up (calling the pending method
  again with nothing new) is a rule of its own and must give NEED_DATA again.
* A cancelled read is what ``Task.cancel()`` does to a task suspended on a
  future: cancel the waiter, then throw ``CancelledError`` into the coroutine.  The
  core's side is simply never calling the method again.

Only one read is pending at a time (a second concurrent reader is asyncio's
RuntimeError, a backend's business); while one is, only events, cancellation and
spurious wake-ups are generated.  ``feed_data`` after ``feed_eof`` is never given
to asyncio (it asserts); the core must raise RuntimeError and keep its buffer.

The one deliberate difference: while ``read(-1)`` waits for EOF, asyncio moves the
buffer into a private list, the core keeps it buffered.  The machine tracks the
bytes asyncio has gathered (from what was fed), so while ``read(-1)`` is pending
``len(core) == len(reader._buffer) + gathered``; when that read fails with the
stored exception, asyncio has lost those bytes and the core must still hold them
(every later read raises that exception, so the count is checked from then on);
when it is cancelled, the core must give exactly those bytes to the next read.
"""

from __future__ import annotations

import asyncio
import itertools
import pickle
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeAlias, cast

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sansio_streams import DEFAULT_LIMIT, NEED_DATA, ReadBuffer, ReadResult

# asyncio accepts a tuple of separators from 3.13 on; the core always does.
TUPLE_SEPARATORS = sys.version_info >= (3, 13)

# ------------------------------------------------------------------ outcomes

AioRead: TypeAlias = Coroutine[Any, Any, bytes]


@dataclass(frozen=True)
class Value:
    """The read returned ``value``."""

    value: bytes


@dataclass(frozen=True)
class Raised:
    """The read raised ``exc``."""

    exc: BaseException


@dataclass(frozen=True)
class Waiting:
    """The read waits: the core returned NEED_DATA, or asyncio yielded ``waiter``."""

    waiter: asyncio.Future[Any] | None = None


Outcome: TypeAlias = Value | Raised | Waiting


def _drive(step: Callable[[], object]) -> Outcome:
    """Run one step of a read coroutine: ``coro.send(None)`` or ``coro.throw(...)``."""
    try:
        yielded = step()
    except StopIteration as stop:
        return Value(stop.value)
    except (Exception, asyncio.CancelledError) as exc:
        return Raised(exc)
    assert isinstance(yielded, asyncio.Future), f"coroutine yielded {yielded!r}"
    return Waiting(yielded)


def _call_core(method: Callable[[], ReadResult]) -> Outcome:
    try:
        result = method()
    except Exception as exc:
        return Raised(exc)
    if result is NEED_DATA:
        return Waiting()
    return Value(result)


def _aio_buffer(reader: asyncio.StreamReader) -> bytearray:
    # Private, and not in typeshed: asyncio's bytes buffered and not yet read.
    return cast(bytearray, vars(reader)["_buffer"])


def _aio_waiter(reader: asyncio.StreamReader) -> asyncio.Future[Any] | None:
    return cast("asyncio.Future[Any] | None", vars(reader)["_waiter"])


class _Transport(asyncio.Transport):
    """Just enough transport for StreamReader's flow control."""

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _assert_same_exception(
    what: str, core: BaseException, aio: BaseException, stored: BaseException | None
) -> None:
    if stored is not None and aio is stored:
        assert core is stored, f"{what}: asyncio raised the stored {aio!r}, core {core!r}"
        return
    assert core is not stored, f"{what}: core raised the stored {core!r}, asyncio {aio!r}"
    if isinstance(aio, asyncio.IncompleteReadError):
        assert isinstance(core, asyncio.IncompleteReadError), f"{what}: {core!r} != {aio!r}"
        assert type(core.partial) is bytes
        assert (core.args, core.partial, core.expected) == (aio.args, aio.partial, aio.expected), (
            f"{what}: {core!r} != {aio!r}"
        )
    elif isinstance(aio, asyncio.LimitOverrunError):
        assert isinstance(core, asyncio.LimitOverrunError), f"{what}: {core!r} != {aio!r}"
        assert (core.args, core.consumed) == (aio.args, aio.consumed), (
            f"{what}: {core!r} (consumed={core.consumed}) != {aio!r} (consumed={aio.consumed})"
        )
    else:
        assert type(core) is type(aio), f"{what}: {core!r} != {aio!r}"
        assert core.args == aio.args, f"{what}: {core!r} != {aio!r}"


def _label(what: str, outcome: Outcome) -> str:
    """A statistics label (``--hypothesis-show-statistics``): method and outcome."""
    kind = type(outcome.exc).__name__ if isinstance(outcome, Raised) else type(outcome).__name__
    return f"{what.partition('(')[0]}{' resumed' if 'resumed' in what else ''}: {kind}"


def _event(label: str) -> None:
    # The machine also runs outside Hypothesis, in the example tests below.
    if currently_in_test_context():
        event(label)


def _assert_same(
    what: str, core: Outcome, aio: Outcome, stored: BaseException | None = None
) -> None:
    if isinstance(aio, Waiting):
        assert isinstance(core, Waiting), f"{what}: asyncio waits, core gave {core}"
    elif isinstance(aio, Value):
        assert isinstance(core, Value), f"{what}: asyncio returned {aio.value!r}, core {core}"
        assert type(core.value) is bytes, f"{what}: core returned a {type(core.value)}"
        assert core.value == aio.value, f"{what}: core {core.value!r} != asyncio {aio.value!r}"
    else:
        assert isinstance(core, Raised), f"{what}: asyncio raised {aio.exc!r}, core gave {core}"
        _assert_same_exception(what, core.exc, aio.exc, stored)


# ---------------------------------------------------------------- strategies

# Tiny limits make every line-length rule bite; the default one is what most
# programs run with.
LIMITS = st.one_of(st.integers(1, 4), st.integers(5, 16), st.just(DEFAULT_LIMIT))

TOKENS = st.sampled_from(
    [b"\n", b"\r", b"\r\n", b"\n\n", b"a", b"b", b"ab", b"abc", b"c", b"x", b"\x00"]
)
# Small chunks: separators (and halves of them) at every position, empty chunks.
SMALL_CHUNKS = st.lists(TOKENS, max_size=8).map(b"".join)
# Bulk chunks: many short lines at once -- past the core's read window (1 KiB
# at first) and its small-copy size (4 KiB).
LINES = st.lists(TOKENS, max_size=5).map(lambda tokens: b"".join(tokens) + b"\n")
BULK = st.builds(lambda line, count: line * count, LINES, st.integers(1, 700))
CHUNKS = st.integers(0, 5).flatmap(lambda pick: BULK if pick == 0 else SMALL_CHUNKS)
# How a chunk reaches each side: asyncio always gets bytes; the core gets a
# bytearray or memoryview that is scribbled over once fed (it must copy), or
# the bytes are written through get_buffer() with a size hint -- and maybe with
# the view still exported during buffer_updated(), as uvloop does.
FORMS = st.sampled_from(["bytes", "bytearray", "memoryview", "get_buffer", "get_buffer_held"])
SIZE_HINTS = st.sampled_from(["none", "zero", "exact", "more"])

# Small sizes, and sizes at the core's internal thresholds (its read window
# starts at 1 KiB and doubles, its small-copy size is 4 KiB).
EDGES = st.sampled_from([size + delta for size in (1024, 2048, 4096) for delta in (-1, 0, 1)])
READ_SIZES = st.one_of(st.integers(1, 20), st.sampled_from([-1, -5, 0, 2**20]), EDGES)
EXACT_SIZES = st.one_of(st.integers(0, 24), st.sampled_from([-1, 200, 5000]), EDGES)

SEPARATOR_POOL = [b"\n", b"\r\n", b"\r", b"a", b"ab", b"abc", b"ba", b"b\n", b"\n\n", b"xab"]
SINGLE_SEPARATORS = st.sampled_from([*SEPARATOR_POOL, b""])
TUPLE_SEPARATORS_ST = st.one_of(
    st.lists(st.sampled_from(SEPARATOR_POOL), min_size=1, max_size=4).map(tuple),
    st.sampled_from([(), (b"\n", b""), (b"", b"ab")]),
)
SEPARATORS: st.SearchStrategy[bytes | tuple[bytes, ...]] = (
    st.one_of(SINGLE_SEPARATORS, TUPLE_SEPARATORS_ST) if TUPLE_SEPARATORS else SINGLE_SEPARATORS
)

# Fresh instances for set_exception.  ValueError and RuntimeError are types the
# core raises itself, so only identity tells the stored one apart.
EXCEPTIONS: dict[str, Callable[[], Exception]] = {
    "ConnectionResetError": lambda: ConnectionResetError("x"),
    "BrokenPipeError": lambda: BrokenPipeError(32, "Broken pipe"),
    "ValueError": lambda: ValueError("stored"),
    "RuntimeError": lambda: RuntimeError("stored"),
}

ReadArg: TypeAlias = int | bytes | tuple[bytes, ...] | None


# ------------------------------------------------------------- the machine


@dataclass
class Pending:
    """A read that waits on both sides."""

    what: str
    core_call: Callable[[], ReadResult]
    coro: AioRead
    waiter: asyncio.Future[Any]
    read_all: bool
    # read(-1) only: what asyncio has moved out of its buffer so far.
    gathered: bytearray = field(default_factory=bytearray)


class ReadBufferVsStreamReader(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self._fresh(DEFAULT_LIMIT)

    def _fresh(self, limit: int) -> None:
        self.limit = limit
        self.reader = asyncio.StreamReader(limit=limit, loop=self.loop)
        self.reader.set_transport(_Transport())
        self.buf = ReadBuffer(limit)
        self.eof = False
        self.stored: BaseException | None = None
        self.pending: Pending | None = None
        # Bytes asyncio lost to a read(-1) that failed with the stored exception
        # (the core keeps them).
        self.lost = 0
        self.last_read: tuple[str, ReadArg] | None = None

    @initialize(limit=LIMITS)
    def make(self, limit: int) -> None:
        self._fresh(limit)

    @precondition(lambda self: self.eof or self.stored is not None)
    @rule(limit=LIMITS)
    def restart(self, limit: int) -> None:
        # EOF and a stored exception leave little to explore: start over.
        assert self.pending is None
        self._fresh(limit)

    def teardown(self) -> None:
        if self.pending is not None:
            self.pending.coro.close()
        self.loop.close()

    # ----------------------------------------------------------- invariants

    @invariant()
    def same_state(self) -> None:
        gathered = len(self.pending.gathered) if self.pending is not None else 0
        aio_len = len(_aio_buffer(self.reader))
        assert len(self.buf) == aio_len + gathered + self.lost, (
            f"len: core {len(self.buf)}, asyncio {aio_len} + gathered {gathered} + lost {self.lost}"
        )
        assert self.buf.exception() is self.reader.exception()
        if gathered or self.lost:
            assert not self.buf.at_eof()
        else:
            assert self.buf.at_eof() == self.reader.at_eof()
        # Flow control, where it matters: before EOF, with the same bytes.
        # (While read(-1) waits, both have unpaused the producer.)
        if not self.eof and not self.lost:
            paused = vars(self.reader)["_paused"]
            assert self.buf.reading_paused == paused, (
                f"core paused: {not paused}, asyncio: {paused}"
            )

    # ---------------------------------------------------------------- reads

    def _idle(self) -> bool:
        return self.pending is None

    def _read(self, kind: str, arg: ReadArg) -> None:
        """Start the same read on both sides and compare."""
        self.last_read = (kind, arg)
        buf, reader = self.buf, self.reader
        core_call: Callable[[], ReadResult]
        if kind == "read":
            assert isinstance(arg, int)
            what, core_call, coro = f"read({arg})", partial(buf.read, arg), reader.read(arg)
        elif kind == "readexactly":
            assert isinstance(arg, int)
            what, core_call = f"readexactly({arg})", partial(buf.readexactly, arg)
            coro = reader.readexactly(arg)
        elif kind == "readuntil":
            assert isinstance(arg, bytes | tuple)
            what, core_call = f"readuntil({arg!r})", partial(buf.readuntil, arg)
            coro = reader.readuntil(arg)  # type: ignore[arg-type]  # typeshed: no tuple < 3.13
        elif kind == "readline":
            what, core_call, coro = "readline()", buf.readline, reader.readline()
        else:
            self._readline_batch()
            return
        read_all = kind == "read" and isinstance(arg, int) and arg < 0
        before = bytes(_aio_buffer(reader))
        aio = _drive(lambda: coro.send(None))
        core = _call_core(core_call)
        _assert_same(what, core, aio, self.stored)
        _event(_label(what, aio))
        if isinstance(aio, Waiting):
            assert aio.waiter is not None
            assert aio.waiter is _aio_waiter(reader)
            pending = Pending(what, core_call, coro, aio.waiter, read_all)
            if read_all:
                # asyncio drained its buffer into read(-1)'s list.
                assert not _aio_buffer(reader)
                pending.gathered += before
            self.pending = pending

    def _readline_batch(self) -> None:
        try:
            lines = self.buf.readline_batch()
        except Exception as exc:
            aio = _drive(lambda: self.reader.readline().send(None))
            _assert_same("readline_batch()", Raised(exc), aio, self.stored)
            return
        _event(f"readline_batch: {min(len(lines), 3)} lines")
        for line in lines:
            coro = self.reader.readline()
            aio = _drive(lambda: coro.send(None))  # noqa: B023  # called at once
            _assert_same("readline_batch() line", Value(line), aio)
            assert line.endswith(b"\n")
        # Stopped where readline() stops giving complete lines: asyncio's next
        # one would wait, give a partial line at EOF, or raise for the limit.
        newline = _aio_buffer(self.reader).find(b"\n")
        assert not 0 <= newline <= self.limit, "readline_batch() left a complete line"

    @precondition(_idle)
    @rule(n=READ_SIZES)
    def read(self, n: int) -> None:
        self._read("read", n)

    @precondition(_idle)
    @rule()
    def readline(self) -> None:
        self._read("readline", None)

    @precondition(_idle)
    @rule(n=EXACT_SIZES)
    def readexactly(self, n: int) -> None:
        self._read("readexactly", n)

    @precondition(_idle)
    @rule(separator=SEPARATORS)
    def readuntil(self, separator: bytes | tuple[bytes, ...]) -> None:
        self._read("readuntil", separator)

    @precondition(_idle)
    @rule()
    def readline_batch(self) -> None:
        self._read("readline_batch", None)

    @precondition(lambda self: self.pending is None and self.last_read is not None)
    @rule()
    def read_again(self) -> None:
        # The same read with the same arguments: state a read leaves behind
        # (such as where a separator search may resume) is used by the next.
        assert self.last_read is not None
        self._read(*self.last_read)

    def _wake(self, fed: bytes = b"") -> None:
        """After an event: resume the pending read if asyncio would."""
        pending = self.pending
        if pending is None:
            return
        if pending.read_all:
            pending.gathered += fed
        if not pending.waiter.done():
            assert not fed, "feed_data() did not wake the waiting reader"
            return
        aio = _drive(lambda: pending.coro.send(None))
        core = _call_core(pending.core_call)
        _assert_same(f"{pending.what} resumed", core, aio, self.stored)
        _event(_label(f"{pending.what} resumed", aio))
        if isinstance(aio, Waiting):
            assert aio.waiter is not None
            assert aio.waiter is _aio_waiter(self.reader)
            pending.waiter = aio.waiter
            if pending.read_all:
                assert not _aio_buffer(self.reader)
            return
        self.pending = None
        if pending.read_all:
            if isinstance(aio, Value):
                assert aio.value == pending.gathered
            else:
                # The deliberate difference: asyncio lost what it had gathered,
                # the core still holds it (the invariant checks the count).
                assert isinstance(aio, Raised)
                assert aio.exc is self.stored
                self.lost += len(pending.gathered)

    # --------------------------------------------------------------- events

    def _feed(self, chunk: bytes, form: str = "bytes", hint: str = "none") -> None:
        buf = self.buf
        if form.startswith("get_buffer"):
            sizehint = {"none": -1, "zero": 0, "exact": len(chunk), "more": len(chunk) + 7}[hint]
            before = len(buf)
            view = buf.get_buffer(sizehint)
            assert len(view) >= len(chunk)
            view[: len(chunk)] = chunk
            # Bytes written past nbytes are not data.
            view[len(chunk) :] = b"\n" * (len(view) - len(chunk))
            # PickleBuffer holds a buffer export of the view, as uvloop's C code
            # does while it calls buffer_updated().
            held = pickle.PickleBuffer(view) if form == "get_buffer_held" else None
            buf.buffer_updated(len(chunk))
            assert len(buf) == before + len(chunk)
            if held is not None:
                held.release()
        elif form == "bytes":
            buf.feed_data(chunk)
        else:
            backing = bytearray(chunk)
            buf.feed_data(backing if form == "bytearray" else memoryview(backing))
            # The core must have copied the bytes.
            backing[:] = b"Z" * len(backing)
        self.reader.feed_data(chunk)
        self._wake(chunk)

    @precondition(lambda self: not self.eof)
    @rule(chunk=CHUNKS, form=FORMS, hint=SIZE_HINTS)
    def feed_data(self, chunk: bytes, form: str, hint: str) -> None:
        self._feed(chunk, form, hint)

    @precondition(lambda self: not self.eof)
    @rule(
        before=st.sampled_from([b"", b"\n", b"ab\n"]),
        delta=st.integers(-1, 1),
        body=st.sampled_from([b"x", b"\r", b"a"]),
        end=st.sampled_from([b"\n", b"\r\n", b"ab", b""]),
    )
    def feed_line_near_limit(self, before: bytes, delta: int, body: bytes, end: bytes) -> None:
        # The limit's edges: a line body of limit - 1, limit or limit + 1 bytes,
        # maybe after a short line (so the core reads it from its read window).
        self._feed(before + body * (self.limit + delta) + end)

    @precondition(lambda self: not self.eof)
    @rule(sizehint=st.sampled_from([-1, 1, 16]))
    def abandon_get_buffer(self, sizehint: int) -> None:
        # A receive that never completed: not an event for asyncio, and the
        # lent space is no data for the core, whatever was written there.
        before = len(self.buf)
        view = self.buf.get_buffer(sizehint)
        view[:] = b"\n" * len(view)
        assert len(self.buf) == before

    @precondition(lambda self: self.eof)
    @rule(chunk=st.sampled_from([b"", b"\n", b"ab"]))
    def feed_after_eof(self, chunk: bytes) -> None:
        before = len(self.buf)
        with pytest.raises(RuntimeError):
            self.buf.feed_data(chunk)
        with pytest.raises(RuntimeError):
            self.buf.get_buffer()
        assert len(self.buf) == before

    @rule()
    def feed_eof(self) -> None:
        self.buf.feed_eof()
        self.reader.feed_eof()
        self.eof = True
        self._wake()

    @rule(kind=st.sampled_from(sorted(EXCEPTIONS)))
    def set_exception(self, kind: str) -> None:
        exc = EXCEPTIONS[kind]()
        self.buf.set_exception(exc)
        self.reader.set_exception(exc)
        self.stored = exc
        self._wake()

    @precondition(lambda self: self.pending is not None)
    @rule()
    def spurious_wakeup(self) -> None:
        pending = self.pending
        assert pending is not None
        assert not pending.waiter.done()
        before = len(self.buf)
        _assert_same(f"{pending.what} again", _call_core(pending.core_call), Waiting())
        assert len(self.buf) == before

    @precondition(lambda self: self.pending is not None)
    @rule()
    def cancel(self) -> None:
        pending = self.pending
        assert pending is not None
        self.pending = None
        pending.waiter.cancel()
        aio = _drive(lambda: pending.coro.throw(asyncio.CancelledError()))
        assert isinstance(aio, Raised)
        assert isinstance(aio.exc, asyncio.CancelledError)
        assert _aio_waiter(self.reader) is None
        if pending.gathered:
            # asyncio lost them; the core kept them, first in line.
            assert self.buf.exception() is None
            assert self.buf.readexactly(len(pending.gathered)) == bytes(pending.gathered)


ReadBufferVsStreamReader.TestCase.settings = settings(
    max_examples=1000, stateful_step_count=50, deadline=None
)
TestReadBufferVsStreamReader = ReadBufferVsStreamReader.TestCase


# ----------------------------------------------------------- readline_batch

BATCH_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("feed"), CHUNKS),
        st.tuples(st.just("batch"), st.just(b"")),
        st.tuples(st.just("eof"), st.just(b"")),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(limit=LIMITS, ops=BATCH_OPS)
def test_readline_batch_is_successive_readlines(limit: int, ops: list[tuple[str, bytes]]) -> None:
    loop = asyncio.new_event_loop()
    try:
        reader = asyncio.StreamReader(limit=limit, loop=loop)
        buf = ReadBuffer(limit)
        eof = False
        for op, chunk in ops:
            if op == "feed" and not eof:
                buf.feed_data(chunk)
                reader.feed_data(chunk)
            elif op == "eof":
                buf.feed_eof()
                reader.feed_eof()
                eof = True
            elif op == "batch":
                lines = buf.readline_batch()
                # asyncio's readline() while it returns complete lines at once.
                expected = []
                while True:
                    coro = reader.readline()
                    aio = _drive(lambda: coro.send(None))  # noqa: B023  # called at once
                    if isinstance(aio, Waiting):
                        coro.close()
                    if not (isinstance(aio, Value) and aio.value.endswith(b"\n")):
                        break
                    expected.append(aio.value)
                assert lines == expected
                # The readline() that ended the run: the core agrees with it.
                _assert_same("readline() after the batch", _call_core(buf.readline), aio)
            assert len(buf) == len(_aio_buffer(reader))
    finally:
        loop.close()


# -------------------------------------------------------------- examples


def test_feed_data_after_feed_eof_raises_and_keeps_the_buffer() -> None:
    buf = ReadBuffer(limit=4)
    buf.feed_data(b"ab\ncd")
    buf.feed_eof()
    for data in (b"x", b"", bytearray(b"\n"), memoryview(b"yz")):
        with pytest.raises(RuntimeError, match="after feed_eof"):
            buf.feed_data(data)
        assert len(buf) == 5
    assert buf.readline() == b"ab\n"
    assert buf.read() == b"cd"
    assert buf.at_eof()


def test_read_all_failure_keeps_the_bytes_asyncio_loses() -> None:
    # The documented difference, pinned: asyncio's read(-1) has drained its
    # buffer when the exception comes; the core still has every byte.
    loop = asyncio.new_event_loop()
    try:
        reader = asyncio.StreamReader(limit=2, loop=loop)
        buf = ReadBuffer(limit=2)
        for side in (reader, buf):
            side.feed_data(b"hello")
        coro = reader.read(-1)
        aio = _drive(lambda: coro.send(None))
        assert isinstance(aio, Waiting)
        assert buf.read(-1) is NEED_DATA
        for side in (reader, buf):
            side.feed_data(b" world")
        assert isinstance(_drive(lambda: coro.send(None)), Waiting)
        assert buf.read(-1) is NEED_DATA
        assert not _aio_buffer(reader)
        assert len(buf) == 11
        exc = ConnectionResetError("x")
        for side in (reader, buf):
            side.set_exception(exc)
        aio = _drive(lambda: coro.send(None))
        assert isinstance(aio, Raised)
        assert aio.exc is exc
        with pytest.raises(ConnectionResetError) as info:
            buf.read(-1)
        assert info.value is exc
        assert not _aio_buffer(reader)  # asyncio lost "hello world"
        assert len(buf) == 11
    finally:
        loop.close()


# ------------------------------------------------ edges, exhaustively
#
# The same machine, driven by hand through small exhaustive scripts: the edges
# random steps reach only now and then.


def _script(
    limit: int, data: bytes, steps: list[tuple[str, ReadArg]], *, eof_completes: bool = True
) -> None:
    """Feed ``data``, run ``steps`` and compare after each.

    A step is a read, ``("feed", bytes)`` or ``("cancel", None)`` (of the pending
    read, if any).  With ``eof_completes``, EOF completes a read that waits.
    """
    machine = ReadBufferVsStreamReader()
    try:
        machine.make(limit)
        machine._feed(data)
        machine.same_state()
        for kind, arg in steps:
            if kind == "feed":
                assert isinstance(arg, bytes)
                machine._feed(arg)
            elif kind == "cancel":
                if machine.pending is not None:
                    machine.cancel()
            else:
                machine._read(kind, arg)
            machine.same_state()
            if eof_completes and machine.pending is not None:
                machine.feed_eof()
                machine.same_state()
    except AssertionError as exc:
        raise AssertionError(f"limit={limit} data={data[:40]!r} steps={steps}: {exc}") from exc
    finally:
        machine.teardown()


def test_lines_at_the_limit_edges() -> None:
    # Line bodies of limit - 1, limit and limit + 1 bytes, alone or after a
    # short line (the core then serves them from its read window).
    for limit, delta, before, end in itertools.product(
        [1, 2, 3, 16], [-1, 0, 1], [b"", b"\n", b"ab\n", b"abc\r\n"], [b"\n", b"\r\n", b"ab"]
    ):
        data = before + b"x" * (limit + delta) + end + b"tail\n"
        scripts: list[list[tuple[str, ReadArg]]] = [
            [("readline", None)] * 4,
            [("readuntil", b"\n")] * 4,
            [("readuntil", end)] * 4,
            [("readline_batch", None), ("readline", None), ("readline", None)],
            [("read", 1), ("readline", None), ("readuntil", end), ("readline", None)],
            [("readexactly", len(before)), ("readuntil", end), ("read", -1)],
        ]
        for reads in scripts:
            _script(limit, data, reads)


def test_separator_search_state_after_other_reads() -> None:
    # A failed separator search (waiting, or over the limit) remembers where
    # the next one may resume; any read in between must invalidate that.
    consumers: list[tuple[str, ReadArg]] = [
        ("read", 2**20),
        ("read", 1),
        ("readexactly", 1),
        ("readline", None),
        ("readline_batch", None),
        ("readuntil", b"x"),
    ]
    for limit, data, sep, consume, more in itertools.product(
        [2, 16], [b"xxxx", b"xa", b"a\nxxa"], [b"\n", b"ab"], consumers, [b"\n", b"b\n", b"yab\n"]
    ):
        steps: list[tuple[str, ReadArg]] = [
            ("readuntil", sep),
            ("cancel", None),
            consume,
            ("cancel", None),
            ("feed", more),
            ("readuntil", sep),
        ]
        _script(limit, data, steps, eof_completes=False)


def test_reads_across_the_read_window_edges() -> None:
    # A small read makes the core copy a window of the next bytes (1 KiB, and
    # more after runs of small reads); reads that end just inside, at and just
    # past its end, or past the small-copy size (4 KiB).
    edges = [size + delta for size in (1024, 2048, 4096) for delta in (-2, -1, 0, 1, 2)]
    data = b"ab\n" * 4000
    for limit, first, kind, size in itertools.product(
        [16, DEFAULT_LIMIT], [1, 3, 20], ["read", "readexactly"], edges
    ):
        _script(limit, data, [("read", first), (kind, size), ("readline", None), ("read", 5)])
        _script(limit, data, [("readline", None)] * 700 + [(kind, size), ("readline", None)])


@pytest.mark.parametrize("empty", ["feed_data", "buffer_updated"])
def test_empty_data_does_not_pause_a_waiting_reader(empty: str) -> None:
    # Regression: asyncio's feed_data() ignores empty data, but the core paused
    # the producer on it -- with a reader waiting for more, a stall.
    loop = asyncio.new_event_loop()
    try:
        reader = asyncio.StreamReader(limit=1, loop=loop)
        reader.set_transport(_Transport())
        buf = ReadBuffer(limit=1)
        for side in (reader, buf):
            side.feed_data(b"abc")
        assert vars(reader)["_paused"]
        assert buf.reading_paused
        coro = reader.readexactly(200)
        assert isinstance(_drive(lambda: coro.send(None)), Waiting)
        assert buf.readexactly(200) is NEED_DATA
        assert not vars(reader)["_paused"]
        assert not buf.reading_paused
        reader.feed_data(b"")
        if empty == "feed_data":
            buf.feed_data(b"")
        else:
            buf.get_buffer()
            buf.buffer_updated(0)
        assert not vars(reader)["_paused"]
        assert not buf.reading_paused
        assert len(buf) == 3
        coro.close()
    finally:
        loop.close()


def test_stored_incomplete_read_error_in_readline() -> None:
    loop = asyncio.new_event_loop()
    try:
        reader = asyncio.StreamReader(loop=loop)
        buf = ReadBuffer()
        exc = asyncio.IncompleteReadError(b"xy", 5)
        for side in (reader, buf):
            side.feed_data(b"abc\n")
            side.set_exception(exc)
        coro = reader.readline()
        aio = _drive(lambda: coro.send(None))
        assert aio == Value(b"xy")
        _assert_same("readline()", _call_core(buf.readline), aio, exc)
    finally:
        loop.close()
