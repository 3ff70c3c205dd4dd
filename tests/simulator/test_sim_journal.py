"""The journal stays bounded in memory and still gives every reader every entry."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sim_helpers import firm_quote, transact

from conformance.simulator import JournalEntry, PartnerSpec
from conformance.simulator.journal import Journal
from conftest import make_sim


def _fields(n: int, partner: str | None) -> dict[str, object]:
    return {
        "at": datetime(2026, 12, 2, 7, 0, n % 60, n * 1000 % 1_000_000, tzinfo=UTC),
        "method": "POST", "path": f"/v1/pools/EUR-USDT/quote/{n}", "query": "a=1",
        "partner_id": partner, "key_kind": "secret", "idempotency_key": f"k{n}" if n % 2 else None,
        "body": {"amount": "10.00", "n": n, "x": [1.5, None, True, {"é": "ü"}]} if n % 3
        else None,
        "body_digest": "0" * 64, "status": 200, "request_id": f"req_{n}",
        "origin": None, "user_agent": "ua", "fault": "delay" if n % 7 == 0 else None,
        "reset": n % 5 == 0, "replayed": n % 4 == 0, "notes": (f"note {n}",) if n % 6 else (),
    }


def test_spilled_entries_read_back_identical() -> None:
    kept = Journal(memory_entries=5, spill_batch=3)
    for n in range(1, 51):
        kept.record(**_fields(n, "ptn_a" if n % 2 else "ptn_b"))  # type: ignore[arg-type]
    reference = tuple(JournalEntry(seq=n, **_fields(n, "ptn_a" if n % 2 else "ptn_b"))  # type: ignore[arg-type]
                      for n in range(1, 51))
    assert len(kept) == 50 and kept.in_memory() < 8
    assert kept.entries() == reference
    assert kept.entries(partner_id="ptn_a") == tuple(e for e in reference
                                                     if e.partner_id == "ptn_a")
    assert kept.entries(since_seq=10) == reference[10:]
    assert kept.entries(partner_id="ptn_b", since_seq=40) == tuple(
        e for e in reference[40:] if e.partner_id == "ptn_b")
    assert kept.entries(since_seq=3, limit=4) == reference[3:7]
    assert kept.entries(since_seq=44, limit=100) == reference[44:]
    assert kept.entries(since_seq=50) == ()
    stamped = kept.append(reference[0])
    assert stamped.seq == 51 and kept.entries(since_seq=50) == (stamped,)


@pytest.mark.parametrize("memory", [pytest.param(3, id="spilling"),
                                    pytest.param(10_000, id="in-memory")])
def test_control_plane_sees_every_entry(memory: int) -> None:
    with make_sim(journal_memory_entries=memory) as sim:
        creds = sim.control.provision_partner(PartnerSpec(name="j"))
        other = sim.control.provision_partner(PartnerSpec(name="o"))
        with httpx.Client(base_url=sim.api_url, timeout=10,
                          headers={"Authorization": f"Bearer {creds.secret_key}"}) as c, \
                httpx.Client(base_url=sim.api_url, timeout=10,
                             headers={"Authorization": f"Bearer {other.secret_key}"}) as o:
            mark = 0
            for n in range(6):
                quote = firm_quote(c)
                transact(c, quote["quoteId"], key=f"key-{n}")
                o.get("/pools")
                if n == 2:
                    mark = sim.control.journal_position()
        everything = sim.control.journal()
        assert [e.seq for e in everything] == list(range(1, 19))
        assert sim.control.journal_position() == 18
        mine = sim.control.journal(partner_id=creds.partner_id)
        assert len(mine) == 12 and all(e.partner_id == creds.partner_id for e in mine)
        later = sim.control.journal(partner_id=creds.partner_id, since_seq=mark)
        assert [e.seq for e in later] == [e.seq for e in mine if e.seq > mark] and later
        paged = httpx.get(f"{sim.base_url}/_sim/journal", params={"limit": 5},
                          headers={"Authorization": f"Bearer {sim.control_token}"}).json()
        assert [e["seq"] for e in paged["entries"]] == [1, 2, 3, 4, 5]
        assert paged["nextCursor"] == "5"
    assert not sim.bugs


@pytest.mark.parametrize("memory", [pytest.param(2, id="spilling"),
                                    pytest.param(10_000, id="in-memory")])
def test_bodies_and_keys_are_redacted_in_memory_and_in_the_spill(memory: int) -> None:
    """A secret in a body (plain or JSON-escaped) or in an Idempotency-Key never reaches the
    journal; a body without one reads back as it was sent."""
    with make_sim(journal_memory_entries=memory) as sim:
        creds = sim.control.provision_partner(PartnerSpec(name="r"))
        secret = creds.secret_key
        escaped = "".join(f"\\u{ord(ch):04x}" for ch in secret)
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        with httpx.Client(base_url=sim.api_url, timeout=10, headers=headers) as c:
            c.post("/pools/EUR-USDT/quote",
                   content=f'{{"side":"on_ramp","amount":"10.00","destAddress":"{secret}"}}')
            c.post("/pools/EUR-USDT/quote",
                   content=f'{{"side":"on_ramp","amount":"10.00","destAddress":"{escaped}"}}')
            c.post("/pools/EUR-USDT/quote",
                   content=f'{{"side":"on_ramp","amount":"10.00","{secret}":1}}')
            quote = firm_quote(c)
            transact(c, quote["quoteId"], key=f"k-{creds.webhook_secret}")
            transact(c, quote["quoteId"], key="plain-key")
            for _ in range(4):  # push the entries above out to the spill
                c.get("/pools")
        entries = sim.control.journal()
        assert len(entries) == 10
        for entry in entries:
            text = repr(entry.to_json())
            for value in (secret, creds.webhook_secret, creds.publishable_key):
                assert value not in text
        assert entries[0].body["destAddress"] == "[REDACTED]"
        assert entries[1].body["destAddress"] == "[REDACTED]"
        assert "[REDACTED]" in entries[2].body
        assert entries[3].body == {"side": "on_ramp", "amount": "100.00",
                                   "destAddress": "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"}
        assert entries[4].idempotency_key == "k-[REDACTED]"
        assert entries[5].idempotency_key == "plain-key"
        assert entries[5].body == {"quoteId": quote["quoteId"]}
    assert not sim.bugs
