"""report.html: one self-contained page a reviewer reads offline, verdict first.

Order of the page: verdict banner, the six questions (a load run: its guarantees, the
throughput and latency picture, percentiles and counts), what to fix, evidence per
scenario (ids support and finance look up, steps, journal excerpt, tables,
screenshots embedded as data: URIs), waivers, and how the verdict is decided.
"""

from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path
from typing import Any

from conformance.redact import Redactor
from conformance.report.document import Document, inside_dir
from conformance.report.load_html import load_html
from conformance.report.shape import (
    FindingEntry,
    QuestionEntry,
    Row,
    ScenarioEntry,
    ScreenshotEntry,
    StepEntry,
)

MAX_JOURNAL_ROWS = 200
MAX_CELL = 300
MAX_LOG = 20_000

_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
         ".webp": "image/webp", ".gif": "image/gif"}
_ID_LABELS = {
    "order_ref": "Order ref", "quote_id": "Quote id", "transact_id": "Trade id",
    "trade_id": "Trade id", "request_id": "Request id", "event_id": "Event id",
    "idempotency_key": "Idempotency key",
}
_JOURNAL_FIRST = ("seq", "at", "time", "method", "path", "status", "idempotency_key",
                  "request_id", "quote_id", "transact_id", "event_id", "body_digest")
_STATUS_LABEL = {"pass": "pass", "fail": "fail", "error": "error", "skipped": "skipped",
                 "waived": "waived"}

