"""The conformance suite itself: it fails on broken backends, and run_checks()
reports what it ran."""

from __future__ import annotations

import types
from typing import Any

import pytest

import sansio_streams_trio
from sansio_streams.testing import conformance

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


class BrokenReader:
    """A reader whose given methods are replaced; the rest is the real one's."""

    def __init__(self, reader: Any, replaced: dict[str, Any]) -> None:
        self._reader = reader
        for name, make in replaced.items():
            setattr(self, name, make(reader))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    def __aiter__(self) -> Any:
        return self._reader.__aiter__()


def broken_backend(**replaced_reader_methods: Any) -> types.SimpleNamespace:
    """sansio_streams_trio with readers whose given methods are replaced."""
    streams = types.SimpleNamespace(**vars(sansio_streams_trio))

    async def open_connection(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        reader, writer = await sansio_streams_trio.open_connection(*args, **kwargs)
        return BrokenReader(reader, replaced_reader_methods), writer

    streams.open_connection = open_connection
    return streams


def readline_without_newline(reader: Any) -> Any:
    original = reader.readline

    async def readline() -> bytes:
        line: bytes = await original()
        return line.rstrip(b"\n")

    return readline


def read_dropping_last_byte(reader: Any) -> Any:
    original = reader.read

    async def read(n: int = -1) -> bytes:
        data: bytes = await original(n)
        return data[:-1] if len(data) > 1 else data

    return read


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("bug", "check"),
    [
        ({"readline": readline_without_newline}, conformance.CHECKS["reading_methods"]),
        ({"read": read_dropping_last_byte}, conformance.CHECKS["example_echo"]),
        ({"read": read_dropping_last_byte}, conformance.CHECKS["large_single_write"]),
        ({"read": read_dropping_last_byte}, conformance.CHECKS["half_close"]),
    ],
)
async def test_checks_catch_a_broken_reader(bug: dict[str, Any], check: conformance.Check) -> None:
    with pytest.raises(AssertionError):
        await check(conformance.Subject(broken_backend(**bug)))


@pytest.mark.timeout(60)
async def test_flood_check_catches_an_unbounded_reader() -> None:
    subject = conformance.Subject(
        sansio_streams_trio,
        # A reader that holds more than the bound allows (as if it read on).
        buffered=lambda reader: len(reader._core) + 10 * 2**20,
    )
    with pytest.raises(AssertionError, match="peak buffer"):
        await conformance.CHECKS["flood_bounded"](subject)


@pytest.mark.timeout(60)
async def test_run_checks_reports_each_check() -> None:
    subject = conformance.Subject(sansio_streams_trio, name="trio")  # no buffered=
    report = await conformance.run_checks(
        subject, ["example_socketpair", "flood_bounded", "start_tls_injection"]
    )
    assert report == {
        "example_socketpair": "ok",
        "flood_bounded": "not applicable: Subject.buffered is not given",
        "start_tls_injection": "not applicable: Subject.start_tls_injection_error is not given",
    }


@pytest.mark.timeout(60)
async def test_run_checks_gathers_the_failures() -> None:
    subject = conformance.Subject(broken_backend(readline=readline_without_newline), name="broken")
    with pytest.raises(ExceptionGroup) as excinfo:
        await conformance.run_checks(
            subject, ["reading_methods", "example_socketpair", "async_iteration"]
        )
    (failure,) = excinfo.value.exceptions  # socketpair and async iteration pass
    assert isinstance(failure, AssertionError)
    assert failure.__notes__ == ["conformance check 'reading_methods' failed on broken"]


def test_every_check_is_listed_once() -> None:
    checks = [
        value
        for name, value in vars(conformance).items()
        if name.startswith("check_") and name != "check_cancellation_scenario"
    ]
    assert sorted(c.__name__ for c in checks) == sorted(
        c.__name__ for c in conformance.CHECKS.values()
    )
    assert all(name == c.__name__.removeprefix("check_") for name, c in conformance.CHECKS.items())
