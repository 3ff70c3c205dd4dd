"""The pytest plugin itself, run the way a partner runs it: `pytest scenarios --partner M`."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUARDS = str(ROOT / "scenarios" / "test_guards.py")
MANIFEST = str(ROOT / "fixtures" / "reference_partner" / "manifest.toml")


def test_a_scenario_passes_against_the_flawless_partner(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(GUARDS, "--partner", MANIFEST, "-k", "amount_limit")
    result.assert_outcomes(passed=1)


def test_the_same_scenario_fails_against_its_flaw(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        GUARDS, "--partner", MANIFEST, "-k", "amount_limit",
        "--partner-env", "REFERENCE_PARTNER_FLAWS=no_limit_check",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*quote request*reached the provider*"])


def test_scenarios_are_selected_by_id(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        str(ROOT / "scenarios"), "--partner", MANIFEST, "--collect-only", "-q",
        "-k", "expiry.boundary",
    )
    result.stdout.fnmatch_lines(["*test_expiry.py::test_accept_inside_window_and_refuse_after"])
    result.stdout.no_fnmatch_line("*test_backend_refuses_expired_quote*")


def test_scenarios_are_selected_by_question_and_marker(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        str(ROOT / "scenarios"), "--partner", MANIFEST, "--collect-only", "-q", "-k", "RQ5",
    )
    result.stdout.fnmatch_lines(["*test_logs.py::*", "*test_trace.py::*", "2/31 tests collected*"])
    by_marker = pytester.runpytest_subprocess(
        str(ROOT / "scenarios"), "--partner", MANIFEST, "--collect-only", "-q", "-m", "threat",
    )
    by_marker.stdout.fnmatch_lines(["31 tests collected*"])


def test_a_threat_marker_without_an_id_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.threat()
        def test_nameless():
            pass
        """
    )
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*threat needs a scenario id*"])


def test_a_bad_manifest_errors_naming_the_field(pytester: pytest.Pytester) -> None:
    bad = pytester.path / "partner.toml"
    bad.write_text('[partner]\nname = "acme"\n[provider]\nledger_amount = "amount"\n')
    result = pytester.runpytest_subprocess(GUARDS, "--partner", str(bad), "-k", "amount_limit")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*/provider/ledger_amount*"])
