"""Shared helpers for the simulator tests (importable; conftest is not)."""

from __future__ import annotations

import httpx

DEST = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"


def firm_quote(client: httpx.Client, amount: str = "100.00", pool: str = "EUR-USDT",
               **extra: object) -> dict[str, object]:
    body = {"side": "on_ramp", "amount": amount, "destAddress": DEST, **extra}
    response = client.post(f"/pools/{pool}/quote", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


def transact(client: httpx.Client, quote_id: object, key: str = "key-1",
             pool: str = "EUR-USDT") -> httpx.Response:
    return client.post(f"/pools/{pool}/transact", json={"quoteId": quote_id},
                       headers={"Idempotency-Key": key})


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body: dict[str, object] = response.json()
    assert set(body) == {"type", "code", "message", "request_id", "doc_url", "statusCode"}
    assert body["code"] == code, body
    assert body["statusCode"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    assert str(body["request_id"]).startswith("req_")
    return body
