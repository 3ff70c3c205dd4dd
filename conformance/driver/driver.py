"""The driver: the partner's actions in the harness's words, each call recorded as evidence."""

from __future__ import annotations

import secrets

from conformance.driver.actions import Actions, Answer
from conformance.driver.manifest import Manifest
from conformance.driver.postings import Posting, read_posting
from conformance.driver.recorder import EvidenceRecorder
from conformance.errors import PartnerGarbage

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def new_account(prefix: str = "acct") -> str:
    """A fresh customer account id, so every scenario works on its own orders."""
    return f"{prefix}_{secrets.token_hex(5)}"


def dest_address(network: str) -> str:
    """A well-formed-looking destination address for the network (no checksum is checked)."""
    if network in ("ethereum", "polygon", "bsc"):
        return "0x" + secrets.token_hex(20)
    return "T" + "".join(secrets.choice(_BASE58) for _ in range(33))


def template_variables(manifest: Manifest, **given: object) -> dict[str, str]:
    """What the manifest's templates are filled with: the provider's pool, side, network and
    currency, a fresh destination address, then what is given (None: not given)."""
    provider = manifest.provider
    network = str(given.get("network") or provider.network)
    values: dict[str, str] = {
        "pool_id": provider.pool_id,
        "side": provider.side,
        "network": network,
        "currency": provider.pool_id.split("-", 1)[0],
        "dest_address": dest_address(network),
    }
    values.update({k: str(v) for k, v in given.items() if v is not None})
    return values


class Driver:
    """Acts as a customer (and as ops) on the partner, through the manifest's actions."""

    def __init__(self, actions: Actions, recorder: EvidenceRecorder) -> None:
        self.actions = actions
        self.manifest: Manifest = actions.manifest
        self.recorder = recorder

    # -- variables -------------------------------------------------------------------------
    def variables(self, **given: object) -> dict[str, str]:
        """The template variables of one call (account, amount and order_ref empty if not given)."""
        values = {"account": "", "amount": "", "order_ref": ""}
        values.update(template_variables(self.manifest, **given))
        return values

    def category(self, answer: Answer) -> str | None:
        return self.manifest.provider.category(answer.get("status"))

    def has(self, action: str) -> bool:
        return self.actions.has(action)

    def _call(self, action: str, **given: object) -> Answer:
        answer = self.actions.call(action, self.variables(**given))
        self.record(answer)
        return answer

    def record(self, answer: Answer) -> None:
        self.recorder.step(answer.action, answer.summary(), ok=not answer.server_error)
        self.recorder.ids(
            order_ref=answer.get("order_ref"),
            quote_id=answer.get("quote_id"),
            transact_id=answer.get("transact_id"),
        )

    # -- customer actions ------------------------------------------------------------------
    def create_quote(
        self, *, account: str, amount: str, network: str | None = None, **extra: object
    ) -> Answer:
        answer = self._call(
            "create_quote", account=account, amount=amount, network=network, **extra
        )
        ref = answer.get("order_ref")
        if ref:
            self.actions.order_refs.add(str(ref))
        return answer

    def accept(self, order_ref: str, *, account: str) -> Answer:
        return self._call("accept", order_ref=order_ref, account=account)

    def get_order(self, order_ref: str, *, account: str) -> Answer:
        return self._call("get_order", order_ref=order_ref, account=account)

    def order(self, order_ref: str, *, account: str) -> Answer:
        """get_order that must answer 2xx JSON with a status (else the harness cannot decide)."""
        answer = self.get_order(order_ref, account=account)
        if not answer.ok or not answer.is_json:
            raise PartnerGarbage(
                f"get_order for {order_ref} answered HTTP {answer.status_code}: "
                f"{answer.text[:200]!r}"
            )
        answer.require("status")
        return answer

    def ledger(self, *, account: str) -> tuple[Posting, ...]:
        answer = self._call("ledger", account=account)
        if not answer.ok or not answer.is_json:
            raise PartnerGarbage(
                f"ledger answered HTTP {answer.status_code}: {answer.text[:200]!r}"
            )
        return tuple(read_posting(item, self.manifest.provider) for item in answer.items)

    def alerts(self, *, account: str = "") -> Answer:
        return self._call("alerts", account=account)

    def reconcile(self, *, account: str = "") -> Answer | None:
        """Run the partner's reconcile action if it declares one."""
        if not self.has("reconcile"):
            return None
        return self._call("reconcile", account=account)
