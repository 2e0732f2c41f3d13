"""``python -m sansio_streams``: the demo programs (see :mod:`sansio_streams.__main__`).

Unlike the rest of ``sansio_streams``, this subpackage is a *program*: its
``streams`` modules run every installed backend on real loopback sockets and
may import frameworks, rich, trustme, ``socket`` and ``ssl``.  Nothing in the
core imports it; ``python -m sansio_streams`` does, lazily, per command.

* :mod:`.core` -- the core walk-through (no I/O, stdlib only);
* :mod:`.backends` -- each backend's runner and hard-timeout primitive;
* :mod:`.scenarios` -- the spec's scenarios, written once against a streams module;
* :mod:`.report` -- running the grid and printing one rich table.
"""
