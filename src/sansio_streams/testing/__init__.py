"""Property-test helpers: a parser must give the same answer however its input
is chunked.

Needs the ``hypothesis`` extra (``pip install sansio-streams[testing]``).

A *step* is a function that reads one item from a :class:`~sansio_streams.ReadBuffer`
and returns it, or returns :data:`~sansio_streams.NEED_DATA`.  :func:`parse_chunks`
drives a step over a sequence of chunks the way a real driver would, and
:func:`assert_chunking_invariant` checks that the outcome is the same for the
whole input, for one byte at a time and for any other chunking -- the place
where parser bugs live.  :func:`chunkings` is the Hypothesis strategy for
"every way to split these bytes".

Example::

    from hypothesis import given, strategies as st
    from sansio_streams import NEED_DATA
    from sansio_streams.testing import assert_chunking_invariant, chunked

    def read_line(buf):
        return buf.readline()

    @given(chunked(st.binary()))
    def test_lines(data_and_chunks):
        data, chunks = data_and_chunks
        assert_chunking_invariant(lambda: read_line, data, chunks)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "sansio_streams.testing needs hypothesis: pip install 'sansio-streams[testing]'"
    ) from exc

from .._readbuffer import DEFAULT_LIMIT, NEED_DATA, NeedData, ReadBuffer

__all__ = (
    "Outcome",
    "assert_chunking_invariant",
    "chunked",
    "chunkings",
    "parse_chunks",
    "split_at",
)

T = TypeVar("T")


def split_at(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """Split ``data`` at the sorted offsets ``cuts`` (repeats make empty chunks)."""
    chunks = []
    start = 0
    for cut in cuts:
        if not start <= cut <= len(data):
            raise ValueError(f"cuts must be sorted offsets within the data, got {list(cuts)}")
        chunks.append(data[start:cut])
        start = cut
    chunks.append(data[start:])
    return chunks


def chunkings(data: bytes, *, allow_empty: bool = False) -> st.SearchStrategy[list[bytes]]:
    """Every way to split ``data`` into consecutive chunks that join back to it.

    With ``allow_empty``, chunks may also be empty (``feed_data(b"")``), and
    an empty ``data`` may give ``[]``.  Hypothesis shrinks towards fewer cuts.
    """
    positions = st.integers(min_value=0 if allow_empty else 1, max_value=len(data))
    if not allow_empty:
        if len(data) <= 1:
            return st.just([data] if data else [])
        positions = st.integers(min_value=1, max_value=len(data) - 1)
        cuts = st.lists(positions, unique=True, max_size=len(data) - 1)
    else:
        cuts = st.lists(positions, max_size=2 * len(data) + 2)
    return cuts.map(lambda c: split_at(data, sorted(c)))


def chunked(
    data: st.SearchStrategy[bytes], *, allow_empty: bool = False
) -> st.SearchStrategy[tuple[bytes, list[bytes]]]:
    """Draw a value from ``data`` and a chunking of it: ``(value, chunks)``."""
    return data.flatmap(
        lambda value: chunkings(value, allow_empty=allow_empty).map(lambda c: (value, c))
    )


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a step made of a whole input, the same for every chunking of it
    when the parser is right.

    ``results``
        The items the step returned, in order.
    ``error``
        The exception that ended the parse, as ``(type, args)`` so that two
        outcomes compare equal when their errors are alike; ``None`` if none.
    ``remaining``
        How many bytes of the whole input the step did not consume: the bytes
        still buffered *plus those not fed yet* when the parse ended.  After an
        error it counts from the start of the input, not from what had arrived,
        so it is the same whether the bytes after the bad input were buffered
        (fed whole) or never fed (one byte at a time).  Without an error every
        byte was fed, and it is what stayed buffered.
    ``at_eof``
        Whether EOF had been fed and nothing was left buffered when the parse
        ended -- on an error, when the step raised.  An error raised before EOF
        thus gives ``False`` even if the step had consumed everything: a right
        parser raises as soon as the bytes it has show the error, and those
        bytes are there before EOF in every chunking, or in none.
    """

    results: list[T] = field(default_factory=list)
    error: tuple[type[BaseException], tuple[object, ...]] | None = None
    remaining: int = 0
    at_eof: bool = False


