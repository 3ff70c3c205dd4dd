"""RunResult builders for the report tests: plain data, as the runner would produce it."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from pathlib import Path

from conformance.catalogue import CATALOGUE_VERSION, SCENARIOS, scenario
from conformance.evidence import Evidence, Screenshot, Step
from conformance.findings import Finding, Severity
from conformance.results import RunResult, ScenarioResult, SkipKind, Status, Waiver

SECRET_KEY = "sk_test_9f8e7d6c5b4a39281706f5e4"
WEBHOOK_SECRET = "whsec_Zx81Kq0PmT44aVbYc2"


def result(
    scenario_id: str,
    status: Status = Status.PASS,
    *,
    reason: str = "",
    skip_kind: SkipKind | None = None,
    evidence: Evidence | None = None,
    fix: str = "",
) -> ScenarioResult:
    findings: tuple[Finding, ...] = ()
    if status is Status.FAIL:
        findings = (
            Finding(
                scenario_id=scenario_id,
                severity=Severity.BLOCKER,
                message=reason or f"{scenario_id} failed",
                fix=fix or f"make {scenario_id} pass",
                clause=scenario(scenario_id).clause if scenario_id in _IDS else _ANY_CLAUSE,
            ),
        )
    if status is Status.SKIPPED and skip_kind is None:
        skip_kind = SkipKind.NOT_APPLICABLE
    return ScenarioResult(
        scenario_id=scenario_id,
        status=status,
        reason=reason,
        duration_s=1.25,
        findings=findings,
        evidence=evidence or Evidence(),
        skip_kind=skip_kind,
    )


_IDS = {s.id for s in SCENARIOS}
_ANY_CLAUSE = SCENARIOS[0].clause


def run(
    overrides: Iterable[ScenarioResult] = (),
    *,
    waivers: Iterable[Waiver] = (),
    harness_errors: Iterable[str] = (),
    partner: str = "acme-payments",
) -> RunResult:
    """Every catalogue scenario passing, except the given results (which replace by id)."""
    by_id = {s.id: result(s.id) for s in SCENARIOS}
    extra: list[ScenarioResult] = []
    for item in overrides:
        if item.scenario_id in by_id:
            by_id[item.scenario_id] = item
        else:
            extra.append(item)
    return RunResult(
        harness_version="0.1.0",
        catalogue_version=CATALOGUE_VERSION,
        partner_name=partner,
        started_at="2026-11-22T09:00:00Z",
        finished_at="2026-11-22T09:03:12Z",
        duration_s=192.4,
        scenarios=tuple(by_id.values()) + tuple(extra),
        waivers=tuple(waivers),
        harness_errors=tuple(harness_errors),
    )


def png(width: int = 40, height: int = 24, rgb: tuple[int, int, int] = (30, 90, 200)) -> bytes:
    """A real PNG image, written by hand (no imaging library needed)."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def rich_evidence(out_dir: Path, *, with_secrets: bool = False) -> Evidence:
    """Evidence with every part filled in; optionally leaking the run's secrets everywhere."""
    shots = out_dir / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    (shots / "expiry-after.png").write_bytes(png())
    leak = f" Authorization: Bearer {SECRET_KEY} secret={WEBHOOK_SECRET}" if with_secrets else ""
    return Evidence(
        steps=(
            Step(at_s=0.01, action="create_quote", detail="POST /orders amount=10.20 EUR"),
            Step(at_s=2.31, action="wait", detail="just past expiresAt 2026-11-22T09:00:02Z"),
            Step(at_s=2.40, action="accept", detail="POST /orders/ord_81/accept" + leak, ok=False),
        ),
        ids=(
            ("order_ref", ("ord_81",)),
            ("quote_id", ("pq_test_4b1c9e",)),
            ("transact_id", ("txn_test_77aa01",)),
            ("request_id", ("req_a1b2c3", "req_d4e5f6")),
            ("event_id", ("3f9a" * 16,)),
            ("idempotency_key", ("order-ord_81-accept",)),
        ),
        journal=(
            {"seq": 11, "at": "2026-11-22T09:00:00.100Z", "method": "POST",
             "path": "/v1/pools/pool_eur_usdt/quote", "status": 200, "request_id": "req_a1b2c3",
             "idempotency_key": None, "body": {"amount": "10.20", "side": "on_ramp"}},
            {"seq": 14, "at": "2026-11-22T09:00:02.400Z", "method": "POST",
             "path": "/v1/pools/pool_eur_usdt/transact", "status": 409,
             "request_id": "req_d4e5f6", "idempotency_key": "order-ord_81-accept",
             "body": {"quoteId": "pq_test_4b1c9e"},
             "authorization": ("Bearer " + SECRET_KEY) if with_secrets else "[REDACTED]"},
        ),
        screenshots=(
            Screenshot(name="after-expiry", path="screenshots/expiry-after.png",
                       caption="Quote screen 1 s after expiresAt: accept still enabled"),
        ),
        partner_log=("INFO accepted order ord_81\n" + (f"DEBUG key={SECRET_KEY}\n" if with_secrets
                                                        else "")),
        tables=(
            ("drift", (
                {"order": "ord_81", "trade": "txn_test_77aa01", "event": "evt_1",
                 "expected": "10.20", "posted": "10.199999999999999"},
            )),
        ),
    )
