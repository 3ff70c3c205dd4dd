"""``zeropools-conformance certify``: run the catalogue, decide, and write the report files.

The runner (``conformance.runner.run_catalogue``) drives the scenarios; this command
selects them, shows one line per finished scenario, and hands the RunResult to the
report writers. Exit 0 ready, 1 blocked, 2 the harness could not run.

The runner writes screenshots and the scanner's ``secrets.sarif`` under ``out_dir`` and
adds every secret of the run to ``redactor``, so the report and this terminal redact them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from conformance import interrupt
from conformance.catalogue import QUESTIONS, SCENARIOS
from conformance.commands import _certification as certification
from conformance.commands._harness_failure import harness_failure
from conformance.commands.doctor import gate as preflight
from conformance.commands.doctor import load as load_partner
from conformance.commands.doctor import partner_env as partner_env
from conformance.errors import ConformanceError
from conformance.redact import Redactor
from conformance.report import OWNED_FILES, write_report
from conformance.report.verdict import summary_lines
from conformance.results import ScenarioResult, Status
from conformance.runner import run_catalogue, stopped_run
from conformance.sarif import SarifWriter, scanner_logs

NAME = "certify"
HELP = "Run the scenario catalogue against a partner and write the readiness report into DIR."

_STATUS_WIDTH = max(len(s.value) for s in Status)
_ID_WIDTH = max(len(s.id) for s in SCENARIOS)
_MAX_REASON = 110
SARIF_NAME = SarifWriter.filename


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--partner", metavar="MANIFEST", type=Path, default=None,
        help="the partner manifest (TOML or YAML); default: the bundled reference partner",
    )
    parser.add_argument(
        "--out", metavar="DIR", type=Path, required=True,
        help="where to write report.json, report.html, junit.xml, summary.md, "
        "secrets.sarif and manifest.sha256",
    )
    selection = (
        "scenario ids, questions (RQ1..RQ6) or groups (expiry, ledger, ...); "
        "repeatable or comma-separated"
    )
    parser.add_argument("--only", metavar="SEL", action="append", default=[],
                        help=f"run only these: {selection}")
    parser.add_argument("--skip", metavar="SEL", action="append", default=[],
                        help=f"do not run these: {selection} (a skipped question stays "
                        "unanswered, and so blocks)")
    parser.add_argument(
        "--partner-env", metavar="NAME=VALUE", action="append", default=[],
        help="extra environment for a partner the harness starts (repeatable)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true",
        help="also show pytest's own output (tracebacks of failing checks)",
    )
    certification.add_arguments(parser)
    parser.add_argument(
        "--no-preflight", action="store_true",
        help="run the scenarios even if the happy path (`doctor`) does not work",
    )


def _tokens(values: Iterable[str]) -> list[str]:
    return [t.strip() for value in values for t in value.split(",") if t.strip()]


def expand(token: str) -> tuple[str, ...]:
    """The scenario ids a selection token names: an id, a question or a group prefix."""
    ids = tuple(s.id for s in SCENARIOS)
    if token in ids:
        return (token,)
    upper = token.upper()
    if upper in {q.id for q in QUESTIONS}:
        return tuple(s.id for s in SCENARIOS if s.question == upper)
    group = token.rstrip("*").rstrip(".")
    matched = tuple(s.id for s in SCENARIOS if s.group == group)
    if matched:
        return matched
    groups = sorted({s.group for s in SCENARIOS})
    raise ConformanceError(
        f"unknown scenario selection {token!r}: use a scenario id, a question "
        f"({', '.join(q.id for q in QUESTIONS)}) or a group ({', '.join(groups)})"
    )


Selection = tuple[tuple[str, ...] | None, tuple[str, ...]]


def select(only: Sequence[str], skip: Sequence[str]) -> Selection:
    """(only ids or None for all, skip ids), each in catalogue order, tokens validated."""
    order = [s.id for s in SCENARIOS]
    only_ids: tuple[str, ...] | None = None
    only_tokens = _tokens(only)
    if only_tokens:
        chosen = {sid for token in only_tokens for sid in expand(token)}
        only_ids = tuple(sid for sid in order if sid in chosen)
    skipped = {sid for token in _tokens(skip) for sid in expand(token)}
    skip_ids = tuple(sid for sid in order if sid in skipped)
    remaining = [sid for sid in (only_ids or order) if sid not in skipped]
    if not remaining:
        raise ConformanceError("--only / --skip leave no scenario to run")
    return only_ids, skip_ids


class Progress:
    """Prints one line per scenario as it finishes: counter, status, id, duration, reason."""

    def __init__(self, total: int, redactor: Redactor, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self._redactor = redactor
        self._stream = stream

    def line(self, result: ScenarioResult) -> str:
        self.done += 1
        width = len(str(max(self.total, self.done)))
        text = (
            f"[{self.done:>{width}}/{self.total}] {result.status.value.upper():<{_STATUS_WIDTH}} "
            f"{result.scenario_id:<{_ID_WIDTH}} {result.duration_s:7.2f} s"
        )
        if result.status is not Status.PASS and result.reason:
            reason = " ".join(result.reason.split())
            if len(reason) > _MAX_REASON:
                reason = reason[: _MAX_REASON - 1] + "…"
            text += f"  {reason}"
        return self._redactor.text(text)

    def __call__(self, result: ScenarioResult) -> None:
        stream = self._stream or sys.stdout
        print(self.line(result), file=stream, flush=True)


def clear_outputs(out_dir: Path) -> None:
    """Remove a previous run's report files (only ours), so nothing stale is reported."""
    for name in OWNED_FILES:
        try:
            (out_dir / name).unlink(missing_ok=True)
        except OSError as exc:
            raise ConformanceError(f"cannot replace {out_dir / name}: {exc.strerror}") from None


