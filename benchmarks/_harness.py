"""A small harness for comparative benchmarks: interleaved rounds, same-run ratios.

A benchmark script builds :class:`Case` objects (each a callable doing a fixed
amount of work) and :class:`Comparison` objects (a case against its baseline,
with an optional goal), then calls :func:`main`.

Method, chosen for a small and noisy machine:

* Warm-up: every case runs once (untimed; its result is checked), and the
  harness picks for each case how many calls make one sample last at least
  ``--min-time`` seconds.
* A round runs every case once, in a freshly shuffled order.  Within a sample
  the garbage collector is disabled (and a collection runs just before it).
* For each round, and each comparison, the ratio
  ``baseline ns/op / case ns/op`` (the speedup: > 1 means the case is faster)
  comes from timings taken seconds apart, so a slow spell of the machine
  mostly cancels out.  The report gives the median of those per-round ratios,
  their spread (interquartile range and min-max) and each case's median ns/op.

Figures go into the docs, never into tests: timings assert nothing.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = (
    "Case",
    "CaseStats",
    "Comparison",
    "ComparisonStats",
    "Report",
    "add_arguments",
    "format_report",
    "machine_info",
    "main",
    "run_rounds",
    "summarize",
    "write_json",
)

DEFAULT_ROUNDS = 15
QUICK_ROUNDS = 3
DEFAULT_MIN_TIME = 0.02
QUICK_MIN_TIME = 0.001


@dataclass(frozen=True)
class Case:
    """One measured callable.

    Attributes:
        name: unique, used by comparisons and in the output.
        run: does a fixed amount of work (the same on every call) and returns
            a value that ``expected`` must equal; the check runs after the
            timer stops, so a broken case fails loudly instead of measuring
            less work.
        ops: how many operations one call of ``run`` does (for ns/op).
        expected: what ``run`` returns.
        unit: the name of one operation in the output ("line", "frame").
        group: a heading for the table (cases of one workload).
    """

    name: str
    run: Callable[[], object]
    ops: int
    expected: object
    unit: str = "op"
    group: str = ""


@dataclass(frozen=True)
class Comparison:
    """``case`` against ``baseline``: speedup = baseline ns/op / case ns/op.

    ``goal``: the median speedup to reach, or None to only report.
    """

    label: str
    case: str
    baseline: str
    goal: float | None = None


@dataclass(frozen=True)
class CaseStats:
    name: str
    group: str
    unit: str
    ops: int
    loops: int
    ns_per_op: list[float]  # one sample per round, in round order
    median_ns_per_op: float
    min_ns_per_op: float
    max_ns_per_op: float


@dataclass(frozen=True)
class ComparisonStats:
    label: str
    case: str
    baseline: str
    goal: float | None
    ratios: list[float]  # one per round, in round order
    median: float
    q1: float
    q3: float
    min: float
    max: float

    @property
    def passed(self) -> bool | None:
        return None if self.goal is None else self.median >= self.goal


@dataclass(frozen=True)
class Report:
    title: str
    rounds: int
    seed: int
    min_time: float
    quick: bool
    machine: dict[str, Any]
    cases: list[CaseStats]
    comparisons: list[ComparisonStats]


# ----------------------------------------------------------------- measuring


def _check(case: Case, result: object) -> None:
    if result != case.expected:
        raise AssertionError(
            f"case {case.name!r} returned {_short(result)}, expected {_short(case.expected)}"
        )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _sample(case: Case, loops: int) -> int:
    """Time ``loops`` calls of ``case.run`` with the GC off; return total ns."""
    run = case.run
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        result: object = None
        start = time.perf_counter_ns()
        for _ in range(loops):
            result = run()
        elapsed = time.perf_counter_ns() - start
    finally:
        if was_enabled:
            gc.enable()
    _check(case, result)
    return elapsed


def _calibrate(case: Case, min_time_ns: int) -> int:
    """Warm up ``case`` and return how many calls make one sample >= min_time."""
    loops = 1
    elapsed = _sample(case, loops)  # the warm-up
    while True:
        elapsed = _sample(case, loops)
        if elapsed >= min_time_ns:
            return loops
        # Aim 20% past the target, at most x10 per step.
        want = int(loops * 1.2 * min_time_ns / max(elapsed, 1)) + 1
        loops = max(loops + 1, min(want, loops * 10))


def run_rounds(
    cases: Sequence[Case],
    rounds: int,
    *,
    seed: int = 0,
    min_time: float = DEFAULT_MIN_TIME,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Warm up, then run ``rounds`` shuffled rounds.

    Returns the loops per sample and the sample times (ns, per round) by case name.
    """
    names = [case.name for case in cases]
    if len(set(names)) != len(names):
        raise ValueError("case names must be unique")
    if rounds < 1:
        raise ValueError("rounds must be >= 1")
    min_time_ns = int(min_time * 1e9)
    loops: dict[str, int] = {}
    for case in cases:
        loops[case.name] = _calibrate(case, min_time_ns)
        if progress is not None:
            progress(f"warm-up: {case.name}: {loops[case.name]} call(s) per sample")
    rng = random.Random(seed)
    times: dict[str, list[int]] = {case.name: [] for case in cases}
    order = list(cases)
    for index in range(rounds):
        rng.shuffle(order)
        for case in order:
            times[case.name].append(_sample(case, loops[case.name]))
        if progress is not None:
            progress(f"round {index + 1}/{rounds}")
    return loops, times


