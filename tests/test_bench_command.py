"""The bench command, ``benchmarks/run.py``: run in smoke mode as a subprocess.

These check that the command runs every benchmark, reports every comparison
in its table and chart, and fails only when a benchmark fails.  They assert no
timing: the figures of a smoke run mean nothing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from xml.etree import ElementTree

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"
BENCHMARKS = ("core", "asyncio", "pull")
# Smoke mode: the scripts' small --quick workloads, and one round each.
SMOKE = ("--quick", "--rounds", "1")

# bench_pull's comparisons: one per framework and workload (quick sizes), and
# on trio one per bulk shape (write size / read size).
PULL_COMPARISONS = [
    f"{framework} {workload}: ours vs {native}"
    for framework, native in (
        ("trio", "trio.SocketStream"),
        ("anyio/asyncio", "anyio BufferedByteReceiveStream"),
        ("anyio/trio", "anyio BufferedByteReceiveStream"),
    )
    for workload in (
        "ping-pong 1x200",
        "ping-pong 10x20",
        "bulk 8 MiB",
        *(
            [f"bulk {shape}" for shape in ("4 KiB/64 KiB", "16 KiB/64 KiB", "64 KiB/4 KiB")]
            + [f"bulk {shape}" for shape in ("64 KiB/32 KiB", "256 KiB/64 KiB", "1 MiB/1 MiB")]
            if framework == "trio"
            else []
        ),
    )
]

# A harness script whose case returns a wrong result: the harness raises.
BROKEN_SCRIPT = textwrap.dedent(
    """
    import sys

    from benchmarks._harness import Case, Comparison, main


    def build(quick):
        cases = [Case("right", lambda: 1, 1, 1), Case("wrong", lambda: 2, 1, 1)]
        return cases, [Comparison("wrong vs right", "wrong", "right")]


    if __name__ == "__main__":
        sys.exit(main("a broken benchmark", build))
    """
)


def bench(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUN), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        # Wide enough that no table row is folded.
        env={**os.environ, "COLUMNS": "250"},
        check=False,
    )


def svg_text(path: Path) -> str:
    """All the text of an SVG file (which must parse as SVG)."""
    root = ElementTree.fromstring(path.read_bytes())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return "\n".join(root.itertext())


@pytest.mark.timeout(90)
def test_smoke_run_reports_every_comparison(tmp_path: Path) -> None:
    chart = tmp_path / "ratios.svg"
    json_dir = tmp_path / "json"
    done = bench(*SMOKE, "--chart", str(chart), "--json-dir", str(json_dir), timeout=80)
    assert done.returncode == 0, done.stdout + done.stderr
    labels: dict[str, list[str]] = {}
    for name in BENCHMARKS:
        report = json.loads((json_dir / f"{name}.json").read_text(encoding="utf-8"))
        assert report["settings"]["quick"]
        labels[name] = [comp["label"] for comp in report["comparisons"]]
        assert labels[name], name
    assert labels["pull"] == PULL_COMPARISONS
    table = done.stdout
    text = svg_text(chart)
    for name, comparisons in labels.items():
        assert name in table
        for label in comparisons:
            assert label in table
            assert f"{name}: {label}" in text
    assert "PASS" in table or "MISS" in table
    assert "1.00x" in text  # the guide at 1.0
    assert "ERROR" not in table


@pytest.mark.timeout(60)
def test_a_failing_case_fails_the_command(tmp_path: Path) -> None:
    script = tmp_path / "broken.py"
    script.write_text(BROKEN_SCRIPT, encoding="utf-8")
    done = bench(*SMOKE, "--only", "core", "--script", str(script), timeout=50)
    assert done.returncode == 1, done.stdout + done.stderr
    # The benchmark that ran is still reported; the failure is named, with its cause.
    assert "readline vs asyncio readline" in done.stdout
    assert "ERROR broken" in done.stdout
    assert "case 'wrong' returned 2, expected 1" in done.stdout


@pytest.mark.timeout(30)
def test_bad_options_are_refused_before_running(tmp_path: Path) -> None:
    done = bench("--only", "core,nonesuch", timeout=25)
    assert done.returncode == 2
    assert "no benchmark 'nonesuch'" in done.stderr
    if importlib.util.find_spec("cairosvg") is None:
        done = bench("--chart", str(tmp_path / "ratios.png"), timeout=25)
        assert done.returncode == 2
        assert "only SVG charts are supported" in done.stderr
        assert not (tmp_path / "ratios.png").exists()


@pytest.mark.timeout(30)
def test_help() -> None:
    done = bench("--help", timeout=25)
    assert done.returncode == 0
    assert "--chart" in done.stdout
    assert "--only" in done.stdout
