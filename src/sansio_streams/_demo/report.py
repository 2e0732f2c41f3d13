"""Run every scenario on every backend and print one table (rich).

Rows are backends, columns scenarios; a cell says ``ok · N rt/s``, the error
(type and shortened message), "skipped: why" or "not installed".  Progress
goes to stderr while it runs (a live bar on a terminal, one line per cell
otherwise); the table goes to stdout.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import ModuleType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from .backends import Backend, NotInstalledError
from .scenarios import Outcome, Scenario, Settings

__all__ = ("Cell", "Status", "describe", "render", "run", "run_cell", "run_grid")

#: The longest error message shown in a cell (type name excluded).
MESSAGE_WIDTH = 60
#: Width of the table when stdout is not a terminal (rich would assume 80 and wrap).
PIPE_WIDTH = 160


class Status(Enum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    NOT_INSTALLED = "not installed"


_STYLES = {
    Status.OK: "green",
    Status.FAILED: "bold red",
    Status.SKIPPED: "yellow",
    Status.NOT_INSTALLED: "dim",
}


@dataclass(frozen=True)
class Cell:
    """The result of one scenario on one backend."""

    status: Status
    text: str
    outcome: Outcome | None = None
    error: BaseException | None = field(default=None, compare=False)


def describe(exc: BaseException) -> str:
    """``Type: message``, shortened; an exception group is described by its first leaf."""
    extra = 0
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        extra += len(exc.exceptions) - 1
        exc = exc.exceptions[0]
    message = " ".join(str(exc).split())
    if len(message) > MESSAGE_WIDTH:
        message = message[: MESSAGE_WIDTH - 1] + "…"
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return f"{text} (+{extra} more)" if extra else text


def run_cell(
    backend: Backend, streams: ModuleType, scenario: Scenario, settings: Settings, timeout: float
) -> Cell:
    """Run ``scenario`` on ``backend`` (its runner, its hard timeout) and describe it."""
    reason = scenario.skip_reason(streams)
    if reason is not None:
        return Cell(Status.SKIPPED, reason)
    try:
        outcome = backend.run(lambda: scenario.run(streams, settings), timeout)
    except Exception as exc:  # any failure is a cell; KeyboardInterrupt stops the demo
        return Cell(Status.FAILED, describe(exc), error=exc)
    return Cell(Status.OK, f"ok · {outcome.per_second:,.0f} rt/s", outcome)


@dataclass
class Row:
    backend: Backend
    cells: list[Cell]
    #: The framework missing, for a "not installed" row.
    missing: str | None = None


def run_grid(
    backends: Sequence[Backend],
    scenarios: Sequence[Scenario],
    settings: Settings,
    timeout: float,
    progress_console: Console | None = None,
) -> list[Row]:
    """Run every scenario on every backend, showing progress on ``progress_console``."""
    console = progress_console or Console(stderr=True)
    rows: list[Row] = []
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("starting", total=len(backends) * len(scenarios))
        for backend in backends:
            try:
                streams = backend.load()
            except NotInstalledError as exc:
                cell = Cell(Status.NOT_INSTALLED, "not installed")
                rows.append(Row(backend, [cell] * len(scenarios), exc.module))
                progress.advance(task, len(scenarios))
                _log(console, backend, None, cell)
                continue
            except Exception as exc:  # a backend that fails to import fails every cell
                cell = Cell(Status.FAILED, describe(exc), error=exc)
                rows.append(Row(backend, [cell] * len(scenarios)))
                progress.advance(task, len(scenarios))
                _log(console, backend, None, cell)
                continue
            row = Row(backend, [])
            rows.append(row)
            for scenario in scenarios:
                progress.update(task, description=f"{backend.label} · {scenario.title}")
                cell = run_cell(backend, streams, scenario, settings, timeout)
                row.cells.append(cell)
                progress.advance(task)
                _log(console, backend, scenario, cell)
    return rows


def _log(console: Console, backend: Backend, scenario: Scenario | None, cell: Cell) -> None:
    # Without a terminal the live bar is not drawn: say what finished instead,
    # so a slow or stuck run shows where it is (in CI logs, say).
    if not console.is_terminal:
        where = f"{backend.label} · {scenario.title}" if scenario else backend.label
        console.print(Text(f"{where}: {cell.text}"), soft_wrap=True)


def render(
    rows: Sequence[Row], scenarios: Sequence[Scenario], settings: Settings, timeout: float
) -> Table:
    """The table of ``rows`` (one per backend) by ``scenarios``."""
    table = Table(
        title=f"sansio_streams on loopback · Python {sys.version.split()[0]}",
        caption=(
            f"rt/s: round trips per second (a small line written, read back with readline()), "
            f"up to {settings.rounds:,} round trips or {settings.budget:g} s per cell; "
            f"hard timeout {timeout:g} s per cell"
        ),
    )
    table.add_column("backend", style="bold")
    for scenario in scenarios:
        table.add_column(scenario.title)
    for row in rows:
        table.add_row(
            row.backend.label,
            *(Text(cell.text, style=_STYLES[cell.status]) for cell in row.cells),
        )
    return table


def run(
    backends: Sequence[Backend],
    scenarios: Sequence[Scenario],
    settings: Settings,
    timeout: float,
    *,
    console: Console | None = None,
    progress_console: Console | None = None,
    verbose: bool = False,
) -> int:
    """Run the grid, print the table and a summary; return the exit status.

    0 if no scenario of an installed backend failed (skips and "not installed"
    rows are not failures), else 1.  ``verbose`` prints each failure's traceback.
    """
    if console is None:
        # Piped, rich assumes 80 columns and wraps every cell; COLUMNS still rules.
        wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
        console = Console(width=PIPE_WIDTH) if wide else Console()
    rows = run_grid(backends, scenarios, settings, timeout, progress_console)
    console.print(render(rows, scenarios, settings, timeout))
    cells = [cell for row in rows for cell in row.cells]
    failed = sum(cell.status is Status.FAILED for cell in cells)
    passed = sum(cell.status is Status.OK for cell in cells)
    missing = sorted({row.missing for row in rows if row.missing})
    if missing:
        console.print(
            Text(
                f"not installed: {', '.join(missing)} "
                "(pip install -e '.[demo]' installs every backend's framework)",
                style="dim",
            )
        )
    if verbose:
        shown: set[int] = set()  # a backend that failed to import fails each cell alike
        for row in rows:
            for scenario, cell in zip(scenarios, row.cells, strict=True):
                if cell.error is not None and id(cell.error) not in shown:
                    shown.add(id(cell.error))
                    console.rule(f"{row.backend.label} · {scenario.title}")
                    console.print(Text("".join(traceback.format_exception(cell.error))))
    if failed:
        console.print(Text(f"{failed} failed, {passed} ok", style="bold red"))
        return 1
    console.print(Text(f"all {passed} ok", style="green"))
    return 0
