"""Run the conformance suite without pytest and print the report.

Usage: ``python examples/conformance/run_conformance.py [CHECK ...]``
"""

from __future__ import annotations

import sys

import anyio

import sansio_streams_trio as my_streams  # your backend here
from sansio_streams.testing import conformance


async def main(names: list[str]) -> int:
    subject = conformance.Subject(my_streams, name="my streams")
    try:
        report = await conformance.run_checks(subject, names or None)
    except ExceptionGroup as failures:
        for failure in failures.exceptions:
            print(f"FAILED: {failure!r} {getattr(failure, '__notes__', '')}")
        return 1
    for name, verdict in report.items():
        print(f"{name:28} {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(anyio.run(main, sys.argv[1:], backend="trio"))
