"""Fixtures for the network tests of sansio_streams_asyncio.

``streams`` is the module under test. It is ``sansio_streams_asyncio``, the drop-in
replacement for asyncio's streams; with ``SANSIO_TEST_STREAMS=asyncio`` in the
environment it is the stdlib ``asyncio`` module instead. Every test must pass against
stdlib asyncio on Python 3.13 (whose semantics the backend reproduces on 3.11-3.13):
that run proves a test is right before it is used to judge the backend.

Every async test runs twice, on the default event loop and on uvloop, through anyio's
pytest plugin (``@pytest.mark.anyio`` and the ``anyio_backend`` fixture below).
"""

from __future__ import annotations

import asyncio
import importlib
import os
from types import ModuleType

import pytest

#: The module under test, by name.
STREAMS_MODULE = (
    "asyncio" if os.environ.get("SANSIO_TEST_STREAMS") == "asyncio" else "sansio_streams_asyncio"
)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(("asyncio", {"use_uvloop": False}), id="asyncio"),
        pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"),
    ],
)
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, object]]:
    """The event loop: asyncio's default loop, then uvloop (anyio >= 4 option)."""
    backend: tuple[str, dict[str, object]] = request.param
    return backend


@pytest.fixture(scope="session", params=[pytest.param(STREAMS_MODULE, id=STREAMS_MODULE)])
def streams(request: pytest.FixtureRequest) -> ModuleType:
    """The streams module under test (see the module docstring)."""
    return importlib.import_module(request.param)


@pytest.fixture(scope="session")
def streams_is_stdlib(streams: ModuleType) -> bool:
    """True when the suite runs against stdlib asyncio (SANSIO_TEST_STREAMS=asyncio)."""
    return streams is asyncio
