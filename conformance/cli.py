"""The ``zeropools-conformance`` command line: one module per subcommand.

Exit codes, written once in conformance/exit_codes.py: 0 ready / success, 1 blocked / check
failed, 2 the harness could not run, 130 / 143 interrupted by SIGINT / SIGTERM (a certify run
still writes its report).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from conformance import __version__, exit_codes, interrupt
from conformance.errors import ConformanceError

# Each module in conformance/commands/ defines NAME, HELP, add_arguments(parser) and run(args).
COMMAND_MODULES = (
    "certify", "verify", "report", "scan", "sim", "init", "doctor", "catalogue_list", "keygen",
    "package", "load",
)

EXIT_OK = exit_codes.OK
EXIT_BLOCKED = exit_codes.BLOCKED
EXIT_HARNESS = exit_codes.HARNESS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zeropools-conformance",
        description="Production-readiness harness for partners of the 0Pools liquidity API.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"conformance.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"conformance.commands.{name}":
                raise
            continue
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_HARNESS
    try:
        # SIGTERM (a CI cancel) and SIGINT stop every command cleanly; a second one at once.
        with interrupt.handle_signals():
            return int(args.run(args))
    except ConformanceError as exc:
        print(f"zeropools-conformance: error: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    except KeyboardInterrupt:
        print("zeropools-conformance: interrupted", file=sys.stderr)
        return interrupt.exit_code() or exit_codes.interrupted("SIGINT")
