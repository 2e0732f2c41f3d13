"""The demo's backends: which streams module, which frameworks, how to run and bound it.

A backend here is a streams module plus an event loop to run it on: the only
things that differ between the rows of the demo are :attr:`Backend.run` (the
framework's runner) and the hard-timeout primitive inside it.  Frameworks are
imported when a backend is loaded or run, never when this module is imported,
so that ``--help`` and the "not installed" rows work without them.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import asyncio

__all__ = ("BACKENDS", "Backend", "NotInstalledError", "Runner", "by_name")

_T = TypeVar("_T")

#: How long the asyncio runners let a scenario's clean-up run after its deadline
#: before cancelling it again (see :func:`run_asyncio`).
CLEANUP_GRACE = 2.0
#: How long the asyncio runners wait for tasks still running after a scenario
#: returned before calling them leaked (a handler finishing its close is not a leak).
SETTLE = 1.0


class Runner(Protocol):
    """Run ``fn()`` to completion on a fresh event loop, within ``timeout`` seconds.

    Returns its result or raises its exception; raises :class:`TimeoutError`
    (with a message saying so) if ``fn()`` is still running at the deadline.
    """

    def __call__(self, fn: Callable[[], Awaitable[_T]], timeout: float, /) -> _T: ...


class NotInstalledError(ImportError):
    """A framework the backend needs is not importable here (:attr:`module` names it)."""

    def __init__(self, module: str) -> None:
        super().__init__(f"{module} is not installed", name=module)
        self.module = module


@dataclass(frozen=True)
class Backend:
    """One row of the demo."""

    #: The ``--backend`` name.
    name: str
    #: The row's title.
    label: str
    #: The streams module the scenarios get (imported by :meth:`load`).
    streams: str
    #: Frameworks that must be importable; a missing one means "not installed".
    frameworks: tuple[str, ...]
    run: Runner

    def load(self) -> ModuleType:
        """Import the frameworks, then the streams module, and return the latter.

        Raises :class:`NotInstalledError` if a framework is missing; any other
        error (a broken backend) propagates as it is.
        """
        for framework in self.frameworks:
            try:
                importlib.import_module(framework)
            except ModuleNotFoundError as exc:
                # Only the framework itself missing means "not installed"; a
                # dependency missing inside an installed framework is a failure.
                if exc.name != framework:
                    raise
                raise NotInstalledError(framework) from exc
        return importlib.import_module(self.streams)


def _gave_up(timeout: float) -> TimeoutError:
    return TimeoutError(f"no result within {timeout:g} s")


async def _no_tasks_left(asyncio: Any) -> None:
    """Raise if tasks other than the current one are still running after a settle time.

    On asyncio nothing forces a server's handler tasks to end with the server;
    the scenarios are written so that they do, and this checks it.
    """
    current = asyncio.current_task()
    left = {task for task in asyncio.all_tasks() if task is not current}
    if left:
        _, pending = await asyncio.wait(left, timeout=SETTLE)
        if pending:
            names = ", ".join(sorted(task.get_name() for task in pending))
            raise RuntimeError(f"{len(pending)} task(s) still running after the scenario: {names}")


def run_asyncio(
    fn: Callable[[], Awaitable[_T]],
    timeout: float,
    *,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> _T:
    """:class:`Runner` for asyncio (on ``loop_factory``'s loop if given, e.g. uvloop's)."""
    import asyncio  # noqa: PLC0415 - lazy, as every framework here

    async def bounded() -> _T:
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                result = await fn()
        except TimeoutError:
            if deadline.expired():
                raise _gave_up(timeout) from None
            raise
        await _no_tasks_left(asyncio)
        return result

    async def guarded() -> _T:
        # asyncio delivers a cancellation once: clean-up code that awaits after
        # the deadline runs uncancelled and could hang the demo.  A second
        # deadline cancels it again (trio and anyio's scopes stay cancelled).
        backstop = asyncio.timeout(timeout + CLEANUP_GRACE)
        try:
            async with backstop:
                return await bounded()
        except TimeoutError:
            if backstop.expired():
                raise TimeoutError(
                    f"no result within {timeout:g} s, then its clean-up hung"
                ) from None
            raise

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(guarded())


def run_uvloop(fn: Callable[[], Awaitable[_T]], timeout: float) -> _T:
    """:class:`Runner` for asyncio on uvloop's event loop."""
    import uvloop  # noqa: PLC0415

    return run_asyncio(fn, timeout, loop_factory=uvloop.new_event_loop)


def run_trio(fn: Callable[[], Awaitable[_T]], timeout: float) -> _T:
    """:class:`Runner` for trio."""
    import trio  # noqa: PLC0415

    async def bounded() -> _T:
        with trio.move_on_after(timeout):
            return await fn()
        raise _gave_up(timeout)

    return trio.run(bounded)


def _run_anyio(fn: Callable[[], Awaitable[_T]], timeout: float, backend: str) -> _T:
    import anyio  # noqa: PLC0415

    async def bounded() -> _T:
        with anyio.move_on_after(timeout):
            result = await fn()
            if backend == "asyncio":
                import asyncio  # noqa: PLC0415

                await _no_tasks_left(asyncio)
            return result
        raise _gave_up(timeout)

    return anyio.run(bounded, backend=backend)


def run_anyio_asyncio(fn: Callable[[], Awaitable[_T]], timeout: float) -> _T:
    """:class:`Runner` for anyio on its asyncio backend."""
    return _run_anyio(fn, timeout, "asyncio")


def run_anyio_trio(fn: Callable[[], Awaitable[_T]], timeout: float) -> _T:
    """:class:`Runner` for anyio on its trio backend."""
    return _run_anyio(fn, timeout, "trio")


#: Every backend, in the table's order.
BACKENDS: tuple[Backend, ...] = (
    Backend("asyncio", "asyncio", "sansio_streams_asyncio", (), run_asyncio),
    Backend("uvloop", "asyncio + uvloop", "sansio_streams_asyncio", ("uvloop",), run_uvloop),
    Backend("trio", "trio", "sansio_streams_trio", ("trio",), run_trio),
    Backend(
        "anyio-asyncio", "anyio on asyncio", "sansio_streams_anyio", ("anyio",), run_anyio_asyncio
    ),
    Backend(
        "anyio-trio", "anyio on trio", "sansio_streams_anyio", ("anyio", "trio"), run_anyio_trio
    ),
)


def by_name(names: list[str] | None) -> list[Backend]:
    """The backends named (all if ``names`` is empty or None), in the table's order."""
    if not names:
        return list(BACKENDS)
    return [backend for backend in BACKENDS if backend.name in names]
