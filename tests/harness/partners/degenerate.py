"""A degenerate partner (fail-closed tests of issue 11): one bad behaviour per mode; stdlib only.

Usage: ``degenerate.py MODE [ARG]``, with the reference partner's routes and field names
(so the reference manifest's actions map its answers). Modes:

- ``yes_man``: says yes to everything and never calls the provider (made-up ids).
- ``error500``: every request but health answers 500.
- ``garbage``: every request but health answers 200 with a non-JSON body.
- ``hang``: health answers; every other request never does.
- ``die_mid_run N``: ``yes_man`` for the first N requests, then the process exits.
- ``freeze_after N``: ``yes_man`` for the first N requests, then nothing answers, health included.
- ``slow_inside S`` / ``slow_outside S``: ``yes_man``, but once the run has begun every answer
  (health included) waits S seconds first; health is prompt until then, so the partner starts.

Health (``GET /healthz``) never counts as a request. Optional environment:
``DEGENERATE_PID_FILE`` (the pid is written there at start) and ``DEGENERATE_FROZE_FILE``
(``freeze_after``: ``time.monotonic()`` is written there when the partner stops answering;
CLOCK_MONOTONIC is system-wide on Linux, so the harness's clock reads the same scale), and
``DEGENERATE_LEAK_SECRET=1``: print the secret key (raw, base64, hex) at start and with
every request, as a careless partner would (the harness must redact it from all evidence).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = (
    "yes_man",
    "error500",
    "garbage",
    "hang",
    "die_mid_run",
    "freeze_after",
    "slow_inside",
    "slow_outside",
)
HEALTH = "/healthz"
FOREVER_S = 3600.0  # far past any bound of the harness

MODE = sys.argv[1]
ARG = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
if MODE not in MODES:
    sys.exit(f"unknown mode {MODE!r}; one of {', '.join(MODES)}")

_lock = threading.Lock()
_served = 0  # non-health requests answered so far
_begun = False  # a non-health request has arrived (slow modes delay everything from then on)
_frozen = False
_orders: dict[str, dict[str, Any]] = {}  # order ref → made-up record (yes_man's memory)


def _made_up(prefix: str) -> str:
    return prefix + secrets.token_hex(8)


def _leak() -> str:
    """The secret key in three encodings, when the run asked for a careless partner."""
    if os.environ.get("DEGENERATE_LEAK_SECRET") != "1":
        return ""
    key = os.environ.get("DEGENERATE_SECRET_KEY", "").encode()
    return f" key={key.decode()} b64={base64.b64encode(key).decode()} hex={key.hex()}"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        line = args[0] % args[1:] if args else ""  # type: ignore[operator]
        sys.stderr.write(f"request {line}{_leak()}\n")

    # -- plumbing --------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _json(self, status: int, document: object) -> None:
        self._send(status, json.dumps(document).encode())

    def _body(self) -> object:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    # -- behaviour -------------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        global _begun, _frozen, _served
        body = self._body() if method == "POST" else None
        path = urllib.parse.urlsplit(self.path).path
        health = method == "GET" and path == HEALTH
        with _lock:
            frozen = _frozen
            if not health:
                _begun = True
            begun = _begun
        if frozen:
            time.sleep(FOREVER_S)
            return
        if MODE in ("slow_inside", "slow_outside") and begun:
            time.sleep(ARG)
        if health:
            self._json(200, {"ok": True})
            return
        if MODE == "error500":
            self._send(500, b"internal server error", "text/plain")
            return
        if MODE == "garbage":
            self._send(200, b"<html>ok</html>", "text/html")
            return
        if MODE == "hang":
            time.sleep(FOREVER_S)
            return
        self._yes(method, path, body)
        with _lock:
            _served += 1
            served = _served
        if MODE == "die_mid_run" and served >= ARG:
            sys.stderr.write(f"dying after {served} requests\n")
            sys.stderr.flush()
            os._exit(3)
        if MODE == "freeze_after" and served >= ARG:
            with _lock:
                if not _frozen:
                    _frozen = True
                    froze_file = os.environ.get("DEGENERATE_FROZE_FILE")
                    if froze_file:
                        with open(froze_file, "w") as out:
                            out.write(repr(time.monotonic()))
            sys.stderr.write(f"frozen after {served} requests\n")

    def _yes(self, method: str, path: str, body: object) -> None:
        """Yes to everything, with made-up ids; the provider is never called."""
        account = self.headers.get("X-Account-Id", "")
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        if method == "POST" and path == "/api/quotes":
            ref = _made_up("ord_")
            amount = body.get("amount") if isinstance(body, dict) else None
            expires = datetime.now(UTC) + timedelta(seconds=60)
            record: dict[str, Any] = {
                "orderRef": ref,
                "quoteId": _made_up("pq_test_"),
                "status": "quoted",
                "expiresAt": expires.isoformat().replace("+00:00", "Z"),
                "amount": str(amount) if amount is not None else "25.00",
                "account": account,
            }
            with _lock:
                _orders[ref] = record
            self._json(200, record)
            return
        if len(parts) >= 3 and parts[:2] == ["api", "orders"]:
            ref = parts[2]
            with _lock:
                stored = _orders.setdefault(
                    ref,
                    {"orderRef": ref, "quoteId": _made_up("pq_test_"), "amount": "25.00",
                     "account": account},
                )
                if "tradeId" not in stored:
                    stored["tradeId"] = _made_up("txn_test_")
                    stored["requestIds"] = [_made_up("req_")]
                    stored["eventIds"] = [_made_up("evt_")]
                stored["status"] = "settled"  # accepted or read: it is always done
                shown = dict(stored)
            self._json(200, shown)
            return
        if method == "GET" and path == "/api/ledger":
            with _lock:
                entries = [
                    {"amount": o["amount"], "kind": "credit", "tradeId": o["tradeId"],
                     "quoteId": o["quoteId"], "orderRef": o["orderRef"],
                     "eventId": o["eventIds"][0]}
                    for o in _orders.values()
                    if o.get("account") == account and "tradeId" in o
                ]
            self._json(200, {"entries": entries})
            return
        if method == "GET" and path == "/api/balance":
            self._json(200, {"balance": "1000000.00"})
            return
        if method == "GET" and path == "/api/alerts":
            self._json(200, {"alerts": []})
            return
        self._json(200, {"ok": True})  # webhooks, reconcile, anything else: yes


if __name__ == "__main__":
    pid_file = os.environ.get("DEGENERATE_PID_FILE")
    if pid_file:
        with open(pid_file, "w") as out:
            out.write(str(os.getpid()))
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["DEGENERATE_PORT"])), Handler)
    server.daemon_threads = True
    print(f"degenerate partner ({MODE}) on port {server.server_port}{_leak()}", flush=True)
    server.serve_forever()
