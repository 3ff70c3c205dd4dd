"""``zeropools-conformance keygen --out DIR``: an Ed25519 key pair to sign certifications."""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance.report.signing import generate_keys

NAME = "keygen"
HELP = "Write an Ed25519 key pair for signing reports (certify --signing-key, verify --public-key)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", type=Path, required=True,
                        help="where to write zeropools-signing.key.pem and "
                        "zeropools-signing.pub.pem")
    parser.add_argument("--force", action="store_true", help="replace an existing key pair")


def run(args: argparse.Namespace) -> int:
    private_path, public_path, kid = generate_keys(args.out, force=args.force)
    print(f"wrote {private_path}  (private: keep it secret, e.g. a CI secret; mode 0600)")
    print(f"wrote {public_path}  (public: give it to reviewers through a channel they trust)")
    print(f"key id: {kid}")
    return 0
