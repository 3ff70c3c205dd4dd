"""Control.set_pool_available: a closed pool is unavailable in /pools, its balance and quotes."""

from __future__ import annotations

import httpx
import pytest
from sim_helpers import firm_quote

from conformance.errors import ControlError
from conformance.simulator import PartnerCredentials, Simulator


def test_a_closed_pool_is_unavailable_until_reopened(
    sim: Simulator, creds: PartnerCredentials, client: httpx.Client
) -> None:
    closed = sim.control.set_pool_available("EUR-USDT", False)
    assert closed.available is False and sim.control.pool("EUR-USDT").available is False
    listed = {p["id"]: p["available"] for p in client.get("/pools").json()["pools"]}
    assert listed["EUR-USDT"] is False and listed["EUR-USDC"] is True
    assert client.get("/pools/EUR-USDT/balance").json()["available"] is False
    quote = firm_quote(client)
    assert quote["available"] is False and quote["unavailableReason"] == "pool_dry"
    assert "quoteId" not in quote and not sim.control.quotes(creds.partner_id)

    sim.control.set_pool_available("EUR-USDT", True)
    assert client.get("/pools/EUR-USDT/balance").json()["available"] is True
    assert firm_quote(client)["available"] is True


def test_an_unknown_pool_is_refused(sim: Simulator) -> None:
    with pytest.raises(ControlError, match="unknown pool"):
        sim.control.set_pool_available("EUR-XYZ", False)
