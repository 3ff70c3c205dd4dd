"""report.html's load section: the guarantees, the picture over time, percentiles and counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.report.shape import (
    GuaranteeEntry,
    LoadSection,
    PercentilesEntry,
    ReportDocument,
)
from conformance.report.svg import plot

Escape = Callable[[Any], str]

_OUTCOME_PILL = {"held": ("good", "HELD"), "broken": ("bad", "BROKEN"),
                 "undecided": ("open", "NOT DECIDED")}
COUNT_LABELS = (
    ("orders", "orders (quotes the partner created)"),
    ("accepted", "accepted (executed)"),
    ("refused", "refused"),
    ("double_accepts", "double accepts"),
    ("reset_retries", "accepts retried after a reset"),
    ("expired_attempts", "accepts after expiry"),
    ("webhook_replays", "webhook replays"),
    ("trades", "trades the provider holds"),
)


def ms(value: float | None) -> str:
    """A latency in milliseconds for a reader ("—" when there was no sample)."""
    return "—" if value is None else f"{value:,.1f}"


def _percentile_row(name: str, p: PercentilesEntry, e: Escape, extra: str = "") -> str:
    return (f"<tr><td>{e(name)}</td>{extra}<td>{p['count']}</td><td>{ms(p['p50_ms'])}</td>"
            f"<td>{ms(p['p95_ms'])}</td><td>{ms(p['p99_ms'])}</td></tr>")


def _guarantees(guarantees: list[GuaranteeEntry], e: Escape, anchor: Callable[[str], str]) -> str:
    if not guarantees:
        return '<p class="muted">No guarantee was judged.</p>'
    rows = []
    for g in guarantees:
        css, label = _OUTCOME_PILL.get(g["outcome"], ("open", g["outcome"].upper()))
        examples = (
            '<div class="muted">e.g. ' + " ".join(f"<code>{e(x)}</code>" for x in g["examples"])
            + "</div>" if g["examples"] else ""
        )
        if g["fix"] and g["outcome"] != "held":
            examples += f"<div><strong>Fix:</strong> {e(g['fix'])}</div>"
        rows.append(
            f'<tr><td><a href="#{e(anchor(g["id"]))}"><code>{e(g["id"])}</code></a>'
            f"</td><td>{e(g['title'])}</td><td><span class=\"pill {css}\">{label}</span></td>"
            f"<td>{g['observed']}</td><td>{e(g['detail'])}{examples}</td></tr>"
        )
    return (
        "<table><thead><tr><th>Guarantee</th><th></th><th>Outcome</th><th>Cases checked</th>"
        f"<th>Detail</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _latency(load: LoadSection, e: Escape) -> str:
    blank = "<td></td><td></td><td></td>"
    rows = [
        _percentile_row("accept", load["accept_latency"], e, blank),
        _percentile_row("quote → terminal status", load["quote_to_terminal"], e, blank),
    ]
    for action in load["actions"]:
        extra = (f"<td>{action['requests']}</td><td>{action['failures']}</td>"
                 f"<td>{action['server_errors']}</td>")
        rows.append(_percentile_row(f"action {action['action']}", action["latency"], e, extra))
    return (
        '<div class="scroll"><table class="small"><thead><tr><th>What</th><th>Requests</th>'
        "<th>Failures</th><th>5xx</th><th>Samples</th><th>p50 ms</th><th>p95 ms</th>"
        f"<th>p99 ms</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _counts(load: LoadSection, e: Escape) -> str:
    counts = load["counts"]
    values: dict[str, int] = {
        "orders": counts["orders"], "accepted": counts["accepted"], "refused": counts["refused"],
        "double_accepts": counts["double_accepts"], "reset_retries": counts["reset_retries"],
        "expired_attempts": counts["expired_attempts"],
        "webhook_replays": counts["webhook_replays"], "trades": counts["trades"],
    }
    rows = [f"<tr><td>{e(label)}</td><td>{values[key]}</td></tr>" for key, label in COUNT_LABELS]
    rows += [
        f"<tr><td>partner requests</td><td>{load['partner_requests']}</td></tr>",
        f"<tr><td>partner 5xx answers</td><td>{load['partner_5xx']}</td></tr>",
        f"<tr><td>throughput (partner requests/s)</td><td>{load['throughput_rps']:.1f}</td></tr>",
    ]
    return f'<table class="small" style="width:auto"><tbody>{"".join(rows)}</tbody></table>'


def settings_line(load: LoadSection) -> str:
    """How the spike was shaped, in one line (HTML and Markdown share it)."""
    s = load["settings"]
    mode = f"{s['workers']} workers" if s["workers"] else "local runner"
    return (
        f"{s['users']} users spawned at {s['spawn_rate']:g}/s for {s['duration_s']:g} s "
        f"({mode}); shares: double accept {s['double_accept_share']:.0%}, reset retry "
        f"{s['reset_retry_share']:.0%}, expired {s['expired_share']:.0%}, webhook replay "
        f"{s['replay_share']:.0%}, velocity 429 {s['velocity_share']:.0%}; "
        f"error budget {s['error_budget']:.1%}"
    )


def load_html(doc: ReportDocument, e: Escape, anchor: Callable[[str], str]) -> str:
    """The ``load`` section of report.html ("" for a certify run)."""
    load = doc.get("load")
    if not load:
        return ""
    notes = "".join(f"<li>{e(n)}</li>" for n in load["notes"])
    return (
        '<section id="load"><h2>Load run</h2>'
        f'<p class="muted">{e(settings_line(load))} · {e(load["started_at"])} → '
        f"{e(load['ended_at'])}. A load run asks none of the six readiness questions; "
        "<code>certify</code> answers them.</p>"
        f"<h3>Guarantees after the spike</h3>{_guarantees(load['guarantees'], e, anchor)}"
        "<h3>Throughput and accept latency over time</h3>"
        f'<figure class="plot">{plot(load)}<figcaption>Per second of the run: partner '
        "requests and accepts (above), accept latency p50 and p95 in ms (below). Also in "
        "<code>load.svg</code>.</figcaption></figure>"
        f"<h3>Latency percentiles</h3>{_latency(load, e)}"
        f"<h3>Counts</h3>{_counts(load, e)}"
        + (f"<h3>Notes</h3><ul>{notes}</ul>" if notes else "")
        + "</section>"
    )
