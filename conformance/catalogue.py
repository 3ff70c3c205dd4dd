"""The scenario catalogue of DESIGN §4 and the six readiness questions, as data.

Scenarios, the pytest plugin and the report all read this one table, so an id,
question or seed clause is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

CATALOGUE_VERSION = "2026-11-22"

SAFEGUARDS_URL = "https://0bit-docs.pages.dev/developers/docs/0pools/liquidity-safeguards"
EXECUTE_URL = "https://0bit-docs.pages.dev/developers/docs/guides/execute-pool-transaction"


class Answer(StrEnum):
    """How a readiness question was answered by the run."""

    YES = "yes"
    NO = "no"
    UNANSWERED = "unanswered"


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedClause:
    """The seed-page clause a check enforces: page, section and row."""

    page: str
    url: str
    section: str
    row: str

    def cite(self) -> str:
        return f"{self.page} › {self.section} › {self.row}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    """A production-readiness question of the seed; ``blocking_answer`` blocks launch."""

    id: str
    text: str
    blocking_answer: Answer


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioSpec:
    """One row of the scenario catalogue."""

    id: str
    question: str | None
    title: str
    drives: str
    passes_when: str
    clause: SeedClause
    advisory: bool = False
    browser: bool = False

    @property
    def group(self) -> str:
        return self.id.split(".", 1)[0]


def _safe(section: str, row: str) -> SeedClause:
    return SeedClause(page="liquidity-safeguards", url=SAFEGUARDS_URL, section=section, row=row)


def _exec(section: str, row: str) -> SeedClause:
    return SeedClause(page="execute-pool-quote", url=EXECUTE_URL, section=section, row=row)


QUESTIONS: tuple[Question, ...] = (
    Question(id="RQ1", text="Can a user accept after quote expiry?", blocking_answer=Answer.YES),
    Question(id="RQ2", text="Can the browser see a secret key?", blocking_answer=Answer.YES),
    Question(id="RQ3", text="Can two clicks create two trades?", blocking_answer=Answer.YES),
    Question(
        id="RQ4", text="Can a pending trade credit final balance?", blocking_answer=Answer.YES
    ),
    Question(
        id="RQ5",
        text="Can support trace an order without private route information?",
        blocking_answer=Answer.NO,
    ),
    Question(
        id="RQ6",
        text="Can finance match partner order, quote, trade, ledger, and webhook event?",
        blocking_answer=Answer.NO,
    ),
)

SCENARIOS: tuple[ScenarioSpec, ...] = (
    ScenarioSpec(
        id="expiry.backend_transact", question="RQ1",
        title="Backend refuses an expired quote",
        drives="short-lived quote, wait just past expiresAt, accept via API",
        passes_when="partner refuses; no transact for that quote reaches the provider after expiry",
        clause=_safe("Threat model for headless liquidity", "User accepts stale price."),
    ),
    ScenarioSpec(
        id="expiry.boundary", question="RQ1",
        title="Accept inside the window succeeds, just after expiresAt is refused",
        drives="accept well inside the window, and just after expiresAt",
        passes_when="inside succeeds, after is refused",
        clause=_safe("Threat model and controls", "Stale price"),
    ),
    ScenarioSpec(
        id="expiry.ui_disabled", question="RQ1", browser=True,
        title="Accept control disabled after expiry",
        drives="browser, page clock run past expiresAt",
        passes_when="accept disabled or gone (screenshot); clicking it sends no transact",
        clause=_safe("Anti-patterns", "Keeping an accept button active after expiry."),
    ),
    ScenarioSpec(
        id="secrets.bundle_scan", question="RQ2",
        title="No secret in anything a client can download",
        drives="crawl pages, scripts, source maps, fetched JSON, declared files",
        passes_when="no canary secret (any encoding) and no provider key pattern",
        clause=_safe("Threat model and controls", "Client-side secret leak"),
    ),
    ScenarioSpec(
        id="secrets.browser_no_provider_calls", question="RQ2", browser=True,
        title="The browser never calls the provider",
        drives="all browser scenarios",
        passes_when="the browser never calls the provider",
        clause=_safe("Threat model for headless liquidity", "Browser executes trades directly."),
    ),
    ScenarioSpec(
        id="duplicates.double_submit_api", question="RQ3",
        title="Concurrent accepts make one trade",
        drives="2 and 8 concurrent accepts of one order",
        passes_when="exactly one trade; all answers name it or a pending state",
        clause=_exec("Retry contract", "Duplicate button click"),
    ),
    ScenarioSpec(
        id="duplicates.double_click_ui", question="RQ3", browser=True,
        title="Double click in the browser makes one trade",
        drives="browser double click and rapid clicks",
        passes_when="exactly one trade",
        clause=_safe("Threat model and controls", "Duplicate execution"),
    ),
    ScenarioSpec(
        id="duplicates.timeout_retry", question="RQ3",
        title="A lost transact answer is retried with the same key",
        drives="connection reset after commit on first transact",
        passes_when="retries use the same key and body; one trade; order ends on that trade id",
        clause=_exec("Retry contract", "Network timeout after execution request"),
    ),
    ScenarioSpec(
        id="duplicates.key_stability", question="RQ3",
        title="One idempotency key and one body per quote",
        drives="journal of the whole run",
        passes_when="every transact of one quote used one key and one body",
        clause=_safe("Anti-patterns", "Generating a new idempotency key on retry."),
    ),
    ScenarioSpec(
        id="duplicates.conflict_handled", question="RQ3",
        title="An idempotency conflict is not reported as success",
        drives="provider answers 409 idempotency_key_reused",
        passes_when="order not reported as success; no 5xx",
        clause=_exec("Retry contract", "Reused key with changed request"),
    ),
    ScenarioSpec(
        id="ledger.no_credit_on_reserved", question="RQ4",
        title="Nothing is credited while a trade is reserved",
        drives="accept, then settle / release / fail",
        passes_when="nothing posted while reserved; one posting after settled; none otherwise",
        clause=_safe("Anti-patterns", "Crediting user balance on reserved."),
    ),
    ScenarioSpec(
        id="ledger.returned_reversal", question="RQ4",
        title="A returned trade's credit is reversed once",
        drives="a settled trade later shows returned on the status poll",
        passes_when="the credit is reversed exactly once",
        clause=_safe("Main safeguards", "Terminal statuses"),
    ),
    ScenarioSpec(
        id="settlement.partner_polls", question="RQ6",
        title="The partner polls reserved trades to a terminal status",
        drives="a trade that advances only when polled, no webhook",
        passes_when=(
            "the partner polls GET /pools/transactions/{quoteId} and reaches the terminal status"
        ),
        clause=_safe(
            "Developer checklist", "Treat webhooks and status reads as the source of truth"
        ),
    ),
    ScenarioSpec(
        id="ledger.webhook_replay", question="RQ4",
        title="A replayed webhook posts once",
        drives="same eventId twice in a row and concurrently",
        passes_when="exactly one posting",
        clause=_safe("Threat model and controls", "Webhook replay"),
    ),
    ScenarioSpec(
        id="ledger.webhook_forged", question="RQ4",
        title="Forged webhooks are refused",
        drives="bad signature, wrong secret, tampered body, stale timestamp, missing headers",
        passes_when="non-2xx, nothing posted; a valid event afterwards is accepted",
        clause=_safe("Threat model and controls", "Webhook replay"),
    ),
    ScenarioSpec(
        id="ledger.out_of_order", question="RQ4",
        title="Early and late webhooks are handled",
        drives="an event before the transact answer; a settled redelivery after returned",
        passes_when="the early event is not lost; the late one changes nothing",
        clause=_safe("Main safeguards", "Terminal statuses"),
    ),
    ScenarioSpec(
        id="trace.order_record", question="RQ5",
        title="The order record carries the public ids and no secret",
        drives="get_order",
        passes_when="partner reference, quote id, trade id, status, request or event id; no secret",
        clause=_safe("Threat model for headless liquidity", "Support cannot trace incident."),
    ),
    # Logs that support can use (issue 12). Traceability is RQ5's: support traces an order from
    # the partner's own logs by public ids. A secret in a log is not RQ2's (no browser sees
    # it) nor a matter of route information: it is a credential exposure, so logs.no_secrets
    # is a blocking guard, like guards.*: a failure blocks launch whatever the questions say.
    ScenarioSpec(
        id="logs.traceable", question="RQ5",
        title="The partner's logs name the public ids of each event",
        drives="a retry after a lost transact answer, a settlement posting, a forged webhook, "
        "an expired acceptance; then the order's support packet, if declared",
        passes_when="for each event, a log line written after it names its idempotency key, "
        "trade or event id, event id or quote id; the support packet names quote and trade id",
        clause=_safe(
            "Production readiness evidence",
            "A partner should be able to show logs for idempotency retries, webhook signature "
            "verification, expired quote rejection, ledger posting, and support escalation "
            "using only partner-visible ids.",
        ),
    ),
    ScenarioSpec(
        id="logs.no_secrets", question=None,
        title="No secret in the partner's logs or support packets",
        drives="the same events, then the whole captured log, declared log files and support "
        "packets through the secret scanner",
        passes_when="no canary secret (any encoding the scanner knows) and no provider key "
        "pattern",
        clause=_safe("Anti-patterns", "Logging secret keys in support packets."),
    ),
    ScenarioSpec(
        id="recon.daily_close", question="RQ6",
        title="The daily close matches the provider's feed to the cent",
        drives="a mixed day of at least 40 orders with replays and retries",
        passes_when="every outcome of the day reached at the provider (else undecided); "
        "one posting per settled trade, exact to the cent; totals equal",
        clause=_safe("Threat model and controls", "Ledger drift"),
    ),
    ScenarioSpec(
        id="guards.amount_limit", question=None,
        title="Amounts far outside the limits are blocked before quote",
        drives="a tenth of the minimum, ten times the maximum",
        passes_when="no quote request reaches the provider",
        clause=_safe("Failure modes and recovery", "Amount exceeds limit"),
    ),
    ScenarioSpec(
        id="guards.unsupported_network", question=None,
        title="A network not in discovery is blocked before quote",
        drives="network not in discovery",
        passes_when="blocked before quote",
        clause=_safe("Threat model and controls", "Unsupported network"),
    ),
    ScenarioSpec(
        id="guards.account_ownership", question=None,
        title="Another account cannot accept an order",
        drives="account B accepts A's order",
        passes_when="refused; no transact",
        clause=_exec("Implementation shape", "2. Verify the quote belongs to your partner"),
    ),
    ScenarioSpec(
        id="guards.prefunded_balance", question=None,
        title="Insufficient prefunded balance makes no trade",
        drives="balance below the quote total",
        passes_when="blocked before acceptance, or 402 surfaced; no trade",
        clause=_safe("Threat model for headless liquidity", "Partner draws without funding."),
    ),
    ScenarioSpec(
        id="guards.quote_unavailable", question=None,
        title="A fail-soft unavailable quote is a normal answer",
        drives="fail-soft quote available: false (each unavailableReason)",
        passes_when="a normal unavailable answer, not a 5xx; no transact",
        clause=_safe("Developer checklist", "Treat unavailable quotes as normal."),
    ),
    ScenarioSpec(
        id="guards.provider_refusals", question=None,
        title="Provider refusals get clear answers",
        drives="403 denials, 429 with Retry-After, 501, 5xx, 409 in progress",
        passes_when="each accept case met the refusal at the provider (else undecided); "
        "a clear answer per case, no retry storm, same key on retry",
        clause=_exec("Retry contract", "Network timeout after execution request"),
    ),
    ScenarioSpec(
        id="robustness.bad_input", question=None,
        title="Bad input never breaks the partner",
        drives="property-based bad input to the partner's actions",
        passes_when="never a 5xx; no quote or trade for invalid input",
        clause=_safe("Before and after in practice", "Server-side gates and durable ids"),
    ),
    # Screens (issue 12), advisory: the seed blocks launch on its six questions, and the guards
    # block because money can be lost there. A page that shows the provider's internals or
    # asks for a firm quote before the user does moves no money differently (the server-side
    # rows judge that), so these are reported with their fix and never block.
    ScenarioSpec(
        id="screens.firm_on_intent", question=None, advisory=True, browser=True,
        title="Firm quotes only when the user asks",
        drives="browser: load the quote page and fill the form, then one get-quote",
        passes_when="no firm quote before get-quote (indicative is fine); exactly one after",
        clause=_safe(
            "Developer checklist",
            "Create firm quotes only when the user is ready to accept the terms.",
        ),
    ),
    ScenarioSpec(
        id="screens.honest_status", question=None, advisory=True, browser=True,
        title="The execution screen shows no provider internals",
        drives="browser: accept a quote whose trade stays reserved; read the status and the "
        "page over a page window",
        passes_when="no raw provider state (reserved, released), reserve, route or treasury "
        "wording, nor an internal bps field on the screen",
        clause=_exec(
            "Guardrails",
            "Do not expose internal reserve, route, or settlement mechanics in execution "
            "screens.",
        ),
    ),
    # Advisory too: an unsupported network or an unavailable pool offered on the page moves no
    # money; the server-side rows judge what reaches the provider (guards.unsupported_network
    # and guards.quote_unavailable block), and the page row reports its fix.
    ScenarioSpec(
        id="screens.from_discovery", question=None, advisory=True, browser=True,
        title="The page offers what discovery allows",
        drives="browser: a firm quote with the pool available (control); its network <select>; "
        "then the pool unavailable at the provider, the page reloaded and its form filled",
        passes_when="every network offered is in the pool's supportedNetworks; with the pool "
        "unavailable, get-quote disabled or absent (or the page says so) and no firm quote "
        "request for it reaches the provider",
        clause=_safe(
            "Developer checklist",
            "Read runtime discovery and capabilities before rendering enabled actions.",
        ),
    ),
    ScenarioSpec(
        id="ops.stuck_reserved_alert", question=None, advisory=True,
        title="Stuck reserved trades raise an alert",
        drives="a trade that stays reserved across polls past the threshold",
        passes_when="it shows in the partner's alerts",
        clause=_safe("Developer checklist", "Alert on stuck reserved trades."),
    ),
)

SCENARIOS_BY_ID: dict[str, ScenarioSpec] = {s.id: s for s in SCENARIOS}
QUESTIONS_BY_ID: dict[str, Question] = {q.id: q for q in QUESTIONS}


def scenario(scenario_id: str) -> ScenarioSpec:
    """The catalogue row for an id; a KeyError names the unknown id."""
    try:
        return SCENARIOS_BY_ID[scenario_id]
    except KeyError:
        raise KeyError(f"unknown scenario id {scenario_id!r}") from None


def scenarios_for(question_id: str) -> tuple[ScenarioSpec, ...]:
    return tuple(s for s in SCENARIOS if s.question == question_id)
