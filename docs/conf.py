"""Sphinx configuration: ``sphinx-build -W --keep-going -b html docs docs/_build/html``."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.ext import intersphinx
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parent.parent
# autodoc imports the packages from the source tree, installed or not.
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "src" / "backends")]

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
    # Type variables of generic helpers (private names, shown as text).
    ("py:class", "sansio_streams.testing.T"),
    ("py:class", "sansio_streams._front._ReaderT"),
    ("py:class", "sansio_streams._front._WriterT"),
    # What the trio backend's get_running_loop() returns: a private class with
    # asyncio's call_soon() only (its docstring says so).
    ("py:class", "sansio_streams_trio._api._Loop"),
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
    """Show asyncio's bases under their documented names
    (``asyncio.IncompleteReadError``, not ``asyncio.exceptions...``)."""
    for i, base in enumerate(bases):
        module = getattr(base, "__module__", "")
        if module == "asyncio.exceptions":
            bases[i] = f":py:exc:`asyncio.{base.__qualname__}`"
        elif module.startswith("asyncio."):
            bases[i] = f":py:class:`asyncio.{base.__qualname__}`"


_ASYNCIO_SUBMODULE = re.compile(r"asyncio\.(events|transports|protocols|streams|trsock)\.\w+$")


def _core_names(
    app: Sphinx, env: BuildEnvironment, node: addnodes.pending_xref, contnode: Any
) -> Any:
    """Resolve a core name to its public one when a docstring writes it
    unqualified in another module (``NEED_DATA`` in sansio_streams.testing) or
    an annotation names its private module (``sansio_streams._readbuffer``);
    and an asyncio name written with its private module to the public one."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if _ASYNCIO_SUBMODULE.match(target):
        # An annotation names asyncio's private module (asyncio.events.
        # AbstractEventLoop): look the public name up in Python's inventory.
        public_node = node.deepcopy()
        public_node["reftarget"] = "asyncio." + target.rpartition(".")[2]
        return intersphinx.missing_reference(app, env, public_node, contnode)
    if target.startswith("sansio_streams._"):
        target = target.rpartition(".")[2]
    if target not in sansio_streams.__all__:
        return None
    public = f"sansio_streams.{target}"
    domain = env.get_domain("py")
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], public, node, contnode
    )


class _OptionalImage(SphinxDirective):
    """``.. optional-image:: path``: the image, or nothing while the file does
    not exist.  (An image in a false ``.. only::`` block still warns when its
    file is missing, which fails a ``-W`` build.)"""

    required_arguments = 1
    option_spec: ClassVar[dict[str, Callable[[str], Any]]] = {"alt": str, "width": str}

    def run(self) -> list[Any]:
        uri = self.arguments[0]
        _, path = self.env.relfn2path(uri, self.env.docname)
        self.env.note_dependency(path)  # rebuild the page when the file comes or goes
        if not Path(path).is_file():
            return []
        options = "".join(f"\n   :{name}: {value}" for name, value in self.options.items())
        return self.parse_text_to_nodes(f".. image:: {uri}{options}\n")


def setup(app: Sphinx) -> None:
    # docs/benchmarks.rst shows the chart that `python benchmarks/run.py --chart
    # docs/_static/benchmarks.svg` writes, if there is one: the image with
    # optional-image, the text around it with `.. only:: benchmarks_chart`.
    if (Path(app.srcdir) / "_static" / "benchmarks.svg").is_file():
        app.tags.add("benchmarks_chart")
    app.add_directive("optional-image", _OptionalImage)
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("missing-reference", _core_names)
