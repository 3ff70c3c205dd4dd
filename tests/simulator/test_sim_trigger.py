"""`sim trigger|replay|forge|advance|next-outcome` against a running `sim` (`stripe trigger`)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from conformance.cli import main
from conftest import Receiver

SECRET = "sk_test_triggerSandboxKey0001"
CONTROL = "simctl_triggerControlToken01"


@pytest.fixture
def sandbox(receiver: Receiver) -> Iterator[tuple[str, str]]:
    """A running `sim` (started as a user does, options first): its API URL and partner id."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance", "sim", "--port", "0", "--secret-key", SECRET,
         "--control-token", CONTROL, "--webhook-url", receiver.url],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert "listening on http://127.0.0.1:" in first, first
    partner = proc.stdout.readline().split()[-1]
    try:
        yield first.strip().rsplit(" ", 1)[-1], partner
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _trade(api: str) -> str:
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {SECRET}"},
                      timeout=10) as client:
        quote = client.post("/pools/EUR-USDT/quote", json={
            "side": "on_ramp", "amount": "100.00", "destAddress": "TTriggerWallet"}).json()
        trade = client.post("/pools/EUR-USDT/transact", json={"quoteId": quote["quoteId"]},
                            headers={"Idempotency-Key": "trigger-1"}).json()
    assert trade["status"] == "reserved"
    return str(trade["transactId"])


def _wait(receiver: Receiver, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(receiver.received) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def test_trigger_replay_forge_advance_and_next_outcome(
    sandbox: tuple[str, str], receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    api, partner = sandbox
    trade = _trade(api)
    where = ["--sim-url", api, "--control-token", CONTROL]
    assert main(["sim", "trigger", "settled", "--trade", trade, *where]) == 0
    out = capsys.readouterr().out
    assert f"trade {trade} is settled" in out and "pool.transaction.settled" in out
    _wait(receiver, 1)
    assert receiver.received, "the triggered webhook never reached the partner"
    assert main(["sim", "replay", "--trade", trade, *where]) == 0
    assert "redelivery" in capsys.readouterr().out
    _wait(receiver, 2)
    assert len(receiver.received) >= 2
    assert receiver.received[0].body == receiver.received[-1].body
    assert main(["sim", "forge", "bad_signature", "--trade", trade, *where]) == 0
    assert "bad_signature" in capsys.readouterr().out
    assert main(["sim", "advance", "30", *where]) == 0
    assert "offset 30.0 s" in capsys.readouterr().out
    assert main(["sim", "next-outcome", "failed", "--partner", partner, *where]) == 0
    # Refusals are exit 1 with the sandbox's own message.
    assert main(["sim", "trigger", "failed", "--trade", trade, *where]) == 1
    assert "cannot become failed" in capsys.readouterr().out
    assert main(["sim", "advance", "1", "--sim-url", api, "--control-token", "simctl_wrong"]) == 1


def test_helpers_without_a_token_or_a_sandbox_are_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ZEROPOOLS_SIM_CONTROL_TOKEN", raising=False)
    assert main(["sim", "advance", "1", "--sim-url", "http://127.0.0.1:1"]) == 2
    assert "--control-token" in capsys.readouterr().err
    monkeypatch.setenv("ZEROPOOLS_SIM_CONTROL_TOKEN", CONTROL)
    assert main(["sim", "advance", "1", "--sim-url", "http://127.0.0.1:1"]) == 2
    assert "cannot reach the sandbox" in capsys.readouterr().err
