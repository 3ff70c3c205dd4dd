"""The GitHub composite action (action.yml): its shell steps, run here as a runner would.

Steps that ``uses:`` another action (setup-python, upload-sarif, upload-artifact) cannot run
here; their inputs are checked instead. The install step needs the network: skipped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from signed_reports import REFERENCE_MANIFEST, ROOT

from conformance.cli import main

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS: list[dict[str, Any]] = ACTION["runs"]["steps"]
_EXPR = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def _value(expr: str, ctx: dict[str, Any]) -> str:
    head, _, rest = expr.partition(".")
    if head == "inputs":
        return str(ctx["inputs"][rest])
    if head == "github":
        return str(ctx["github"][rest])
    if head == "steps":
        step, _, output = rest.partition(".outputs.")
        return str(ctx["outputs"].get(step, {}).get(output, ""))
    raise AssertionError(f"expression not understood by this test: {expr}")


def _render(text: str, ctx: dict[str, Any]) -> str:
    return _EXPR.sub(lambda m: _value(m.group(1), ctx), text)


def _condition(step: dict[str, Any], ctx: dict[str, Any]) -> bool:
    """The few `if:` forms the shell steps use."""
    cond = step.get("if")
    if cond is None:
        return not ctx["failed"]
    if cond == "always()":
        return True
    match = re.fullmatch(r"inputs\.([\w-]+) == '(\w+)'", cond)
    assert match, f"condition not understood by this test: {cond}"
    return bool(ctx["inputs"][match.group(1)] == match.group(2)) and not ctx["failed"]


def _outputs(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v for k, v in pairs}


def run_action(
    workspace: Path, inputs: dict[str, str], *, path_prefix: Path | None = None
) -> dict[str, Any]:
    """Run the action's shell steps in order, as a runner would; return what they left."""
    defaults = {k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()}
    ctx: dict[str, Any] = {
        "inputs": {**defaults, "partner-build": "abc1234", **inputs, "setup": "false"},
        "github": {"action_path": str(ROOT), "sha": "abc1234"},
        "outputs": {}, "failed": False, "codes": {},
    }
    summary = workspace / "step-summary.md"
    summary.touch()
    temp = workspace / "runner-temp"
    temp.mkdir()
    bins = [str(Path(sys.executable).parent)]
    if path_prefix is not None:
        bins.insert(0, str(path_prefix))
    for step in STEPS:
        if "run" not in step or not _condition(step, ctx):
            continue
        output = workspace / f"output-{step.get('id', 'step')}"
        output.touch()
        env = {
            "PATH": os.pathsep.join([*bins, os.environ["PATH"]]),
            "HOME": os.environ.get("HOME", str(workspace)),
            "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output),
            "GITHUB_ENV": str(workspace / "github-env"), "RUNNER_TEMP": str(temp),
            "ZEROPOOLS_CHROMIUM": os.environ.get("ZEROPOOLS_CHROMIUM", "/usr/bin/chromium"),
        }
        env.update({k: _render(str(v), ctx) for k, v in step.get("env", {}).items()})
        script = workspace / "step.sh"
        script.write_text(step["run"])
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace, env=env, capture_output=True, text=True, timeout=300, check=False,
        )
        ctx["codes"][step["name"]] = (done.returncode, done.stdout + done.stderr)
        if done.returncode != 0:
            ctx["failed"] = True
        if "id" in step:
            ctx["outputs"][step["id"]] = _outputs(output)
    ctx["summary"] = summary.read_text()
    ctx["temp"] = temp
    return ctx


def test_the_action_is_a_composite_action_without_shell_injection() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert ACTION["inputs"]["manifest"]["required"] is True
    assert ACTION["inputs"]["valid-days"]["default"] == "90"
    for step in STEPS:
        if "run" in step:
            assert step["shell"] == "bash"
            assert "${{" not in step["run"], f"{step['name']}: pass inputs through env"
    uses = {s["uses"].split("@")[0]: s for s in STEPS if "uses" in s}
    sarif = uses["github/codeql-action/upload-sarif"]
    assert sarif["with"]["sarif_file"] == "${{ inputs.out }}/secrets.sarif"
    assert sarif["if"].startswith("always()")
    artefact = uses["actions/upload-artifact"]
    assert "${{ steps.package.outputs.path }}" in artefact["with"]["path"]
    assert artefact["if"].startswith("always()")
    assert STEPS[-1]["name"] == "Gate on the verdict" and STEPS[-1]["if"] == "always()"


