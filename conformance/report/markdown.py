"""summary.md: the verdict, the six questions and what to fix, short enough for a CI summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.redact import Redactor
from conformance.report.document import Document
from conformance.report.load_html import ms, settings_line
from conformance.report.shape import LoadSection, QuestionEntry
from conformance.report.svg import SvgWriter

MAX_FIXES = 15
MAX_CELL = 160


def _cell(text: Any) -> str:
    value = " ".join(str(text).split())
    if len(value) > MAX_CELL:
        value = value[: MAX_CELL - 1] + "…"
    return value.replace("|", "\\|")


def _answer(question: QuestionEntry) -> str:
    answer = f"**{question['answer']}**"
    if question["waiver"] is not None:
        return f"{answer} · waived: {_cell(question['waiver'])}"
    if question["blocks"]:
        return f"{answer} · blocks"
    return f"{answer} · ok"


_OUTCOME = {"held": "✅ held", "broken": "⛔ broken", "undecided": "⚠️ not decided"}


def _load_lines(load: LoadSection) -> list[str]:
    """The load run's guarantees and numbers; the picture is linked (load.svg)."""
    lines = [
        f"Load run: {_cell(settings_line(load))}.",
        "",
        "| Guarantee | Outcome | Cases | Detail |",
        "|---|---|---|---|",
    ]
    for g in load["guarantees"]:
        lines.append(f"| `{g['id']}` | {_OUTCOME.get(g['outcome'], g['outcome'])} | "
                     f"{g['observed']} | {_cell(g['detail'])}"
                     + (f" Fix: {_cell(g['fix'])}" if g["fix"] and g["outcome"] != "held" else "")
                     + " |")
    accept, terminal = load["accept_latency"], load["quote_to_terminal"]
    counts = load["counts"]
    lines += [
        "",
        "| Latency (ms) | p50 | p95 | p99 | samples |",
        "|---|---|---|---|---|",
        f"| accept | {ms(accept['p50_ms'])} | {ms(accept['p95_ms'])} | {ms(accept['p99_ms'])} "
        f"| {accept['count']} |",
        f"| quote → terminal | {ms(terminal['p50_ms'])} | {ms(terminal['p95_ms'])} | "
        f"{ms(terminal['p99_ms'])} | {terminal['count']} |",
        "",
        f"Orders {counts['orders']} · accepted {counts['accepted']} · refused "
        f"{counts['refused']} · trades {counts['trades']} · double accepts "
        f"{counts['double_accepts']} · reset retries {counts['reset_retries']} · expired "
        f"attempts {counts['expired_attempts']} · webhook replays {counts['webhook_replays']}"
        f" · partner requests {load['partner_requests']} · partner 5xx {load['partner_5xx']}"
        f" · {load['throughput_rps']:.1f} requests/s.",
        "",
        f"![Throughput and accept latency over time]({SvgWriter.filename})",
    ]
    return lines


class MarkdownWriter:
    """Writes summary.md (under ~60 lines) from the report document."""

    filename = "summary.md"

    def render(self, document: Document, redactor: Redactor) -> str:
        ready = document["verdict"] == "ready"
        run = document["run"]
        load = document.get("load")
        kind = "load run" if load else "readiness"
        lines = [
            f"## 0Pools {kind}: {'✅ READY' if ready else '⛔ BLOCKED'} — "
            f"{_cell(document['partner_name'])}",
            *(["", "**The harness could not decide:** every scenario that ran ended in "
               "error (see the reasons below); fix the cause and run again."]
              if document["exit_code"] == 2 else []),
            *(["", f"**Run interrupted by {run['interrupted']} — not a certification.**"]
              if run.get("interrupted") else []),
            *(["", "**Partial run — not a certification:** only part of the catalogue was "
               "selected; the unanswered questions are listed below."]
              if run.get("partial") else []),
            "",
            f"harness {document['harness_version']} · catalogue {document['catalogue_version']}"
            f" · {run['started_at']} · {run['duration_s']:.1f} s · exit {document['exit_code']}",
            "",
        ]
        if load:
            lines += _load_lines(load)
        else:
            lines += ["| | Readiness question | Answer |", "|---|---|---|"]
        for q in document["questions"]:
            lines.append(f"| {q['id']} | {_cell(q['text'])} | {_answer(q)} |")
        fixes = document["fixes"]
        if fixes:
            lines += ["", f"### What to fix ({len(fixes)})", ""]
            for number, fix in enumerate(fixes[:MAX_FIXES], start=1):
                tag = "" if fix["blocks"] else " _(does not block)_"
                rerun = f" — rerun: `{fix['rerun']}`" if fix.get("rerun") else ""
                lines.append(
                    f"{number}. `{fix['target']}`{tag}: {_cell(fix['reason'])}"
                    f" — fix: {_cell(fix['fix'])}{rerun}"
                )
            if len(fixes) > MAX_FIXES:
                lines.append(f"\n…and {len(fixes) - MAX_FIXES} more in report.html.")
        for warning in document["warnings"][:5]:
            lines.append(f"\n> ⚠️ {_cell(warning)}")
        counts = document["counts"]
        lines += [
            "",
            f"Scenarios: {counts['pass']} pass · {counts['fail']} fail · {counts['error']} error"
            f" · {counts['skipped']} skipped · {counts['waived']} waived."
            " Evidence: `report.html`; integrity: `zeropools-conformance verify DIR`"
            " (signed: `--public-key KEY.pem`).",
        ]
        return redactor.text("\n".join(lines) + "\n")

    def write(self, document: Document, out_dir: Path, redactor: Redactor) -> Path:
        target = out_dir / self.filename
        target.write_text(self.render(document, redactor), encoding="utf-8")
        return target
