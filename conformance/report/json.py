"""report.json: the report document, validated against the schema the package ships."""

from __future__ import annotations

from pathlib import Path

from conformance.redact import Redactor
from conformance.report.document import Document, dumps, validate


class JsonWriter:
    """Writes report.json; refuses to write a document the schema rejects."""

    filename = "report.json"

    def render(self, document: Document, redactor: Redactor) -> str:
        validate(document)
        return redactor.text(dumps(document))

    def write(self, document: Document, out_dir: Path, redactor: Redactor) -> Path:
        target = out_dir / self.filename
        target.write_text(self.render(document, redactor), encoding="utf-8")
        return target
