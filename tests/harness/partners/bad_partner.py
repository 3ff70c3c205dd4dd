"""A partner that misbehaves in one chosen way (fail-closed tests); stdlib only."""

from __future__ import annotations

import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = sys.argv[1]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        sys.stderr.write("request " + (args[0] % args[1:] if args else "") + "\n")  # type: ignore[operator]

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send(200, b'{"ok": true}', "application/json")
        elif self.path == "/missing-health":
            self._send(503, b"starting", "text/plain")
        elif MODE == "html":
            self._send(200, b"<html><body>Welcome!</body></html>", "text/html")
        else:
            self._send(200, b"{not json", "application/json")

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        if MODE == "die_on_post":
            os._exit(3)
        if MODE == "html":
            self._send(200, b"<html><body>Order placed</body></html>", "text/html")
        else:
            self._send(200, b"{not json", "application/json")


if __name__ == "__main__":
    print("secret key is", os.environ.get("P_SK"), flush=True)
    if MODE == "exit":
        sys.exit(3)
    ThreadingHTTPServer(("127.0.0.1", int(os.environ["P_PORT"])), Handler).serve_forever()
