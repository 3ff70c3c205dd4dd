"""The report document: one redacted, JSON-native dict that every format is rendered from.

Its shape is typed in :mod:`conformance.report.shape` (mirroring the JSON schema), so the
writers are checked by mypy.

report.json is this document; the HTML, Markdown and JUnit writers read it too, so
``zeropools-conformance report DIR`` can re-render them from report.json alone and
get the same bytes.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any, cast

from conformance.catalogue import SCENARIOS, SCENARIOS_BY_ID, SeedClause
from conformance.errors import ReportError
from conformance.evidence import Screenshot
from conformance.redact import Redactor
from conformance.report.load_section import load_section
from conformance.report.provenance import Provenance, api_version, randomness, rerun_command
from conformance.report.shape import (
    Clause,
    Counts,
    FixEntry,
    ManifestEntry,
    QuestionEntry,
    ReportDocument,
    ScenarioEntry,
    WaiverEntry,
)
from conformance.report.verdict import QuestionVerdict, Verdict
from conformance.results import RunResult, ScenarioResult, Status
from conformance.schemas import load_schema, validator

REPORT_FORMAT = 1
SCREENSHOT_DIR = "screenshots"
SCHEMA_NAME = "report.schema"

Document = ReportDocument

_ORDER = {spec.id: index for index, spec in enumerate(SCENARIOS)}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")



def plain(value: Any) -> Any:
    """Make a value JSON-native: money as decimal strings, never floats that lose cents."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return str(value)


def clause_dict(clause: SeedClause) -> Clause:
    return {
        "page": clause.page,
        "url": clause.url,
        "section": clause.section,
        "row": clause.row,
        "cite": clause.cite(),
    }


def inside_dir(out_dir: Path, relative: str) -> bool:
    pure = PurePosixPath(relative.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        return False
    return (out_dir / pure).resolve().is_relative_to(out_dir.resolve())


def _place_screenshot(shot: Screenshot, scenario_id: str, out_dir: Path, index: int) -> str:
    """A path relative to the report directory, copying the file in when it lives elsewhere."""
    if inside_dir(out_dir, shot.path):
        return PurePosixPath(shot.path.replace("\\", "/")).as_posix()
    source = Path(shot.path)
    suffix = source.suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,5}", source.suffix) else ".png"
    stem = _UNSAFE.sub("-", f"{scenario_id}-{index:02d}-{shot.name}").strip("-")
    target = PurePosixPath(SCREENSHOT_DIR, f"{stem}{suffix}")
    if source.is_file():
        (out_dir / SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, out_dir / target)
    return target.as_posix()


def _fix_for(result: ScenarioResult, titles: Mapping[str, str]) -> str:
    fixes = list(dict.fromkeys(f.fix.strip() for f in result.findings if f.fix.strip()))
    if fixes:
        return "; ".join(fixes)
    spec = SCENARIOS_BY_ID.get(result.scenario_id)
    title = titles.get(result.scenario_id)
    if title is not None and result.status is Status.FAIL:
        return (
            f"Make this guarantee hold under load ({title}): its detail and examples in the "
            "load section show where it broke; fix the cause and run the load again."
        )
    if result.status is Status.ERROR:
        return (
            "The harness could not decide this scenario. Fix the cause named in the reason "
            "(partner start-up, manifest mapping, browser) and run again."
        )
    if spec is not None:
        return f"Make the partner pass: {spec.passes_when}."
    return "See the evidence below."


