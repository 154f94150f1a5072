"""A loopback HTTP server whose answers a test scripts: fixture feeds, failing providers, slow peers."""

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Response:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts, latency)

    def encoded_body(self) -> bytes:
        return self.body.encode() if isinstance(self.body, str) else self.body


Handler = Callable[[Request], Response]


class LoopbackServer:
    """Serves scripted responses on 127.0.0.1:<free port>; records every request it gets.

    `route(path, response_or_handler)` sets the answer for a path (query string ignored); a list of
    responses is served in order, the last one repeating.
    """

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._routes: dict[str, Handler | list[Response] | Response] = {}
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path, dict(self.headers.items()), body)
                response = server._answer(request)
                if response.delay:
                    time.sleep(response.delay)
                payload = response.encoded_body()
                try:
                    self.send_response(response.status)
                    headers = {"Content-Length": str(len(payload)), **response.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test); nothing to do

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, answer: Handler | Response | list[Response]) -> None:
        with self._lock:
            self._routes[path] = list(answer) if isinstance(answer, list) else answer

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def _answer(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
            answer = self._routes.get(request.path.split("?", 1)[0])
            if isinstance(answer, list):
                return answer.pop(0) if len(answer) > 1 else answer[0]
        if answer is None:
            return Response(404, b"no such route")
        if isinstance(answer, Response):
            return answer
        return answer(request)

    def start(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
