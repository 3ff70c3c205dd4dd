"""certify's certification options: the partner's build id, signing, expiry, waived runs.

Kept apart from certify.py so that command stays about running the catalogue.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from conformance._util import parse_env_pairs
from conformance.errors import SigningError
from conformance.report.provenance import Provenance
from conformance.report.signing import DEFAULT_VALID_DAYS, key_id, load_private_key, sign_report


@dataclass(frozen=True, slots=True, kw_only=True)
class Certification:
    """What certify records and how it signs, read from the options before the run."""

    provenance: Provenance
    key: Ed25519PrivateKey | None
    valid_days: int
    run_waived: bool


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--partner-build", metavar="ID", default=None,
        help="the partner's build id (e.g. its git SHA): recorded in the report and signed",
    )
    parser.add_argument(
        "--signing-key", metavar="FILE", type=Path, default=None,
        help="sign the run with this Ed25519 private key (PEM, from `keygen`): writes "
        "statement.json and statement.sig beside the report",
    )
    parser.add_argument(
        "--valid-days", metavar="N", type=int, default=DEFAULT_VALID_DAYS,
        help=f"how long the signed statement holds (default {DEFAULT_VALID_DAYS} days)",
    )
    parser.add_argument(
        "--no-run-waived", action="store_true",
        help="do not run waived scenarios (by default they run, are reported as waived with "
        "what they did, and a waiver whose scenario passes is reported as stale)",
    )


def prepare(args: argparse.Namespace, manifest: Path | None) -> Certification:
    """Read the key and record the invocation; a bad key stops certify before anything runs."""
    from conformance.plugin import default_manifest_path

    if args.valid_days < 1:
        raise SigningError(f"--valid-days must be at least 1, got {args.valid_days}")
    key = load_private_key(args.signing_key) if args.signing_key else None
    try:
        env_names = tuple(parse_env_pairs(args.partner_env))
    except ValueError:
        env_names = ()  # certify reports the malformed pair itself
    provenance = Provenance(
        partner_build=args.partner_build,
        manifest_path=(manifest or default_manifest_path()).resolve(),
        manifest_arg=str(manifest) if manifest is not None else None,
        partner_env_names=env_names,
        out_arg=str(args.out),
    )
    return Certification(
        provenance=provenance, key=key, valid_days=args.valid_days,
        run_waived=not args.no_run_waived,
    )


def sign(certification: Certification, out_dir: Path) -> None:
    """Sign the written report when a key was given, and say so."""
    if certification.key is None:
        print("unsigned: pass --signing-key FILE to sign the report (see `keygen`)")
        return
    statement_path, _, statement = sign_report(
        out_dir, certification.key, valid_days=certification.valid_days
    )
    print(f"signed: {statement_path} by {key_id(certification.key.public_key())}, valid until "
          f"{statement['expires_at']} (verify --public-key)")
