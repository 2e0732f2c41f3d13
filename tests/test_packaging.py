"""Packaging promises: a pure core, four top-level packages, typed."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sansio_streams._demo.core import walkthrough

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "src" / "sansio_streams"
FORBIDDEN = ("trio", "anyio", "uvloop", "hypothesis", "sniffio", "outcome", "rich", "trustme")
BACKENDS = ("sansio_streams_asyncio", "sansio_streams_trio", "sansio_streams_anyio")


def test_importing_the_core_imports_no_framework() -> None:
    code = (
        "import sys, sansio_streams\n"
        "from sansio_streams import ReadBuffer, WriteBuffer\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN + BACKENDS!r})\n"
        # The demo is a program: importing the library must not load it.
        "bad += sorted(m for m in sys.modules if m.startswith('sansio_streams._demo'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_core_source_imports_only_the_stdlib_and_itself() -> None:
    # The rule is about the core's runtime modules: they import no framework
    # and open no socket.  Two parts of the package are not runtime modules
    # but programs and tests that drive backends over real sockets, and are
    # exempt: the demo (sansio_streams._demo, run by `python -m sansio_streams`)
    # may import anything; the conformance suite may import socket, ssl and
    # its extras (anyio, trustme, hypothesis).  The testing helpers may import
    # hypothesis (an extra).  The awaitable front (_front.py, shared by the
    # trio and anyio backends) does no socket I/O but checks the sock=
    # arguments of the API functions, once for both: it may import socket.
    allowed = set(sys.stdlib_module_names) | {"sansio_streams"}
    demo = CORE / "_demo"
    conformance = CORE / "testing" / "conformance.py"
    front = CORE / "_front.py"
    conformance_allowed = allowed | {"anyio", "trustme", "hypothesis"}
    for path in CORE.rglob("*.py"):
        if path.is_relative_to(demo):
            continue
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
                if path == conformance:
                    assert top in conformance_allowed, (path, name)
                    assert top != "selectors", (path, name)
                    continue
                if top == "hypothesis" and path.parent.name == "testing":
                    continue
                assert top in allowed, (path, name)
                if path == front and top == "socket":
                    continue
                assert top not in {"socket", "selectors"}, (path, name)


def test_demo_prints_each_step(capsys: pytest.CaptureFixture[str]) -> None:
    walkthrough()
    out = capsys.readouterr().out
    assert "readuntil(b'\\r\\n') -> b'HELLO world\\r\\n'" in out
    assert "readexactly(5) -> NEED_DATA" in out
    assert "readexactly(10) -> raises IncompleteReadError(partial=b'tail', expected=10)" in out


def test_demo_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sansio_streams", "core"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "readexactly(5) -> b'abcde'" in result.stdout
    assert "at_eof() -> True" in result.stdout


def test_demo_help_runs_and_needs_no_framework() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sansio_streams", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for option in ("--quick", "--backend", "core"):
        assert option in result.stdout
    # --help (and `core`) must work without the demo extra: the parser loads
    # no framework, no rich, no backend.
    code = (
        "import sys, contextlib, io\n"
        "from sansio_streams.__main__ import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN + BACKENDS!r})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


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
