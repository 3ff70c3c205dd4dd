"""Consumers: turn a RunResult into the verdict and the report files, one writer per format.

    write_report(run, out_dir, redactor=...)   -> Written (verdict, document, files)
    rerender(out_dir)                          -> (files, manifest updated?) from report.json

A load run (``run.load`` set) also gets load.svg, its throughput and latency picture.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import IntegrityError, ReportError
from conformance.redact import Redactor
from conformance.report.document import Document, build_document, load
from conformance.report.hashes import MANIFEST_NAME, verify, write_manifest
from conformance.report.html import HtmlWriter
from conformance.report.json import JsonWriter
from conformance.report.junit import JunitWriter
from conformance.report.markdown import MarkdownWriter
from conformance.report.provenance import PARTNER_MANIFEST_FILES, Provenance, copy_manifest
from conformance.report.sarif import SarifReportWriter
from conformance.report.svg import SvgWriter
from conformance.report.verdict import Decision, QuestionVerdict, Verdict, decide
from conformance.results import RunResult

REPORT_FILES = ("report.json", "report.html", "junit.xml", "summary.md", "secrets.sarif",
                MANIFEST_NAME)
# Also ours, written only by some runs (a manifest copy, a signature, a package's extras):
# certify removes them all before a run so nothing stale is left beside a new report.
# A load run's raw samples (every request and order, JSON lines): written by the load command.
LOAD_SAMPLES = "load-samples.jsonl"
OWNED_FILES = (*REPORT_FILES, *PARTNER_MANIFEST_FILES, SvgWriter.filename, LOAD_SAMPLES,
               "statement.json", "statement.sig", "README.txt", "BLOCKED")


@dataclass(frozen=True, slots=True, kw_only=True)
class Written:
    """What a certification run wrote: the decision, the document and the file paths."""

    verdict: Verdict
    document: Document
    files: tuple[Path, ...]


def _prepare(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create report directory {out_dir}: {exc.strerror}") from None
    if not out_dir.is_dir():
        raise ReportError(f"{out_dir} is not a directory")


def write_report(
    run: RunResult,
    out_dir: Path,
    *,
    redactor: Redactor | None = None,
    scanner_logs: Sequence[Mapping[str, Any]] = (),
    provenance: Provenance | None = None,
) -> Written:
    """Decide, write every report file into ``out_dir``, then hash them all.

    With ``provenance`` the manifest used is copied in (``partner-manifest.toml``) and the
    partner's build, the manifest's digest and the rerun commands are recorded.
    """
    redactor = redactor or Redactor()
    _prepare(out_dir)
    verdict = decide(run)
    manifest = copy_manifest(provenance, out_dir)
    document = build_document(
        run, verdict, out_dir=out_dir, redactor=redactor, provenance=provenance,
        partner_manifest=manifest,
    )
    files = [
        JsonWriter().write(document, out_dir, redactor),
        HtmlWriter().write(document, out_dir, redactor),
        JunitWriter().write(document, out_dir, redactor),
        MarkdownWriter().write(document, out_dir, redactor),
        SarifReportWriter(scanner_logs).write(document, out_dir, redactor),
    ]
    picture = SvgWriter().write(document, out_dir, redactor)
    if picture is not None:
        files.append(picture)
    files.append(write_manifest(out_dir))
    return Written(verdict=verdict, document=document, files=tuple(files))


def rerender(out_dir: Path, *, redactor: Redactor | None = None) -> tuple[tuple[Path, ...], bool]:
    """Re-render report.html and summary.md (and a load run's load.svg) from report.json; say
    if the manifest was updated.

    The manifest is rewritten only when every other file still matches it, so a
    re-render never launders a changed report.json.
    """
    redactor = redactor or Redactor()
    document = load(out_dir / "report.json")
    try:
        intact = (out_dir / MANIFEST_NAME).is_file() and verify(out_dir).ok
    except IntegrityError:
        intact = False
    picture = SvgWriter().write(document, out_dir, redactor)
    files = (
        HtmlWriter().write(document, out_dir, redactor),
        MarkdownWriter().write(document, out_dir, redactor),
        *((picture,) if picture is not None else ()),
    )
    if intact:
        write_manifest(out_dir)
    return files, intact


__all__ = [
    "LOAD_SAMPLES",
    "OWNED_FILES",
    "REPORT_FILES",
    "Decision",
    "Provenance",
    "QuestionVerdict",
    "ReportError",
    "Verdict",
    "Written",
    "decide",
    "rerender",
    "write_report",
]
