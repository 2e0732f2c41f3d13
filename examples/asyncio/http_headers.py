"""Get HTTP headers: the spec's example on sansio_streams_asyncio.

The example of asyncio's streams documentation, with the stream functions
taken from ``sansio_streams_asyncio``; a port in the URL is used (the spec's
code always connects to 80 or 443)::

    python examples/asyncio/http_headers.py http://example.com/path/page.html
    python examples/asyncio/http_headers.py https://example.com/path/page.html
"""

import argparse
import asyncio
import urllib.parse

import sansio_streams_asyncio as streams


async def print_http_headers(url_text: str) -> None:
    url = urllib.parse.urlsplit(url_text)
    if url.scheme == "https":
        reader, writer = await streams.open_connection(url.hostname, url.port or 443, ssl=True)
    else:
        reader, writer = await streams.open_connection(url.hostname, url.port or 80)

    query = f"HEAD {url.path or '/'} HTTP/1.0\r\nHost: {url.hostname}\r\n\r\n"

    writer.write(query.encode("latin-1"))
    while True:
        line = await reader.readline()
        if not line:
            break

        text = line.decode("latin1").rstrip()
        if text:
            print(f"HTTP header> {text}")

    # Ignore the body, close the socket
    writer.close()
    await writer.wait_closed()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Print the HTTP headers of a URL (asyncio)")
    parser.add_argument("url", nargs="?", default="http://example.com/")
    args = parser.parse_args()
    asyncio.run(print_http_headers(args.url))
