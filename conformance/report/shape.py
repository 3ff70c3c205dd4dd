"""The report document's shape: report.json as types, so mypy checks every writer against it.

These mirror ``conformance/schemas/report.schema.json`` key for key (the schema validates the
file; these type the code). ``NotRequired`` marks what older report.json files may lack, so
``zeropools-conformance report DIR`` still re-renders them.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

# Free-form rows (journal entries, evidence tables): JSON objects the scenarios chose.
Row = dict[str, Any]


class Clause(TypedDict):
    page: str
    url: str
    section: str
    row: str
    cite: str


class FindingEntry(TypedDict):
    severity: str
    message: str
    fix: str
    clause: Clause
    ids: dict[str, str]
    rerun: NotRequired[str | None]


class StepEntry(TypedDict):
    at_s: float
    action: str
    detail: str
    ok: bool


class ScreenshotEntry(TypedDict):
    name: str
    path: str  # relative to the report directory
    caption: str


class TableEntry(TypedDict):
    name: str
    rows: list[Row]


class EvidenceEntry(TypedDict):
    ids: dict[str, list[str]]
    steps: list[StepEntry]
    journal: list[Row]
    screenshots: list[ScreenshotEntry]
    partner_log: str
    tables: list[TableEntry]


class ScenarioEntry(TypedDict):
    id: str
    title: str
    group: str
    question: str | None
    advisory: bool
    browser: bool
    status: str
    reported_status: str
    skip_kind: str | None
    reason: str
    waiver: str | None
    blocks: bool
    duration_s: float
    passes_when: str
    clause: Clause | None
    rerun: NotRequired[str | None]
    findings: list[FindingEntry]
    evidence: EvidenceEntry


class QuestionEntry(TypedDict):
    id: str
    text: str
    answer: str
    blocking_answer: str
    good_answer: str
    blocks: bool
    waiver: str | None
    scenarios: list[str]
    executed: list[str]
    decided_by: list[str]


class FixEntry(TypedDict):
    kind: str  # fail, error, unanswered, harness, advisory
    target: str
    title: str
    question: str | None
    blocks: bool
    reason: str
    fix: str
    clause: Clause | None
    rerun: NotRequired[str | None]


class WaiverEntry(TypedDict):
    target: str
    reason: str
    kind: str  # question, scenario
    owner: NotRequired[str | None]
    expires: NotRequired[str | None]
    state: NotRequired[str]
    observed: NotRequired[str | None]


Counts = TypedDict("Counts", {"pass": int, "fail": int, "error": int, "skipped": int,
                              "waived": int})


class RunEntry(TypedDict):
    started_at: str
    finished_at: str
    duration_s: float
    partial: NotRequired[bool]
    interrupted: NotRequired[str | None]


class ManifestEntry(TypedDict):
    file: str
    sha256: str
    given_as: str | None


# -- the load section (a load run only) -----------------------------------------------


class LoadSettingsEntry(TypedDict):
    users: int
    spawn_rate: float
    duration_s: float
    workers: int
    double_accept_share: float
    reset_retry_share: float
    expired_share: float
    replay_share: float
    velocity_share: float
    error_budget: float


class PercentilesEntry(TypedDict):
    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class ActionEntry(TypedDict):
    action: str
    requests: int
    failures: int
    server_errors: int
    latency: PercentilesEntry


class TimelineEntry(TypedDict):
    second: int
    requests: int
    accepts: int
    failures: int
    accept_p50_ms: float | None
    accept_p95_ms: float | None


class OrderCountsEntry(TypedDict):
    orders: int
    accepted: int
    refused: int
    double_accepts: int
    reset_retries: int
    expired_attempts: int
    webhook_replays: int
    trades: int


class GuaranteeEntry(TypedDict):
    id: str
    title: str
    held: bool | None  # None: the harness could not decide
    outcome: str  # held, broken, undecided: ``held`` in words
    detail: str
    fix: str  # what to change when it did not hold ("" when it held)
    examples: list[str]
    observed: int


class LoadSection(TypedDict):
    settings: LoadSettingsEntry
    started_at: str
    ended_at: str
    counts: OrderCountsEntry
    actions: list[ActionEntry]
    accept_latency: PercentilesEntry
    quote_to_terminal: PercentilesEntry
    timeline: list[TimelineEntry]
    guarantees: list[GuaranteeEntry]
    partner_5xx: int
    partner_requests: int
    throughput_rps: float
    notes: list[str]


class ReportDocument(TypedDict):
    report_format: int
    verdict: str  # ready, blocked
    exit_code: int
    partner_name: str
    harness_version: str
    catalogue_version: str
    api_version: NotRequired[str]
    partner_build: NotRequired[str | None]
    partner_manifest: NotRequired[ManifestEntry | None]
    randomness: NotRequired[dict[str, Any]]
    run: RunEntry
    partner_startup_log: NotRequired[str]
    verdict_reasons: list[str]
    warnings: list[str]
    harness_errors: list[str]
    questions: list[QuestionEntry]  # empty for a load run: it asks none of them
    fixes: list[FixEntry]
    counts: Counts
    scenarios: list[ScenarioEntry]
    waivers: list[WaiverEntry]
    rules: list[str]
    load: NotRequired[LoadSection | None]  # a load run's measurements; absent for certify
