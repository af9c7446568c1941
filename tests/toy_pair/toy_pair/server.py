"""The toy endpoint: a real HTTP server on loopback that sums numbers, optionally slowly.

python -m toy_pair.server PORT DELAY_MS
"""

from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    port, delay_s = int(sys.argv[1]), float(sys.argv[2]) / 1000

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes

        def log_message(self, *args: object) -> None:
            pass

        def reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self.reply(200, {"ok": True})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                numbers = json.loads(self.rfile.read(length))["numbers"]
                total = sum(int(n) for n in numbers)
            except (ValueError, KeyError, TypeError):
                self.reply(400, {"error": "send {'numbers': [integers]}"})
                return
            time.sleep(delay_s)
            self.reply(200, {"sum": total, "count": len(numbers)})

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
