"""The launch decision of DESIGN §4: every answer path, waivers, errors, fail closed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from report_runs import result, run

from conformance.catalogue import QUESTIONS, SCENARIOS, Answer, scenarios_for
from conformance.report.verdict import Decision, decide
from conformance.results import SkipKind, Status, Waiver

YES_BLOCKS = ("RQ1", "RQ2", "RQ3", "RQ4")
NO_BLOCKS = ("RQ5", "RQ6")


def answers(verdict) -> dict[str, Answer]:  # type: ignore[no-untyped-def]
    return {q.id: q.answer for q in verdict.questions}


def first(question: str) -> str:
    return scenarios_for(question)[0].id


def test_all_pass_is_ready_with_the_safe_answers() -> None:
    verdict = decide(run())
    assert verdict.decision is Decision.READY
    assert verdict.exit_code == 0
    assert verdict.reasons == ()
    assert answers(verdict) == {
        "RQ1": Answer.NO, "RQ2": Answer.NO, "RQ3": Answer.NO, "RQ4": Answer.NO,
        "RQ5": Answer.YES, "RQ6": Answer.YES,
    }
    assert all(not q.blocks for q in verdict.questions)


def test_each_question_lists_the_catalogue_scenarios_behind_it() -> None:
    verdict = decide(run())
    for q in verdict.questions:
        assert q.scenario_ids == tuple(s.id for s in SCENARIOS if s.question == q.id)
        assert q.executed == q.scenario_ids


@pytest.mark.parametrize("question", YES_BLOCKS)
def test_a_failure_answers_yes_and_blocks(question: str) -> None:
    sid = first(question)
    verdict = decide(run([result(sid, Status.FAIL, reason="broken")]))
    q = next(q for q in verdict.questions if q.id == question)
    assert q.answer is Answer.YES
    assert q.decided_by == (sid,)
    assert q.blocks
    assert verdict.decision is Decision.BLOCKED and verdict.exit_code == 1
    assert sum(1 for other in verdict.questions if other.blocks) == 1


@pytest.mark.parametrize("question", NO_BLOCKS)
def test_a_failure_answers_no_and_blocks(question: str) -> None:
    sid = first(question)
    verdict = decide(run([result(sid, Status.FAIL, reason="broken")]))
    q = next(q for q in verdict.questions if q.id == question)
    assert q.answer is Answer.NO
    assert q.blocks
    assert verdict.decision is Decision.BLOCKED


@pytest.mark.parametrize("question", YES_BLOCKS + NO_BLOCKS)
def test_an_error_leaves_the_question_unanswered(question: str) -> None:
    sid = first(question)
    verdict = decide(run([result(sid, Status.ERROR, reason="partner timed out")]))
    q = next(q for q in verdict.questions if q.id == question)
    assert q.answer is Answer.UNANSWERED
    assert q.decided_by == (sid,)
    assert q.blocks
    assert verdict.decision is Decision.BLOCKED
    assert any(question in r and "unanswered" in r for r in verdict.reasons)


@pytest.mark.parametrize("question", YES_BLOCKS + NO_BLOCKS)
def test_deselecting_one_scenario_leaves_the_question_unanswered(question: str) -> None:
    sid = first(question)
    skipped = result(sid, Status.SKIPPED, skip_kind=SkipKind.DESELECTED, reason="--skip")
    verdict = decide(run([skipped]))
    q = next(q for q in verdict.questions if q.id == question)
    assert q.answer is Answer.UNANSWERED and q.blocks
    assert verdict.decision is Decision.BLOCKED


@pytest.mark.parametrize("question", [q.id for q in QUESTIONS if len(scenarios_for(q.id)) > 1])
def test_not_applicable_scenarios_do_not_open_the_question(question: str) -> None:
    specs = scenarios_for(question)
    na = result(specs[0].id, Status.SKIPPED, skip_kind=SkipKind.NOT_APPLICABLE)
    verdict = decide(run([na]))
    q = next(q for q in verdict.questions if q.id == question)
    assert q.answer is not Answer.UNANSWERED
    assert not q.blocks
    assert verdict.decision is Decision.READY


@pytest.mark.parametrize("question", YES_BLOCKS + NO_BLOCKS)
def test_a_question_with_nothing_executed_is_unanswered(question: str) -> None:
    na = [result(s.id, Status.SKIPPED, skip_kind=SkipKind.NOT_APPLICABLE)
          for s in scenarios_for(question)]
    verdict = decide(run(na))
    q = next(q for q in verdict.questions if q.id == question)
    assert q.answer is Answer.UNANSWERED and q.blocks and q.executed == ()
    assert verdict.decision is Decision.BLOCKED


def test_a_failure_wins_over_an_error_in_the_same_question() -> None:
    a, b, *_ = scenarios_for("RQ1")
    verdict = decide(run([result(a.id, Status.ERROR), result(b.id, Status.FAIL)]))
    assert answers(verdict)["RQ1"] is Answer.YES


def test_a_skip_without_a_kind_fails_closed() -> None:
    sid = first("RQ3")
    bare = replace(result(sid, Status.SKIPPED), skip_kind=None)
    assert answers(decide(run([bare])))["RQ3"] is Answer.UNANSWERED


def test_a_scenario_missing_from_the_run_leaves_its_question_unanswered() -> None:
    full = run()
    missing = first("RQ4")
    partial = replace(
        full, scenarios=tuple(r for r in full.scenarios if r.scenario_id != missing)
    )
    verdict = decide(partial)
    q = next(q for q in verdict.questions if q.id == "RQ4")
    assert q.answer is Answer.UNANSWERED and missing in q.decided_by
    assert verdict.decision is Decision.BLOCKED


def test_a_waived_scenario_is_not_executed_and_does_not_block() -> None:
    sid = first("RQ3")
    verdict = decide(run([result(sid, Status.FAIL, reason="x")],
                         waivers=[Waiver(target=sid, reason="UI ships later")]))
    q = next(q for q in verdict.questions if q.id == "RQ3")
    assert sid not in q.executed
    assert q.answer is Answer.NO
    judged = verdict.scenario(sid)
    assert judged is not None and judged.status is Status.WAIVED
    assert judged.waiver == "UI ships later" and not judged.blocks
    assert verdict.decision is Decision.READY


def test_a_scenario_reported_waived_by_the_runner_counts_as_waived() -> None:
    sid = first("RQ2")
    waived = result(sid, Status.WAIVED, reason="no web client")
    verdict = decide(run([waived]))
    assert verdict.decision is Decision.READY
    judged = verdict.scenario(sid)
    assert judged is not None and judged.waiver == "no web client"


def test_waiving_every_scenario_of_a_question_leaves_it_unanswered() -> None:
    waivers = [Waiver(target=s.id, reason="later") for s in scenarios_for("RQ5")]
    verdict = decide(run(waivers=waivers))
    q = next(q for q in verdict.questions if q.id == "RQ5")
    assert q.answer is Answer.UNANSWERED and q.blocks
    assert verdict.decision is Decision.BLOCKED


@pytest.mark.parametrize("status", [Status.FAIL, Status.ERROR])
def test_a_waived_question_shows_its_answer_and_does_not_block(status: Status) -> None:
    sid = first("RQ5")
    verdict = decide(run([result(sid, status, reason="bad")],
                         waivers=[Waiver(target="RQ5", reason="support tool in phase 2")]))
    q = next(q for q in verdict.questions if q.id == "RQ5")
    assert q.answer is (Answer.NO if status is Status.FAIL else Answer.UNANSWERED)
    assert q.waiver == "support tool in phase 2"
    assert not q.blocks
    judged = verdict.scenario(sid)
    assert judged is not None and not judged.blocks
    assert verdict.decision is Decision.READY


def test_a_waiver_without_a_reason_is_not_honoured() -> None:
    sid = first("RQ1")
    verdict = decide(run([result(sid, Status.FAIL)], waivers=[Waiver(target="RQ1", reason=" ")]))
    assert verdict.decision is Decision.BLOCKED
    assert any("no written reason" in w for w in verdict.warnings)


def test_a_waiver_for_an_unknown_target_is_ignored_with_a_warning() -> None:
    verdict = decide(run(waivers=[Waiver(target="RQ9", reason="typo")]))
    assert verdict.decision is Decision.READY
    assert any("RQ9" in w for w in verdict.warnings)


@pytest.mark.parametrize("status", [Status.FAIL, Status.ERROR])
@pytest.mark.parametrize("sid", ["guards.amount_limit", "robustness.bad_input"])
def test_guards_and_robustness_failures_block(sid: str, status: Status) -> None:
    verdict = decide(run([result(sid, status, reason="5xx on bad input")]))
    assert all(not q.blocks for q in verdict.questions)
    assert verdict.decision is Decision.BLOCKED
    assert any(sid in r and "5xx on bad input" in r for r in verdict.reasons)
    judged = verdict.scenario(sid)
    assert judged is not None and judged.blocks


def test_a_waived_guard_does_not_block() -> None:
    sid = "guards.prefunded_balance"
    verdict = decide(run([result(sid, Status.FAIL)],
                         waivers=[Waiver(target=sid, reason="gate off by contract")]))
    assert verdict.decision is Decision.READY


def test_a_deselected_guard_does_not_block() -> None:
    sid = "guards.unsupported_network"
    verdict = decide(run([result(sid, Status.SKIPPED, skip_kind=SkipKind.DESELECTED)]))
    assert verdict.decision is Decision.READY


@pytest.mark.parametrize("status", [Status.FAIL, Status.ERROR])
def test_advisory_scenarios_warn_but_never_block(status: Status) -> None:
    sid = "ops.stuck_reserved_alert"
    verdict = decide(run([result(sid, status, reason="no alert")]))
    assert verdict.decision is Decision.READY
    assert any(sid in w and "no alert" in w for w in verdict.warnings)
    judged = verdict.scenario(sid)
    assert judged is not None and not judged.blocks


def test_harness_errors_block_even_when_everything_passed() -> None:
    verdict = decide(run(harness_errors=["simulator thread died"]))
    assert all(not q.blocks for q in verdict.questions)
    assert verdict.decision is Decision.BLOCKED
    assert verdict.reasons == ("harness error: simulator thread died",)


def test_an_unknown_scenario_id_that_fails_blocks() -> None:
    verdict = decide(run([result("extra.custom_check", Status.FAIL, reason="nope")]))
    assert verdict.decision is Decision.BLOCKED
    assert any("not in the catalogue" in r for r in verdict.reasons)


def test_the_rules_are_written_once_and_the_docstring_shows_them() -> None:
    from conformance.report import verdict as module

    doc = " ".join((module.__doc__ or "").split())
    for phrase in ("UNANSWERED", "waived", "advisory", "READY", "Exit codes"):
        assert phrase in doc
    for rule in (*module.RULES, *module.LOAD_RULES):
        assert " ".join(rule.split()) in doc  # generated from RULES, not written twice
    source = Path(module.__file__ or "").read_text()
    assert source.count("RQ1-RQ4 (yes blocks)") == 1
    assert len(QUESTIONS) == 6


def test_nothing_decided_is_exit_2_still_blocked() -> None:
    everything_errored = run(
        result(s.id, Status.ERROR, reason="harness error: PartnerUnreachable: never came up")
        for s in SCENARIOS
    )
    verdict = decide(everything_errored)
    assert verdict.decision is Decision.BLOCKED and verdict.undecided
    assert verdict.exit_code == 2
    errored_or_deselected = run(
        [result("guards.amount_limit", Status.ERROR, reason="harness error: down")]
        + [result(s.id, Status.SKIPPED, skip_kind=SkipKind.DESELECTED)
           for s in SCENARIOS if s.id != "guards.amount_limit"]
    )
    assert decide(errored_or_deselected).exit_code == 2
    harness_only = run([result(s.id, Status.SKIPPED, skip_kind=SkipKind.DESELECTED)
                        for s in SCENARIOS], harness_errors=["pytest could not run"])
    assert decide(harness_only).exit_code == 2


def test_one_decided_scenario_among_errors_is_exit_1() -> None:
    mostly_errored = run(
        result(s.id, Status.ERROR, reason="harness error")
        for s in SCENARIOS if s.id != "trace.order_record"
    )
    verdict = decide(mostly_errored)
    assert not verdict.undecided and verdict.exit_code == 1
