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
    """What a step made of a whole input.

    ``error`` is the exception that stopped it, as ``(type, args)`` so that two
    outcomes compare equal when their errors are alike.
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

    After each chunk (and after EOF when ``eof``), ``step`` is called until it
    returns :data:`NEED_DATA` or, at EOF, until the buffer is at EOF.  A step
    that returns a result without consuming anything, before EOF, is a bug that
    would spin a real event loop: it raises AssertionError.  The first exception
    a step raises ends the parse and is recorded in the outcome.
    """
    buf = ReadBuffer(limit)
    results: list[T] = []

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

    try:
        for chunk in chunks:
            buf.feed_data(chunk)
            drain()
        if eof:
            buf.feed_eof()
            drain()
    except AssertionError:
        raise
    except Exception as exc:
        return Outcome(results, (type(exc), exc.args), len(buf), buf.at_eof())
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
