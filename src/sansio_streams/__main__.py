"""``python -m sansio_streams``: the demo.

``python -m sansio_streams [--quick] [--backend NAME]...`` runs the spec's
scenarios (TCP echo, Unix echo, TLS echo, socketpair + ``sock=``) on every
installed backend, on loopback, and prints one table; exit status 1 if any
failed, 2 if the demo's extra (rich) is missing.
``python -m sansio_streams core`` walks through the sans-IO core (no I/O).

This module imports only the stdlib at import time; the demo's modules
(:mod:`sansio_streams._demo`) are imported by the command that needs them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

INSTALL_HINT = "pip install -e '.[demo]'"


def build_parser() -> argparse.ArgumentParser:
    """The command line (``--help`` needs no framework and no rich)."""
    from ._demo.backends import BACKENDS  # noqa: PLC0415 - stdlib-only module

    parser = argparse.ArgumentParser(
        prog="python -m sansio_streams",
        description=(
            "Run asyncio's streams examples (TCP echo, Unix echo, TLS echo, socketpair + "
            "sock=) on every installed backend, on loopback, and print one table. "
            "Exit status: 0 all ok, 1 a scenario failed, 2 usage or missing demo extra."
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer round trips per scenario: the whole run takes a few seconds",
    )
    parser.add_argument(
        "--backend",
        action="append",
        choices=[backend.name for backend in BACKENDS],
        metavar="NAME",
        help=(
            "run only this backend (repeatable); one of: "
            + ", ".join(backend.name for backend in BACKENDS)
        ),
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="hard timeout of each scenario (default: %(default)g)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print the traceback of each failure"
    )
    commands = parser.add_subparsers(dest="command", metavar="{core}")
    commands.add_parser(
        "core", help="walk through the sans-IO core instead (no I/O, no dependencies)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "core":
        from ._demo.core import walkthrough  # noqa: PLC0415

        walkthrough()
        return 0
    if not args.timeout > 0:  # also NaN
        print("--timeout must be positive", file=sys.stderr)
        return 2
    try:
        from ._demo import report  # noqa: PLC0415 - imports rich
    except ImportError as exc:
        if (exc.name or "").split(".")[0] != "rich":
            raise
        print(
            f"The demo needs rich (and trio, anyio, uvloop, trustme for every backend): "
            f"{INSTALL_HINT}",
            file=sys.stderr,
        )
        return 2
    from ._demo import backends, scenarios  # noqa: PLC0415

    try:
        return report.run(
            backends.by_name(args.backend),
            scenarios.SCENARIOS,
            scenarios.QUICK if args.quick else scenarios.FULL,
            args.timeout,
            verbose=args.verbose,
        )
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover - run by tests/test_demo.py as a subprocess
    sys.exit(main())
