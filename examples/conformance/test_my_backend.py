"""The conformance suite as a pytest module: ``pytest examples/conformance/test_my_backend.py``.

Put your backend in place of ``sansio_streams_trio`` and its framework in
``anyio_backend``; every check becomes one test.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

import sansio_streams_trio as my_streams  # your backend here
from sansio_streams.testing import conformance

SUBJECT = conformance.Subject(
    my_streams,
    name="my streams",
    # How many received bytes a reader holds (for the flood check); leave it
    # out and that check is skipped.
    buffered=lambda reader: len(reader._core),
)


@pytest.fixture
def anyio_backend() -> str:
    return "trio"  # or "asyncio", or ("asyncio", {"use_uvloop": True})


@pytest.mark.anyio
@pytest.mark.parametrize("check", list(conformance.CHECKS.values()), ids=list(conformance.CHECKS))
async def test_conformance(check: conformance.Check) -> None:
    try:
        await check(SUBJECT)
    except conformance.NotApplicable as exc:
        pytest.skip(str(exc))


@pytest.mark.anyio
@settings(max_examples=10, deadline=None)
@given(scenario=conformance.cancellation_scenarios())
async def test_cancellation(scenario: conformance.Scenario) -> None:
    # Hypothesis searches (and shrinks) beyond the check's eight fixed scenarios.
    await conformance.check_cancellation_scenario(SUBJECT, scenario)
