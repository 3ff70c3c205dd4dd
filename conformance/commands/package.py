"""``zeropools-conformance package DIR --out FILE.zip``: one archive for the reviewer.

The report must verify first. A blocked report is refused unless ``--allow-blocked``, and
then says BLOCKED on its face: the folder inside, README.txt's first line, a BLOCKED file.
Exit 0 written, 1 refused, 2 the report cannot be read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance.report.check import check_directory
from conformance.report.hashes import sha256_file
from conformance.report.package import write_package

NAME = "package"
HELP = "Pack a verified report directory into one zip for the reviewer (report, signature, README)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR", type=Path, help="the report directory")
    parser.add_argument("--out", metavar="FILE.zip", type=Path, required=True,
                        help="the package to write")
    parser.add_argument("--allow-blocked", action="store_true",
                        help="package a blocked report too, marked BLOCKED")


def run(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    out: Path = args.out
    checked = check_directory(directory)
    if not checked.ok:
        for problem in checked.problems:
            print(problem.line())
        print(f"refused: {directory} does not verify; run certify again")
        return 1
    if checked.verdict != "ready" and not args.allow_blocked:
        print(f"refused: the verdict of {directory} is {str(checked.verdict).upper()}; "
              "pass --allow-blocked to package it anyway (it is then marked BLOCKED)")
        return 1
    if not checked.signed:
        print("warning: the report is unsigned (certify --signing-key signs it); "
              "the package says UNSIGNED")
    path, folder = write_package(directory, out)
    label = "BLOCKED package" if checked.verdict != "ready" else "package"
    print(f"wrote {label} {path} ({folder}/, sha256 {sha256_file(path)})")
    print(f"check it: zeropools-conformance verify {path} --public-key zeropools-signing.pub.pem")
    return 0
