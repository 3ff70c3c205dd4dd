"""``load`` argument errors: one clear line on stderr, exit 2, nothing started."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import main


@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param(["--users", "x", "--duration", "5"], "--users: must be a whole number",
                     id="users-not-a-number"),
        pytest.param(["--users", "0", "--duration", "5"], "--users: must be a whole number",
                     id="no-users"),
        pytest.param(["--duration", "5"], "--users is required", id="users-missing"),
        pytest.param(["--users", "3"], "--duration is required", id="duration-missing"),
        pytest.param(["--users", "3", "--duration", "soon"], "--duration: must be",
                     id="duration-garbage"),
        pytest.param(["--users", "3", "--duration", "5", "--spawn-rate", "-1"],
                     "--spawn-rate: must be", id="negative-rate"),
        pytest.param(["--users", "3", "--duration", "5", "--workers", "two"],
                     "--workers: must be a whole number", id="workers-not-a-number"),
        pytest.param(["--users", "3", "--duration", "5", "--partner", "/nonexistent.toml"],
                     "does not exist", id="no-manifest"),
        pytest.param(["--users", "3", "--duration", "5", "--partner-env", "NOVALUE"],
                     "--partner-env", id="bad-partner-env"),
        pytest.param(["--users", "3", "--duration", "5", "--remote-workers", "2"],
                     "--remote-workers needs --plan-out", id="remote-without-plan"),
        pytest.param(["--users", "3", "--duration", "5", "--master-port", "70000"],
                     "--master-port: must be", id="bad-port"),
    ],
)
def test_an_argument_error_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    code = main(["load", "--out", str(tmp_path / "out"), *args])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], captured.err
    assert not (tmp_path / "out").exists()


def test_out_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", "--users", "3", "--duration", "5"]) == 2
    assert capsys.readouterr().err.strip() == "zeropools-conformance: error: --out is required"


def test_an_option_without_its_value_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["load", "--out", "x", "--users"])
    assert info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "--users" in lines[0], lines
