"""sansio_streams_anyio: asyncio's streams API on anyio -- not written yet.

The backend is planned (issue #4); until it lands, importing this package raises
ImportError rather than offering a half-working API.
"""

raise ImportError("sansio_streams_anyio is not implemented yet; see issue #4")
