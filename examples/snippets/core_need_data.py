"""docs/core.rst, "NEED_DATA": a read that needs more bytes returns NEED_DATA.

The page shows this file from its import on; tests/test_docs_code.py runs it.
"""

from sansio_streams import NEED_DATA, ReadBuffer

buf = ReadBuffer(limit=2**16)
buf.feed_data(b"HELLO\r\nwor")
assert buf.readuntil(b"\r\n") == b"HELLO\r\n"
assert buf.readuntil(b"\r\n") is NEED_DATA  # where asyncio would wait
buf.feed_data(b"ld\r\n")
assert buf.readuntil(b"\r\n") == b"world\r\n"
