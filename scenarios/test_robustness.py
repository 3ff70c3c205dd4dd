"""Bad input never breaks the partner: property-based bad amounts, ids, networks and bodies."""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conformance.checks.provider import Provider
from conformance.checks.scenario_recorder import ScenarioRecorder
from conformance.checks.steps import fresh_order
from conformance.driver.driver import Driver, new_account
from conformance.hypothesis_profiles import examples

# A certification never runs fewer examples than this; the "thorough" profile runs more.
CERTIFY_EXAMPLES = 30
SETTINGS = settings(
    max_examples=max(CERTIFY_EXAMPLES, examples(CERTIFY_EXAMPLES)),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
)
VALID_AMOUNT = re.compile(r"^\d+(\.\d{1,2})?$")
# Well-formed amounts within this factor of the provisioned limits may be valid (the limits
# are in USDT, a customer types fiat): they are not used as bad input.
LIMIT_FACTOR = Decimal(2)


def _plausible(text: str, low: Decimal, high: Decimal | None) -> bool:
    """A well-formed amount that some correct partner could accept."""
    if not VALID_AMOUNT.match(text):
        return False
    try:
        value = Decimal(text)
    except InvalidOperation:
        return False
    return low / LIMIT_FACTOR <= value and (high is None or value <= high * LIMIT_FACTOR)


bad_amounts = st.one_of(
    st.sampled_from(
        [
            "",
            "-10.00",
            "0",
            "0.00",
            "abc",
            "1e309",
            "NaN",
            "Infinity",
            "10.999",
            " 25",
            "25 ",
            "1,000.00",
            "99999999999999999999999999",
            "0x10",
            "½",
            "25.00.00",
            "+25",
            "--1",
            "٣٥",
        ]
    ),
    st.text(max_size=24),
)
bad_networks = st.one_of(
    st.sampled_from(["", "TRON ", "bitcoin", "../tron", "tron\u0000", "null", "eth" * 40]),
    st.text(max_size=16),
)
bad_refs = st.one_of(
    st.sampled_from(
        [
            "",
            "..",
            "../../etc/passwd",
            "' OR 1=1 --",
            "%00",
            "ord_" + "9" * 300,
            "\u202e",
            "null",
            "[]",
            "{}",
        ]
    ),
    st.text(min_size=1, max_size=40),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
bad_bodies = st.one_of(
    st.sampled_from(
        [
            b"",
            b"{",
            b"not json",
            b"[]",
            b"null",
            b"\xff\xfe",
            b'{"amount": 25}',
            b'{"amount": null}',
            b'{"amount": ["25.00"]}',
            b'{"network": {}}',
            b'{"amount": "25.00", "network": 7}',
            b"{}" * 1000,
        ]
    ),
    json_values.map(lambda v: json.dumps(v).encode()),
)


class Broke(Exception):
    """The partner broke on bad input: the message says how."""


def _judge(
    answer_status: int,
    what: str,
    counts: tuple[int, int],
    provider: Provider,
    before: tuple[int, int],
) -> None:
    if answer_status >= 500 or answer_status == 0:
        raise Broke(
            f"{what} was answered HTTP {answer_status}"
            if answer_status
            else f"{what} dropped the connection without an answer"
        )
    if counts != before:
        raise Broke(
            f"{what} made {counts[0] - before[0]} quote(s) and "
            f"{counts[1] - before[1]} trade(s) at the provider"
        )


def _counts(provider: Provider) -> tuple[int, int]:
    return len(provider.quotes()), len(provider.trades())


@pytest.mark.threat("robustness.bad_input", observes=("quotes_ordinary", "bad_input_examples"))
def test_bad_input_never_breaks_the_partner(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    # Positive control: valid input quotes, so "no quote" below means the input was refused.
    fresh_order(driver, provider)
    evidence.observed("quotes_ordinary")
    partner = provider.partner()
    low = Decimal(partner.min_order_usdt)
    high = Decimal(partner.max_order_usdt) if partner.max_order_usdt is not None else None
    ordinary = provider.ordinary_amount()
    supported = set(provider.pool(driver.manifest.provider.pool_id).supported_networks)
    account = new_account()
    failures: list[str] = []
    tried = {"amounts": 0, "networks": 0, "refs": 0, "bodies": 0}

    def run(name: str, prop: Any) -> None:
        try:
            prop()
        except Broke as exc:
            failures.append(f"{name}: {exc}")

    def quote_with(kind: str, label: str, **values: str) -> None:
        tried[kind] += 1
        before = _counts(provider)
        answer = driver.actions.call("create_quote", driver.variables(account=account, **values))
        _judge(answer.status_code, f"create_quote with {label}", _counts(provider), provider,
               before)

    @SETTINGS
    @given(amount=bad_amounts)
    def amounts(amount: str) -> None:
        assume(not _plausible(amount, low, high))
        quote_with("amounts", f"amount {amount!r}", amount=amount)

    @SETTINGS
    @given(network=bad_networks)
    def networks(network: str) -> None:
        assume(network not in supported)
        quote_with("networks", f"network {network!r}", amount=ordinary, network=network)

    @SETTINGS
    @given(ref=bad_refs)
    def refs(ref: str) -> None:
        tried["refs"] += 1
        before = _counts(provider)
        for action in ("accept", "get_order"):
            answer = driver.actions.call(action, driver.variables(account=account, order_ref=ref))
            _judge(
                answer.status_code,
                f"{action} with order ref {ref!r}",
                _counts(provider),
                provider,
                before,
            )

    spec = driver.manifest.actions["create_quote"]
    template = driver.actions.http.build_request(
        spec, driver.variables(account=account, amount=ordinary)
    )
    headers = {**template["headers"], "content-type": "application/json"}

    @SETTINGS
    @given(body=bad_bodies)
    def bodies(body: bytes) -> None:
        tried["bodies"] += 1
        before = _counts(provider)
        try:
            status = driver.actions.http.raw(
                spec.method, template["url"], content=body, headers=headers,
                params=template["params"],
            ).status_code
        except (httpx.ReadError, httpx.RemoteProtocolError) as exc:
            raise Broke(
                f"create_quote with body {body[:60]!r} dropped the connection "
                f"({type(exc).__name__})"
            ) from None
        _judge(status, f"create_quote with body {body[:60]!r}", _counts(provider), provider, before)

    run("bad amounts", amounts)
    run("bad networks", networks)
    run("bad order refs", refs)
    if driver.manifest.adapter is None:
        run("bad bodies", bodies)
    evidence.step("examples", ", ".join(f"{k}: {v}" for k, v in tried.items()))
    if tried["amounts"] and tried["networks"] and tried["refs"]:
        evidence.observed("bad_input_examples")
    for failure in failures:
        evidence.finding(
            failure + ".",
            fix="validate every input field on the server and answer 4xx naming it; never "
            "pass unvalidated input to the provider or crash",
        )
