"""Fail closed: a partner that does not start, dies, or answers garbage gives errors, never pass."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from conformance.driver.manifest import load_manifest
from conformance.driver.partner import PartnerProcess, ProviderAccess
from conformance.errors import PartnerUnreachable
from conformance.redact import Redactor
from conformance.results import Status
from conformance.runner import run_catalogue

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parents[1] / "fixtures" / "reference_partner" / "manifest.toml"
CHOSEN = ("expiry.backend_transact", "trace.order_record", "guards.account_ownership")


def bad_manifest(tmp_path: Path, mode: str, *, timeout: float = 5) -> Path:
    """The reference manifest's actions, but the partner is the misbehaving script."""
    text = REFERENCE.read_text()
    data = tomllib.loads(text)
    start = f'''
[start]
command = ["{{python}}", "{HERE / "partners" / "bad_partner.py"}", "{mode}"]
cwd = "{HERE}"
startup_timeout_seconds = {timeout}

[start.env]
base_url = "P_BASE"
secret_key = "P_SK"
webhook_secret = "P_WS"
port = "P_PORT"
'''
    head, _, rest = text.partition("[start]")
    rest = rest[rest.index("[provider]") :]
    path = tmp_path / "manifest.toml"
    path.write_text(head + start + "\n" + rest)
    assert data["partner"]["name"]
    return path


def _statuses(path: Path) -> dict[str, Status]:
    run = run_catalogue(manifest=path, only=CHOSEN)
    return {r.scenario_id: r.status for r in run.scenarios if r.scenario_id in CHOSEN}


@pytest.mark.parametrize("mode", ["exit", "html", "badjson", "die_on_post"])
def test_misbehaving_partner_gives_errors(tmp_path: Path, mode: str) -> None:
    statuses = _statuses(bad_manifest(tmp_path, mode))
    assert set(statuses.values()) == {Status.ERROR}, statuses


def test_partner_that_never_starts_is_unreachable_with_redacted_log(tmp_path: Path) -> None:
    manifest = load_manifest(bad_manifest(tmp_path, "exit"))
    redactor = Redactor()
    process = PartnerProcess(manifest, redactor=redactor)
    access = ProviderAccess(
        api_url="http://127.0.0.1:9/v1",
        secret_key="sk_test_" + "s" * 24,
        publishable_key="pk_test_" + "p" * 24,
        webhook_secret="whsec_" + "w" * 24,
    )
    with pytest.raises(PartnerUnreachable) as info:
        process.start(access)
    message = str(info.value)
    assert "exited with code 3" in message
    assert "sk_test_" + "s" * 24 not in message
    assert "[REDACTED]" in message
    assert process.exit_reason() is not None


def test_health_check_timeout_is_bounded(tmp_path: Path) -> None:
    path = bad_manifest(tmp_path, "html", timeout=1)
    manifest = load_manifest(path)
    # A health path that never answers 2xx: the wait ends within its bound, with a reason.
    from dataclasses import replace

    manifest = replace(manifest, health_path="/missing-health")
    process = PartnerProcess(manifest, redactor=Redactor())
    access = ProviderAccess(
        api_url="http://127.0.0.1:9/v1",
        secret_key="sk_test_x" * 3,
        publishable_key="pk_test_x" * 3,
        webhook_secret="whsec_x" * 3,
    )
    with pytest.raises(PartnerUnreachable, match=r"did not pass within 1 s \(last: HTTP 503\)"):
        process.start(access)
    assert process.exit_reason() is not None  # stopped after the failed start


def test_unknown_scenario_name_is_a_harness_error() -> None:
    from conformance.errors import ConformanceError

    with pytest.raises(ConformanceError, match="unknown scenario"):
        run_catalogue(manifest=None, only=("expiry.nope",))


def test_partner_killed_mid_run_errors_later_scenarios(tmp_path: Path) -> None:
    path = bad_manifest(tmp_path, "die_on_post")
    run = run_catalogue(manifest=path, only=CHOSEN)
    results = [r for r in run.scenarios if r.scenario_id in CHOSEN]
    assert all(r.status is Status.ERROR for r in results)
    assert any("not running" in r.reason for r in results), [r.reason for r in results]


def test_waived_scenario_is_not_run(tmp_path: Path) -> None:
    path = tmp_path / "manifest.toml"
    text = REFERENCE.read_text().replace("[start]", "[start]", 1)
    text += (
        '\n[[waivers]]\ntarget = "ops.stuck_reserved_alert"\n'
        'reason = "ops alerts live in our pager, outside this service"\n'
    )
    text = text.replace('cwd = ".."', f'cwd = "{REFERENCE.parent.parent}"')
    path.write_text(text)
    run = run_catalogue(manifest=path, only=("ops.stuck_reserved_alert",))
    (result,) = [r for r in run.scenarios if r.scenario_id == "ops.stuck_reserved_alert"]
    assert result.status is Status.WAIVED
    assert "pager" in result.reason
    assert [w.target for w in run.waivers] == ["ops.stuck_reserved_alert"]
