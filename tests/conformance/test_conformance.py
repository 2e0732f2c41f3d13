"""The public conformance suite (sansio_streams.testing.conformance), run on every
backend through one parametrized fixture: asyncio on its default loop and on
uvloop, trio, and anyio on its asyncio and trio backends.

On Python 3.13 the suite also runs against stdlib asyncio, whose semantics the
backends reproduce: that run proves the checks assert asyncio's behaviour, not
ours (the STARTTLS injection rule, our addition, is not applicable there).
"""

from __future__ import annotations

import asyncio
import importlib
import sys

import pytest
from hypothesis import given, settings

from sansio_streams import StartTLSInjectionError
from sansio_streams.testing import conformance

pytestmark = pytest.mark.anyio

#: (id, streams module, anyio backend, backend options)
FLAVOURS = [
    ("asyncio", "sansio_streams_asyncio", "asyncio", {"use_uvloop": False}),
    ("uvloop", "sansio_streams_asyncio", "asyncio", {"use_uvloop": True}),
    ("trio", "sansio_streams_trio", "trio", {}),
    ("anyio-asyncio", "sansio_streams_anyio", "asyncio", {}),
    ("anyio-trio", "sansio_streams_anyio", "trio", {}),
]
if sys.version_info >= (3, 13):
    FLAVOURS.append(("stdlib-asyncio", "asyncio", "asyncio", {"use_uvloop": False}))


@pytest.fixture(
    scope="module", params=[pytest.param(flavour, id=flavour[0]) for flavour in FLAVOURS]
)
def flavour(request: pytest.FixtureRequest) -> tuple[str, str, str, dict[str, object]]:
    value: tuple[str, str, str, dict[str, object]] = request.param
    return value


@pytest.fixture(scope="module")
def anyio_backend(
    flavour: tuple[str, str, str, dict[str, object]],
) -> tuple[str, dict[str, object]]:
    return flavour[2], flavour[3]


@pytest.fixture(scope="module")
def subject(flavour: tuple[str, str, str, dict[str, object]]) -> conformance.Subject:
    """The backend under test, described for the suite."""
    streams = importlib.import_module(flavour[1])
    if streams is asyncio:
        return conformance.Subject(
            streams, name="stdlib asyncio", buffered=lambda r: len(r._buffer)
        )
    return conformance.Subject(
        streams,
        name=flavour[0],
        # Private, but the only way to watch the buffer bound from outside.
        buffered=lambda reader: len(reader._core),
        start_tls_injection_error=StartTLSInjectionError,
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize("check", list(conformance.CHECKS.values()), ids=list(conformance.CHECKS))
async def test_conformance(subject: conformance.Subject, check: conformance.Check) -> None:
    try:
        await check(subject)
    except conformance.NotApplicable as exc:
        pytest.skip(str(exc))


@pytest.mark.timeout(180)
@settings(max_examples=10, deadline=None)
@given(scenario=conformance.cancellation_scenarios())
async def test_cancellation_property(
    subject: conformance.Subject, scenario: conformance.Scenario
) -> None:
    """Hypothesis searches the scenarios the fixed-seed check does not."""
    await conformance.check_cancellation_scenario(subject, scenario)
