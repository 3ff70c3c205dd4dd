"""junit.xml: one testsuite, one testcase per scenario, for CI test reporting."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from conformance.redact import Redactor
from conformance.report.document import Document
from conformance.report.shape import ScenarioEntry

_XML_INVALID = {c: None for c in range(32) if c not in (9, 10, 13)}


def _clean(text: Any) -> str:
    """XML 1.0 cannot carry control characters; drop them rather than fail the run."""
    return str(text).translate(_XML_INVALID)


def _details(scenario: ScenarioEntry) -> str:
    parts: list[str] = [scenario["reason"]]
    for finding in scenario["findings"]:
        parts.append(f"- {finding['message']} (fix: {finding['fix']}; {finding['clause']['cite']})")
    if scenario["clause"]:
        parts.append(f"clause: {scenario['clause']['cite']} <{scenario['clause']['url']}>")
    ids = scenario["evidence"]["ids"]
    if ids:
        parts.append("ids: " + json.dumps(ids, ensure_ascii=False))
    return "\n".join(p for p in parts if p)


class JunitWriter:
    """Writes junit.xml: classname is the scenario group, name the scenario id."""

    filename = "junit.xml"

    def render(self, document: Document, redactor: Redactor) -> str:
        counts = document["counts"]
        suite = ET.Element(
            "testsuite",
            {
                "name": "zeropools-conformance",
                "tests": str(len(document["scenarios"])),
                "failures": str(counts["fail"]),
                "errors": str(counts["error"]),
                "skipped": str(counts["skipped"] + counts["waived"]),
                "time": f"{document['run']['duration_s']:.3f}",
                "timestamp": document["run"]["started_at"],
            },
        )
        props = ET.SubElement(suite, "properties")
        for name, value in (
            ("verdict", document["verdict"]),
            ("partner", document["partner_name"]),
            ("harness_version", document["harness_version"]),
            ("catalogue_version", document["catalogue_version"]),
            *((q["id"], q["answer"]) for q in document["questions"]),
        ):
            ET.SubElement(props, "property", {"name": name, "value": _clean(value)})
        for scenario in document["scenarios"]:
            case = ET.SubElement(
                suite,
                "testcase",
                {
                    "classname": scenario["group"],
                    "name": scenario["id"],
                    "time": f"{scenario['duration_s']:.3f}",
                },
            )
            status = scenario["status"]
            message = _clean(scenario["reason"] or status)
            if status == "fail":
                node = ET.SubElement(case, "failure", {"message": message, "type": "finding"})
                node.text = _clean(_details(scenario))
            elif status == "error":
                node = ET.SubElement(case, "error", {"message": message, "type": "harness"})
                node.text = _clean(_details(scenario))
            elif status == "skipped":
                kind = scenario["skip_kind"] or "skipped"
                ET.SubElement(case, "skipped", {"message": _clean(f"{kind}: {message}")})
            elif status == "waived":
                reason = scenario["waiver"] or scenario["reason"]
                ET.SubElement(case, "skipped", {"message": _clean(f"waived: {reason}")})
        ET.indent(suite)
        text = ET.tostring(suite, encoding="unicode", xml_declaration=False)
        return redactor.text('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")

    def write(self, document: Document, out_dir: Path, redactor: Redactor) -> Path:
        target = out_dir / self.filename
        target.write_text(self.render(document, redactor), encoding="utf-8")
        return target
