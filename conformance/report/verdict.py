"""The launch decision: DESIGN §4 applied to a :class:`RunResult`, failing closed.

The rules are written once, in :data:`RULES` (certify runs) and :data:`LOAD_RULES` (load
runs); every report prints the ones its run was judged by.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from conformance import exit_codes
from conformance.catalogue import QUESTIONS, SCENARIOS_BY_ID, Answer, Question, scenarios_for
from conformance.load.results import LoadResult
from conformance.results import RunResult, ScenarioResult, SkipKind, Status, Waiver

RULES: tuple[str, ...] = (
    "A question's scenarios are the catalogue rows that answer it.",
    "RQ1-RQ4 (yes blocks): YES if any of its scenarios failed; else UNANSWERED if any "
    "errored, was deselected (--only / --skip) or is missing from the run, or if none "
    "executed (all not applicable or waived); else NO.",
    "RQ5-RQ6 (no blocks): NO if any of its scenarios failed; else UNANSWERED on the "
    "same conditions; else YES.",
    "A waived scenario counts as not executed but does not block; a waived question (waiver "
    "target RQn) is shown with its answer and its written reason and does not block. A "
    "waiver needs a written reason; one past its expiry date (on the run's start date) is "
    "ignored and reported; one whose scenario passes, or whose question has its good answer "
    "anyway, is reported as stale.",
    "READY only if every question has its non-blocking answer (or is waived), no "
    "non-advisory scenario outside the questions (guards.*, robustness.*, "
    "logs.no_secrets, or an id the catalogue does not know) failed or errored (unless "
    "waived), the harness reported no errors, and the run was whole: a partial run (part "
    "of the catalogue selected: --only, --skip, -k) or an interrupted one (SIGTERM, SIGINT) "
    "is never a certification. Advisory scenarios (ops.stuck_reserved_alert, screens.*) "
    "are warnings and never block.",
    "Anything else is BLOCKED: when the harness cannot decide, it fails closed.",
    "Exit codes: 0 ready, 1 blocked, 2 the harness could not run (nothing was decided: "
    "no scenario passed or failed because every one that ran ended in error, or the harness "
    "itself failed, e.g. the partner never came up), 130 / 143 the run was interrupted by "
    "SIGINT / SIGTERM. The verdict is still BLOCKED and the report is still written.",
)

# A load run asks none of the six questions: it is judged by its guarantees alone.
LOAD_RULES: tuple[str, ...] = (
    "A load run answers none of the six readiness questions (certify answers them); it is "
    "judged only by the guarantees it checked after the spike, one scenario load.<guarantee> "
    "each.",
    "READY only if every guarantee held on observed cases, the harness reported no errors "
    "and the run was not interrupted. Any guarantee broken (fail) or not decided (error, "
    "or missing from the run) is BLOCKED, and so is a guarantee that \"held\" on no "
    "observed case (that is no evidence). A guarantee not applicable to the partner "
    "(skipped) is shown as a warning.",
    RULES[-1],
)


def _numbered(rules: tuple[str, ...]) -> str:
    return "\n".join(
        textwrap.fill(rule, width=92, initial_indent=f"{n}. ", subsequent_indent="   ")
        for n, rule in enumerate(rules, start=1)
    )


# The docstring shows the rules (help(), the docs) from RULES itself: one source.
__doc__ = (
    f"{__doc__}\nCertify runs (RULES):\n\n{_numbered(RULES)}\n\n"
    f"Load runs (LOAD_RULES):\n\n{_numbered(LOAD_RULES)}\n"
)

EXIT_READY = exit_codes.OK
EXIT_BLOCKED = exit_codes.BLOCKED
EXIT_HARNESS = exit_codes.HARNESS


class Decision(StrEnum):
    """The launch decision."""

    READY = "ready"
    BLOCKED = "blocked"


class WaiverState(StrEnum):
    """What became of a manifest waiver in this run."""

    IN_FORCE = "in_force"  # honoured: what it waives does not block
    STALE = "stale"  # honoured, but no longer needed: the scenario passes / the answer is good
    EXPIRED = "expired"  # past its ``expires`` date: ignored, the target is judged
    NOT_HONOURED = "not_honoured"  # no written reason or unknown target: ignored


@dataclass(frozen=True, slots=True, kw_only=True)
class WaiverVerdict:
    """A manifest waiver as the run treated it, with what its scenario actually did."""

    waiver: Waiver
    state: WaiverState
    observed: str | None = None  # the waived scenario's own status, when it ran


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionVerdict:
    """How one readiness question was answered, by which scenarios, and whether it blocks."""

    id: str
    text: str
    answer: Answer
    blocking_answer: Answer
    scenario_ids: tuple[str, ...]
    executed: tuple[str, ...]
    decided_by: tuple[str, ...]
    waiver: str | None = None

    @property
    def good_answer(self) -> Answer:
        return Answer.NO if self.blocking_answer is Answer.YES else Answer.YES

    @property
    def blocks(self) -> bool:
        return self.answer is not self.good_answer and self.waiver is None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioVerdict:
    """A scenario's effective status after waivers, and whether it blocks on its own."""

    scenario_id: str
    status: Status
    blocks: bool
    waiver: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """The launch decision with everything the report needs to explain it."""

    decision: Decision
    questions: tuple[QuestionVerdict, ...]
    scenarios: tuple[ScenarioVerdict, ...]
    reasons: tuple[str, ...]
    warnings: tuple[str, ...]
    harness_errors: tuple[str, ...]
    undecided: bool = False
    waivers: tuple[WaiverVerdict, ...] = ()
    interrupted: str = ""  # the signal that cancelled the run
    partial: bool = False  # part of the catalogue was selected
    load: bool = False  # a load run: judged by its guarantees, asks no question

    @property
    def rules(self) -> tuple[str, ...]:
        """The rules this verdict was decided by (every report prints them)."""
        return LOAD_RULES if self.load else RULES

    @property
    def ready(self) -> bool:
        return self.decision is Decision.READY

    @property
    def exit_code(self) -> int:
        if self.ready:
            return EXIT_READY
        if self.interrupted:
            return exit_codes.interrupted(self.interrupted)
        return EXIT_HARNESS if self.undecided else EXIT_BLOCKED

    def scenario(self, scenario_id: str) -> ScenarioVerdict | None:
        return next((s for s in self.scenarios if s.scenario_id == scenario_id), None)


