"""``python -m sansio_streams``: the demo over every backend (issue #5).

The whole command runs once as a subprocess (``--quick``); the rest runs the
demo's pieces in-process: the scenarios on real loopback sockets, a scenario
that really fails (a server that answers wrong), one that really hangs (a
server that never answers) on every backend's timeout primitive, and backends
whose framework cannot be imported.
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
from types import ModuleType
from typing import Any

import pytest
from rich.console import Console

from sansio_streams.__main__ import main
from sansio_streams._demo import backends, report
from sansio_streams._demo.backends import BACKENDS, Backend, NotInstalledError
from sansio_streams._demo.report import Status
from sansio_streams._demo.scenarios import (
    GREETING,
    SCENARIOS,
    SOCKETPAIR_DATA,
    Outcome,
    Scenario,
    Settings,
    echo_over_server,
    port_of,
)

#: Few round trips, no time bound: an in-process scenario does exactly ``rounds``.
SMALL = Settings(rounds=20, budget=60.0)
BACKEND = {backend.name: backend for backend in BACKENDS}


def installed(backend: Backend) -> Backend:
    """``backend``, or skip the test if its framework is missing here."""
    try:
        backend.load()
    except NotInstalledError as exc:
        pytest.skip(f"{exc.module} is not installed")
    return backend


def run_report(
    rows_of: list[Backend], columns: list[Scenario], *, verbose: bool = False
) -> tuple[int, str]:
    """:func:`report.run` into a string (wide: no wrapped cells); (status, output)."""
    out = io.StringIO()
    status = report.run(
        rows_of,
        columns,
        SMALL,
        10.0,
        console=Console(file=out, width=200),
        progress_console=Console(file=io.StringIO()),
        verbose=verbose,
    )
    return status, out.getvalue()


def row_of(output: str, label: str) -> str:
    """The table's row whose first cell is ``label``."""
    (line,) = [
        line
        for line in output.splitlines()
        if line.startswith("│") and line.split("│")[1].strip() == label
    ]
    return line


# ------------------------------------------------------------- the command


@pytest.mark.timeout(90)
def test_quick_demo_passes_on_every_backend_and_scenario() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sansio_streams", "--quick"],
        check=False,  # the status is asserted, with the output as the message
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    header = next(line for line in out.splitlines() if "backend" in line)
    for scenario in SCENARIOS:
        assert scenario.title in header
    for backend in BACKENDS:
        row = row_of(out, backend.label)
        assert len(re.findall(r"ok · [\d,]+ rt/s", row)) == len(SCENARIOS), row
    assert f"all {len(BACKENDS) * len(SCENARIOS)} ok" in out
    # Progress went to stderr (one line per cell without a terminal).
    assert f"{BACKENDS[-1].label} · {SCENARIOS[-1].title}: ok" in result.stderr


def test_backend_option_restricts_the_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--quick", "--backend", "asyncio"]) == 0
    out = capsys.readouterr().out
    assert row_of(out, "asyncio").count("ok · ") == len(SCENARIOS)
    for backend in BACKENDS[1:]:
        with pytest.raises(ValueError, match="not enough values"):
            row_of(out, backend.label)


