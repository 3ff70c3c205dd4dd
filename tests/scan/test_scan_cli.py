"""``zeropools-conformance scan``: exit codes, clear bad-input messages, nothing secret printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conformance.cli import main
from conformance.scan import Canary

from .corpus import Planted
from .test_secrets import leaks

HERE = Path(__file__).parent
# sarif-2.1.0-rtm.5.json is the OASIS SARIF 2.1.0 schema as shipped in the npm package
# @microsoft/jest-sarif@1.0.0-beta.0 (MIT), lib/schemas/, copied unchanged.


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, canaries: tuple[Canary, Canary]) -> None:
    monkeypatch.setenv("ZP_SECRET_KEY", canaries[0].value)
    monkeypatch.setenv("ZP_WEBHOOK_SECRET", canaries[1].value)


@pytest.fixture
def clean_dir(tmp_path: Path) -> Path:
    (tmp_path / "app.js").write_text('const pk = "pk_test_public"; fetch("/v1/pools");\n')
    (tmp_path / "index.html").write_text("<script src=app.js></script>\n")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["scan", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# Built here, not written out: the repository holds no key-shaped literal.
ARGV_SECRET = "sk_" + "test_" + "Ab9Cd8Ef7Gh6" * 2
CANARY_ARGS = ("--canary-env", "secret_key=ZP_SECRET_KEY", "--canary-env", "ZP_WEBHOOK_SECRET")


def test_clean_files_exit_0(env: None, clean_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(clean_dir), *CANARY_ARGS)
    assert code == 0
    assert "0 findings in 2 artefacts" in out


def test_findings_exit_1_and_print_nothing_secret(
    env: None, corpus: tuple[Path, list[Planted]], canaries: tuple[Canary, Canary],
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    sarif = tmp_path / "out.sarif"
    code, out, err = run(capsys, str(corpus[0]), *CANARY_ARGS, "--sarif", str(sarif))
    assert code == 1
    assert f"{len(corpus[1])} findings in" in out
    assert "[canary.concat]" in out and "fix: " in out
    assert "canary 'zp_webhook_secret'" in out  # VAR alone: the label is its name, lower-case
    assert leaks(out + err + sarif.read_text(), canaries) == []
    document = json.loads(sarif.read_text())
    assert len(document["runs"][0]["results"]) == len(corpus[1])


def test_json_output(env: None, corpus: tuple[Path, list[Planted]],
                     canaries: tuple[Canary, Canary], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(corpus[0] / "hex"), "--json", *CANARY_ARGS)
    assert code == 1
    document = json.loads(out)
    assert document["complete"] is True
    assert {f["rule_id"] for f in document["findings"]} == {"canary.hex"}
    assert {f["canary"] for f in document["findings"]} == {"secret_key"}
    assert leaks(out, canaries) == []


def test_canary_file_in_both_formats(tmp_path: Path, canaries: tuple[Canary, Canary],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "bundle.js"
    target.write_text(f"var w = '{canaries[1].value}';\n")
    dotenv = tmp_path / "canaries.env"
    dotenv.write_text(f"# issued for this run\nexport WEBHOOK_SECRET='{canaries[1].value}'\n")
    code, out, _ = run(capsys, str(target), "--canary-file", str(dotenv), "--no-patterns")
    assert code == 1 and "canary 'webhook_secret'" in out
    as_json = tmp_path / "canaries.json"
    as_json.write_text(json.dumps({"hook": canaries[1].value}))
    code, out, _ = run(capsys, str(target), "--canary-file", str(as_json), "--no-patterns")
    assert code == 1 and "canary 'hook'" in out
    assert leaks(out, canaries) == []


def test_patterns_alone_without_canaries(clean_dir: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    key = "sk_live_" + "Zq7" * 3 + "Xv2Lm9Np4Rt8Wc6"
    (clean_dir / "leak.js").write_text(f'const k="{key}"\n')
    code, out, _ = run(capsys, str(clean_dir))
    assert code == 1 and "[pattern.sk_live]" in out and key not in out
    assert run(capsys, str(clean_dir), "--no-patterns")[0] == 0


@pytest.mark.parametrize("argv,message", [
    pytest.param(["no/such/dir"], "no such file or directory: 'no/such/dir'", id="missing-path"),
    pytest.param(["nothing-*.js"], "no file matches the pattern 'nothing-*.js'", id="empty-glob"),
    pytest.param([".", "--canary-env", "ZP_UNSET_VAR"],
                 "environment variable ZP_UNSET_VAR is not set", id="unset-env"),
    pytest.param([".", "--canary-env", "label=def-ghi"],
                 "--canary-env number 1 is not an environment variable name", id="bad-env-name"),
    pytest.param([".", "--canary-env", "A", "--canary-env", ARGV_SECRET],
                 "--canary-env number 2 is not an environment variable name",
                 id="secret-in-argv"),
    pytest.param([".", "--canary-file", "missing.env"], "no such file: 'missing.env'",
                 id="missing-canary-file"),
    pytest.param(["ftp://127.0.0.1/x"], "not an http(s) URL: 'ftp://127.0.0.1/x'", id="bad-url"),
    pytest.param([".", "--timeout", "0"], "--timeout must be a positive", id="bad-timeout"),
])
def test_bad_input_exits_2_with_a_clear_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZP_UNSET_VAR", raising=False)
    monkeypatch.setenv("A", "a-canary-long-enough")
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err
    assert ARGV_SECRET[8:] not in err
    assert "Traceback" not in err


@pytest.mark.parametrize("content,message", [
    pytest.param("just a line\n", "line 1: expected LABEL=VALUE", id="no-equals"),
    pytest.param("key=short\n", "shorter than 12 characters", id="too-short"),
    pytest.param("# only comments\n", "holds no canary", id="empty"),
    pytest.param('{"a": 1}', "object of label to string value", id="json-not-strings"),
    pytest.param('{"a": ', "invalid JSON", id="json-broken"),
])
def test_bad_canary_files_are_named(content: str, message: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "c.env"
    bad.write_text(content)
    code, _, err = run(capsys, str(tmp_path), "--canary-file", str(bad))
    assert code == 2 and message in err


def test_canary_values_never_echoed_in_errors(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "c.env"
    bad.write_text("one=tiny-value\n")
    code, _, err = run(capsys, str(tmp_path), "--canary-file", str(bad))
    assert code == 2 and "tiny-value" not in err


def test_sarif_validates_against_the_sarif_2_1_0_schema(
    env: None, corpus: tuple[Path, list[Planted]], capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    sarif = tmp_path / "scan.sarif"
    assert run(capsys, str(corpus[0]), *CANARY_ARGS, "--sarif", str(sarif))[0] == 1
    document = json.loads(sarif.read_text())
    schema = json.loads((HERE / "sarif-2.1.0-rtm.5.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    run_ = document["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert run_["tool"]["driver"]["name"] == "zeropools-conformance-scan"
    assert all(rule["help"]["text"] for rule in rules)
    for result in run_["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == "error"
        region = result["locations"][0]["physicalLocation"]["region"]
        assert {"byteOffset", "startLine", "startColumn"} <= set(region)
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri.startswith("file:///")
    broken = json.loads(json.dumps(document))
    del broken["runs"][0]["tool"]["driver"]["name"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(broken)


def test_the_installed_command_runs(canaries: tuple[Canary, Canary], tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text(f"k='{canaries[0].value}'\n")
    result = subprocess.run(
        [sys.executable, "-m", "conformance", "scan", str(tmp_path), "--canary-env", "K"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "K": canaries[0].value},
    )
    assert result.returncode == 1, result.stderr
    assert "canary 'k'" in result.stdout
    assert leaks(result.stdout + result.stderr, canaries) == []