def run_date(run: RunResult) -> date | None:
    """The (UTC) day the run started: the day waiver expiry is judged on."""
    try:
        return date.fromisoformat(run.started_at[:10])
    except ValueError:
        return None


def _owner(waiver: Waiver) -> str:
    return f" (owner {waiver.owner})" if waiver.owner else ""


def _waiver_map(run: RunResult) -> tuple[dict[str, str], list[str], dict[int, WaiverState]]:
    """Honoured waivers by target, warnings about the ones that are not, and each one's state."""
    honoured: dict[str, str] = {}
    warnings: list[str] = []
    states: dict[int, WaiverState] = {}
    question_ids = {q.id for q in QUESTIONS}
    today = run_date(run)
    for index, waiver in enumerate(run.waivers):
        reason = waiver.reason.strip()
        states[index] = WaiverState.NOT_HONOURED
        if waiver.target not in question_ids and waiver.target not in SCENARIOS_BY_ID:
            warnings.append(f"waiver for unknown target {waiver.target!r} ignored")
        elif not reason:
            warnings.append(f"waiver for {waiver.target} has no written reason: not honoured")
        elif today is not None and not waiver.in_force(today):
            states[index] = WaiverState.EXPIRED
            warnings.append(
                f"waiver for {waiver.target}{_owner(waiver)} expired on {waiver.expires}: "
                f"ignored, {waiver.target} is judged as if it were not waived"
            )
        else:
            states[index] = WaiverState.IN_FORCE
            honoured[waiver.target] = reason
    return honoured, warnings, states


def _judge_waivers(
    run: RunResult, states: dict[int, WaiverState], questions: tuple[QuestionVerdict, ...],
    warnings: list[str],
) -> tuple[WaiverVerdict, ...]:
    """Mark honoured waivers stale when what they waive is fine without them."""
    observed = {r.scenario_id: r.status for r in run.scenarios}
    answers = {q.id: q for q in questions}
    judged: list[WaiverVerdict] = []
    for index, waiver in enumerate(run.waivers):
        state = states[index]
        seen = observed.get(waiver.target)
        shown = seen.value if seen is not None and seen is not Status.WAIVED else None
        if state is WaiverState.IN_FORCE:
            question = answers.get(waiver.target)
            if seen is Status.PASS:
                state = WaiverState.STALE
                warnings.append(
                    f"waiver for {waiver.target}{_owner(waiver)} is stale: the scenario now "
                    "passes; remove the waiver"
                )
            elif question is not None and question.answer is question.good_answer:
                state = WaiverState.STALE
                warnings.append(
                    f"waiver for {waiver.target}{_owner(waiver)} is stale: {waiver.target} is "
                    f"answered {question.answer.value} without it; remove the waiver"
                )
        judged.append(WaiverVerdict(waiver=waiver, state=state, observed=shown))
    return tuple(judged)


