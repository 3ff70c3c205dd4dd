"""The log scenarios' sources: declared files read from a mark, secrets in any encoding."""

from __future__ import annotations

import base64
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from conformance.checks.logs import (
    NOT_APPLICABLE,
    PartnerLogs,
    first_per_source,
    lines_naming,
    scan,
)
from conformance.driver.manifest import LogsSpec, load_manifest
from conformance.scan import Canary

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "fixtures" / "reference_partner" / "manifest.toml"
SECRET = "sk_test_" + "4f9a1c2e7b3d5a6f8e0c1b2a3d4e5f6a"


class _Process:
    """A partner process stand-in: its captured lines, or none (a partner at a URL)."""

    def __init__(self, lines: list[str], *, captures: bool) -> None:
        self.lines, self.captures_log = lines, captures

    def mark(self) -> int:
        return len(self.lines)

    def unredacted_since(self, mark: int) -> tuple[str, ...]:
        return tuple(self.lines[mark:])


def _driver(tmp_path: Path, *, files: tuple[str, ...] = (), packet: bool = False) -> Any:
    manifest = load_manifest(REFERENCE)
    from dataclasses import replace

    manifest = replace(manifest, path=tmp_path / "manifest.toml",
                       logs=LogsSpec(files=files) if files else None)
    return SimpleNamespace(manifest=manifest, has=lambda name: packet and name == "support_packet")


def test_declared_files_are_read_from_the_mark(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "app.log"
    log.parent.mkdir()
    log.write_text("before pq_test_1\n")
    logs = PartnerLogs(_Process([], captures=False), _driver(tmp_path, files=("logs/*.log",)))
    assert logs.not_applicable() is None
    mark = logs.mark()
    with log.open("a") as handle:
        handle.write("retry key=pool-execution:pq_test_2\n")
    lines = logs.since(mark)
    assert lines == [("app.log", "retry key=pool-execution:pq_test_2")]
    assert lines_naming(lines, ["pq_test_1"]) == []
    assert lines_naming(lines, ["pool-execution:pq_test_2"])


def test_a_partner_at_a_url_without_files_or_packet_is_not_applicable(tmp_path: Path) -> None:
    logs = PartnerLogs(_Process([], captures=False), _driver(tmp_path))
    assert logs.not_applicable() == NOT_APPLICABLE
    with_packet = PartnerLogs(_Process([], captures=False), _driver(tmp_path, packet=True))
    assert with_packet.not_applicable() is None and not with_packet.has_lines


def test_secrets_are_found_encoded_and_grouped_per_source(tmp_path: Path) -> None:
    encoded = base64.b64encode(SECRET.encode()).decode()
    lines = [f"debug auth={encoded}", f"headers {{'Authorization': 'Bearer {SECRET}'}}",
             f"again Bearer {SECRET}", "ledger: credit posted trade_id=txn_test_1"]
    logs = PartnerLogs(_Process(lines, captures=True), _driver(tmp_path))
    findings = scan(logs.everything(), (Canary(label="secret_key", value=SECRET),))
    assert {f.encoding.split(",")[0] for f in findings} >= {"raw"}
    assert any("base64" in f.encoding for f in findings)
    grouped = first_per_source(findings)
    assert len(grouped) == 1 and grouped[0][1] == len(findings)
    assert all(SECRET not in f.message for f in findings)


def test_the_manifest_declares_logs_and_a_support_packet(tmp_path: Path) -> None:
    path = tmp_path / "manifest.toml"
    path.write_text(REFERENCE.read_text() + '\n[logs]\nfiles = ["var/*.log"]\n')
    manifest = load_manifest(path)
    assert manifest.logs == LogsSpec(files=("var/*.log",))
    assert manifest.action("support_packet") is not None
