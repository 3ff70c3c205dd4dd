"""secrets.sarif in the report: the scanner's logs merged, or the secrets.* findings wrapped.

Everything SARIF (tool, schema, envelope, the scanner's rules) is in :mod:`conformance.sarif`;
this writer only chooses what goes in: the scanner's logs when the run wrote them, else the
secrets.* scenarios' findings from the report document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.redact import Redactor
from conformance.report.document import Document
from conformance.report.shape import Clause
from conformance.sarif import FILENAME, TOOL_URI, merge, sarif_log, scanner_logs

__all__ = ["SarifReportWriter", "results_from_document", "scanner_logs"]

_LOCATION_KEYS = ("file", "path", "url", "uri", "artifact")


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
        clause: Clause | None = scenario["clause"]
        rules.append({
            "id": scenario["id"],
            "name": scenario["id"].replace(".", "_"),
            "shortDescription": {"text": scenario["title"]},
            "helpUri": clause["url"] if clause else TOOL_URI,
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


class SarifReportWriter:
    """Writes the report's secrets.sarif from the scanner's logs, or from the secrets findings."""

    filename = FILENAME

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
