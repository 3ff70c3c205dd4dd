"""load.svg: a load run's throughput and accept latency over time, drawn as plain SVG.

No JavaScript and no network: two panels on one time axis (requests/s and accepts/s above,
accept latency p50/p95 below), from the ``load`` section's ``timeline``. report.html embeds
the same picture inline; summary.md links the file.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from conformance.redact import Redactor
from conformance.report.shape import LoadSection, ReportDocument, TimelineEntry

WIDTH = 880
PANEL_HEIGHT = 170
LEFT, RIGHT, TOP, GAP, BOTTOM = 64, 24, 34, 62, 40
HEIGHT = TOP + PANEL_HEIGHT + GAP + PANEL_HEIGHT + BOTTOM
TICKS = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    """One plotted line: its key (``data-series``), its label, colour, dash and reader."""

    key: str
    label: str
    colour: str
    read: Callable[[TimelineEntry], float | None]
    dash: str = ""


THROUGHPUT = (
    Series(key="requests_per_s", label="requests/s", colour="#175cd3",
           read=lambda t: float(t["requests"])),
    Series(key="accepts_per_s", label="accepts/s", colour="#067647",
           read=lambda t: float(t["accepts"])),
)
LATENCY = (
    Series(key="accept_p50_ms", label="accept p50 (ms)", colour="#b54708",
           read=lambda t: t["accept_p50_ms"]),
    Series(key="accept_p95_ms", label="accept p95 (ms)", colour="#b42318",
           read=lambda t: t["accept_p95_ms"], dash="6 4"),
)
SERIES = (*THROUGHPUT, *LATENCY)


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above ``value`` (1 for nothing)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * power + 1e-9:
            return step * power
    return 10.0 * power


def _fmt(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _segments(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive points with a value: a second without a sample breaks the line."""
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for x, y in points:
        if y is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((x, y))
    if current:
        runs.append(current)
    return runs


def _panel(timeline: Sequence[TimelineEntry], series: Sequence[Series], top: float, title: str,
           unit: str, last_second: int) -> list[str]:
    plot_width = WIDTH - LEFT - RIGHT
    values = [v for s in series for t in timeline if (v := s.read(t)) is not None]
    ceiling = nice_ceiling(max(values, default=0.0))
    bottom = top + PANEL_HEIGHT

    def x_of(second: float) -> float:
        return LEFT + plot_width * (second / last_second if last_second else 0.5)

    def y_of(value: float) -> float:
        return bottom - PANEL_HEIGHT * (value / ceiling)

    out = [f'<text class="panel-title" x="{LEFT}" y="{top - 12:.1f}">{escape(title)}</text>']
    for tick in range(TICKS + 1):
        value = ceiling * tick / TICKS
        y = y_of(value)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" '
                   f'y2="{y:.1f}"/>')
        out.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{_fmt(value)}</text>')
    out.append(f'<text class="unit" x="{LEFT - 6}" y="{top - 12:.1f}" '
               f'text-anchor="end">{escape(unit)}</text>')
    for s in series:
        points = [(x_of(t["second"]), None if (v := s.read(t)) is None else y_of(v))
                  for t in timeline]
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        for run in _segments(points):
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            if len(run) == 1:
                x, y = run[0]
                out.append(f'<circle class="series" data-series="{s.key}" cx="{x:.1f}" '
                           f'cy="{y:.1f}" r="3" fill="{s.colour}"><title>{escape(s.label)}'
                           "</title></circle>")
            else:
                out.append(f'<polyline class="series" data-series="{s.key}" fill="none" '
                           f'stroke="{s.colour}" stroke-width="2"{dash} points="{coords}">'
                           f"<title>{escape(s.label)}</title></polyline>")
    legend_x = WIDTH - RIGHT - 150 * len(series)
    for index, s in enumerate(series):
        x = legend_x + 150 * index
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        out.append(f'<line x1="{x}" x2="{x + 22}" y1="{top - 16:.1f}" y2="{top - 16:.1f}" '
                   f'stroke="{s.colour}" stroke-width="3"{dash}/>')
        out.append(f'<text class="legend" x="{x + 28}" y="{top - 12:.1f}">'
                   f"{escape(s.label)}</text>")
    out.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{bottom:.1f}" '
               f'y2="{bottom:.1f}"/>')
    return out


def plot(load: LoadSection) -> str:
    """The SVG picture of ``load['timeline']`` (a note instead of lines when it is empty)."""
    timeline = sorted(load["timeline"], key=lambda t: t["second"])
    last = max((t["second"] for t in timeline), default=0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="load-plot" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'aria-label="Throughput and accept latency over the load run">',
        "<title>Throughput and accept latency over the load run</title>",
        "<style>text{font-family:system-ui,sans-serif;font-size:12px;fill:#1d2330}"
        ".tick,.unit{fill:#5b6475;font-size:11px}.panel-title{font-weight:700}"
        ".grid{stroke:#dde1e8;stroke-width:1}.axis{stroke:#5b6475;stroke-width:1}</style>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
    ]
    if not timeline:
        parts.append(f'<text x="{WIDTH / 2:.0f}" y="{HEIGHT / 2:.0f}" text-anchor="middle">'
                     "No timeline was recorded for this run.</text>")
    else:
        second_top = TOP + PANEL_HEIGHT + GAP
        parts += _panel(timeline, THROUGHPUT, TOP, "Throughput", "per s", last)
        parts += _panel(timeline, LATENCY, second_top, "Accept latency", "ms", last)
        bottom = second_top + PANEL_HEIGHT
        plot_width = WIDTH - LEFT - RIGHT
        step = max(1, math.ceil(last / 10)) if last else 1
        for second in range(0, last + 1, step):
            x = LEFT + plot_width * (second / last if last else 0.5)
            parts.append(f'<text class="tick" x="{x:.1f}" y="{bottom + 16:.1f}" '
                         f'text-anchor="middle">{second}</text>')
        parts.append(f'<text class="unit" x="{LEFT + plot_width / 2:.1f}" '
                     f'y="{bottom + 34:.1f}" text-anchor="middle">seconds since the start'
                     "</text>")
    parts.append("</svg>")
    return "\n".join(parts)


class SvgWriter:
    """Writes load.svg beside the report, for a load run only."""

    filename = "load.svg"

    def render(self, document: ReportDocument, redactor: Redactor) -> str | None:
        load = document.get("load")
        return None if not load else redactor.text(plot(load) + "\n")

    def write(self, document: ReportDocument, out_dir: Path, redactor: Redactor) -> Path | None:
        text = self.render(document, redactor)
        target = out_dir / self.filename
        if text is None:
            return None
        target.write_text(text, encoding="utf-8")
        return target
