"""The ``bench`` command: run the comparison benchmarks, summarize them in one table.

Run from the repository root::

    .venv/bin/python benchmarks/run.py [--quick] [--only core,asyncio,pull] [--chart PATH.svg]

Each benchmark script (``bench_core.py``, ``bench_asyncio.py``,
``bench_pull.py``, all built on ``_harness.py``) runs in a subprocess of its
own, as if run by hand with ``--json``: its heap, event loops and imports stay
its own, and its figures are exactly those the script reports.  Progress comes
from the harness's progress lines on the script's stderr; the figures come from
its JSON file.

Prints one table (benchmark x comparison: median ratio, spread, goal,
PASS/MISS) and, with ``--chart``, writes an SVG bar chart of the median ratios
(needs pygal).  Exit status: 0 when every script ran -- a missed goal is a
finding, not an error -- and 1 when one failed (a case crashed or returned a
wrong result); 2 for bad options.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: The comparison benchmarks, by the name ``--only`` takes, in run order.
BENCHMARKS: dict[str, Path] = {
    "core": HERE / "bench_core.py",
    "asyncio": HERE / "bench_asyncio.py",
    "pull": HERE / "bench_pull.py",
}

# The harness's defaults (benchmarks/_harness.py); passed explicitly so that
# the progress bars know how many rounds to expect.
DEFAULT_ROUNDS = 15
QUICK_ROUNDS = 3

# How much of a failed script's stderr to show.
ERROR_TAIL_LINES = 40

_COLORS = {"PASS": "#2e7d32", "MISS": "#c62828", None: "#78909c"}
# Where the chart's ratio axis may have a labelled guide.
_TICKS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0)


@dataclass
class Outcome:
    """One script's run: its JSON report, or why there is none."""

    name: str
    script: Path
    seconds: float = 0.0
    report: dict[str, Any] | None = None
    error: str | None = None
    stderr: list[str] = field(default_factory=list)  # lines that were not progress


# ----------------------------------------------------------------- options


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="Run the comparison benchmarks of benchmarks/ and summarize them.",
        epilog="A missed goal is reported, not an error: the exit status is 0 unless a "
        "benchmark failed.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: small workloads, few rounds; the figures mean nothing",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        metavar="N",
        help=f"interleaved rounds per benchmark (default {DEFAULT_ROUNDS}; "
        f"{QUICK_ROUNDS} with --quick)",
    )
    parser.add_argument(
        "--min-time", type=float, metavar="S", help="seconds per sample at least (see _harness.py)"
    )
    parser.add_argument(
        "--only",
        metavar="NAMES",
        help=f"comma-separated benchmarks to run, of: {','.join(BENCHMARKS)} (default: all)",
    )
    parser.add_argument(
        "--script",
        action="append",
        type=Path,
        default=[],
        metavar="PATH",
        help="also run this script built on _harness.py (repeatable)",
    )
    parser.add_argument(
        "--chart", type=Path, metavar="PATH.svg", help="write a bar chart of the median ratios"
    )
    parser.add_argument(
        "--json-dir",
        type=Path,
        metavar="DIR",
        help="keep each benchmark's JSON report (every figure and raw sample) in DIR",
    )
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be >= 1")
    if args.min_time is not None and args.min_time < 0:
        parser.error("--min-time must be >= 0")
    selected: list[tuple[str, Path]] = []
    if args.only is None:
        selected = list(BENCHMARKS.items())
    else:
        for name in (part.strip() for part in args.only.split(",")):
            if name not in BENCHMARKS:
                parser.error(f"--only: no benchmark {name!r} (choose from {', '.join(BENCHMARKS)})")
            if name not in dict(selected):
                selected.append((name, BENCHMARKS[name]))
    for path in args.script:
        if not path.is_file():
            parser.error(f"--script: no file {path}")
        name = path.stem
        if name in dict(selected):
            parser.error(f"--script: a benchmark named {name!r} is already selected")
        selected.append((name, path.resolve()))
    args.selected = selected
    if args.chart is not None:
        check_chart_path(parser, args.chart)
    return args


def check_chart_path(parser: argparse.ArgumentParser, path: Path) -> None:
    """Refuse, before anything runs, a chart we could not write."""
    suffix = path.suffix.lower()
    if suffix == ".svg":
        return
    if suffix == ".png":
        try:
            import cairosvg  # type: ignore[import-not-found,unused-ignore]  # noqa: F401, PLC0415
        except ImportError:
            parser.error(
                f"--chart {path}: only SVG charts are supported (PNG needs cairosvg, "
                "which is not installed); use a .svg path"
            )
        return
    parser.error(f"--chart {path}: the chart is written as SVG; give a path ending in .svg")


