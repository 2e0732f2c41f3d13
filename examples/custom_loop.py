"""A line-based echo server on a plain ``selectors`` loop: no asyncio, no framework.

The server answers each line uppercased.  ReadBuffer and WriteBuffer do the
stream work (buffering, finding lines, the line length limit, flow control);
this file only moves bytes between them and non-blocking sockets.  A client in
a thread sends lines cut at awkward places.  docs/core.rst walks through it.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time

from sansio_streams import NEED_DATA, ReadBuffer, WriteBuffer

LIMIT = 64  # the longest line accepted: tiny, so that the demo can go over it
RECV_SIZE = 4096
TIMEOUT = 10.0  # seconds: the demo ends even if something goes wrong
READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE


class EchoConnection:
    """One client of the server: a non-blocking socket and its two buffers."""

    def __init__(self, sel: selectors.BaseSelector, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sel, self.sock = sel, sock
        self.reader = ReadBuffer(limit=LIMIT)
        # A low high-water mark: a peer that does not read its answers soon stops
        # the server from reading its lines (see process()).
        self.writer = WriteBuffer(high=4 * LIMIT)
        self.events = 0  # what the selector watches for us now
        self.peer_eof = self.eof_sent = self.closed = False
        self.update_interest()

    def on_ready(self, mask: int) -> None:
        try:
            if mask & READ:
                self.receive()
            self.process()
            self.send()
        except ConnectionError:  # reset by the peer: nobody is left to answer
            self.writer.abort()
            self.close()
        if not self.closed:
            self.update_interest()

    def receive(self) -> None:
        # Zero copy: the kernel writes straight into the ReadBuffer's free space.
        try:
            nbytes = self.sock.recv_into(self.reader.get_buffer(RECV_SIZE))
        except BlockingIOError:  # a spurious wake-up: give the space back
            self.reader.buffer_updated(0)
            return
        if nbytes:
            self.reader.buffer_updated(nbytes)
        else:  # the peer sent EOF (feed_eof() also gives the space back)
            self.reader.feed_eof()
            self.peer_eof = True

    def process(self) -> None:
        # Take no more lines while answers pile up.  The unread lines stay in the
        # ReadBuffer, which soon sets reading_paused; we stop reading the socket,
        # and the peer's sends block: the backpressure reaches the peer.
        while not self.writer.writing_paused and not self.writer.closing:
            try:
                line = self.reader.readline()
            except ValueError:
                # Over the limit.  Like asyncio's, this readline() dropped what had
                # arrived of the line, but its rest may still come and would read as
                # a line of its own: we cannot resynchronise.  Say why and answer no
                # more, but read on to EOF: closing a socket with unread data would
                # reset the connection and might lose this answer.
                if not self.writer.eof_requested:
                    self.writer.write(b"ERROR line too long\n")
                    self.writer.write_eof()
                continue
            if line is NEED_DATA:  # a partial line: wait for the rest
                return
            if not line:  # EOF, every line answered: finish sending, then close
                self.writer.write_eof()
                self.writer.close()
                return
            if not self.writer.eof_requested:
                self.writer.write(line.upper())

    def send(self) -> None:
        while self.writer.pending:
            try:
                nbytes = self.sock.send(self.writer.next_to_send())
            except BlockingIOError:  # the kernel's buffer is full: wait for WRITE
                return
            self.writer.sent(nbytes)
            if not self.writer.writing_paused:
                self.process()  # more answers may be let through now
        # Everything is sent: only now may EOF and close follow it.
        if self.writer.eof_requested and not self.eof_sent:
            self.sock.shutdown(socket.SHUT_WR)
            self.eof_sent = True
        if self.writer.closing:
            self.close()

    def update_interest(self) -> None:
        # Watch only for what we can act on: a socket that is always writable, or
        # readable at EOF, would make select() return at once, forever.
        events = 0
        if not (self.peer_eof or self.reader.reading_paused):
            events |= READ
        if self.writer.pending:
            events |= WRITE
        if events and not self.events:
            self.sel.register(self.sock, events, self)
        elif self.events and not events:
            self.sel.unregister(self.sock)
        elif events != self.events:
            self.sel.modify(self.sock, events, self)
        self.events = events

    def close(self) -> None:
        if self.events:
            self.sel.unregister(self.sock)
            self.events = 0
        self.sock.close()
        self.closed = True


def serve(listener: socket.socket, clients: int = 1, timeout: float = TIMEOUT) -> None:
    """Serve the next ``clients`` connections to ``listener``; return once all are closed."""
    deadline = time.monotonic() + timeout
    connections: list[EchoConnection] = []
    with selectors.DefaultSelector() as sel:
        listener.setblocking(False)
        sel.register(listener, READ)
        while len(connections) < clients or not all(c.closed for c in connections):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the server did not finish in time")
            for key, mask in sel.select(remaining):
                if key.data is None:  # the listener: a new client
                    connections.append(EchoConnection(sel, listener.accept()[0]))
                    if len(connections) == clients:
                        sel.unregister(listener)
                else:
                    key.data.on_ready(mask)


def client(port: int, pieces: list[bytes]) -> bytes:
    """Send each piece in its own ``send()``, then EOF; return all the server sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        # No Nagle: each piece leaves at once, so the server gets lines in pieces.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(0.01)
        sock.shutdown(socket.SHUT_WR)
        received = []
        while data := sock.recv(RECV_SIZE):
            received.append(data)
    return b"".join(received)


PIECES = [b"hello, wor", b"ld\nsplit ", b"across sends\n", b"two\nlines\n", b"x" * 100, b"\nbye\n"]


def main() -> list[str]:
    """Run the server and one client; print and return the client's answer lines."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        answer: list[bytes] = []
        port = listener.getsockname()[1]
        thread = threading.Thread(target=lambda: answer.append(client(port, PIECES)))
        thread.start()
        serve(listener)
        thread.join(TIMEOUT)
    lines = b"".join(answer).decode().splitlines()
    for line in lines:
        print(line)
    return lines


if __name__ == "__main__":
    main()
