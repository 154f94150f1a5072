"""A loopback server that streams a huge body in chunks, without a Content-Length, built as it goes.

testsupport.http.LoopbackServer answers with whole bodies and a Content-Length, which the fetcher
refuses before reading. A feed that never says how long it is must be cut while it is read.
"""

import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StreamingServer:
    """Serves `chunks()` on every GET with chunked transfer encoding; counts the bytes it got out."""

    def __init__(self, chunks: Callable[[], Iterable[bytes]], *, content_type: str) -> None:
        self.requests = 0
        self.bytes_sent = 0
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for chunk in chunks():
                        # Three writes, so that a big chunk is never copied into a framed one.
                        self.wfile.write(b"%x\r\n" % len(chunk))
                        self.wfile.write(chunk)
                        self.wfile.write(b"\r\n")
                        server.bytes_sent += len(chunk)
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: what a size cap should do

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def __enter__(self) -> "StreamingServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
