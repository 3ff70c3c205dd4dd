"""The partner's logs as support would read them: captured output, declared files, packets.

Three sources, whichever the partner has: its stdout/stderr when the harness started it,
the log files its manifest declares (``[logs] files``, globs relative to the manifest, read
from where they were at a mark), and the answer of its ``support_packet`` action for one
order. A partner certified by ``url`` with neither files nor a packet has no log the harness
can read: the log scenarios are not applicable to it.

The text read here is the partner's RAW output: the captured log is redacted by value for
evidence, but a secret search must see the secret as it was written (encoded, split…). It
is only searched; what goes into evidence is a redacted excerpt of a line, never the text.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.checks.scenario_recorder import ScenarioRecorder
from conformance.checks.waits import eventually
from conformance.driver.actions import Answer
from conformance.driver.driver import Driver
from conformance.driver.partner import PartnerProcess
from conformance.driver.timings import Timings
from conformance.scan import Artefact, Canary, SecretFinding, SecretScanner

# How much of a matching line goes into evidence (redacted).
EXCERPT_CHARS = 240
NOT_APPLICABLE = (
    "the partner runs at a URL (not started by the harness, so no captured output) and its "
    "manifest declares neither [logs] files nor an [actions.support_packet]"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LogMark:
    """Where every log source stood at one moment: later reads see what came after."""

    lines: int
    sizes: dict[str, int] = field(default_factory=dict)


class PartnerLogs:
    """Every log of the partner the harness can read, raw (searched only, never recorded)."""

    def __init__(self, process: PartnerProcess, driver: Driver) -> None:
        self.process = process
        self.driver = driver
        self.manifest = driver.manifest

    @property
    def has_packet(self) -> bool:
        return self.driver.has("support_packet")

    @property
    def has_lines(self) -> bool:
        """Log lines to read: captured output, or declared log files."""
        return self.process.captures_log or bool(self.manifest.logs and self.manifest.logs.files)

    def not_applicable(self) -> str | None:
        """Why there is no log to read at all, or None."""
        if self.has_lines or self.has_packet:
            return None
        return NOT_APPLICABLE

    def files(self) -> tuple[Path, ...]:
        """The declared log files that exist now."""
        if self.manifest.logs is None:
            return ()
        found: list[Path] = []
        for pattern in self.manifest.logs.files:
            spec = str(self.manifest.directory / pattern)  # an absolute pattern stays itself
            found.extend(Path(p) for p in sorted(glob.glob(spec, recursive=True)))
        return tuple(dict.fromkeys(p for p in found if p.is_file()))

    def mark(self) -> LogMark:
        return LogMark(
            lines=self.process.mark(), sizes={str(p): p.stat().st_size for p in self.files()}
        )

    def since(self, mark: LogMark) -> list[tuple[str, str]]:
        """(where, raw line) for every line written after ``mark``, every source."""
        out = [("partner output", line) for line in self.process.unredacted_since(mark.lines)]
        for path in self.files():
            start = mark.sizes.get(str(path), 0)
            with path.open("rb") as handle:
                handle.seek(start)
                text = handle.read().decode("utf-8", "replace")
            out.extend((path.name, line) for line in text.splitlines())
        return out

    def everything(self) -> list[Artefact]:
        """The whole log the harness can read now, as artefacts for the secret scanner."""
        artefacts: list[Artefact] = []
        captured = self.process.unredacted_since(0)
        if captured:
            artefacts.append(_text_artefact("partner output (stdout/stderr)", "\n".join(captured)))
        for path in self.files():
            artefacts.append(Artefact(location=str(path), body=path.read_bytes(),
                                      content_type="text/plain"))
        return artefacts

    def support_packet(self, order_ref: str, account: str) -> Answer | None:
        """The support packet for one order (None when the manifest declares none)."""
        if not self.has_packet:
            return None
        answer = self.driver.actions.call(
            "support_packet", self.driver.variables(order_ref=order_ref, account=account)
        )
        self.driver.record(answer)
        return answer


def _text_artefact(location: str, text: str) -> Artefact:
    return Artefact(location=location, body=text.encode("utf-8", "replace"),
                    content_type="text/plain")


def packet_artefact(order_ref: str, answer: Answer) -> Artefact:
    return _text_artefact(f"support packet of {order_ref}", answer.text)


def lines_naming(lines: Iterable[tuple[str, str]], ids: Iterable[str]) -> list[tuple[str, str]]:
    """The lines that name one of ``ids`` (exactly as the provider or the partner issued it)."""
    wanted = [i for i in ids if i]
    return [(where, line) for where, line in lines if any(i in line for i in wanted)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Traced:
    """One event the scenario provoked, and the ids a log line about it should name."""

    name: str  # the observation: "retry_logged"…
    what: str  # "the retry of quote pq_… after a lost answer"
    ids: tuple[str, ...]
    mark: LogMark
    order_ref: str
    account: str
    fix: str


def check_traced(
    evidence: ScenarioRecorder, logs: PartnerLogs, event: Traced, *, timings: Timings
) -> bool:
    """Some log line written since the event (or the order's support packet) names its ids."""
    found: list[tuple[str, str]] = []

    def look() -> bool:
        found[:] = lines_naming(logs.since(event.mark), event.ids)
        return bool(found)

    if logs.has_lines:
        # A log line may be flushed a little after the answer: watch one dispatch window.
        eventually(look, bound_s=timings.dispatch_s, interval_s=timings.read_interval_s)
    else:
        # No log lines to read (a partner at a URL): its support packet is its log.
        packet = logs.support_packet(event.order_ref, event.account)
        if packet is not None and packet.ok:
            found = lines_naming([("support packet", packet.text)], event.ids)
    if found:
        where, line = found[0]
        evidence.step(f"log line for {event.what}",
                      f"{where}: {evidence.redactor.text(line)[:EXCERPT_CHARS]}")
    return evidence.check(
        bool(found),
        f"no log line written after {event.what} names any of its ids "
        f"({', '.join(event.ids)}).",
        fix=event.fix,
        observes=event.name,
        order_ref=event.order_ref,
    )


def canaries_of(provider: Any) -> tuple[Canary, ...]:
    """The run's server secrets issued to this partner, as scanner canaries."""
    issued = provider.partner()
    return (
        Canary(label="secret_key", value=issued.secret_key),
        Canary(label="webhook_secret", value=issued.webhook_secret),
    )


def scan(artefacts: Iterable[Artefact], canaries: tuple[Canary, ...]) -> tuple[SecretFinding, ...]:
    """Every encoding of every canary the scanner knows, and provider key patterns."""
    return SecretScanner(canaries).scan(artefacts)



def first_per_source(
    findings: Iterable[SecretFinding],
) -> list[tuple[SecretFinding, int]]:
    """One finding per (secret, source), with how often it occurs there (a log repeats)."""
    groups: dict[tuple[str, str], list[SecretFinding]] = {}
    for finding in findings:
        groups.setdefault((finding.canary or finding.rule_id, finding.location), []).append(finding)
    return [(items[0], len(items)) for items in groups.values()]
