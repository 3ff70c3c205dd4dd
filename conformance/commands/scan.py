"""``zeropools-conformance scan``: look for the run's secrets in client artefacts."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from conformance import exit_codes
from conformance.errors import ScanInputError
from conformance.sarif import SarifWriter
from conformance.scan.artefacts import Artefact, Kind
from conformance.scan.crawl import CrawlLimits, crawl
from conformance.scan.encodings import KEY_PREFIXES, Canary
from conformance.scan.files import load_paths
from conformance.scan.secrets import SecretFinding, SecretScanner

NAME = "scan"
HELP = "Scan pages (crawled) and files for the run's secrets and provider key patterns."
EPILOG = """\
Canary secrets are read from environment variables (--canary-env) or a file
(--canary-file), never from the command line, where other users could read them in
the process list. --canary-env takes VAR or LABEL=VAR; a file holds LABEL=VALUE lines
(# comments allowed) or one JSON object {"label": "value"}. Findings name each canary
by its label, never by its value.

Archives (zip, APK, AAB, IPA, JAR, AAR) are opened, nested ones too, within bounds on
depth, entries, bytes and compression ratio; binary plists and Android binary XML are
decoded. A finding inside one is located as app.apk!/assets/config.json.

Exit status: 0 nothing found, 1 a secret or provider key was found, 2 bad input or an
incomplete scan (a limit was hit, an archive bound such as a zip bomb, or a referenced
artefact could not be fetched).
"""
EXIT_CLEAN = exit_codes.OK
EXIT_FOUND = exit_codes.BLOCKED
EXIT_BAD_INPUT = exit_codes.HARNESS
_LABEL = re.compile(r"^[A-Za-z0-9_-]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("targets", nargs="+", metavar="PATH|URL",
                        help="http(s) pages to crawl, files, directories or globs (** allowed); "
                             "archives (APK, AAB, IPA, JAR, AAR, zip) are opened")
    parser.add_argument("--canary-env", action="append", default=[], metavar="[LABEL=]VAR",
                        help="read a canary secret from this environment variable (repeatable)")
    parser.add_argument("--canary-file", metavar="FILE",
                        help="read canary secrets from FILE (LABEL=VALUE lines or JSON object)")
    parser.add_argument("--sarif", metavar="OUT", help="write a SARIF 2.1.0 log to OUT")
    parser.add_argument("--json", action="store_true", help="print findings as JSON on stdout")
    parser.add_argument("--no-patterns", action="store_true",
                        help="look only for the canaries, not for sk_live_/sk_test_/whsec_ keys")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="per-request timeout of the crawl (default 10)")


def _canaries_from_env(specs: list[str]) -> list[Canary]:
    canaries = []
    for number, spec in enumerate(specs, start=1):
        label, _, var = spec.rpartition("=")
        label = label or var.lower()
        if not _ENV_NAME.match(var) or len(var) > 64 or var.startswith(KEY_PREFIXES):
            # Not echoed: what was given may be the secret itself.
            raise ScanInputError(f"--canary-env number {number} is not an environment variable "
                                 "name: give the NAME of the variable that holds the secret, "
                                 "never the secret (argv is visible in process lists)")
        value = os.environ.get(var, "")
        if not value:
            raise ScanInputError(f"--canary-env: environment variable {var} is not set or empty")
        canaries.append(Canary(label=label, value=value))
    return canaries


def _canaries_from_file(name: str) -> list[Canary]:
    try:
        text = Path(name).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ScanInputError(f"--canary-file: no such file: {name!r}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ScanInputError(f"--canary-file: cannot read {name!r} as UTF-8 text") from exc
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScanInputError(f"--canary-file {name!r}: invalid JSON ({exc.msg} at line "
                                 f"{exc.lineno})") from exc
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ScanInputError(f"--canary-file {name!r}: the JSON must be an object of "
                                 "label to string value")
        return [Canary(label=label, value=value) for label, value in data.items()]
    canaries = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        label, sep, value = line.partition("=")
        label, value = label.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if not sep or not _LABEL.match(label) or not value:
            raise ScanInputError(f"--canary-file {name!r} line {number}: expected LABEL=VALUE "
                                 "with a word for LABEL and a non-empty VALUE")
        canaries.append(Canary(label=label.lower(), value=value))
    if not canaries:
        raise ScanInputError(f"--canary-file {name!r} holds no canary")
    return canaries


def _print_text(findings: tuple[SecretFinding, ...], artefacts: int, size: int,
                notes: list[str], incomplete: list[str]) -> None:
    for finding in findings:
        print(f"{finding.location}:{finding.line}:{finding.column}: [{finding.rule_id}] "
              f"{finding.message}")
        print(f"    fix: {finding.rule.fix}")
    for note in incomplete:
        print(f"incomplete: {note}")
    for note in notes:
        print(f"note: {note}")
    print(f"{len(findings)} finding{'s' * (len(findings) != 1)} in {artefacts} artefacts "
          f"({size} bytes scanned)" + ("" if not incomplete else "; the scan is INCOMPLETE"))


def run(args: argparse.Namespace) -> int:
    canaries = _canaries_from_env(args.canary_env)
    if args.canary_file:
        canaries += _canaries_from_file(args.canary_file)
    scanner = SecretScanner(canaries, patterns=not args.no_patterns)
    if args.timeout <= 0:
        raise ScanInputError("--timeout must be a positive number of seconds")
    urls = [t for t in args.targets if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", t)]
    paths = [t for t in args.targets if t not in urls]
    artefacts: list[Artefact] = []
    notes: list[str] = []
    incomplete: list[str] = []
    if paths:
        loaded = load_paths(paths)
        artefacts += loaded.artefacts
        incomplete += loaded.incomplete
    if urls:
        crawled = crawl(urls, limits=CrawlLimits(timeout_seconds=args.timeout))
        artefacts += crawled.artefacts
        notes += crawled.notes
        incomplete += crawled.incomplete
    findings = scanner.scan(artefacts)
    redact = scanner.redactor.text
    notes = [redact(n) for n in notes]
    incomplete = [redact(n) for n in incomplete]
    # An opened archive is read through its entries, not counted twice.
    size = sum(len(a.body) for a in artefacts if a.kind is not Kind.ARCHIVE)
    if args.sarif:
        writer = SarifWriter(args.sarif)
        writer.open()
        for finding in findings:
            writer.record(finding)
        for note in incomplete:
            writer.note(f"incomplete: {note}", level="error")
        try:
            writer.close(complete=not incomplete)
        except OSError as exc:
            raise ScanInputError(f"--sarif: cannot write {args.sarif!r}: {exc.strerror}") from exc
    if args.json:
        document = {"findings": [f.as_dict() for f in findings], "artefacts": len(artefacts),
                    "bytes": size, "complete": not incomplete, "incomplete": incomplete,
                    "notes": notes}
        print(redact(json.dumps(document, indent=2)))
    else:
        _print_text(findings, len(artefacts), size, notes, incomplete)
    sys.stdout.flush()
    if findings:
        return EXIT_FOUND
    if incomplete:
        print("zeropools-conformance scan: the scan is incomplete, so no clean result "
              f"can be given: {incomplete[0]}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_CLEAN
