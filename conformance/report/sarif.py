"""secrets.sarif: the secret scanner's findings as SARIF 2.1.0, for code-scanning tools.

The scanner (``conformance.scan``) owns the rules and results; this writer only
wraps them in a valid log (an empty run when there is nothing), merges logs, and
falls back to the secrets.* scenarios' findings when no scanner log was handed in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.errors import ConformanceError
from conformance.redact import Redactor
from conformance.report.document import Document

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "zeropools-conformance"
TOOL_URI = "https://0bit-docs.pages.dev/developers/docs/0pools/liquidity-safeguards"

_LOCATION_KEYS = ("file", "path", "url", "uri", "artifact")


def sarif_log(
    results: Iterable[Mapping[str, Any]] = (),
    *,
    version: str,
    rules: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A SARIF log with one run of this tool; valid with no results at all."""
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": version,
                        "informationUri": TOOL_URI,
                        "rules": [dict(rule) for rule in rules],
                    }
                },
                "results": [dict(result) for result in results],
            }
        ],
    }


def merge(logs: Iterable[Mapping[str, Any]], *, version: str) -> dict[str, Any]:
    """One log holding every run of the given logs (an empty run if there are none)."""
    runs = [run for log in logs for run in log.get("runs", [])]
    if not runs:
        return sarif_log(version=version)
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": runs}


def _location(ids: Mapping[str, str]) -> list[dict[str, Any]]:
    uri = next((ids[k] for k in _LOCATION_KEYS if ids.get(k)), None)
    if uri is None:
        return []
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
    offset = ids.get("offset", "")
    if offset.isdigit():
        physical["region"] = {"charOffset": int(offset)}
    return [{"physicalLocation": physical}]


def results_from_document(document: Document) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rules and results from the secrets.* scenarios' findings, when no scanner log exists."""
    rules: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for scenario in document["scenarios"]:
        if scenario["group"] != "secrets" or not scenario["findings"]:
            continue
        clause = scenario["clause"] or {}
        rules.append({
            "id": scenario["id"],
            "name": scenario["id"].replace(".", "_"),
            "shortDescription": {"text": scenario["title"]},
            "helpUri": clause.get("url", TOOL_URI),
            "help": {"text": scenario["passes_when"]},
        })
        for finding in scenario["findings"]:
            results.append({
                "ruleId": scenario["id"],
                "level": "error" if finding["severity"] == "blocker" else "warning",
                "message": {"text": f"{finding['message']} Fix: {finding['fix']}"},
                "locations": _location(finding["ids"]),
            })
    return rules, results


class SarifWriter:
    """Writes secrets.sarif from the scanner's log, or from the secrets findings."""

    filename = "secrets.sarif"

    def __init__(self, scanner_logs: Sequence[Mapping[str, Any]] = ()) -> None:
        self._scanner_logs = tuple(scanner_logs)

    def render(self, document: Document, redactor: Redactor) -> str:
        version = document["harness_version"]
        if self._scanner_logs:
            log = merge(self._scanner_logs, version=version)
        else:
            rules, results = results_from_document(document)
            log = sarif_log(results, version=version, rules=rules)
        return redactor.text(json.dumps(redactor.data(log), indent=2, ensure_ascii=False) + "\n")

    def write(self, document: Document, out_dir: Path, redactor: Redactor) -> Path:
        target = out_dir / self.filename
        target.write_text(self.render(document, redactor), encoding="utf-8")
        return target


def scanner_logs(out_dir: Path) -> list[dict[str, Any]]:
    """The scanner's SARIF log, when the runner wrote it into the report directory."""
    path = out_dir / SarifWriter.filename
    if not path.is_file():
        return []
    try:
        log = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConformanceError(f"the scanner's {path} cannot be read: {exc}") from None
    if not isinstance(log, dict) or not isinstance(log.get("runs"), list):
        raise ConformanceError(f"the scanner's {path} is not a SARIF log (no runs)")
    return [log]
