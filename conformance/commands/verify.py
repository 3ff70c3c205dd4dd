"""``zeropools-conformance verify DIR``: recompute the report's hashes, name what changed."""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance.report.hashes import MANIFEST_NAME, verify

NAME = "verify"
HELP = f"Check a report directory against its {MANIFEST_NAME}; exit 1 if any file changed."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", type=Path, help="the report directory")


def run(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    result = verify(directory)
    for label, names in (("changed", result.changed), ("missing", result.missing),
                         ("not in the manifest", result.extra)):
        for name in names:
            print(f"{label}: {name}")
    if result.ok:
        print(f"ok: {len(result.checked)} files in {directory} match {MANIFEST_NAME}")
        return 0
    problems = len(result.changed) + len(result.missing) + len(result.extra)
    print(f"FAILED: {problems} file(s) in {directory} differ from {MANIFEST_NAME}")
    return 1
