"""Network tests of sansio_streams_asyncio (a package so that test module names stay unique)."""