def _effective(result: ScenarioResult, waivers: dict[str, str]) -> tuple[Status, str | None]:
    """A waiver in the manifest overrides whatever the scenario did."""
    if result.scenario_id in waivers:
        return Status.WAIVED, waivers[result.scenario_id]
    if result.status is Status.WAIVED:
        return Status.WAIVED, result.reason.strip() or "waived by the manifest"
    return result.status, None


def _leaves_unanswered(result: ScenarioResult, status: Status) -> bool:
    """Errors and deselection leave a question open; not-applicable and waived do not."""
    if status is Status.ERROR:
        return True
    return status is Status.SKIPPED and result.skip_kind is not SkipKind.NOT_APPLICABLE


def _answer_question(
    question: Question,
    results: list[ScenarioResult],
    waivers: dict[str, str],
) -> QuestionVerdict:
    scenario_ids = tuple(s.id for s in scenarios_for(question.id))
    failed: list[str] = []
    open_ids: list[str] = []
    executed: list[str] = []
    seen: set[str] = set()
    for result in results:
        if result.scenario_id not in scenario_ids:
            continue
        seen.add(result.scenario_id)
        status, _ = _effective(result, waivers)
        if status in (Status.PASS, Status.FAIL):
            executed.append(result.scenario_id)
        if status is Status.FAIL:
            failed.append(result.scenario_id)
        elif _leaves_unanswered(result, status):
            open_ids.append(result.scenario_id)
    missing = [sid for sid in scenario_ids if sid not in seen and sid not in waivers]
    open_ids.extend(missing)

    bad = question.blocking_answer
    good = Answer.NO if bad is Answer.YES else Answer.YES
    if failed:
        answer, decided_by = bad, failed
    elif open_ids or not executed:
        answer, decided_by = Answer.UNANSWERED, open_ids
    else:
        answer, decided_by = good, executed
    return QuestionVerdict(
        id=question.id,
        text=question.text,
        answer=answer,
        blocking_answer=bad,
        scenario_ids=scenario_ids,
        executed=tuple(_unique(executed)),
        decided_by=tuple(_unique(decided_by)),
        waiver=waivers.get(question.id),
    )


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _question_reason(q: QuestionVerdict) -> str:
    ids = ", ".join(q.decided_by)
    if q.answer is Answer.UNANSWERED:
        why = f" (not decided: {ids})" if ids else " (no scenario executed)"
        return f"{q.id} is unanswered{why}: {q.text}"
    return f"{q.id} answered {q.answer.value} ({ids}): {q.text}"


def summary_lines(verdict: Verdict, partner_name: str) -> list[str]:
    """The verdict for a terminal (certify and the pytest route print the same lines)."""
    lines = [
        f"verdict: {verdict.decision.value.upper()} (exit {verdict.exit_code}) for {partner_name}"
    ]
    if verdict.partial:
        lines.append("  PARTIAL RUN — not a certification")
    if verdict.interrupted:
        lines.append(f"  INTERRUPTED by {verdict.interrupted} — not a certification")
    if verdict.load:
        for judged in verdict.scenarios:
            mark = "BLOCKS" if judged.blocks else "ok"
            lines.append(f"  {judged.scenario_id:<32} {judged.status.value:<7} {mark}")
    for question in verdict.questions:
        mark = "waived" if question.waiver else ("BLOCKS" if question.blocks else "ok")
        lines.append(f"  {question.id} {question.answer.value:<10} {mark:<6} {question.text}")
    lines.extend(f"  blocks: {r}" for r in verdict.reasons if not r.startswith("RQ"))
    lines.extend(f"  warning: {w}" for w in verdict.warnings)
    return lines


def _run_state(run: RunResult, reasons: list[str]) -> None:
    """Harness errors, a partial selection and an interruption block any run."""
    reasons.extend(f"harness error: {err}" for err in run.harness_errors)
    if run.partial:
        chosen = sum(1 for r in run.scenarios if r.skip_kind is not SkipKind.DESELECTED)
        reasons.append(
            f"partial run — not a certification: {chosen} of {len(run.scenarios)} catalogue "
            "scenarios were selected"
        )
    if run.interrupted:
        reasons.append(
            f"run interrupted by {run.interrupted} — not a certification: the scenarios that "
            "had not finished are errors"
        )


