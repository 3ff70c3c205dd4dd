"""``zeropools-conformance doctor``: validate a manifest and walk the partner's happy path once.

Prints, for each action, the request sent, the answer (redacted, shortened) and what each
mapping read, with a diagnosis naming the manifest field when something does not fit.
Exit 0 the happy path works, 1 it does not (with the diagnosis), 2 the walk could not run
(an invalid manifest, a partner that never answered its health check, a harness failure).
``certify`` runs the same walk first (:func:`gate`) and stops before its scenarios when it
fails, so a wrong pointer shows once, here, instead of as an error in every scenario.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from conformance import exit_codes
from conformance._util import parse_env_pairs
from conformance.checks.preflight import PreflightResult, StepReport, run_preflight
from conformance.commands._harness_failure import harness_failure
from conformance.commands.init import placeholder_problems
from conformance.driver.manifest import (
    Manifest,
    load_manifest,
    parse_text,
    raise_problems,
    validation_errors,
)
from conformance.errors import ConformanceError
from conformance.redact import Redactor
from conformance.results import RunResult
from conformance.runner import stopped_run

NAME = "doctor"
HELP = ("Validate a partner manifest and walk its happy path once against a fresh simulator, "
        "showing each request, answer and mapping read, and what to fix.")
EXIT_OK, EXIT_BROKEN, EXIT_CANNOT_RUN = exit_codes.OK, exit_codes.BLOCKED, exit_codes.HARNESS
_MAX_LOG_LINES = 12


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--partner", metavar="MANIFEST", type=Path, default=None,
        help="the partner manifest (TOML or YAML); default: the bundled reference partner",
    )
    parser.add_argument(
        "--partner-env", metavar="NAME=VALUE", action="append", default=[],
        help="extra environment for a partner the harness starts (repeatable)",
    )
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only the verdict line and the diagnosis")


def partner_env(values: Iterable[str]) -> dict[str, str]:
    """``NAME=VALUE`` pairs for the partner's environment; a malformed one is named."""
    try:
        return parse_env_pairs(values)
    except ValueError as exc:
        raise ConformanceError(f"--partner-env {exc}") from None


def load(path: Path | None, env_pairs: Sequence[str] = ()) -> Manifest:
    """The validated manifest (default: the bundled reference partner), with extra env."""
    from conformance.plugin import default_manifest_path

    chosen = path if path is not None else default_manifest_path()
    if not chosen.is_file():
        raise ConformanceError(f"partner manifest {chosen} does not exist or is not a file")
    data = parse_text(chosen.read_text(encoding="utf-8"), suffix=chosen.suffix.lower())
    left = placeholder_problems(data)
    if left:
        # The placeholders named, with whatever else the schema says; the comment above
        # each in the skeleton says what it is.
        raise_problems(left + validation_errors(data))
    return load_manifest(chosen).with_extra_env(partner_env(env_pairs))


def step_lines(step: StepReport) -> list[str]:
    """One action as the doctor shows it."""
    lines = [step.action]
    if step.request:
        lines.append(f"  → {step.request}")
    if step.answer:
        lines.append(f"  ← {step.answer}")
    for read in step.reads:
        shown = "nothing" if read.value is None else _value(read.value)
        at = f" at {read.pointer}" if read.pointer else ""
        lines.append(f"  read {read.field}{at} = {shown}{' ' + read.note if read.note else ''}")
    lines += [f"  · {note}" for note in step.notes]
    lines += [f"  ✗ {problem.line()}" for problem in step.problems]
    return lines


def _value(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(str(text).split())
    return text if len(text) <= 80 else text[:79] + "…"


def summary_lines(result: PreflightResult) -> list[str]:
    """The verdict of the walk and its diagnosis (the part certify shows too)."""
    path = " → ".join(s.action for s in result.steps)
    if result.ok:
        lines = [f"happy path: OK in {result.duration_s:.1f} s ({path})"]
    else:
        what = "the partner could not be reached" if not result.reached else "FAILED"
        lines = [f"happy path: {what} — {len(result.problems)} problem(s):"]
        lines += [f"  {problem.line()}" for problem in result.problems]
    lines += [f"warning: {w}" for w in result.warnings]
    if result.log_tail.strip():
        tail = result.log_tail.strip().splitlines()[-_MAX_LOG_LINES:]
        lines.append("partner log (last lines):")
        lines += [f"  {line}" for line in tail]
    return lines


def exit_code(result: PreflightResult) -> int:
    if result.ok:
        return EXIT_OK
    return EXIT_BROKEN if result.reached else EXIT_CANNOT_RUN


def walk(manifest: Manifest, redactor: Redactor, stream: TextIO | None,
         verbose: bool = True) -> PreflightResult:
    """Run the preflight, printing each step as it ends (when ``verbose``)."""

    def show(step: StepReport) -> None:
        if verbose and stream is not None:
            print("\n".join(step_lines(step)), file=stream, flush=True)

    try:
        return run_preflight(manifest, redactor=redactor, on_step=show)
    except ConformanceError:
        raise
    except Exception as exc:
        raise harness_failure(exc, redactor, what="the preflight") from None


def run(args: argparse.Namespace) -> int:
    manifest = load(args.partner, args.partner_env)
    redactor = Redactor()
    out = sys.stdout
    where = manifest.url or "started by the harness"
    print(f"doctor: {manifest.name} ({manifest.path}): manifest valid; partner {where}",
          flush=True)
    result = walk(manifest, redactor, out, verbose=not args.quiet)
    print("\n".join(summary_lines(result)), flush=True)
    if not result.ok:
        print("see docs/ONBOARDING.md for what each field means and how to fix it")
    return exit_code(result)


# -- certify's preflight ---------------------------------------------------------------------
def gate(manifest: Manifest, redactor: Redactor, *, only: Sequence[str] | None,
         skip: Sequence[str]) -> RunResult | None:
    """Certify's preflight: None when the happy path works, else a run that stops there.

    The stopped run has every chosen scenario ``error`` with the preflight's diagnosis as
    its reason (so the report says why, and the verdict is BLOCKED, exit 2), without
    starting the scenarios.
    """
    started = datetime.now(UTC).replace(microsecond=0)
    result = walk(manifest, redactor, None, verbose=False)
    if result.ok:
        print(f"preflight: the happy path works ({result.duration_s:.1f} s)", flush=True)
        for warning in result.warnings:
            print(redactor.text(f"preflight warning: {warning}"), flush=True)
        return None
    print("preflight: stopping before the scenarios; `zeropools-conformance doctor "
          f"--partner {manifest.path}` shows every request and answer, and --no-preflight "
          "runs the scenarios anyway", flush=True)
    print(redactor.text("\n".join(summary_lines(result))), flush=True)
    first = result.problems[0].line() if result.problems else "the happy path did not work"
    reason = redactor.text(f"harness error: preflight: {first}")
    if not result.reached:
        reason = redactor.text(f"harness error: PartnerUnreachable: preflight: {first}")
    return stopped_run(
        manifest, only=only, skip=skip, reason=reason, started_at=started,
        duration_s=result.duration_s, harness_error=reason.removeprefix("harness error: "),
    )
