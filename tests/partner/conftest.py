"""Run the reference partner as a real subprocess against the real simulator."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.simulator import PartnerSpec, Simulator, SimulatorSettings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
if str(FIXTURES) not in sys.path:  # the partner is its own package, started from fixtures/
    sys.path.insert(0, str(FIXTURES))
DEST = "TQ5NqdNdcZ5wC2k1yT6sHY8cC2f1qkzEXt"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Partner:
    """One running reference partner, provisioned as its own provider partner."""

    def __init__(self, sim: Simulator, flaws: str = "", scheme: str = "0bit",
                 spec: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> None:
        self.sim = sim
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        fields: dict[str, Any] = {
            "name": f"lumen-{flaws or 'clean'}", "webhook_url": f"{self.url}/webhooks/0pools",
            "signature_scheme": scheme, **(spec or {}),
        }
        self.creds = sim.control.provision_partner(PartnerSpec(**fields))
        self.pid = self.creds.partner_id
        self.env = {
            **os.environ,
            "ZEROPOOLS_BASE_URL": sim.api_url,
            "ZEROPOOLS_SECRET_KEY": self.creds.secret_key,
            "ZEROPOOLS_PUBLISHABLE_KEY": self.creds.publishable_key,
            "ZEROPOOLS_WEBHOOK_SECRET": self.creds.webhook_secret,
            "ZEROPOOLS_SIGNATURE_SCHEME": scheme,
            "PORT": str(self.port),
            "REFERENCE_PARTNER_FLAWS": flaws,
            "REFERENCE_PARTNER_POLL_INTERVAL": "0.3",
            "REFERENCE_PARTNER_PROVIDER_TIMEOUT": "1.5",
            "REFERENCE_PARTNER_STUCK_AFTER": "1",
            **(env or {}),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reference_partner"], cwd=FIXTURES, env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        self.http = httpx.Client(base_url=self.url, timeout=15.0)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"partner exited: {self.proc.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                if self.http.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("partner did not become healthy")

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    # -- driving ----------------------------------------------------------------------

    def call(self, method: str, path: str, account: str = "acct_a", **kw: Any) -> httpx.Response:
        headers = {"X-Account-Id": account, **kw.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kw)

    def quote(self, amount: str = "25.00", network: str = "tron", account: str = "acct_a",
              **extra: Any) -> httpx.Response:
        body = {"amount": amount, "network": network, "destAddress": DEST, **extra}
        return self.call("POST", "/api/quotes", account, json=body)

    def accept(self, ref: str, account: str = "acct_a") -> httpx.Response:
        return self.call("POST", f"/api/orders/{ref}/accept", account)

    def order(self, ref: str, account: str = "acct_a") -> dict[str, Any]:
        resp = self.call("GET", f"/api/orders/{ref}", account)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def ledger(self, account: str = "acct_a", ref: str | None = None) -> list[dict[str, Any]]:
        params = {"orderRef": ref} if ref else {}
        resp = self.call("GET", "/api/ledger", account, params=params)
        assert resp.status_code == 200, resp.text
        return list(resp.json()["entries"])

    def wait_for(self, check: Callable[[], Any], timeout: float = 8.0) -> Any:
        """Bounded polling for an observable condition."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            time.sleep(0.1)

    def wait_status(self, ref: str, *statuses: str, account: str = "acct_a",
                    timeout: float = 8.0) -> dict[str, Any]:
        return dict(self.wait_for(
            lambda: (o := self.order(ref, account))["status"] in statuses and o, timeout
        ))

    def transacts(self, quote_id: str | None = None) -> list[Any]:
        return [
            e for e in self.sim.control.journal(partner_id=self.pid)
            if e.method == "POST" and e.path.endswith("/transact")
            and (quote_id is None or (isinstance(e.body, dict)
                                      and e.body.get("quoteId") == quote_id))
        ]

    def journal(self, suffix: str = "", method: str | None = None) -> list[Any]:
        return [
            e for e in self.sim.control.journal(partner_id=self.pid)
            if e.path.endswith(suffix) and (method is None or e.method == method)
        ]

    def trades(self) -> list[Any]:
        return list(self.sim.control.trades(self.pid))


@pytest.fixture(scope="session")
def sim() -> Iterator[Simulator]:
    with Simulator(SimulatorSettings()) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def start(sim: Simulator) -> Iterator[Callable[..., Partner]]:
    """Start partners on demand; all are stopped at the end of the module."""
    running: list[Partner] = []

    def _start(flaws: str = "", **kw: Any) -> Partner:
        partner = Partner(sim, flaws, **kw)
        running.append(partner)
        return partner

    yield _start
    for partner in running:  # signal all first, then wait: shutdowns overlap
        partner.proc.terminate()
    for partner in running:
        partner.stop()


@pytest.fixture(scope="module")
def clean(start: Callable[..., Partner]) -> Partner:
    """The flawless partner."""
    return start()