# ----------------------------------------------------------------- running


def run_script(
    name: str,
    script: Path,
    args: argparse.Namespace,
    *,
    rounds: int,
    json_dir: Path,
    progress: Progress,
    overall: TaskID,
) -> Outcome:
    """Run one harness script with ``--json``; follow its progress lines."""
    outcome = Outcome(name, script)
    json_path = json_dir / f"{name}.json"
    json_path.unlink(missing_ok=True)
    command = [sys.executable, str(script), "--rounds", str(rounds), "--json", str(json_path)]
    if args.quick:
        command.append("--quick")
    if args.min_time is not None:
        command += ["--min-time", str(args.min_time)]
    env = dict(os.environ)
    # So that a --script outside benchmarks/ can import benchmarks._harness.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    task = progress.add_task(f"{name}: starting", total=rounds)
    done = 0
    start = time.perf_counter()
    # The report on stdout goes to a file: only stderr is read as it comes,
    # so neither pipe can fill up and stall the script.
    with (
        tempfile.TemporaryFile("w+", encoding="utf-8") as stdout,
        subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        ) as process,
    ):
        assert process.stderr is not None
        try:
            for raw in process.stderr:
                line = raw.rstrip("\n")
                if line.startswith("warm-up: "):
                    case = line.removeprefix("warm-up: ").rsplit(": ", 1)[0]
                    progress.update(task, description=f"{name}: warm-up {case}")
                elif line.startswith("round ") and "/" in line:
                    done += 1
                    progress.update(task, advance=1, description=f"{name}: rounds")
                    progress.update(overall, advance=1)
                else:
                    outcome.stderr.append(line)
            returncode = process.wait()
        except BaseException:
            process.kill()
            raise
    outcome.seconds = time.perf_counter() - start
    progress.update(overall, advance=rounds - done)  # a failed script's rounds are over too
    if returncode != 0:
        outcome.error = f"exited with status {returncode}"
    else:
        try:
            outcome.report = json.loads(json_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            outcome.error = f"no JSON report ({exc})"
    status = "failed" if outcome.error else f"done in {outcome.seconds:.0f} s"
    progress.update(task, completed=rounds, description=f"{name}: {status}")
    # Also a line of its own: a console that is not a terminal shows the bars
    # only once, at the end.
    progress.console.print(f"{name}: {status}", highlight=False)
    return outcome


def run_all(args: argparse.Namespace, console: Console, json_dir: Path) -> list[Outcome]:
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    rounds: int = args.rounds or (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS)
    selected: list[tuple[str, Path]] = args.selected
    outcomes = []
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        overall = progress.add_task("all benchmarks (rounds)", total=rounds * len(selected))
        for name, script in selected:
            outcomes.append(
                run_script(
                    name,
                    script,
                    args,
                    rounds=rounds,
                    json_dir=json_dir,
                    progress=progress,
                    overall=overall,
                )
            )
    return outcomes


# --------------------------------------------------------------- reporting


def summary_rows(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """One row per comparison of every report: benchmark, label and figures."""
    return [
        {"benchmark": outcome.name, **comp}
        for outcome in outcomes
        if outcome.report is not None
        for comp in outcome.report["comparisons"]
    ]


def print_summary(console: Console, outcomes: Sequence[Outcome]) -> None:
    from rich.table import Table  # noqa: PLC0415

    reports = [o.report for o in outcomes if o.report is not None]
    if reports:
        machine = reports[0]["machine"]
        settings = reports[0]["settings"]
        commit = (machine.get("git_commit") or "?")[:10]
        dirty = " (src/ modified)" if machine.get("src_dirty") else ""
        console.print(
            f"Python {machine['python']} ({machine['implementation']}) on "
            f"{machine['platform']}, {machine['cpu_count']} CPUs, {machine['date']}, "
            f"commit {commit}{dirty}; {settings['rounds']} interleaved rounds"
            + (" (QUICK: smoke test, figures meaningless)" if settings["quick"] else ""),
            highlight=False,
        )
    table = Table(
        title="speedup = baseline ns/op / case ns/op (median of per-round ratios)",
        title_justify="left",
    )
    # In a narrow terminal the labels fold; the figures keep their width.
    table.add_column("benchmark", no_wrap=True, min_width=9)
    table.add_column("comparison", overflow="fold")
    table.add_column("median", justify="right", no_wrap=True, min_width=7)
    table.add_column("IQR", justify="right", no_wrap=True, min_width=11)
    table.add_column("min-max", justify="right", no_wrap=True, min_width=11)
    table.add_column("goal", justify="right", no_wrap=True, min_width=6)
    table.add_column("result", no_wrap=True, min_width=6)
    previous = None
    for row in summary_rows(outcomes):
        result = row["result"]
        style = {"PASS": "green", "MISS": "red"}.get(result or "", "")
        table.add_row(
            row["benchmark"] if row["benchmark"] != previous else "",
            row["label"],
            f"{row['median']:.2f}x",
            f"{row['q1']:.2f}-{row['q3']:.2f}",
            f"{row['min']:.2f}-{row['max']:.2f}",
            "-" if row["goal"] is None else f">={row['goal']:.2f}",
            f"[{style}]{result}[/]" if style else "",
            end_section=False,
        )
        previous = row["benchmark"]
    console.print(table)
    for outcome in outcomes:
        if outcome.error is None:
            continue
        console.print(
            f"[bold red]ERROR[/] {outcome.name} ({outcome.script}): {outcome.error}",
            highlight=False,
        )
        for line in outcome.stderr[-ERROR_TAIL_LINES:]:
            console.print(line, markup=False, highlight=False)


def write_chart(path: Path, outcomes: Sequence[Outcome]) -> None:
    """A horizontal bar per comparison, from 1.0x to its median ratio, on a log
    scale; the IQR as an interval; green/red/grey for PASS/MISS/no goal.

    The bars are drawn on log2(ratio), so that 1.0x is the axis the bars grow
    from (a solid line), and 2x and 0.5x lie equally far from it.
    """
    import pygal  # type: ignore[import-untyped]  # noqa: PLC0415
    from pygal.style import Style  # type: ignore[import-untyped]  # noqa: PLC0415

    # pygal draws the first bar at the bottom: reverse, to read as the table.
    rows = summary_rows(outcomes)[::-1]
    shown = [1.0] + [x for row in rows for x in (row["q1"], row["q3"], row["goal"] or 1.0)]
    low = max([t for t in _TICKS if t <= min(shown)], default=min(shown))
    high = min([t for t in _TICKS if t >= max(shown)], default=max(shown))
    ticks = [t for t in _TICKS if low <= t <= high]
    style = Style(
        background="white",
        plot_background="white",
        font_family="sans-serif",
        guide_stroke_color="#d0d0d0",
        major_guide_stroke_color="#000000",
        major_guide_stroke_dasharray="0",
    )
    quick = any(o.report is not None and o.report["settings"]["quick"] for o in outcomes)
    chart = pygal.HorizontalBar(
        style=style,
        title="median speedup over the baseline, log scale (whisker: IQR; "
        "green PASS, red MISS, grey no goal)" + (" -- QUICK: figures meaningless" if quick else ""),
        show_legend=False,
        truncate_label=-1,
        print_values=True,
        value_formatter=lambda exponent: f"{2**exponent:.2f}x",
        width=1200,
        height=120 + 26 * max(len(rows), 1),
        x_labels=[
            f"{row['benchmark']}: {row['label']}"
            + ("" if row["goal"] is None else f" (goal {row['goal']:.2f}x)")
            for row in rows
        ],
        y_labels=[math.log2(t) for t in ticks],
        y_labels_major=[0.0],  # 1.0x
        range=(math.log2(low), math.log2(high)),
    )
    chart.add(
        "median speedup",
        [
            {
                "value": math.log2(row["median"]),
                "ci": {"low": math.log2(row["q1"]), "high": math.log2(row["q3"])},
                "color": _COLORS[row["result"]],
            }
            for row in rows
        ],
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".png":
        chart.render_to_png(str(path))
    else:
        chart.render_to_file(str(path))


# -------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from rich.console import Console  # noqa: PLC0415

    # Piped into a file, keep table rows whole rather than folded at 80 columns.
    out = Console() if sys.stdout.isatty() else Console(width=max(200, _columns()))
    err = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        json_dir: Path = args.json_dir or Path(scratch)
        json_dir.mkdir(parents=True, exist_ok=True)
        outcomes = run_all(args, err, json_dir)
        print_summary(out, outcomes)
        if args.json_dir is not None:
            out.print(f"JSON reports in {args.json_dir}", highlight=False)
    if args.chart is not None and any(o.report is not None for o in outcomes):
        write_chart(args.chart, outcomes)
        out.print(f"chart written to {args.chart}", highlight=False)
    return 1 if any(o.error is not None for o in outcomes) else 0


def _columns() -> int:
    try:
        return int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