def run(args: argparse.Namespace) -> int:
    manifest: Path | None = args.partner
    out_dir: Path = args.out
    if manifest is not None and not manifest.is_file():
        raise ConformanceError(f"partner manifest {manifest} does not exist or is not a file")
    only, skip = select(args.only, args.skip)
    total = len([sid for sid in (only or [s.id for s in SCENARIOS]) if sid not in skip])
    redactor = Redactor()
    progress = Progress(total, redactor)
    loaded = load_partner(manifest, args.partner_env)  # validated before anything is announced
    signing = certification.prepare(args, manifest)
    who = str(manifest) if manifest else "the bundled reference partner"
    print(f"certifying {who}: {total} scenario(s); report into {out_dir}", flush=True)
    clear_outputs(out_dir)
    started = datetime.now(UTC).replace(microsecond=0)
    try:
        with interrupt.handle_signals():
            try:
                stopped = (
                    None if args.no_preflight
                    else preflight(loaded, redactor, only=only, skip=skip)
                )
                result = stopped or run_catalogue(
                    manifest=manifest, only=only, skip=skip, progress=progress,
                    out_dir=out_dir, redactor=redactor,
                    partner_env=partner_env(args.partner_env), verbose=args.verbose,
                    run_waived=signing.run_waived,
                )
            except KeyboardInterrupt:
                # Cancelled outside the scenarios (preflight): nothing was decided.
                name = interrupt.received_name() or "SIGINT"
                print(f"\ninterrupted by {name}: writing the report", flush=True)
                result = stopped_run(
                    loaded, only=only, skip=skip, started_at=started,
                    reason=f"run interrupted by {name} before this scenario ran",
                    duration_s=(datetime.now(UTC) - started).total_seconds(),
                    interrupted=name,
                )
            written = write_report(
                result, out_dir, redactor=redactor, scanner_logs=scanner_logs(out_dir),
                provenance=signing.provenance,
            )
    except ConformanceError:
        raise
    except Exception as exc:
        raise harness_failure(exc, redactor) from None
    verdict = written.verdict
    print()
    for line in summary_lines(verdict, result.partner_name):
        print(redactor.text(line))
    print(f"report: {out_dir / 'report.html'}  (verify: zeropools-conformance verify {out_dir})")
    certification.sign(signing, out_dir)
    return verdict.exit_code