CSS = """
:root{--ink:#1d2330;--muted:#5b6475;--line:#dde1e8;--bg:#f6f7f9;--card:#fff;
--red:#b42318;--red-bg:#fef3f2;--green:#067647;--green-bg:#ecfdf3;--amber:#b54708;
--amber-bg:#fffaeb;--blue:#175cd3;--gray-bg:#f2f4f7;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--ink);background:var(--bg);line-height:1.45;font-size:15px}
body{margin:0}
main{max-width:1120px;margin:0 auto;padding:24px 28px 48px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.86em}
a{color:var(--blue)}
h2{font-size:1.25rem;margin:36px 0 12px;padding-bottom:6px;border-bottom:2px solid var(--line)}
h3{font-size:1rem;margin:18px 0 8px}
.banner{border-radius:12px;padding:22px 26px;margin-top:8px;border:2px solid}
.banner.blocked{background:var(--red-bg);border-color:var(--red)}
.banner.ready{background:var(--green-bg);border-color:var(--green)}
.banner .label{font-size:.8rem;letter-spacing:.08em;text-transform:uppercase;color:var(--muted)}
.banner .decision{font-size:2.2rem;font-weight:800;margin:2px 0 6px}
.banner.blocked .decision{color:var(--red)}.banner.ready .decision{color:var(--green)}
.banner .meta{color:var(--muted);font-size:.9rem}
.banner ul{margin:12px 0 0;padding-left:20px}
.banner li{margin:3px 0}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{border-bottom:1px solid var(--line);padding:7px 10px;text-align:left;vertical-align:top}
th{font-size:.78rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);
background:var(--gray-bg)}
.questions td.q{font-weight:600}
.pill{display:inline-block;padding:1px 10px;border-radius:999px;font-weight:700;font-size:.82rem;
white-space:nowrap;border:1px solid transparent}
.pill.bad{background:var(--red-bg);color:var(--red);border-color:#fecdca}
.pill.good{background:var(--green-bg);color:var(--green);border-color:#abefc6}
.pill.open{background:var(--amber-bg);color:var(--amber);border-color:#fedf89}
.pill.neutral{background:var(--gray-bg);color:var(--muted);border-color:var(--line)}
.sids a{margin-right:8px;white-space:nowrap}
.dot{display:inline-block;width:8px;height:8px;border-radius:50%;margin-right:4px;
vertical-align:middle}
.dot.pass{background:var(--green)}.dot.fail{background:var(--red)}
.dot.error{background:var(--amber)}.dot.skipped,.dot.waived,.dot.missing{background:#98a2b3}
ol.fixes{padding-left:0;list-style:none;counter-reset:fix}
ol.fixes li{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--red);
border-radius:8px;padding:12px 16px;margin:10px 0;counter-increment:fix}
ol.fixes li.nonblocking{border-left-color:#98a2b3}
ol.fixes li.unanswered,ol.fixes li.error,ol.fixes li.harness{border-left-color:var(--amber)}
.fixhead{font-weight:700}
.fixhead:before{content:counter(fix) ". ";color:var(--muted)}
.fix{margin-top:6px}.fix b{color:var(--green)}
.clause{color:var(--muted);font-size:.85rem;margin-top:4px}
.kind{font-size:.72rem;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);
margin-left:8px;font-weight:600}
.counts span{margin-right:14px}
details.scenario{background:var(--card);border:1px solid var(--line);border-radius:8px;
margin:8px 0}
details.scenario>summary{cursor:pointer;padding:10px 14px;display:flex;gap:12px;
align-items:baseline;list-style:none}
details.scenario>summary::-webkit-details-marker{display:none}
details.scenario>summary:before{content:"▸";color:var(--muted)}
details.scenario[open]>summary:before{content:"▾"}
details.scenario>summary .pill{min-width:64px;text-align:center}
details.scenario>summary .sid{font-weight:700;font-family:ui-monospace,Menlo,Consolas,monospace;
font-size:.9rem}
details.scenario>summary .title{color:var(--muted);flex:1}
details.scenario>summary .dur{color:var(--muted);font-size:.85rem;white-space:nowrap}
.body{padding:4px 18px 16px;border-top:1px solid var(--line)}
.reason{padding:8px 12px;border-radius:6px;margin:12px 0;background:var(--gray-bg)}
.reason .fix{margin-top:4px}
.reason.fail{background:var(--red-bg)}.reason.error{background:var(--amber-bg)}
dl.ids{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:8px 0}
dl.ids dt{color:var(--muted);font-size:.85rem}dl.ids dd{margin:0}
dl.ids dd code{background:var(--gray-bg);padding:1px 6px;border-radius:4px;margin-right:6px;
display:inline-block;margin-bottom:2px;user-select:all}
table.small td,table.small th{font-size:.82rem;padding:4px 8px}
table.small td{font-family:ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}
td .nil{color:#98a2b3}
.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:6px}
td.notok{color:var(--red);font-weight:700}
figure{margin:12px 0}figure img{max-width:100%;border:1px solid var(--line);border-radius:6px}
figcaption{color:var(--muted);font-size:.85rem}
figure.plot svg{max-width:100%;height:auto;border:1px solid var(--line);border-radius:6px}
pre{background:#101828;color:#e4e7ec;padding:10px 12px;border-radius:6px;overflow-x:auto;
font-size:.8rem;max-height:360px}
.muted{color:var(--muted)}
footer{margin-top:44px;padding-top:14px;border-top:2px solid var(--line);color:var(--muted);
font-size:.88rem}
footer h2{border:none;color:var(--ink);font-size:1.05rem;margin-top:0}
@media print{details.scenario{break-inside:avoid}details.scenario:not([open])>.body{display:none}}
"""


