"""Signed report directories for the signing, package and action tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from report_runs import result, rich_evidence, run

from conformance.report import Provenance, write_report
from conformance.report.signing import generate_keys, load_private_key, sign_report
from conformance.results import RunResult, Status

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_MANIFEST = ROOT / "fixtures" / "reference_partner" / "manifest.toml"


def keys(where: Path) -> tuple[Ed25519PrivateKey, Path, Path]:
    private_path, public_path, _ = generate_keys(where)
    return load_private_key(private_path), private_path, public_path


def provenance(out_arg: str = "reports/acme") -> Provenance:
    return Provenance(
        partner_build="9f1c2ab", manifest_path=REFERENCE_MANIFEST, manifest_arg="acme.toml",
        partner_env_names=("ACME_MODE",), out_arg=out_arg,
    )


def blocked_run(out: Path) -> RunResult:
    ev = rich_evidence(out)
    return run([result("expiry.backend_transact", Status.FAIL, reason="accepted after expiry",
                       evidence=ev)])


def signed_report(
    out: Path, key: Ed25519PrivateKey, *, ready: bool = True, now: datetime | None = None,
    valid_days: int = 90,
) -> Path:
    """A written and signed report: ready (with a screenshot) or blocked."""
    out.mkdir(parents=True, exist_ok=True)
    if ready:
        shots = rich_evidence(out)
        the_run = run([result("expiry.boundary", evidence=shots)])
    else:
        the_run = blocked_run(out)
    write_report(the_run, out, provenance=provenance())
    sign_report(out, key, valid_days=valid_days, now=now or datetime.now(UTC))
    return out
