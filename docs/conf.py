"""Sphinx configuration: ``sphinx-build -W --keep-going -b html docs docs/_build/html``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

ROOT = Path(__file__).resolve().parent.parent
# autodoc imports the package from the source tree, installed or not.
sys.path.insert(0, str(ROOT / "src"))

import sansio_streams  # noqa: E402

project = "sansio_streams"
author = "The sansio_streams developers"
copyright = "The sansio_streams developers"
release = sansio_streams.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "myst_parser",
]

exclude_patterns = ["_build", "_inventories"]
nitpicky = True
nitpick_ignore = [
    # Only Python, trio and anyio have an inventory here (see _inventories/).
    ("py:class", "hypothesis.strategies.SearchStrategy"),
    # The type variable of the generic helpers in sansio_streams.testing.
    ("py:class", "sansio_streams.testing.T"),
]

# -- autodoc -----------------------------------------------------------------

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
python_use_unqualified_type_names = True
# Show the read methods' return type as the alias, not its expansion.
autodoc_type_aliases = {"ReadResult": "sansio_streams.ReadResult"}
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# -- intersphinx -------------------------------------------------------------
# No network at build time: each inventory is a local file written by
# _inventories/make_inventories.py, while the base URLs are the real ones, so
# the links in the built pages point to the real documentation.

intersphinx_mapping = {
    "python": ("https://docs.python.org/3/", "_inventories/python.inv"),
    "trio": ("https://trio.readthedocs.io/en/stable/", "_inventories/trio.inv"),
    "anyio": ("https://anyio.readthedocs.io/en/stable/", "_inventories/anyio.inv"),
}

# -- HTML --------------------------------------------------------------------

html_theme = "furo"
html_title = f"sansio_streams {release}"


# -- cross-reference fix-ups -------------------------------------------------


def _public_bases(app: Sphinx, name: str, obj: object, options: object, bases: list[Any]) -> None:
    """Show asyncio's exception bases under their documented names
    (``asyncio.IncompleteReadError``, not ``asyncio.exceptions...``)."""
    for i, base in enumerate(bases):
        if getattr(base, "__module__", None) == "asyncio.exceptions":
            bases[i] = f":py:exc:`asyncio.{base.__qualname__}`"


def _core_names(
    app: Sphinx, env: BuildEnvironment, node: addnodes.pending_xref, contnode: Any
) -> Any:
    """Resolve a core name to its public one when a docstring writes it
    unqualified in another module (``NEED_DATA`` in sansio_streams.testing) or
    an annotation names its private module (``sansio_streams._readbuffer``)."""
    target = node.get("reftarget", "")
    if target.startswith("sansio_streams._"):
        target = target.rpartition(".")[2]
    if node.get("refdomain") != "py" or target not in sansio_streams.__all__:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(
        env,
        node["refdoc"],
        app.builder,
        node["reftype"],
        f"sansio_streams.{target}",
        node,
        contnode,
    )


def setup(app: Sphinx) -> None:
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("missing-reference", _core_names)