def _undecided(run: RunResult, blocked: bool) -> bool:
    """Blocked with nothing decided: every scenario that ran errored, or the harness failed."""
    decided = any(r.status in (Status.PASS, Status.FAIL) for r in run.scenarios)
    errored = any(r.status is Status.ERROR for r in run.scenarios) or bool(run.harness_errors)
    return blocked and errored and not decided


def _decide_load(run: RunResult, load: LoadResult) -> Verdict:
    """LOAD_RULES: a load run is judged by its guarantees alone; no question, no waiver."""
    reasons: list[str] = []
    warnings: list[str] = []
    if run.waivers:
        warnings.append(
            f"{len(run.waivers)} manifest waiver(s) not applied: a load run's guarantees "
            "cannot be waived"
        )
    verdicts: list[ScenarioVerdict] = []
    for result in run.scenarios:
        status = result.status
        blocks = status not in (Status.PASS, Status.SKIPPED)
        if blocks:
            reasons.append(
                f"{result.scenario_id} {status.value}: {result.reason or 'no reason given'}"
            )
        elif status is Status.SKIPPED:
            warnings.append(
                f"{result.scenario_id} not checked: {result.reason or 'skipped'}"
            )
        verdicts.append(
            ScenarioVerdict(scenario_id=result.scenario_id, status=status, blocks=blocks)
        )
    judged = {r.scenario_id for r in run.scenarios}
    for guarantee in load.guarantees:
        if guarantee.id not in judged and guarantee.held is not True:
            outcome = "broken" if guarantee.held is False else "not decided"
            reasons.append(f"{guarantee.id} {outcome}: {guarantee.detail or guarantee.title}")
        elif guarantee.held is True and guarantee.observed == 0:
            reasons.append(
                f"{guarantee.id} held on no observed case: not evidence ({guarantee.title})"
            )
    if not run.scenarios and not load.guarantees:
        reasons.append("no guarantee was judged: the load run decided nothing")
    _run_state(run, reasons)
    blocked = bool(reasons)
    return Verdict(
        decision=Decision.BLOCKED if blocked else Decision.READY,
        questions=(),
        scenarios=tuple(verdicts),
        reasons=tuple(reasons),
        warnings=tuple(warnings),
        harness_errors=tuple(run.harness_errors),
        undecided=_undecided(run, blocked) or (blocked and not run.scenarios),
        interrupted=run.interrupted,
        partial=run.partial,
        waivers=tuple(
            WaiverVerdict(waiver=w, state=WaiverState.NOT_HONOURED) for w in run.waivers
        ),
        load=True,
    )


def decide(run: RunResult) -> Verdict:
    """Apply :data:`RULES` to a certify run, :data:`LOAD_RULES` to a load run."""
    if run.load is not None:
        return _decide_load(run, run.load)
    waivers, warnings, states = _waiver_map(run)
    results = list(run.scenarios)
    questions = tuple(_answer_question(q, results, waivers) for q in QUESTIONS)
    waiver_verdicts = _judge_waivers(run, states, questions, warnings)
    waived_questions = {q.id for q in questions if q.waiver is not None}

    reasons = [_question_reason(q) for q in questions if q.blocks]
    verdicts: list[ScenarioVerdict] = []
    for result in results:
        status, waiver = _effective(result, waivers)
        spec = SCENARIOS_BY_ID.get(result.scenario_id)
        broken = status in (Status.FAIL, Status.ERROR)
        blocks = False
        if spec is not None and spec.advisory:
            if broken:
                warnings.append(
                    f"advisory {result.scenario_id} {status.value}: {result.reason or 'no reason'}"
                )
        elif spec is not None and spec.question is not None:
            blocks = (
                spec.question not in waived_questions
                and (broken or _leaves_unanswered(result, status))
            )
        elif broken:
            # guards.*, robustness.* and any id the catalogue does not know: fail closed.
            blocks = True
            known = "" if spec is not None else " (not in the catalogue)"
            reasons.append(
                f"{result.scenario_id}{known} {status.value}: {result.reason or 'no reason given'}"
            )
        verdicts.append(
            ScenarioVerdict(
                scenario_id=result.scenario_id, status=status, blocks=blocks, waiver=waiver
            )
        )
    _run_state(run, reasons)
    blocked = bool(reasons)
    return Verdict(
        decision=Decision.BLOCKED if blocked else Decision.READY,
        questions=questions,
        scenarios=tuple(verdicts),
        reasons=tuple(reasons),
        warnings=tuple(warnings),
        harness_errors=tuple(run.harness_errors),
        undecided=_undecided(run, blocked),
        interrupted=run.interrupted,
        partial=run.partial,
        waivers=waiver_verdicts,
    )
