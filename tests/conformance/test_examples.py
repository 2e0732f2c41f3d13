"""The conformance examples the docs show (examples/conformance/) run as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sansio_streams.testing import conformance

FOLDER = Path(__file__).resolve().parent.parent.parent / "examples" / "conformance"


@pytest.mark.timeout(120)
def test_pytest_module_runs_every_check() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rs",
            str(FOLDER / "test_my_backend.py"),
        ],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Every check plus the hypothesis test; only the ones not applicable to
    # this subject are skipped (it gives no start_tls_injection_error).
    checks = len(conformance.CHECKS)  # + 1 hypothesis test - 1 skipped
    assert f"{checks} passed, 1 skipped" in result.stdout, result.stdout
    assert "start_tls_injection_error is not given" in result.stdout


@pytest.mark.timeout(60)
def test_script_prints_the_report() -> None:
    result = subprocess.run(
        [sys.executable, str(FOLDER / "run_conformance.py"), "reading_methods", "flood_bounded"],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{'reading_methods':28} ok",
        f"{'flood_bounded':28} not applicable: Subject.buffered is not given",
    ]