# ---------------------------------------------------------------- reporting


def summarize(
    title: str,
    cases: Sequence[Case],
    comparisons: Sequence[Comparison],
    loops: dict[str, int],
    times: dict[str, list[int]],
    *,
    seed: int,
    min_time: float,
    quick: bool,
) -> Report:
    by_name = {case.name: case for case in cases}
    for comp in comparisons:
        for name in (comp.case, comp.baseline):
            if name not in by_name:
                raise ValueError(f"comparison {comp.label!r}: no case named {name!r}")
    per_op: dict[str, list[float]] = {
        name: [t / (loops[name] * by_name[name].ops) for t in samples]
        for name, samples in times.items()
    }
    case_stats = [
        CaseStats(
            name=case.name,
            group=case.group,
            unit=case.unit,
            ops=case.ops,
            loops=loops[case.name],
            ns_per_op=per_op[case.name],
            median_ns_per_op=statistics.median(per_op[case.name]),
            min_ns_per_op=min(per_op[case.name]),
            max_ns_per_op=max(per_op[case.name]),
        )
        for case in cases
    ]
    comparison_stats = []
    for comp in comparisons:
        ratios = [
            base / this for base, this in zip(per_op[comp.baseline], per_op[comp.case], strict=True)
        ]
        q1, q3 = _quartiles(ratios)
        comparison_stats.append(
            ComparisonStats(
                label=comp.label,
                case=comp.case,
                baseline=comp.baseline,
                goal=comp.goal,
                ratios=ratios,
                median=statistics.median(ratios),
                q1=q1,
                q3=q3,
                min=min(ratios),
                max=max(ratios),
            )
        )
    rounds = len(next(iter(times.values()))) if times else 0
    return Report(
        title=title,
        rounds=rounds,
        seed=seed,
        min_time=min_time,
        quick=quick,
        machine=machine_info(),
        cases=case_stats,
        comparisons=comparison_stats,
    )


