"""A harness bug inside a command: its trace on stderr (redacted), then exit 2 — never exit 1,
which would say the partner is blocked."""

from __future__ import annotations

import sys
import traceback

from conformance.errors import ConformanceError
from conformance.redact import Redactor


def harness_failure(exc: BaseException, redactor: Redactor, *, what: str = "the harness"
                    ) -> ConformanceError:
    """Print ``exc``'s redacted trace and return the one-line error to raise (``from None``)."""
    print(redactor.text("".join(traceback.format_exception(exc))), file=sys.stderr)
    return ConformanceError(redactor.text(f"{what} failed: {type(exc).__name__}: {exc}"))