@pytest.mark.timeout(240)
def test_a_blocked_run_summarises_packages_and_fails_the_job(tmp_path: Path) -> None:
    assert main(["keygen", "--out", str(tmp_path / "keys")]) == 0
    key = (tmp_path / "keys" / "zeropools-signing.key.pem").read_text()
    workspace = tmp_path / "ws"
    workspace.mkdir()
    ctx = run_action(workspace, {
        "manifest": str(REFERENCE_MANIFEST), "signing-key": key,
        "args": "--only guards.amount_limit --no-preflight",
    })
    certify = ctx["outputs"]["certify"]
    assert certify == {"exit-code": "1", "verdict": "blocked"}, ctx["codes"]
    assert "BLOCKED" in ctx["summary"].splitlines()[0]
    package = workspace / "zeropools-certification.zip"
    assert ctx["outputs"]["package"] == {"path": "zeropools-certification.zip"}
    assert package.is_file()
    assert not list(ctx["temp"].iterdir()), "the signing key file must not outlive the step"
    gate_code, gate_log = ctx["codes"]["Gate on the verdict"]
    assert gate_code == 1 and "::error title=0Pools readiness::verdict BLOCKED" in gate_log
    public = tmp_path / "keys" / "zeropools-signing.pub.pem"
    assert main(["verify", str(package), "--public-key", str(public)]) == 0
    document = (workspace / "zeropools-report" / "report.json").read_text()
    assert '"partner_build": "abc1234"' in document


FAKE_HARNESS = textwrap.dedent('''\
    #!{python}
    """zeropools-conformance whose certify writes a ready, signed report (no partner run)."""
    import sys
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from conformance.cli import main
    argv = sys.argv[1:]
    if argv[0] == "certify":
        if "--fail-to-start" in argv:
            sys.exit(2)
        from report_runs import run
        from conformance.report import write_report
        from conformance.report.signing import load_private_key, sign_report
        out = Path(argv[argv.index("--out") + 1])
        write_report(run(), out)
        if "--signing-key" in argv:
            sign_report(out, load_private_key(Path(argv[argv.index("--signing-key") + 1])))
        sys.exit(0)
    sys.exit(main(argv))
''')


@pytest.fixture
def fake_harness(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    script = bin_dir / "zeropools-conformance"
    script.write_text(FAKE_HARNESS.format(python=sys.executable, tests=str(Path(__file__).parent)))
    script.chmod(0o755)
    return bin_dir


def test_a_ready_run_passes_the_job(tmp_path: Path, fake_harness: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    ctx = run_action(workspace, {"manifest": "zeropools.toml"}, path_prefix=fake_harness)
    assert ctx["outputs"]["certify"] == {"exit-code": "0", "verdict": "ready"}, ctx["codes"]
    assert "READY" in ctx["summary"].splitlines()[0]
    assert (workspace / "zeropools-certification.zip").is_file()
    assert ctx["codes"]["Gate on the verdict"][0] == 0
    assert not ctx["failed"]


def test_a_harness_that_cannot_run_still_summarises_and_fails(
    tmp_path: Path, fake_harness: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    ctx = run_action(workspace, {"manifest": "zeropools.toml", "args": "--fail-to-start"},
                     path_prefix=fake_harness)
    assert ctx["outputs"]["certify"] == {"exit-code": "2", "verdict": "none"}
    assert "no report" in ctx["summary"]
    assert ctx["outputs"]["package"] == {}
    code, log = ctx["codes"]["Gate on the verdict"]
    assert code == 1 and "certify exit 2" in log


def test_the_documented_workflows_use_the_action_and_gate() -> None:
    workflow = yaml.safe_load((ROOT / "docs" / "ci" / "github-workflow.yml").read_text())
    assert workflow["permissions"]["security-events"] == "write"
    (step,) = [s for s in workflow["jobs"]["certify"]["steps"]
               if "zeropools-conformance" in s.get("uses", "")]
    assert set(step["with"]) <= set(ACTION["inputs"]) and "manifest" in step["with"]
    gitlab = yaml.safe_load((ROOT / "docs" / "ci" / "gitlab-ci.yml").read_text())
    job = gitlab["zeropools-readiness"]
    script = "\n".join(job["script"])
    assert "zeropools-conformance certify" in script and "exit $code" in script
    assert "package zeropools-report" in script
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == "zeropools-report/junit.xml"
    docs = (ROOT / "docs" / "CI.md").read_text()
    assert "docs/ci/github-workflow.yml" in docs and "docs/ci/gitlab-ci.yml" in docs
