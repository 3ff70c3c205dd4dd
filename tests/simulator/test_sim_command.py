"""`zeropools-conformance sim`: the standalone sandbox, as a partner developer runs it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from conftest import Receiver

SECRET = "sk_test_standaloneSandboxKey0001"
CONTROL = "simctl_standaloneControlToken01"


@pytest.fixture
def sandbox(receiver: Receiver) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance", "sim", "--port", "0", "--secret-key", SECRET,
         "--control-token", CONTROL, "--webhook-url", receiver.url],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # blocks until the server is listening
    assert "listening on http://127.0.0.1:" in first, first
    api = first.strip().rsplit(" ", 1)[-1]
    try:
        yield proc, api
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_sandbox_serves_the_api_and_settles_on_the_first_poll(
    sandbox: tuple[subprocess.Popen[str], str], receiver: Receiver
) -> None:
    proc, api = sandbox
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {SECRET}"},
                      timeout=10) as client:
        quote = client.post("/pools/EUR-USDT/quote", json={
            "side": "on_ramp", "amount": "100.00", "destAddress": "TSandboxWallet"}).json()
        trade = client.post("/pools/EUR-USDT/transact", json={"quoteId": quote["quoteId"]},
                            headers={"Idempotency-Key": "sandbox-1"}).json()
        assert trade["status"] == "reserved"
        polled = client.get(f"/pools/transactions/{quote['quoteId']}").json()
        assert polled["status"] == "settled"
    deadline = time.monotonic() + 10
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.received, "the settled webhook never reached the configured URL"
    base = api.removesuffix("/v1")
    with httpx.Client(base_url=f"{base}/_sim", timeout=10) as control:
        assert control.get("/clock").status_code == 401
        assert control.get("/clock", headers={"Authorization": f"Bearer {SECRET}"}
                           ).status_code == 401
        clock = control.post("/clock/advance", json={"seconds": 60},
                             headers={"Authorization": f"Bearer {CONTROL}"})
        assert clock.status_code == 200 and clock.json()["offsetSeconds"] == 60
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_sandbox_refuses_a_bad_key_option_clearly() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "sim", "--port", "0", "--secret-key", "pk_test_x"],
        capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 2
    assert "--secret-key" in done.stderr and "Traceback" not in done.stderr
