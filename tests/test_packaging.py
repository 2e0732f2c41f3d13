"""Packaging promises: a pure core, four top-level packages, typed."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sansio_streams.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "src" / "sansio_streams"
FORBIDDEN = ("trio", "anyio", "uvloop", "hypothesis", "sniffio", "outcome")
BACKENDS = ("sansio_streams_asyncio", "sansio_streams_trio", "sansio_streams_anyio")


def test_importing_the_core_imports_no_framework() -> None:
    code = (
        "import sys, sansio_streams\n"
        "from sansio_streams import ReadBuffer, WriteBuffer\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN + BACKENDS!r})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_core_source_imports_only_the_stdlib_and_itself() -> None:
    # The testing helpers may import hypothesis (an extra); nothing else may
    # import a third-party or backend package, nor open sockets.
    allowed = set(sys.stdlib_module_names) | {"sansio_streams"}
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "hypothesis" and path.parent.name == "testing":
                    continue
                assert top in allowed, (path, name)
                assert top not in {"socket", "selectors"}, (path, name)


def test_demo_prints_each_step(capsys: pytest.CaptureFixture[str]) -> None:
    main()
    out = capsys.readouterr().out
    assert "readuntil(b'\\r\\n') -> b'HELLO world\\r\\n'" in out
    assert "readexactly(5) -> NEED_DATA" in out
    assert "readexactly(10) -> raises IncompleteReadError(partial=b'tail', expected=10)" in out


def test_demo_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sansio_streams"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "readexactly(5) -> b'abcde'" in result.stdout
    assert "at_eof() -> True" in result.stdout


@pytest.mark.timeout(120)
def test_wheel_holds_exactly_the_four_packages(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"sansio_streams", *BACKENDS}
    for package in tops:
        assert f"{package}/__init__.py" in names
        assert f"{package}/py.typed" in names
    assert "sansio_streams/testing/__init__.py" in names