def parse_chunks(
    step: Callable[[ReadBuffer], T | NeedData],
    chunks: Sequence[bytes],
    *,
    limit: int = DEFAULT_LIMIT,
    eof: bool = True,
) -> Outcome[T]:
    """Feed ``chunks`` to a new ``ReadBuffer(limit)``, calling ``step`` as a driver would.

    After each chunk, ``step`` is called until it returns :data:`NEED_DATA`.
    Then, when ``eof``, EOF is fed and ``step`` is called until it returns
    :data:`NEED_DATA` or the buffer is at EOF (empty, EOF fed).  In that last
    case it is called *once more*, the final call: a parser may hold state the
    buffer cannot show -- a frame header read, its payload owed -- and this is
    its chance to raise for a stream that ended inside an item.  What the final
    call returns is an end-of-stream answer (:data:`NEED_DATA`, ``readline()``'s
    ``b""``), not an item: it is not added to ``results``.

    A step that raises at the final call gets that error in its outcome, even
    if the input ended between two items.  ``readexactly(n)`` and
    ``readuntil()`` raise :exc:`~sansio_streams.IncompleteReadError` (with an
    empty ``partial``) on an empty buffer at EOF, as
    ``while True: await reader.readexactly(n)`` does in asyncio, and the
    helper cannot tell that from a parser owed ``n`` bytes.  A step that must
    end cleanly between two items checks :meth:`~sansio_streams.ReadBuffer.at_eof`
    before it starts one and returns :data:`NEED_DATA`.

    A step that returns a result without consuming anything, before EOF, is a
    bug that would spin a real event loop: it raises AssertionError.  The first
    exception a step raises ends the parse and is recorded in the outcome,
    where ``remaining`` counts every byte of ``chunks`` not consumed (see
    :class:`Outcome`).
    """
    buf = ReadBuffer(limit)
    results: list[T] = []
    unfed = sum(map(len, chunks))  # bytes of the input not fed yet

    def drain() -> None:
        while not buf.at_eof():
            before = len(buf)
            result = step(buf)
            if result is NEED_DATA:
                return
            results.append(result)
            stuck = len(buf) == before and not buf.exception() and not buf.at_eof()
            if stuck and (before or not eof):
                raise AssertionError(f"step returned {result!r} without consuming bytes")
        # Only after EOF (before it the buffer is never at EOF): the final call,
        # for a parser that holds a half-read item; its return value is dropped.
        step(buf)

    try:
        for chunk in chunks:
            buf.feed_data(chunk)
            unfed -= len(chunk)
            drain()
        if eof:
            buf.feed_eof()
            drain()
    except AssertionError:
        raise
    except Exception as exc:
        return Outcome(results, (type(exc), exc.args), len(buf) + unfed, buf.at_eof())
    return Outcome(results, None, len(buf), buf.at_eof())


def assert_chunking_invariant(
    make_step: Callable[[], Callable[[ReadBuffer], T | NeedData]],
    data: bytes,
    chunks: Sequence[bytes] | None = None,
    *,
    limit: int = DEFAULT_LIMIT,
    eof: bool = True,
) -> Outcome[T]:
    """Assert that a parser gives the same :class:`Outcome` for ``data`` fed whole,
    one byte at a time, and as ``chunks`` (when given); return that outcome.

    ``make_step`` is called once per run and returns the step for that run, so
    a parser that keeps state between steps starts afresh each time:
    ``make_step=lambda: MyParser().next_item``, or ``lambda: read_item`` for a
    stateless step.
    """
    if chunks is not None and b"".join(chunks) != data:
        raise ValueError("chunks do not join back to data")
    whole = parse_chunks(make_step(), [data] if data else [], limit=limit, eof=eof)
    splits: list[tuple[str, Sequence[bytes]]] = [
        ("one byte at a time", [data[i : i + 1] for i in range(len(data))])
    ]
    if chunks is not None:
        splits.append((f"as {list(chunks)!r}", chunks))
    for name, split in splits:
        outcome = parse_chunks(make_step(), split, limit=limit, eof=eof)
        if outcome != whole:
            raise AssertionError(
                f"fed {name}, the parser gave\n  {outcome!r}\nbut fed whole it gave\n  {whole!r}"
            )
    return whole
