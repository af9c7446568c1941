"""A tiny JSON endpoint on loopback for driving load generators in tests.

POST any path: 200 `{"ok": true}` when the body is JSON, 400 when it is not; `/fail`
answers 503, `/slow` answers after 1.5 s. Headers and body go out in one write with
Nagle off, so a keep-alive client does not wait on delayed ACKs (40 ms per request
otherwise).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    bodies: ClassVar[list[bytes]] = []  # the first few bodies received, for tests to check

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if len(JsonHandler.bodies) < 4:
            JsonHandler.bodies.append(body)
        try:
            json.loads(body)
            status, out = 200, b'{"ok": true}'
        except ValueError:
            status, out = 400, b'{"error": "the body is not JSON"}'
        if self.path == "/fail":
            status = 503
        elif self.path == "/slow":
            time.sleep(1.5)
        head = (
            f"HTTP/1.1 {status} {self.responses[status][0]}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(out)}\r\n\r\n"
        )
        self.wfile.write(head.encode() + out)

    def log_message(self, format: str, *args: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # load generators reset their connections when they stop


@contextlib.contextmanager
def serving(port: int = 0) -> Iterator[str]:
    """Serve on 127.0.0.1 (a free port by default) in a thread; yields the base URL."""
    JsonHandler.bodies.clear()
    server = QuietServer(("127.0.0.1", port), JsonHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    import sys

    with serving(int(sys.argv[1]) if len(sys.argv) > 1 else 0) as url:
        print(url, flush=True)
        threading.Event().wait()
