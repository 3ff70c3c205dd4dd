"""Manifest schema: good manifests load; every bad one names the field and what was expected."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from conformance.driver.manifest import load_manifest, manifest_from_data, parse_text
from conformance.errors import ManifestError

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "fixtures" / "reference_partner" / "manifest.toml"
SECOND = ROOT / "fixtures" / "second_partner" / "manifest.toml"


def reference_data() -> dict[str, Any]:
    return tomllib.loads(REFERENCE.read_text())


def test_reference_manifest_loads() -> None:
    manifest = load_manifest(REFERENCE)
    assert manifest.start is not None
    assert manifest.start.cwd == ROOT / "fixtures"
    assert manifest.provider.category("settled") == "done"
    assert manifest.provider.category("nonsense") is None
    assert manifest.actions["ledger"].items == "/entries"
    assert manifest.webhook_path == "/webhooks/0pools"


@pytest.mark.skipif(not SECOND.exists(), reason="second partner not present")
def test_second_partner_manifest_loads() -> None:
    assert load_manifest(SECOND).name


def test_yaml_manifest_loads(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(reference_data()))
    assert load_manifest(path).name == load_manifest(REFERENCE).name


def _error(data: dict[str, Any]) -> ManifestError:
    with pytest.raises(ManifestError) as info:
        manifest_from_data(data, path=REFERENCE)
    return info.value


def _without(data: dict[str, Any], *path: str) -> dict[str, Any]:
    node = data
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return data


BAD = [
    pytest.param(
        lambda d: _without(d, "partner", "name"), "/partner/name", "is required", id="missing-name"
    ),
    pytest.param(
        lambda d: _without(d, "start", "env", "port"),
        "/start/env/port",
        "is required",
        id="missing-port-env",
    ),
    pytest.param(
        lambda d: d["provider"].update(ledger_amount="amount") or d,
        "/provider/ledger_amount",
        "expected one of",
        id="bad-ledger-amount",
    ),
    pytest.param(
        lambda d: d["provider"].update(timeout_seconds="2") or d,
        "/provider/timeout_seconds",
        "expected number",
        id="timeout-string",
    ),
    pytest.param(
        lambda d: d["actions"]["accept"].update(path="/api/orders/{order}/accept") or d,
        "/actions/accept/path",
        "unknown placeholder {order}",
        id="bad-placeholder",
    ),
    pytest.param(
        lambda d: d["actions"]["get_order"].update(path="/api/orders") or d,
        "/actions/get_order/path",
        "must use {order_ref}",
        id="no-order-ref",
    ),
    pytest.param(
        lambda d: d["actions"]["create_quote"]["expect"].update(orderref="/x") or d,
        "/actions/create_quote/expect/orderref",
        "unknown answer field",
        id="typo-expect-field",
    ),
    pytest.param(
        lambda d: d["actions"]["create_quote"]["expect"].update(order_ref="orderRef") or d,
        "/actions/create_quote/expect/order_ref",
        "expected a value matching",
        id="pointer-without-slash",
    ),
    pytest.param(
        lambda d: _without(d, "actions", "ledger"),
        "/actions/ledger",
        "is required",
        id="missing-ledger-action",
    ),
    pytest.param(
        lambda d: d.update(colour="blue") or d, "/colour", "unknown field", id="unknown-top-level"
    ),
    pytest.param(
        lambda d: d["partner"].update(url="http://127.0.0.1:9") or d,
        "/partner/url",
        "either [start] or partner.url",
        id="start-and-url",
    ),
    pytest.param(lambda d: _without(d, "start"), "/start", "is required", id="no-start-no-url"),
    pytest.param(
        lambda d: d.update(waivers=[{"target": "expiry.nope", "reason": "we really have a reason"}])
        or d,
        "/waivers/0/target",
        "unknown question or scenario id",
        id="unknown-waiver",
    ),
    pytest.param(
        lambda d: d.update(waivers=[{"target": "RQ2", "reason": "no"}]) or d,
        "/waivers/0/reason",
        "must not be empty",
        id="waiver-reason-too-short",
    ),
    pytest.param(
        lambda d: d["provider"]["states"].update(done=["settled", "pending"]) or d,
        "/provider/states",
        "already listed",
        id="state-in-two-categories",
    ),
    pytest.param(
        lambda d: d["provider"].update(reversal={"representation": "kind"}) or d,
        "/provider/reversal/kind",
        "is required",
        id="reversal-kind-missing",
    ),
]


@pytest.mark.parametrize(("mutate", "field", "words"), BAD)
def test_bad_manifest_names_the_field(mutate: Any, field: str, words: str) -> None:
    error = _error(mutate(reference_data()))
    assert field in str(error)
    assert words in str(error)
    assert error.field.startswith("/")


def test_bad_toml_is_a_manifest_error() -> None:
    with pytest.raises(ManifestError, match="not valid TOML"):
        parse_text("[partner\nname = 1")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not found"):
        load_manifest(tmp_path / "nope.toml")


def test_url_mode_needs_credentials() -> None:
    data = _without(reference_data(), "start")
    data["partner"]["url"] = "http://127.0.0.1:9000"
    error = _error(data)
    assert "/partner/credentials_env" in str(error)
    data["partner"]["credentials_env"] = {"secret_key": "SK", "webhook_secret": "WS"}
    manifest = manifest_from_data(data, path=REFERENCE)
    assert manifest.url == "http://127.0.0.1:9000" and manifest.start is None


def test_web_unavailable_text_is_read_and_checked() -> None:
    data = reference_data()
    assert manifest_from_data(data, path=REFERENCE).web is not None
    data["web"]["unavailable_text"] = ["Kein Kurs verfügbar", "Momentan geschlossen"]
    web = manifest_from_data(data, path=REFERENCE).web
    assert web is not None
    assert web.unavailable_text == ("Kein Kurs verfügbar", "Momentan geschlossen")
    for bad in (["  "], "Kein Kurs", [3], ["a", "a"]):
        data["web"]["unavailable_text"] = bad
        assert "unavailable_text" in str(_error(data))
