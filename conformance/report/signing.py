"""The signed statement: an Ed25519 signature over what a run was, bound to every report file.

``statement.json`` holds the digest of every file of the report (manifest.sha256 and the
copied partner manifest included), the partner's build id, the harness, catalogue and
0Pools API versions, the run's start and end, its randomness and an expiry;
``statement.sig`` is the raw 64-byte Ed25519 signature of statement.json's exact bytes, so
``openssl pkeyutl -verify -rawin`` can check it without this package.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from conformance.errors import SigningError
from conformance.report.hashes import MANIFEST_NAME, report_files, sha256_file

STATEMENT_NAME = "statement.json"
SIGNATURE_NAME = "statement.sig"
PRIVATE_KEY_NAME = "zeropools-signing.key.pem"
PUBLIC_KEY_NAME = "zeropools-signing.pub.pem"
STATEMENT_TYPE = "https://zeropools.dev/conformance/certification/v1"
DEFAULT_VALID_DAYS = 90



def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: the start of the SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def generate_keys(out_dir: Path, *, force: bool = False) -> tuple[Path, Path, str]:
    """Write a new key pair (private key readable by its owner only); never overwrite silently."""
    private_path, public_path = out_dir / PRIVATE_KEY_NAME, out_dir / PUBLIC_KEY_NAME
    existing = [p for p in (private_path, public_path) if p.exists()]
    if existing and not force:
        raise SigningError(f"{existing[0]} exists: keep it, or pass --force to replace the pair")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        private_path.unlink(missing_ok=True)
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private_pem)
        public_path.write_bytes(public_pem)
    except OSError as exc:
        raise SigningError(f"cannot write the key pair into {out_dir}: {exc.strerror}") from None
    return private_path, public_path, key_id(key.public_key())


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SigningError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path, "signing key"), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path} is not an Ed25519 key (use zeropools-conformance keygen)")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(_read(path, "public key"))
    except (ValueError, TypeError) as exc:
        raise SigningError(f"{path} is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{path} is not an Ed25519 public key")
    return key


def canonical(statement: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed: sorted keys, two-space indent, UTF-8, final newline."""
    return (json.dumps(statement, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def bound_files(out_dir: Path) -> dict[str, str]:
    """Every file the statement binds: the report files and manifest.sha256, by digest."""
    names = [*report_files(out_dir), MANIFEST_NAME]
    return {name: sha256_file(out_dir / name) for name in names if (out_dir / name).is_file()}


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_statement(
    out_dir: Path, *, public_key: Ed25519PublicKey, valid_days: int, signed_at: datetime
) -> dict[str, Any]:
    """The statement for a written report directory (report.json is read for what it records)."""
    try:
        document = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SigningError(f"cannot sign {out_dir}: report.json cannot be read ({exc})") from None
    if not (out_dir / MANIFEST_NAME).is_file():
        raise SigningError(f"cannot sign {out_dir}: {MANIFEST_NAME} is missing")
    signed_at = signed_at.astimezone(UTC).replace(microsecond=0)
    run = document.get("run", {})
    return {
        "type": STATEMENT_TYPE,
        "key_id": key_id(public_key),
        "verdict": document.get("verdict"),
        "exit_code": document.get("exit_code"),
        "partner_name": document.get("partner_name"),
        "partner_build": document.get("partner_build"),
        "partner_manifest": document.get("partner_manifest"),
        "harness_version": document.get("harness_version"),
        "catalogue_version": document.get("catalogue_version"),
        "api_version": document.get("api_version"),
        "started_at": run.get("started_at"),
        "finished_at": run.get("finished_at"),
        "randomness": document.get("randomness"),
        "signed_at": signed_at.isoformat(),
        "expires_at": (signed_at + timedelta(days=valid_days)).isoformat(),
        "files": bound_files(out_dir),
    }


def sign_report(
    out_dir: Path,
    private_key: Ed25519PrivateKey,
    *,
    valid_days: int = DEFAULT_VALID_DAYS,
    now: datetime | None = None,
) -> tuple[Path, Path, dict[str, Any]]:
    """Write statement.json and statement.sig beside a finished report (after manifest.sha256)."""
    if valid_days < 1:
        raise SigningError(f"--valid-days must be at least 1, got {valid_days}")
    statement = build_statement(
        out_dir, public_key=private_key.public_key(), valid_days=valid_days,
        signed_at=now or datetime.now(UTC),
    )
    body = canonical(statement)
    statement_path, signature_path = out_dir / STATEMENT_NAME, out_dir / SIGNATURE_NAME
    statement_path.write_bytes(body)
    signature_path.write_bytes(private_key.sign(body))
    return statement_path, signature_path, statement


def signature_valid(public_key: Ed25519PublicKey, body: bytes, signature: bytes) -> bool:
    try:
        public_key.verify(signature, body)
    except InvalidSignature:
        return False
    return True


def expired(statement: Mapping[str, Any], now: datetime) -> bool:
    """True past the statement's ``expires_at`` (a statement without one counts as expired)."""
    try:
        return now >= _instant(str(statement["expires_at"]))
    except (KeyError, ValueError):
        return True