def test_missing_rich_exits_2_with_the_install_command() -> None:
    # A fresh interpreter where `import rich` fails (this one has the demo loaded).
    code = (
        "import sys\n"
        "sys.modules['rich'] = None\n"
        "from sansio_streams.__main__ import main\n"
        "sys.exit(main(['--quick']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert "pip install -e '.[demo]'" in result.stderr
    assert result.stdout == ""


def test_nonpositive_timeout_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--timeout", "0"]) == 2
    assert "--timeout" in capsys.readouterr().err


# ----------------------------------------------------------- the scenarios


@pytest.mark.parametrize("name", ["asyncio", "trio"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.key for s in SCENARIOS])
def test_scenario_echoes_the_spec_data(name: str, scenario: Scenario) -> None:
    backend = installed(BACKEND[name])
    streams = backend.load()
    if (reason := scenario.skip_reason(streams)) is not None:
        pytest.skip(reason)
    outcome = backend.run(lambda: scenario.run(streams, SMALL), 10.0)
    expected = SOCKETPAIR_DATA if scenario.key == "socketpair" else GREETING
    assert outcome.echoed == expected
    assert outcome.round_trips == SMALL.rounds
    assert outcome.per_second > 0


def test_round_trips_stop_at_the_time_budget() -> None:
    backend = BACKEND["asyncio"]
    streams = backend.load()
    outcome = backend.run(
        lambda: SCENARIOS[0].run(streams, Settings(rounds=10**9, budget=0.05)), 10.0
    )
    assert 0 < outcome.round_trips < 10**9
    assert 0.05 <= outcome.seconds < 5


def test_unix_scenario_is_skipped_without_af_unix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(socket, "AF_UNIX")
    (unix,) = [s for s in SCENARIOS if s.key == "unix"]
    status, out = run_report([BACKEND["asyncio"]], [unix])
    assert status == 0
    assert "skipped: no AF_UNIX sockets on this platform" in row_of(out, "asyncio")


# ------------------------------------------------------------- failures


async def shouting_echo(reader: Any, writer: Any) -> None:
    """A wrong echo server: it answers each line upper-cased."""
    while line := await reader.readline():
        writer.write(line.upper())
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def wrong_echo(streams: ModuleType, settings: Settings) -> Outcome:
    return await echo_over_server(
        settings,
        lambda handler: streams.start_server(handler, "127.0.0.1", 0),
        lambda server: streams.open_connection("127.0.0.1", port_of(server)),
        shouting_echo,
    )


async def mute_echo(reader: Any, writer: Any) -> None:
    """A server that never answers: it reads until EOF, then closes."""
    await reader.read()
    writer.close()
    await writer.wait_closed()


async def hanging_echo(streams: ModuleType, settings: Settings) -> Outcome:
    return await echo_over_server(
        settings,
        lambda handler: streams.start_server(handler, "127.0.0.1", 0),
        lambda server: streams.open_connection("127.0.0.1", port_of(server)),
        mute_echo,
    )


def test_a_failing_scenario_is_a_failure_cell_and_exit_1() -> None:
    columns = [SCENARIOS[0], Scenario("wrong", "wrong echo", wrong_echo)]
    status, out = run_report([BACKEND["asyncio"]], columns)
    assert status == 1
    row = row_of(out, "asyncio")
    assert "ok · " in row  # the other cell still ran and passed
    assert "MismatchError: sent b'Hello World!\\n', read back b'HELLO WORLD!\\n'" in row
    assert "1 failed, 1 ok" in out
    assert "Traceback" not in out


def test_verbose_prints_each_failure_traceback() -> None:
    status, out = run_report(
        [BACKEND["asyncio"]], [Scenario("wrong", "wrong echo", wrong_echo)], verbose=True
    )
    assert status == 1
    assert "Traceback (most recent call last)" in out
    assert "in _round_trip" in out


async def leaky(streams: ModuleType, settings: Settings) -> Outcome:
    """Leaves a task running (asyncio only: elsewhere tasks live in task groups)."""
    import asyncio  # noqa: PLC0415

    never = asyncio.Event()
    asyncio.get_running_loop().create_task(never.wait(), name="left-behind")
    return Outcome(b"", 0, 0.0)


@pytest.mark.parametrize("name", ["asyncio", "anyio-asyncio"])
def test_a_task_left_running_on_asyncio_is_a_failure(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backends, "SETTLE", 0.1)
    backend = installed(BACKEND[name])
    cell = report.run_cell(backend, backend.load(), Scenario("leak", "leak", leaky), SMALL, 5.0)
    assert cell.status is Status.FAILED
    assert cell.text == "RuntimeError: 1 task(s) still running after the scenario: left-behind"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("backend", BACKENDS, ids=[b.name for b in BACKENDS])
def test_a_hanging_scenario_times_out_on_every_backend(backend: Backend) -> None:
    cell = report.run_cell(
        installed(backend),
        backend.load(),
        Scenario("hang", "hang", hanging_echo),
        SMALL,
        0.3,
    )
    assert cell.status is Status.FAILED
    assert cell.text == "TimeoutError: no result within 0.3 s"


async def stubborn(streams: ModuleType, settings: Settings) -> Outcome:
    """Waits for data that never comes, and waits again when cancelled."""
    near, far = socket.socketpair()
    reader, writer = await streams.open_connection(sock=near)
    _, far_writer = await streams.open_connection(sock=far)
    try:
        try:
            await reader.readline()
        finally:
            await reader.readline()  # ignores the first cancellation
    finally:
        for each in (writer, far_writer):
            each.close()
    raise AssertionError("unreachable: nothing is ever sent")


@pytest.mark.timeout(30)
@pytest.mark.parametrize("backend", BACKENDS, ids=[b.name for b in BACKENDS])
def test_clean_up_that_ignores_the_deadline_is_cut_short(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # asyncio cancels once: its runners cancel again after a grace period.
    # trio's and anyio's scopes stay cancelled: the second wait fails at once.
    monkeypatch.setattr(backends, "CLEANUP_GRACE", 0.2)
    cell = report.run_cell(
        installed(backend), backend.load(), Scenario("stubborn", "stubborn", stubborn), SMALL, 0.2
    )
    assert cell.status is Status.FAILED
    if backend.name in ("asyncio", "uvloop"):
        assert cell.text == "TimeoutError: no result within 0.2 s, then its clean-up hung"
    else:
        assert cell.text == "TimeoutError: no result within 0.2 s"


def test_describe_shortens_and_unwraps_groups() -> None:
    group = ExceptionGroup("handlers", [ValueError("boom"), KeyError(1)])
    assert report.describe(group) == "ValueError: boom (+1 more)"
    assert report.describe(OSError("x" * 500)).endswith("x…")
    assert len(report.describe(OSError("x" * 500))) == len("OSError: ") + report.MESSAGE_WIDTH
    assert report.describe(EOFError()) == "EOFError"


# -------------------------------------------------------- not installed


def test_a_backend_without_its_framework_is_not_installed_not_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "trio", None)  # as if trio were not installed
    status, out = run_report([BACKEND["asyncio"], BACKEND["trio"]], list(SCENARIOS[:2]))
    assert status == 0
    assert row_of(out, "trio").count("not installed") == 2
    assert row_of(out, "asyncio").count("ok · ") == 2
    assert "not installed: trio (pip install -e '.[demo]'" in out


def test_a_backend_that_fails_to_import_is_a_failure() -> None:
    broken = Backend(
        "broken", "broken backend", "sansio_demo_no_such_module", (), backends.run_asyncio
    )
    status, out = run_report([broken], [SCENARIOS[0]])
    assert status == 1
    assert "ModuleNotFoundError: No module named 'sansio_demo_no_such_module'" in out