def _quartiles(values: Sequence[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def machine_info() -> dict[str, Any]:
    """Where and when the figures were taken."""
    commit = _git("rev-parse", "HEAD")
    dirty = _git("status", "--porcelain", "--", "src")
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "python_build": " ".join(platform.python_build()),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": commit,
        "src_dirty": None if dirty is None else bool(dirty),
    }


def format_report(report: Report) -> str:
    """The human-readable table."""
    m = report.machine
    lines = [
        report.title,
        f"Python {m['python']} ({m['implementation']}) on {m['platform']}, "
        f"{m['cpu_count']} CPUs, {m['date']}",
        f"{report.rounds} interleaved rounds, samples >= {report.min_time * 1e3:g} ms, "
        f"seed {report.seed}"
        + (" (QUICK: smoke test, figures meaningless)" if report.quick else ""),
        "",
    ]
    width = max([len(c.name) for c in report.cases] + [10])
    header = f"{'case':<{width}}  {'ns/op':>10}  {'min-max ns/op':>21}  unit"
    group = None
    lines.append(header)
    lines.append("-" * len(header))
    for case in report.cases:
        if case.group != group:
            group = case.group
            if group:
                lines.append(f"[{group}]")
        spread = f"{case.min_ns_per_op:.1f}-{case.max_ns_per_op:.1f}"
        lines.append(
            f"{case.name:<{width}}  {case.median_ns_per_op:>10.1f}  {spread:>21}  {case.unit}"
        )
    if report.comparisons:
        lines.append("")
        title = "speedup = baseline ns/op / case ns/op"
        width = max([len(c.label) for c in report.comparisons] + [len(title)])
        header = (
            f"{title:<{width}}  {'median':>7}  {'IQR':>13}  {'min-max':>13}  {'goal':>7}  result"
        )
        lines.append(header)
        lines.append("-" * len(header))
        for comp in report.comparisons:
            goal = "-" if comp.goal is None else f">={comp.goal:.2f}"
            result = {None: "", True: "PASS", False: "MISS"}[comp.passed]
            lines.append(
                f"{comp.label:<{width}}  {comp.median:>6.2f}x  "
                f"{f'{comp.q1:.2f}-{comp.q3:.2f}':>13}  "
                f"{f'{comp.min:.2f}-{comp.max:.2f}':>13}  {goal:>7}  {result}"
            )
    return "\n".join(lines)


def write_json(report: Report, path: Path) -> None:
    """Write every figure, the raw per-round samples and the machine info."""
    data = {
        "title": report.title,
        "machine": report.machine,
        "settings": {
            "rounds": report.rounds,
            "seed": report.seed,
            "min_time_s": report.min_time,
            "quick": report.quick,
        },
        "cases": [
            {
                "name": c.name,
                "group": c.group,
                "unit": c.unit,
                "ops_per_call": c.ops,
                "calls_per_sample": c.loops,
                "median_ns_per_op": c.median_ns_per_op,
                "min_ns_per_op": c.min_ns_per_op,
                "max_ns_per_op": c.max_ns_per_op,
                "ns_per_op": c.ns_per_op,
            }
            for c in report.cases
        ],
        "comparisons": [
            {
                "label": c.label,
                "case": c.case,
                "baseline": c.baseline,
                "goal": c.goal,
                "result": {None: None, True: "PASS", False: "MISS"}[c.passed],
                "median": c.median,
                "q1": c.q1,
                "q3": c.q3,
                "min": c.min,
                "max": c.max,
                "ratios": c.ratios,
            }
            for c in report.comparisons
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark script shares."""
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help=f"interleaved rounds (default {DEFAULT_ROUNDS}; {QUICK_ROUNDS} with --quick)",
    )
    parser.add_argument(
        "--min-time",
        type=float,
        default=None,
        help=f"seconds per sample at least (default {DEFAULT_MIN_TIME}; "
        f"{QUICK_MIN_TIME} with --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: small workloads, few rounds; the figures mean nothing",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the round shuffles")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results here")
    parser.add_argument(
        "-k",
        dest="select",
        action="append",
        metavar="TEXT",
        help="run only the cases whose name contains TEXT (repeatable), and the "
        "comparisons between them",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def main(
    title: str,
    build: Callable[[bool], tuple[Sequence[Case], Sequence[Comparison]]],
    argv: Sequence[str] | None = None,
    *,
    description: str | None = None,
) -> int:
    """Parse the shared options, run the cases ``build(quick)`` returns, report.

    Returns 0: a missed goal is a finding to report, not a failure.
    """
    parser = argparse.ArgumentParser(description=description or title)
    add_arguments(parser)
    args = parser.parse_args(argv)
    quick: bool = args.quick
    rounds: int = (
        args.rounds if args.rounds is not None else (QUICK_ROUNDS if quick else DEFAULT_ROUNDS)
    )
    min_time: float = (
        args.min_time
        if args.min_time is not None
        else (QUICK_MIN_TIME if quick else DEFAULT_MIN_TIME)
    )
    seed: int = args.seed
    if rounds < 1:
        parser.error("--rounds must be >= 1")
    if min_time < 0:
        parser.error("--min-time must be >= 0")
    cases, comparisons = build(quick)
    if args.select:
        cases = [c for c in cases if any(text in c.name for text in args.select)]
        if not cases:
            parser.error("-k matches no case")
        kept = {c.name for c in cases}
        comparisons = [c for c in comparisons if {c.case, c.baseline} <= kept]

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    loops, times = run_rounds(
        cases,
        rounds,
        seed=seed,
        min_time=min_time,
        progress=None if args.quiet else progress,
    )
    report = summarize(
        title,
        cases,
        comparisons,
        loops,
        times,
        seed=seed,
        min_time=min_time,
        quick=quick,
    )
    print(format_report(report))
    if args.json is not None:
        write_json(report, args.json)
        print(f"\nresults written to {args.json}")
    return 0
