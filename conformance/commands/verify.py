"""``zeropools-conformance verify PATH``: check a report directory or package, name what fails.

Exit 0 when every check holds, 1 when any fails (each failure names its file), 2 when PATH
cannot be read at all or the public key is not one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance.report.check import check_path
from conformance.report.hashes import MANIFEST_NAME
from conformance.report.signing import load_public_key

NAME = "verify"
HELP = (
    f"Check a report directory or package: every hash against {MANIFEST_NAME} and the signed "
    "statement, and with --public-key the signature and expiry; exit 1 names each failing file."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="PATH", type=Path,
                        help="the report directory, or a package made by `package` (.zip)")
    parser.add_argument(
        "--public-key", metavar="FILE", type=Path, default=None,
        help="the signer's Ed25519 public key (PEM, from `keygen`): check the signature; "
        "an unsigned report then fails",
    )


def run(args: argparse.Namespace) -> int:
    path: Path = args.directory
    public_key = load_public_key(args.public_key) if args.public_key else None
    result = check_path(path, public_key=public_key)
    for problem in result.problems:
        print(problem.line())
    for note in result.notes:
        print(note)
    statement = result.statement or {}
    verdict = (result.verdict or "unknown").upper()
    if not result.ok:
        print(f"FAILED: {len(result.problems)} problem(s) in {path}")
        return 1
    print(f"ok: {result.files} files in {path} match {MANIFEST_NAME}")
    if result.signature_checked:
        print(f"ok: signature by {statement.get('key_id')} verifies; every file matches the "
              f"signed statement; valid until {statement.get('expires_at')}")
        print(f"certified: {statement.get('partner_name')} build "
              f"{statement.get('partner_build') or '(not given)'}, harness "
              f"{statement.get('harness_version')}, catalogue "
              f"{statement.get('catalogue_version')}, 0Pools API {statement.get('api_version')}")
    if verdict != "READY":
        print(f"verdict: {verdict} (the report is intact, but it does not certify the partner)")
    else:
        print("verdict: READY")
    return 0
