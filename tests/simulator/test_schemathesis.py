"""Schemathesis against the running simulator's own OpenAPI document: it keeps its word.

The schema is fetched from the simulator (``/v1/openapi.json``), so this also proves the
served document drives real traffic: for generated inputs on all 12 operations (the
document's examples mixed in, so real pools and bodies are hit too) there is never a 5xx,
every status is documented, every body and required header is as documented.

Schemathesis' lazy ``from_fixture`` loader does not run under pytest 9, so each operation's
Hypothesis strategy is driven here directly, one pytest test per operationId.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from conformance.hypothesis_profiles import examples
from conformance.simulator import PartnerSpec, Simulator, SimulatorSettings

MAX_EXAMPLES = examples(25)
OPERATION_IDS = [
    "listPools", "getCapabilities", "getBalance", "getFunding", "createQuote", "getQuote",
    "rejectQuote", "transact", "getTransactionByQuote", "getTrade", "listTrades", "listLedger",
]

# Operations whose documented examples (a real pool, a valid body) must reach a 200.
REACHABLE = {"listPools", "getCapabilities", "getBalance", "getFunding", "createQuote",
             "listTrades", "listLedger"}


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    with Simulator(SimulatorSettings()) as sim:
        yield sim
        assert sim.bugs == (), sim.bugs


@pytest.fixture(scope="module")
def api_schema(simulator: Simulator) -> Any:
    creds = simulator.control.provision_partner(PartnerSpec(name="schemathesis"))
    schema = schemathesis.openapi.from_url(f"{simulator.api_url}/openapi.json")
    schema.config.update(
        base_url=simulator.api_url,
        headers={"Authorization": f"Bearer {creds.secret_key}"},
        request_timeout=10,
    )
    schema.config.generation.update(max_examples=MAX_EXAMPLES, modes=[GenerationMode.POSITIVE])
    return schema


def _operation(api_schema: Any, operation_id: str) -> Any:
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if operation.definition.raw.get("operationId") == operation_id:
            return operation
    raise AssertionError(f"the served document has no operation {operation_id}")


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_api_conforms(api_schema: Any, simulator: Simulator, operation_id: str) -> None:
    operation = _operation(api_schema, operation_id)
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    strategies += list(operation.get_strategies_from_examples())
    statuses: list[int] = []

    @given(case=st.one_of(*strategies))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        # An opaque cursor is only valid when the API handed it out; a schema cannot say so,
        # so a generated cursor's 400 is not "valid data rejected". Everything else is.
        excluded = [positive_data_acceptance] if "cursor" in (case.query or {}) else []
        response = case.call_and_validate(base_url=simulator.api_url, excluded_checks=excluded)
        statuses.append(response.status_code)

    run()
    assert statuses and max(statuses) < 500
    if operation_id in REACHABLE:
        assert 200 in statuses, f"{operation_id}: generation never reached a success"


def test_served_document_has_every_operation(api_schema: Any) -> None:
    found = {result.ok().definition.raw["operationId"]
             for result in api_schema.get_all_operations()}
    assert found == set(OPERATION_IDS)
