"""WriteBuffer: queueing, sending, water marks, EOF and close."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sansio_streams import WriteBuffer


def drain_all(wb: WriteBuffer, max_send: int = 1 << 30) -> bytes:
    """Send everything, at most ``max_send`` bytes per send(), as a socket might."""
    out = bytearray()
    while wb.pending:
        view = wb.next_to_send()
        assert view, "pending bytes but nothing to send"
        n = min(len(view), max_send)
        out += view[:n]
        view.release()
        wb.sent(n)
    assert not wb.next_to_send()
    return bytes(out)


def test_write_and_send_in_order() -> None:
    wb = WriteBuffer()
    wb.write(b"hello ")
    wb.write(bytearray(b"wor"))
    wb.writelines([b"ld", memoryview(b"!")])
    assert wb.pending == len(wb) == wb.get_write_buffer_size() == 12
    assert drain_all(wb, max_send=5) == b"hello world!"
    assert wb.pending == 0


def test_small_writes_are_joined_into_one_send() -> None:
    wb = WriteBuffer()
    for i in range(100):
        wb.write(b"%02d" % i)
    view = wb.next_to_send()
    assert len(view) == 200
    assert bytes(view[:6]) == b"000102"


def test_large_write_is_sent_without_joining_or_copying() -> None:
    wb = WriteBuffer()
    big = b"x" * (1 << 20)
    wb.write(b"head")
    wb.write(big)
    first = wb.next_to_send()
    assert bytes(first) == b"head"  # not joined with the 1 MiB write
    wb.sent(4)
    second = wb.next_to_send()
    assert second.obj is big  # the caller's bytes object, not a copy


def test_mutable_data_is_copied_at_write_time() -> None:
    wb = WriteBuffer()
    data = bytearray(b"abc")
    wb.write(data)
    data[:] = b"xyz"
    assert drain_all(wb) == b"abc"


def test_partial_sends_across_chunks() -> None:
    wb = WriteBuffer()
    wb.write(b"a" * 70000)
    wb.write(b"b" * 70000)
    wb.sent(69999)
    assert bytes(wb.next_to_send()) == b"a"  # not joined with a large write
    wb.sent(2)  # finishes the first chunk and enters the second
    assert wb.pending == 69999
    assert bytes(wb.next_to_send()) == b"b" * 69999


def test_sent_validates_and_keeps_state() -> None:
    wb = WriteBuffer()
    wb.write(b"abc")
    with pytest.raises(ValueError, match="between 0 and 3"):
        wb.sent(4)
    with pytest.raises(ValueError, match="between 0 and 3"):
        wb.sent(-1)
    wb.sent(0)
    assert drain_all(wb) == b"abc"


@pytest.mark.parametrize("data", ["text", 1, None, [b"a"]])
def test_write_rejects_non_bytes(data: object) -> None:
    wb = WriteBuffer()
    wb.write(b"ok")
    with pytest.raises(TypeError, match="data argument must be a bytes-like object"):
        wb.write(data)  # type: ignore[arg-type]
    assert drain_all(wb) == b"ok"


def test_writelines_is_all_or_nothing() -> None:
    wb = WriteBuffer()
    with pytest.raises(TypeError, match="bytes-like"):
        wb.writelines([b"a", "b", b"c"])  # type: ignore[list-item]
    assert wb.pending == 0
    wb.writelines(iter([b"a", b"", b"c"]))
    assert drain_all(wb) == b"ac"


def test_empty_write_is_ignored() -> None:
    wb = WriteBuffer()
    wb.write(b"")
    assert wb.pending == 0
    assert not wb.next_to_send()


# ---------------------------------------------------------------- water marks


def test_default_limits_are_asyncios() -> None:
    assert WriteBuffer().get_write_buffer_limits() == (16384, 65536)
    assert WriteBuffer(high=100).get_write_buffer_limits() == (25, 100)
    assert WriteBuffer(low=10).get_write_buffer_limits() == (10, 40)
    assert WriteBuffer(high=10, low=10).get_write_buffer_limits() == (10, 10)


@pytest.mark.parametrize(("high", "low"), [(10, 11), (-1, None), (5, -1), (0, 1)])
def test_bad_limits_are_rejected_and_keep_state(high: int, low: int | None) -> None:
    with pytest.raises(ValueError, match="must be >= low"):
        WriteBuffer(high, low)
    wb = WriteBuffer(100, 50)
    with pytest.raises(ValueError, match="must be >= low"):
        wb.set_write_buffer_limits(high, low)
    assert wb.get_write_buffer_limits() == (50, 100)


def test_limits_must_be_integers() -> None:
    with pytest.raises(TypeError):
        WriteBuffer(high=1.5)  # type: ignore[arg-type]


def test_writing_pauses_above_high_and_resumes_at_low() -> None:
    wb = WriteBuffer(high=10, low=4)
    wb.write(b"x" * 10)
    assert not wb.writing_paused  # at the mark: fine
    wb.write(b"x")
    assert wb.writing_paused
    wb.sent(6)  # 5 left
    assert wb.writing_paused
    wb.sent(1)  # 4 left
    assert not wb.writing_paused


def test_lowering_the_high_mark_pauses_at_once() -> None:
    wb = WriteBuffer()
    wb.write(b"x" * 100)
    assert not wb.writing_paused
    wb.set_write_buffer_limits(high=50)
    assert wb.writing_paused
    assert wb.get_write_buffer_limits() == (12, 50)


# --------------------------------------------------------------- EOF and close


def test_write_eof_refuses_writes_but_keeps_queued_bytes() -> None:
    wb = WriteBuffer()
    wb.write(b"last words")
    wb.write_eof()
    wb.write_eof()  # repeated: a no-op
    assert wb.eof_requested
    with pytest.raises(RuntimeError, match=r"Cannot call write\(\) after write_eof\(\)"):
        wb.write(b"more")
    with pytest.raises(RuntimeError, match="after write_eof"):
        wb.writelines([b"more"])
    assert drain_all(wb) == b"last words"


def test_close_refuses_writes_but_keeps_queued_bytes() -> None:
    wb = WriteBuffer()
    wb.write(b"flush me")
    wb.close()
    assert wb.closing
    with pytest.raises(RuntimeError, match=r"Cannot call write\(\) after close\(\)"):
        wb.write(b"x")
    assert drain_all(wb) == b"flush me"
    wb.write_eof()  # after close: a no-op that raises nothing


def test_abort_drops_everything() -> None:
    wb = WriteBuffer(high=2)
    wb.write(b"abcdef")
    assert wb.writing_paused
    wb.abort()
    assert wb.closing
    assert wb.pending == 0
    assert not wb.writing_paused
    assert not wb.next_to_send()


def test_repr() -> None:
    wb = WriteBuffer(high=2)
    assert repr(wb) == "<WriteBuffer 0 bytes pending>"
    wb.write(b"abc")
    wb.write_eof()
    wb.close()
    assert repr(wb) == "<WriteBuffer 3 bytes pending paused eof requested closing>"


@given(
    writes=st.lists(st.binary(max_size=70000), max_size=8),
    send_size=st.integers(min_value=1, max_value=100000),
)
def test_any_writes_any_send_sizes_arrive_intact(writes: list[bytes], send_size: int) -> None:
    wb = WriteBuffer()
    for data in writes:
        wb.write(data)
    assert wb.pending == sum(map(len, writes))
    assert drain_all(wb, send_size) == b"".join(writes)