def _scenario_entry(
    result: ScenarioResult, verdict: Verdict, out_dir: Path, provenance: Provenance | None,
    titles: Mapping[str, str],
) -> ScenarioEntry:
    spec = SCENARIOS_BY_ID.get(result.scenario_id)
    judged = verdict.scenario(result.scenario_id)
    status = judged.status if judged is not None else result.status
    evidence = result.evidence
    # A load run's guarantees are rerun by the load command, not by certify --only.
    rerun = None if result.scenario_id in titles else rerun_command(provenance, result.scenario_id)
    return {
        "id": result.scenario_id,
        "title": spec.title if spec else titles.get(result.scenario_id, result.scenario_id),
        "group": spec.group if spec else result.scenario_id.split(".", 1)[0],
        "question": spec.question if spec else None,
        "advisory": bool(spec and spec.advisory),
        "browser": bool(spec and spec.browser),
        "status": status.value,
        "reported_status": result.status.value,
        "skip_kind": result.skip_kind.value if result.skip_kind else None,
        "reason": result.reason,
        "waiver": judged.waiver if judged else None,
        "blocks": bool(judged and judged.blocks),
        "duration_s": round(float(result.duration_s), 3),
        "passes_when": spec.passes_when if spec else "",
        "clause": clause_dict(spec.clause) if spec else None,
        "rerun": rerun,
        "findings": [
            {
                "severity": f.severity.value,
                "message": f.message,
                "fix": f.fix,
                "clause": clause_dict(f.clause),
                "ids": {kind: value for kind, value in f.ids},
                "rerun": rerun,
            }
            for f in result.findings
        ],
        "evidence": {
            "ids": evidence.ids_dict(),
            "steps": [
                {"at_s": round(float(s.at_s), 3), "action": s.action, "detail": s.detail,
                 "ok": s.ok}
                for s in evidence.steps
            ],
            "journal": [plain(entry) for entry in evidence.journal],
            "screenshots": [
                {
                    "name": shot.name,
                    "path": _place_screenshot(shot, result.scenario_id, out_dir, index),
                    "caption": shot.caption,
                }
                for index, shot in enumerate(evidence.screenshots)
            ],
            "partner_log": evidence.partner_log,
            "tables": [{"name": name, "rows": plain(rows)} for name, rows in evidence.tables],
        },
    }


def _question_entry(q: QuestionVerdict) -> QuestionEntry:
    return {
        "id": q.id,
        "text": q.text,
        "answer": q.answer.value,
        "blocking_answer": q.blocking_answer.value,
        "good_answer": q.good_answer.value,
        "blocks": q.blocks,
        "waiver": q.waiver,
        "scenarios": list(q.scenario_ids),
        "executed": list(q.executed),
        "decided_by": list(q.decided_by),
    }


def _problem(result: ScenarioResult) -> str:
    """What went wrong, without the fix (the fix list shows it beside): the findings' lines."""
    messages = list(dict.fromkeys(f.message.strip() for f in result.findings if f.message))
    if not messages:
        return ""
    more = f" (+{len(messages) - 1} more)" if len(messages) > 1 else ""
    return f"{messages[0]}{more}"


def _fixes(
    scenarios: list[tuple[ScenarioEntry, ScenarioResult]], verdict: Verdict,
    titles: Mapping[str, str],
) -> list[FixEntry]:
    """What to fix, blocking items first: failures, errors, unanswered questions, harness."""
    fixes: list[FixEntry] = []
    for entry, result in scenarios:
        if entry["status"] not in ("fail", "error"):
            continue
        kind = "advisory" if entry["advisory"] else entry["status"]
        fixes.append({
            "kind": kind,
            "target": entry["id"],
            "title": entry["title"],
            "question": entry["question"],
            "blocks": entry["blocks"],
            "reason": _problem(result) or entry["reason"] or f"{entry['id']} {entry['status']}",
            "fix": _fix_for(result, titles),
            "clause": entry["clause"],
            "rerun": entry.get("rerun"),
        })
    for q in verdict.questions:
        if q.blocks and q.answer.value == "unanswered":
            which = ", ".join(q.decided_by) or "every scenario was not applicable or waived"
            fixes.append({
                "kind": "unanswered",
                "target": q.id,
                "title": q.text,
                "question": q.id,
                "blocks": True,
                "reason": f"{q.id} has no decisive evidence ({which}).",
                "fix": (
                    f"Run {q.id}'s scenarios (drop --only / --skip, fix the errors) or waive "
                    f"{q.id} in the manifest with a written reason."
                ),
                "clause": None,
                "rerun": None,
            })
    for error in verdict.harness_errors:
        fixes.append({
            "kind": "harness", "target": "harness", "title": "Harness error", "question": None,
            "blocks": True, "reason": error,
            "fix": "The harness could not finish the run; fix the cause and run again.",
            "clause": None,
            "rerun": None,
        })
    fixes.sort(key=lambda f: not f["blocks"])
    return fixes