class _Html:
    """Escapes every string after running it through the redactor."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor

    def __call__(self, value: Any) -> str:
        return escape(self._redactor.text(str(value)), quote=True)


def _answer_pill(question: QuestionEntry) -> str:
    answer = question["answer"]
    if answer == "unanswered":
        css = "open"
    elif answer == question["good_answer"]:
        css = "good"
    else:
        css = "bad"
    return f'<span class="pill {css}">{answer.upper()}</span>'


def _status_pill(status: str) -> str:
    css = {"pass": "good", "fail": "bad", "error": "open"}.get(status, "neutral")
    return f'<span class="pill {css}">{_STATUS_LABEL.get(status, status).upper()}</span>'


def _anchor(scenario_id: str) -> str:
    return "s-" + "".join(c if c.isalnum() else "-" for c in scenario_id)


def _cell_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


class HtmlWriter:
    """Writes report.html from the report document, embedding screenshots from ``out_dir``."""

    filename = "report.html"

    def render(self, document: Document, out_dir: Path, redactor: Redactor) -> str:
        e = _Html(redactor)
        status_of = {s["id"]: s["status"] for s in document["scenarios"]}
        parts = [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{e(document['verdict'].upper())} · "
            f"0Pools {'load run' if document.get('load') else 'readiness'} · "
            f"{e(document['partner_name'])}</title>",
            f"<style>{CSS}</style></head><body><main>",
            self._banner(document, e),
            self._questions(document, e, status_of),
            load_html(document, e, _anchor),
            self._fixes(document, e),
            self._warnings(document, e),
            self._scenarios(document, out_dir, e),
            self._waivers(document, e),
            self._footer(document, e),
            "</main></body></html>",
        ]
        return redactor.text("\n".join(p for p in parts if p) + "\n")

    def write(self, document: Document, out_dir: Path, redactor: Redactor) -> Path:
        target = out_dir / self.filename
        target.write_text(self.render(document, out_dir, redactor), encoding="utf-8")
        return target

    # -- sections ---------------------------------------------------------------------

    def _banner(self, doc: Document, e: _Html) -> str:
        ready = doc["verdict"] == "ready"
        css = "ready" if ready else "blocked"
        load = bool(doc.get("load"))
        decision = "READY to launch" if ready else "BLOCKED — do not launch"
        if load:
            decision = ("READY — every guarantee held under load" if ready
                        else "BLOCKED — a guarantee did not hold under load")
        if doc["exit_code"] == 2:
            decision = "BLOCKED — the harness could not decide"
        run = doc["run"]
        if run.get("interrupted"):
            decision = f"BLOCKED — run interrupted by {run['interrupted']}, not a certification"
        elif run.get("partial") and doc["exit_code"] != 2:
            decision = "BLOCKED — partial run, not a certification"
        reasons = "".join(f"<li>{e(r)}</li>" for r in doc["verdict_reasons"][:8])
        more = len(doc["verdict_reasons"]) - 8
        if more > 0:
            reasons += f"<li>…and {more} more below.</li>"
        count = len(doc["verdict_reasons"])
        lead = (
            f'<p><b>{count} thing{"s" if count != 1 else ""} block launch.</b> '
            'Each is explained under <a href="#fix">What to fix</a>.</p>' if count else ""
        )
        warnings = len(doc["warnings"])
        note = (
            f' {warnings} advisory warning{"s" if warnings != 1 else ""} below; '
            "they do not block." if warnings else ""
        )
        good = ("Every guarantee held after the spike." if load else
                "Every readiness question has its safe answer and no guard failed.")
        why = f"{lead}<ul>{reasons}</ul>" if reasons else f"<p>{good}{note}</p>"
        label = "load run" if load else "launch readiness"
        return (
            f'<header class="banner {css}" id="verdict">'
            f'<div class="label">0Pools {label} · {e(doc["partner_name"])}</div>'
            f'<div class="decision">{e(decision)}</div>'
            f'<div class="meta">Run {e(run["started_at"])} → {e(run["finished_at"])}'
            f' ({run["duration_s"]:.1f} s) · harness {e(doc["harness_version"])}'
            f' · catalogue {e(doc["catalogue_version"])} · exit code {doc["exit_code"]}'
            f"{self._provenance(doc, e)}</div>"
            f"{why}</header>"
        )

    def _provenance(self, doc: Document, e: _Html) -> str:
        """Partner build, API version and manifest digest (reports before 0.2 lack them)."""
        parts = []
        if doc.get("api_version"):
            parts.append(f"0Pools API {e(doc['api_version'])}")
        if doc.get("partner_build"):
            parts.append(f"partner build <code>{e(doc['partner_build'])}</code>")
        manifest = doc.get("partner_manifest")
        if manifest:
            parts.append(f"manifest <code>{e(manifest['file'])}</code> sha256 "
                         f"<code>{e(manifest['sha256'][:16])}…</code>")
        return "".join(f"<br>{p}" if i == 0 else f" · {p}" for i, p in enumerate(parts))

    def _questions(self, doc: Document, e: _Html, status_of: dict[str, str]) -> str:
        if not doc["questions"] and doc.get("load"):
            return ""  # a load run asks none of them; its guarantees follow
        rows = []
        for q in doc["questions"]:
            links = []
            for sid in q["scenarios"]:
                status = status_of.get(sid, "missing")
                links.append(
                    f'<a href="#{_anchor(sid)}" title="{e(status)}">'
                    f'<span class="dot {e(status)}"></span>{e(sid)}</a>'
                )
            if q["waiver"] is not None:
                effect = f'<span class="pill neutral">WAIVED</span> <span class="muted">' \
                         f'{e(q["waiver"])}</span>'
            elif q["blocks"]:
                effect = '<span class="pill bad">BLOCKS</span>'
            else:
                effect = '<span class="pill good">OK</span>'
            rows.append(
                f'<tr><td class="q">{e(q["id"])}</td><td>{e(q["text"])}'
                f'<div class="muted" style="font-size:.8rem">launch needs '
                f'<b>{e(q["good_answer"])}</b></div></td>'
                f"<td>{_answer_pill(q)}</td><td>{effect}</td>"
                f'<td class="sids">{"".join(links)}</td></tr>'
            )
        return (
            '<section id="questions"><h2>The six readiness questions</h2>'
            '<table class="questions"><thead><tr><th></th><th>Question</th><th>Answer</th>'
            "<th>Launch</th><th>Scenarios behind it</th></tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table></section>"
        )

    def _fixes(self, doc: Document, e: _Html) -> str:
        fixes = doc["fixes"]
        if not fixes:
            return (
                '<section id="fix"><h2>What to fix</h2>'
                "<p>Nothing: no scenario failed or errored.</p></section>"
            )
        blocking = sum(1 for fix in fixes if fix["blocks"])
        items = []
        for fix in fixes:
            css = fix["kind"] + ("" if fix["blocks"] else " nonblocking")
            target = fix["target"]
            link = (
                f'<a href="#{_anchor(target)}"><code>{e(target)}</code></a>'
                if fix["kind"] in ("fail", "error", "advisory") else f"<code>{e(target)}</code>"
            )
            kind = {"fail": "fails", "error": "could not decide", "unanswered": "unanswered",
                    "harness": "harness error", "advisory": "advisory"}[fix["kind"]]
            extra = "" if fix["blocks"] else " · does not block"
            question = f" · {e(fix['question'])}" if fix["question"] else ""
            clause = fix["clause"]
            cite = (
                f'<div class="clause">Seed clause: <a href="{e(clause["url"])}">'
                f'{e(clause["cite"])}</a></div>' if clause else ""
            )
            items.append(
                f'<li class="{e(css)}"><div class="fixhead">{link} {e(fix["title"])}'
                f'<span class="kind">{kind}{question}{extra}</span></div>'
                f"<div>{e(fix['reason'])}</div>"
                f'<div class="fix"><b>Fix:</b> {e(fix["fix"])}</div>{cite}'
                f"{self._rerun(fix.get('rerun'), e)}</li>"
            )
        return (
            f'<section id="fix"><h2>What to fix ({len(fixes)}; {blocking} block launch)</h2>'
            f'<ol class="fixes">{"".join(items)}</ol></section>'
        )

    def _warnings(self, doc: Document, e: _Html) -> str:
        if not doc["warnings"]:
            return ""
        items = "".join(f"<li>{e(w)}</li>" for w in doc["warnings"])
        return f'<section id="warnings"><h2>Warnings (do not block)</h2><ul>{items}</ul></section>'

    def _scenarios(self, doc: Document, out_dir: Path, e: _Html) -> str:
        counts = doc["counts"]
        chips = "".join(
            f'<span><span class="dot {k}"></span>{n} {k}</span>'
            for k, n in (("pass", counts["pass"]), ("fail", counts["fail"]),
                         ("error", counts["error"]), ("skipped", counts["skipped"]),
                         ("waived", counts["waived"]))
        )
        blocks = [self._scenario(s, out_dir, e) for s in doc["scenarios"]]
        return (
            '<section id="evidence"><h2>Evidence per scenario</h2>'
            f'<p class="counts">{chips}</p>{"".join(blocks)}</section>'
        )

    def _scenario(self, s: ScenarioEntry, out_dir: Path, e: _Html) -> str:
        status = s["status"]
        opened = " open" if status in ("fail", "error") else ""
        guard = "guarantee" if s["group"] == "load" else "guard"
        question = s["question"] or ("advisory" if s["advisory"] else guard)
        if s["skip_kind"]:
            question += " · " + s["skip_kind"].replace("_", " ")
        body: list[str] = []
        fixes = list(dict.fromkeys(f["fix"] for f in s["findings"] if f["fix"]))
        if s["reason"]:
            fix = (
                f'<div class="fix"><b>Fix:</b> {e(" ".join(fixes))}</div>' if fixes else ""
            )
            body.append(f'<div class="reason {e(status)}">{e(s["reason"])}{fix}</div>')
        if s["waiver"]:
            seen = s.get("reported_status")
            observed = (f" (observed: {e(seen)})" if seen and seen != "waived" else
                        " (not run)")
            body.append(f'<div class="reason">Waived: {e(s["waiver"])}{observed}</div>')
        if s["skip_kind"]:
            body.append(f'<p class="muted">Skipped: {e(s["skip_kind"].replace("_", " "))}</p>')
        facts = []
        if s["passes_when"]:
            facts.append(f"<b>Passes when:</b> {e(s['passes_when'])}")
        if s["clause"]:
            facts.append(
                f'<b>Seed clause:</b> <a href="{e(s["clause"]["url"])}">'
                f'{e(s["clause"]["cite"])}</a>'
            )
        if s.get("rerun"):
            facts.append(f"<b>Rerun just this:</b> <code>{e(s['rerun'])}</code>")
        if facts:
            body.append("<p>" + "<br>".join(facts) + "</p>")
        ev = s["evidence"]
        body.append(self._ids(ev["ids"], e))
        if [f["message"] for f in s["findings"]] != [s["reason"]]:
            body.append(self._findings(s["findings"], e))
        body.append(self._steps(ev["steps"], e))
        body.append(self._journal(ev["journal"], e))
        for table in ev["tables"]:
            body.append(self._table(f"Table: {table['name']}", table["rows"], e))
        body.append(self._screenshots(ev["screenshots"], out_dir, e))
        if ev["partner_log"]:
            log = ev["partner_log"]
            if len(log) > MAX_LOG:
                log = "…" + log[-MAX_LOG:]
            body.append(f"<h3>Partner log</h3><pre>{e(log)}</pre>")
        return (
            f'<details class="scenario" id="{_anchor(s["id"])}"{opened}><summary>'
            f"{_status_pill(status)}<span class=\"sid\">{e(s['id'])}</span>"
            f'<span class="title">{e(s["title"])}</span>'
            f'<span class="kind">{e(question)}</span>'
            f'<span class="dur">{s["duration_s"]:.2f} s</span></summary>'
            f'<div class="body">{"".join(b for b in body if b)}</div></details>'
        )

    def _ids(self, ids: dict[str, list[str]], e: _Html) -> str:
        if not ids:
            return ""
        rows = "".join(
            f"<dt>{e(_ID_LABELS.get(kind, kind.replace('_', ' ')))}</dt><dd>"
            + "".join(f"<code>{e(v)}</code>" for v in values)
            + "</dd>"
            for kind, values in ids.items()
        )
        return f'<h3>Ids to look up</h3><dl class="ids">{rows}</dl>'

    def _findings(self, findings: list[FindingEntry], e: _Html) -> str:
        if not findings:
            return ""
        items = "".join(
            f"<li><b>{e(f['severity'])}</b>: {e(f['message'])}"
            f"<br><span class=\"muted\">Fix: {e(f['fix'])} · {e(f['clause']['cite'])}</span></li>"
            for f in findings
        )
        return f"<h3>Findings</h3><ul>{items}</ul>"

    def _steps(self, steps: list[StepEntry], e: _Html) -> str:
        if not steps:
            return ""
        rows = "".join(
            f"<tr><td>{st['at_s']:.2f}</td><td>{e(st['action'])}</td><td>{e(st['detail'])}</td>"
            f'<td class="{"" if st["ok"] else "notok"}">{"ok" if st["ok"] else "✗"}</td></tr>'
            for st in steps
        )
        return (
            '<h3>Steps</h3><div class="scroll"><table class="small"><thead><tr><th>t (s)</th>'
            "<th>Action</th><th>Detail</th><th></th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
        )

    def _journal(self, journal: list[Row], e: _Html) -> str:
        if not journal:
            return ""
        shown = journal[:MAX_JOURNAL_ROWS]
        note = (
            f'<p class="muted">First {MAX_JOURNAL_ROWS} of {len(journal)} entries; all are in '
            "report.json.</p>" if len(journal) > MAX_JOURNAL_ROWS else ""
        )
        return self._table("Provider journal excerpt", shown, e, first=_JOURNAL_FIRST) + note

    def _table(
        self, name: str, rows: list[Row], e: _Html, first: tuple[str, ...] = ()
    ) -> str:
        if not rows:
            return f"<h3>{e(name)}</h3><p class=\"muted\">(empty)</p>"
        keys: list[str] = [k for k in first if any(k in row for row in rows)]
        for row in rows:
            keys.extend(k for k in row if k not in keys)
        head = "".join(f"<th>{e(k)}</th>" for k in keys)
        body = "".join(
            "<tr>" + "".join(
                f"<td>{self._cell(row.get(k), e)}</td>" for k in keys
            ) + "</tr>"
            for row in rows
        )
        return (
            f'<h3>{e(name)}</h3><div class="scroll"><table class="small"><thead><tr>{head}'
            f"</tr></thead><tbody>{body}</tbody></table></div>"
        )

    def _cell(self, value: Any, e: _Html) -> str:
        if value is None:
            return '<span class="nil">—</span>'
        return e(_cell_text(value))

    def _screenshots(self, shots: list[ScreenshotEntry], out_dir: Path, e: _Html) -> str:
        if not shots:
            return ""
        figures = []
        for shot in shots:
            caption = shot["caption"] or shot["name"]
            path = out_dir / shot["path"]
            mime = _MIME.get(path.suffix.lower())
            if mime and inside_dir(out_dir, shot["path"]) and path.is_file():
                data = base64.b64encode(path.read_bytes()).decode()
                image = f'<img alt="{e(caption)}" src="data:{mime};base64,{data}">'
            else:
                image = f'<p class="muted">Screenshot not available: {e(shot["path"])}</p>'
            figures.append(
                f"<figure>{image}<figcaption>{e(caption)} · <code>{e(shot['path'])}</code>"
                "</figcaption></figure>"
            )
        return "<h3>Screenshots</h3>" + "".join(figures)

    def _waivers(self, doc: Document, e: _Html) -> str:
        if not doc["waivers"]:
            return ""
        states = {"in_force": "in force", "stale": "stale: no longer needed",
                  "expired": "expired: ignored", "not_honoured": "not honoured"}
        rows = "".join(
            f"<tr><td><code>{e(w['target'])}</code></td><td>{e(w['kind'])}</td>"
            f"<td>{e(w['reason'] or '(no written reason: not honoured)')}</td>"
            f"<td>{e(w.get('owner') or '—')}</td><td>{e(w.get('expires') or 'never')}</td>"
            f"<td>{e(states.get(w.get('state', 'in_force'), w.get('state')))}"
            f"{' · observed ' + e(w['observed']) if w.get('observed') else ''}</td></tr>"
            for w in doc["waivers"]
        )
        return (
            '<section id="waivers"><h2>Waivers</h2><table><thead><tr><th>Target</th>'
            "<th>Kind</th><th>Written reason</th><th>Owner</th><th>Expires</th><th>State</th>"
            f"</tr></thead><tbody>{rows}</tbody></table></section>"
        )

    def _rerun(self, command: str | None, e: _Html) -> str:
        if not command:
            return ""
        return f'<div class="clause">Rerun just this: <code>{e(command)}</code></div>'

    def _footer(self, doc: Document, e: _Html) -> str:
        rules = "".join(f"<li>{e(r)}</li>" for r in doc["rules"])
        errors = "".join(f"<li>{e(x)}</li>" for x in doc["harness_errors"])
        harness = f"<h2>Harness errors</h2><ul>{errors}</ul>" if errors else ""
        startup = doc.get("partner_startup_log") or ""
        if startup:
            log = startup if len(startup) <= MAX_LOG else "…" + startup[-MAX_LOG:]
            harness += f"<h2>Partner start-up log</h2><pre>{e(log)}</pre>"
        return (
            f'<footer id="rules">{harness}<h2>How the verdict is decided</h2><ol>{rules}</ol>'
            "<p>Secrets of the run are redacted by value in every file. Check that no file "
            "of this report changed with <code>zeropools-conformance verify DIR</code> "
            "(or <code>sha256sum -c manifest.sha256</code>); a signed report with "
            "<code>zeropools-conformance verify DIR --public-key KEY.pem</code>.</p></footer>"
        )
