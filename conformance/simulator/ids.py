"""Identifiers in the documented shapes: ``pq_test_…``, ``txn_test_…``, ``req_…``."""

from __future__ import annotations

import hashlib
import random
import secrets

# Object ids need to be unique, not secret (keys and webhook secrets use ``secrets``): a
# generator seeded from the OS once avoids a getrandom() system call per id.
_RANDOM = random.Random(secrets.token_bytes(32))


# ids: 96 random bits as 24 hex digits (to_bytes().hex() is twice as fast as an f-string)
_getrandbits = _RANDOM.getrandbits


def _token(nbytes: int = 12) -> str:
    return f"{_RANDOM.getrandbits(nbytes * 8):0{nbytes * 2}x}"


def quote_id() -> str:
    return "pq_test_" + _getrandbits(96).to_bytes(12, "big").hex()


def transact_id() -> str:
    return "txn_test_" + _getrandbits(96).to_bytes(12, "big").hex()


def request_id() -> str:
    return "req_test_" + _getrandbits(96).to_bytes(12, "big").hex()


def ledger_entry_id() -> str:
    return "le_test_" + _getrandbits(96).to_bytes(12, "big").hex()


def partner_id() -> str:
    return f"ptn_test_{_token(6)}"


def fault_id() -> str:
    return f"flt_{_token(6)}"


def secret_key() -> str:
    return f"sk_test_{secrets.token_urlsafe(24)}"


def publishable_key() -> str:
    return f"pk_test_{secrets.token_urlsafe(24)}"


def webhook_secret() -> str:
    """A ``whsec_`` secret whose tail is base64, so Standard Webhooks can use it too."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def control_token() -> str:
    return f"simctl_{secrets.token_urlsafe(24)}"


def event_id(transact: str, event_type: str) -> str:
    """The documented stable dedupe key: sha256 hex of ``"<txnId>:<eventType>"``."""
    return hashlib.sha256(f"{transact}:{event_type}".encode()).hexdigest()