def build_document(
    run: RunResult,
    verdict: Verdict,
    *,
    out_dir: Path,
    redactor: Redactor,
    provenance: Provenance | None = None,
    partner_manifest: ManifestEntry | None = None,
) -> Document:
    """The redacted report document; screenshots outside ``out_dir`` are copied in."""
    ordered = sorted(run.scenarios, key=lambda r: _ORDER.get(r.scenario_id, len(_ORDER)))
    titles = {g.id: g.title for g in run.load.guarantees} if run.load else {}
    pairs = [(_scenario_entry(r, verdict, out_dir, provenance, titles), r) for r in ordered]
    tally = {status.value: 0 for status in Status}
    for entry, _ in pairs:
        tally[entry["status"]] += 1
    counts: Counts = {"pass": tally["pass"], "fail": tally["fail"], "error": tally["error"],
                      "skipped": tally["skipped"], "waived": tally["waived"]}
    judged = {index: v for index, v in enumerate(verdict.waivers) if v.waiver == run.waivers[index]}
    waivers: list[WaiverEntry] = []
    for index, w in enumerate(run.waivers):
        state = judged.get(index)
        waivers.append({
            "target": w.target,
            "reason": w.reason,
            "kind": "question" if w.target.startswith("RQ") else "scenario",
            "owner": w.owner,
            "expires": w.expires.isoformat() if w.expires else None,
            "state": state.state.value if state else "in_force",
            "observed": state.observed if state else None,
        })
    document: Document = {
        "report_format": REPORT_FORMAT,
        "verdict": verdict.decision.value,
        "exit_code": verdict.exit_code,
        "partner_name": run.partner_name,
        "harness_version": run.harness_version,
        "catalogue_version": run.catalogue_version,
        "api_version": api_version(),
        "partner_build": provenance.partner_build if provenance else None,
        "partner_manifest": partner_manifest or None,
        "randomness": randomness(),
        "run": {
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "duration_s": round(float(run.duration_s), 3),
            "partial": run.partial,
            "interrupted": run.interrupted or None,
        },
        "partner_startup_log": run.partner_log,
        "verdict_reasons": list(verdict.reasons),
        "warnings": list(verdict.warnings),
        "harness_errors": list(run.harness_errors),
        "questions": [_question_entry(q) for q in verdict.questions],
        "fixes": _fixes(pairs, verdict, titles),
        "counts": counts,
        "scenarios": [entry for entry, _ in pairs],
        "waivers": waivers,
        "rules": list(verdict.rules),
    }
    if run.load is not None:
        document["load"] = load_section(run.load)
    # Through JSON once: the in-memory document is exactly what report.json reloads as.
    redacted = redactor.data(plain(document))
    return cast(Document, json.loads(json.dumps(redacted)))


def schema() -> dict[str, Any]:
    """The JSON Schema of report.json, shipped in the package."""
    return load_schema(SCHEMA_NAME)


def validate(document: Any) -> None:
    """Raise :class:`ReportError` naming the first invalid field of a report document."""
    errors = sorted(validator(SCHEMA_NAME).iter_errors(document),
                    key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/" + "/".join(str(p) for p in first.absolute_path)
        raise ReportError(f"report.json is not valid at {where}: {first.message}")


def dumps(document: Document) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def load(path: Path) -> Document:
    """Read and validate report.json; errors name the file and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path} is not JSON: {exc.msg} at line {exc.lineno}") from None
    validate(document)
    return cast(Document, document)
