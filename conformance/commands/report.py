"""``zeropools-conformance report DIR``: re-render report.html and summary.md (and a load run's
load.svg) from report.json."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conformance.report import rerender
from conformance.report.hashes import MANIFEST_NAME

NAME = "report"
HELP = ("Re-render report.html and summary.md (and a load run's load.svg) of a report "
        "directory from its report.json.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", type=Path, help="the report directory")


def run(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    files, manifest_updated = rerender(directory)
    for path in files:
        print(f"wrote {path}")
    if manifest_updated:
        print(f"updated {directory / MANIFEST_NAME}")
    else:
        print(
            f"warning: {MANIFEST_NAME} left as it was (missing, or other files had changed); "
            f"run `zeropools-conformance verify {directory}` to see which",
            file=sys.stderr,
        )
    return 0
