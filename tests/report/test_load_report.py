"""A load run's report: the ``load`` section of report.json, the SVG, summary.md, the verdict."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from report_runs import run

from conformance.catalogue import CATALOGUE_VERSION
from conformance.errors import ReportError
from conformance.evidence import Evidence, Step
from conformance.load.results import (
    ActionStats,
    Guarantee,
    LoadResult,
    LoadSettings,
    OrderCounts,
    Percentiles,
    TimelinePoint,
)
from conformance.report import OWNED_FILES, REPORT_FILES, rerender, write_report
from conformance.report.document import _question_entry, validate
from conformance.report.hashes import verify
from conformance.report.svg import SvgWriter, nice_ceiling
from conformance.report.verdict import LOAD_RULES, RULES, Decision, decide, summary_lines
from conformance.results import RunResult, ScenarioResult, Status

GUARANTEES = (
    ("load.one_trade_per_order", "One trade per order"),
    ("load.no_duplicate_posting", "No duplicate ledger posting"),
    ("load.recon_exact", "Reconciliation is exact"),
    ("load.nothing_after_expiry", "Nothing executes after expiry"),
    ("load.no_retry_storm", "No retry storm"),
    ("load.error_budget", "5xx within the error budget"),
)
HELD = {gid: (True, "") for gid, _ in GUARANTEES}


def _timeline() -> tuple[TimelinePoint, ...]:
    points = []
    for second in range(12):
        quiet = second == 0  # no accept yet in the first second: no latency sample
        points.append(TimelinePoint(
            second=second, requests=40 + 7 * second, accepts=0 if quiet else 10 + 2 * second,
            failures=1 if second == 6 else 0,
            accept_p50_ms=None if quiet else 80.0 + 4 * second,
            accept_p95_ms=None if quiet else 190.5 + 11 * second,
        ))
    return tuple(points)


def load_result(outcomes: dict[str, tuple[bool | None, str]] | None = None) -> LoadResult:
    outcomes = outcomes or HELD
    return LoadResult(
        settings=LoadSettings(users=50, spawn_rate=10.0, duration_s=12.0, workers=2,
                              double_accept_share=0.1, reset_retry_share=0.05,
                              expired_share=0.05, replay_share=0.1, velocity_share=0.05,
                              error_budget=0.01),
        started_at=datetime(2026, 12, 2, 7, 0, 0, tzinfo=UTC),
        ended_at=datetime(2026, 12, 2, 7, 0, 12, tzinfo=UTC),
        counts=OrderCounts(orders=412, accepted=377, refused=21, double_accepts=41,
                           reset_retries=19, expired_attempts=20, webhook_replays=38,
                           trades=377),
        actions=(
            ActionStats(action="create_quote", requests=412, failures=0, server_errors=0,
                        latency=Percentiles(count=412, p50_ms=31.25, p95_ms=70.0, p99_ms=95.5)),
            ActionStats(action="accept", requests=438, failures=2, server_errors=1,
                        latency=Percentiles(count=436, p50_ms=101.0, p95_ms=287.75,
                                            p99_ms=402.125)),
        ),
        accept_latency=Percentiles(count=436, p50_ms=101.0, p95_ms=287.75, p99_ms=402.125),
        quote_to_terminal=Percentiles(count=377, p50_ms=1520.0, p95_ms=3010.5, p99_ms=None),
        timeline=_timeline(),
        guarantees=tuple(
            Guarantee(id=gid, title=title, held=outcomes[gid][0],
                      detail=outcomes[gid][1] or f"{title}: held on every order",
                      examples=("ord_991", "pq_test_77") if outcomes[gid][0] is False else (),
                      fix="" if outcomes[gid][0] else f"make sure: {title.lower()}",
                      observed=377)
            for gid, title in GUARANTEES
        ),
        partner_5xx=1,
        partner_requests=1290,
        throughput_rps=107.5,
        notes=("locust 2.x, 2 workers",),
    )


def _scenario(gid: str, held: bool | None, detail: str) -> ScenarioResult:
    status = {True: Status.PASS, False: Status.FAIL, None: Status.ERROR}[held]
    return ScenarioResult(
        scenario_id=gid, status=status, reason=detail, duration_s=0.5,
        evidence=Evidence(steps=(Step(at_s=0.1, action="judge", detail=detail or gid),)),
    )


def load_run(outcomes: dict[str, tuple[bool | None, str]] | None = None,
             scenarios: Iterable[ScenarioResult] | None = None, **fields: object) -> RunResult:
    load = load_result(outcomes)
    judged = tuple(scenarios) if scenarios is not None else tuple(
        _scenario(g.id, g.held, "" if g.held else g.detail) for g in load.guarantees
    )
    result = RunResult(
        harness_version="0.1.0", catalogue_version=CATALOGUE_VERSION,
        partner_name="acme-payments", started_at="2026-12-02T07:00:00Z",
        finished_at="2026-12-02T07:00:14Z", duration_s=14.2, scenarios=judged, load=load,
    )
    return replace(result, **fields)


def _broken(gid: str, held: bool | None, detail: str) -> dict[str, tuple[bool | None, str]]:
    return {**HELD, gid: (held, detail)}


# -- verdict ---------------------------------------------------------------------------


def test_all_guarantees_held_is_ready_and_asks_no_question() -> None:
    verdict = decide(load_run())
    assert verdict.decision is Decision.READY and verdict.exit_code == 0
    assert verdict.load and verdict.questions == () and verdict.reasons == ()
    assert verdict.rules == LOAD_RULES
    lines = summary_lines(verdict, "acme-payments")
    assert lines[0].startswith("verdict: READY (exit 0)")
    assert not any(re.match(r"\s+RQ\d", line) for line in lines)
    assert any("load.recon_exact" in line for line in lines)


def test_a_broken_guarantee_blocks() -> None:
    verdict = decide(load_run(_broken("load.one_trade_per_order", False,
                                      "2 orders got two trades")))
    assert verdict.decision is Decision.BLOCKED and verdict.exit_code == 1
    assert verdict.reasons == ("load.one_trade_per_order fail: 2 orders got two trades",)
    judged = verdict.scenario("load.one_trade_per_order")
    assert judged is not None and judged.blocks
    # Not "not in the catalogue": a load run's ids are its own.
    assert not any("catalogue" in r for r in verdict.reasons)


def test_an_undecided_guarantee_blocks() -> None:
    verdict = decide(load_run(_broken("load.recon_exact", None, "ledger unreadable")))
    assert verdict.decision is Decision.BLOCKED and verdict.exit_code == 1
    assert verdict.reasons == ("load.recon_exact error: ledger unreadable",)


def test_every_guarantee_undecided_is_exit_2() -> None:
    verdict = decide(load_run({gid: (None, "journal lost") for gid, _ in GUARANTEES}))
    assert verdict.decision is Decision.BLOCKED and verdict.undecided and verdict.exit_code == 2


def test_a_guarantee_missing_from_the_scenarios_still_blocks_when_broken() -> None:
    outcomes = _broken("load.no_retry_storm", False, "41 retries in one second")
    scenarios = [_scenario(gid, True, "") for gid, _ in GUARANTEES
                 if gid != "load.no_retry_storm"]
    verdict = decide(load_run(outcomes, scenarios))
    assert verdict.decision is Decision.BLOCKED
    assert verdict.reasons == ("load.no_retry_storm broken: 41 retries in one second",)


def test_a_guarantee_that_held_on_no_observed_case_blocks() -> None:
    base = load_run()
    assert base.load is not None
    empty = tuple(replace(g, observed=0) if g.id == "load.nothing_after_expiry" else g
                  for g in base.load.guarantees)
    verdict = decide(replace(base, load=replace(base.load, guarantees=empty)))
    assert verdict.decision is Decision.BLOCKED
    assert any(r.startswith("load.nothing_after_expiry held on no observed case")
               for r in verdict.reasons)


def test_no_scenario_and_no_guarantee_decides_nothing() -> None:
    base = load_run(scenarios=())
    assert base.load is not None
    verdict = decide(replace(base, load=replace(base.load, guarantees=())))
    assert verdict.decision is Decision.BLOCKED and verdict.exit_code == 2


def test_interrupted_and_harness_errors_block_a_load_run() -> None:
    assert decide(load_run(interrupted="SIGTERM")).exit_code == 143
    harness = decide(load_run(harness_errors=("locust worker died",)))
    assert harness.decision is Decision.BLOCKED and harness.exit_code == 1


def test_a_certify_run_keeps_its_rules() -> None:
    verdict = decide(run())
    assert not verdict.load and verdict.rules == RULES and len(verdict.questions) == 6


# -- the report files ------------------------------------------------------------------


def test_report_json_has_the_load_section_and_validates(tmp_path: Path) -> None:
    written = write_report(load_run(), tmp_path)
    document = json.loads((tmp_path / "report.json").read_text())
    validate(document)
    assert written.document == document
    assert document["verdict"] == "ready" and document["exit_code"] == 0
    assert document["questions"] == [] and document["rules"] == list(LOAD_RULES)
    load = document["load"]
    assert load["counts"] == {"orders": 412, "accepted": 377, "refused": 21,
                              "double_accepts": 41, "reset_retries": 19,
                              "expired_attempts": 20, "webhook_replays": 38, "trades": 377}
    assert all(isinstance(v, int) for v in load["counts"].values())
    assert load["accept_latency"] == {"count": 436, "p50_ms": 101.0, "p95_ms": 287.75,
                                      "p99_ms": 402.125}
    assert load["quote_to_terminal"]["p99_ms"] is None
    assert load["timeline"][0] == {"second": 0, "requests": 40, "accepts": 0, "failures": 0,
                                   "accept_p50_ms": None, "accept_p95_ms": None}
    assert [g["id"] for g in load["guarantees"]] == [gid for gid, _ in GUARANTEES]
    assert {g["outcome"] for g in load["guarantees"]} == {"held"}
    assert load["settings"]["workers"] == 2 and load["throughput_rps"] == 107.5
    assert load["started_at"] == "2026-12-02T07:00:00+00:00"
    titles = {s["id"]: s["title"] for s in document["scenarios"]}
    assert titles["load.recon_exact"] == "Reconciliation is exact"
    assert all(s.get("rerun") is None for s in document["scenarios"])


def _certify_questions() -> list[dict[str, object]]:
    return [dict(_question_entry(q)) for q in decide(run()).questions]


def test_a_certify_report_has_no_load_section(tmp_path: Path) -> None:
    write_report(run(), tmp_path)
    document = json.loads((tmp_path / "report.json").read_text())
    assert "load" not in document and len(document["questions"]) == 6
    assert not (tmp_path / SvgWriter.filename).exists()
    document["load"] = None
    validate(document)  # null is allowed too


@pytest.mark.parametrize("change", [
    pytest.param(lambda d: d["load"]["counts"].update(orders=4.5), id="count-not-int"),
    pytest.param(lambda d: d["load"]["accept_latency"].update(p50_ms="101 ms"), id="ms-string"),
    pytest.param(lambda d: d["load"]["guarantees"][0].update(held="yes"), id="held-not-bool"),
    pytest.param(lambda d: d["load"].pop("timeline"), id="no-timeline"),
    pytest.param(lambda d: d.update(questions=_certify_questions()), id="questions-in-load-run"),
])
def test_schema_rejects_a_bad_load_section(
    tmp_path: Path, change: Callable[[dict[str, Any]], object]
) -> None:
    write_report(load_run(), tmp_path)
    document = json.loads((tmp_path / "report.json").read_text())
    validate(document)
    change(document)
    with pytest.raises(ReportError):
        validate(document)


def test_html_plots_throughput_and_latency_as_inline_svg(tmp_path: Path) -> None:
    write_report(load_run(_broken("load.no_duplicate_posting", False, "ord_991 posted twice")),
                 tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    match = re.search(r"<svg\b.*?</svg>", html, re.S)
    assert match is not None
    svg = ET.fromstring(match.group(0))
    ns = "{http://www.w3.org/2000/svg}"
    series = {node.get("data-series") for node in svg.iter()
              if node.tag in (f"{ns}polyline", f"{ns}circle")}
    assert series == {"requests_per_s", "accepts_per_s", "accept_p50_ms", "accept_p95_ms"}
    requests = next(n for n in svg.iter(f"{ns}polyline")
                    if n.get("data-series") == "requests_per_s")
    assert len((requests.get("points") or "").split()) == 12  # one point per second
    p50 = next(n for n in svg.iter(f"{ns}polyline") if n.get("data-series") == "accept_p50_ms")
    assert len((p50.get("points") or "").split()) == 11  # the first second had no sample
    # The tables: guarantees, percentiles and counts.
    assert 'id="load"' in html and "BROKEN" in html and "ord_991 posted twice" in html
    assert "287.8" in html and "402.1" in html and "1,520.0" in html
    assert "webhook replays" in html and "<td>1290</td>" in html
    assert "The six readiness questions" not in html
    assert "a guarantee did not hold" in html
    assert "A load run answers none of the six readiness questions" in html  # its rules


def test_summary_md_has_the_numbers_and_the_guarantees(tmp_path: Path) -> None:
    write_report(load_run(_broken("load.error_budget", None, "5xx count unreadable")), tmp_path)
    md = (tmp_path / "summary.md").read_text()
    assert md.startswith("## 0Pools load run: ⛔ BLOCKED — acme-payments")
    assert "| `load.error_budget` | ⚠️ not decided |" in md
    assert "Fix: make sure: " in md and "velocity 429 5%" in md
    assert "| `load.one_trade_per_order` | ✅ held | 377 |" in md
    assert "| accept | 101.0 | 287.8 | 402.1 | 436 |" in md
    assert "Orders 412 · accepted 377 · refused 21 · trades 377" in md
    assert "partner 5xx 1" in md and "107.5 requests/s" in md
    assert "](load.svg)" in md and "Readiness question" not in md
    assert len(md.splitlines()) <= 60


def test_load_svg_is_hashed_owned_and_rerendered_byte_for_byte(tmp_path: Path) -> None:
    written = write_report(load_run(), tmp_path)
    svg = tmp_path / SvgWriter.filename
    assert svg in written.files and SvgWriter.filename in OWNED_FILES
    assert SvgWriter.filename not in REPORT_FILES  # only a load run writes it
    manifest = (tmp_path / "manifest.sha256").read_text()
    assert f"  {SvgWriter.filename}\n" in manifest
    assert verify(tmp_path).ok
    before = {name: (tmp_path / name).read_bytes()
              for name in ("report.html", "summary.md", SvgWriter.filename)}
    files, manifest_updated = rerender(tmp_path)
    assert manifest_updated and svg in files
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert verify(tmp_path).ok
    ET.parse(svg)  # a well-formed SVG document on its own


def test_junit_has_the_guarantees_as_testcases(tmp_path: Path) -> None:
    write_report(load_run(_broken("load.recon_exact", False, "drift on 3 orders")), tmp_path)
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {gid for gid, _ in GUARANTEES}
    assert cases["load.recon_exact"].find("failure") is not None
    assert suite.get("failures") == "1"


def test_an_empty_timeline_still_draws_a_picture(tmp_path: Path) -> None:
    base = load_run()
    assert base.load is not None
    write_report(replace(base, load=replace(base.load, timeline=())), tmp_path)
    assert "No timeline was recorded" in (tmp_path / SvgWriter.filename).read_text()


def test_nice_ceiling() -> None:
    assert [nice_ceiling(v) for v in (0, 0.3, 1, 7, 11, 240, 260, 999)] == [
        1.0, 0.5, 1.0, 10.0, 20.0, 250.0, 500.0, 1000.0]
