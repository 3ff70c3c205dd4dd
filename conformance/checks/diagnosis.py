"""Where a failed preflight step points: the manifest field to look at, and why.

Each function reads what the provider saw (its journal, its webhook deliveries) or what the
partner printed, and turns a failure of the happy path into a :class:`Problem` that names a
manifest field (``/start/env/secret_key``, ``/actions/ledger/items``, …). Used by the
preflight walk (``checks/preflight.py``) only; hints on answers are in ``checks/hints.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from conformance.checks import hints
from conformance.checks.preflight_report import Problem
from conformance.checks.provider import Provider
from conformance.driver.actions import Answer
from conformance.driver.manifest import Manifest
from conformance.driver.partner import PartnerProcess
from conformance.errors import PartnerUnreachable
from conformance.simulator import DeliveryAttempt

_ENV_TOKEN = re.compile(r"\b[A-Z][A-Z0-9_]{2,}\b")


def journal_problem(
    manifest: Manifest, provider: Provider, since: int, what: str
) -> tuple[Problem | None, str]:
    """What reached the provider (any key, so a wrong key shows too) and how it answered.

    Returns the problem it points at, or else a note (either may be empty).
    """
    path = "/quote" if what == "quote" else "/transact"
    entries = [e for e in provider.every_journal(since)
               if e.method == "POST" and e.path.endswith(path)]
    start = manifest.start
    if not entries:
        where = (f"the provider base URL is given in ${start.env.base_url}"
                 if start is not None else "check the provider URL it was configured with")
        return Problem(field="/start/env/base_url" if start else "/partner/url",
                       message=f"no {what} request reached the provider; {where} "
                       "(it includes /v1): does the partner read that name?"), ""
    last = entries[-1]
    if last.status == 401 and start is not None:
        return Problem(field="/start/env/secret_key", message="the provider refused the "
                       f"partner's key (HTTP 401, key kind {last.key_kind}); the secret key is "
                       f"given in ${start.env.secret_key}: does the partner read that name?"), ""
    if last.status >= 400:
        return None, (f"the provider answered its {what} HTTP {last.status}"
                      f" ({last.method} {last.path})")
    return None, ""


def start_problem(manifest: Manifest, process: PartnerProcess, exc: PartnerUnreachable) -> Problem:
    """Why the partner never answered: a name in [start.env] it does not read, its command, …"""
    start = manifest.start
    text = str(exc).split("; log tail:")[0]
    field_ = "/partner/url" if start is None else "/partner/health_path"
    message = text
    if start is not None:
        given = {k: v for k, v in (("base_url", start.env.base_url),
                                   ("secret_key", start.env.secret_key),
                                   ("webhook_secret", start.env.webhook_secret),
                                   ("port", start.env.port)) if v}
        log = process.log_tail(40)
        mentioned = sorted({t for t in _ENV_TOKEN.findall(log) if t not in given.values()})
        pairs = hints.close_names(mentioned, list(given.values()))
        if pairs:
            name, ours = pairs[0]
            key = next(k for k, v in given.items() if v == ours)
            field_ = f"/start/env/{key}"
            message += (f"; its log mentions ${name}, but the harness gives "
                        f"{key} in ${ours} ([start.env] {key} = {ours!r})")
        elif "exited" in text:
            field_ = "/start/command"
        elif "ConnectError" in text or "no answer" in text:
            field_ = "/start/env/port"
            message += (f"; nothing answered on the port given in ${start.env.port}: "
                        "does the partner read that name?")
    return Problem(field=field_, message=message)


def unreadable_list_problem(
    manifest: Manifest, action: str, message: str, body: Any, answer: Answer | None
) -> Problem:
    """A list answer (ledger, alerts, reconcile) the manifest's mapping could not read."""
    spec = manifest.action("ledger")
    field_ = "/actions/ledger"
    for name in ("amount", "exponent", "account"):
        if f"item.{name}" in message:
            field_ = f"/actions/ledger/item/{name}"
    if "without an array" in message and spec is not None:
        field_ = "/actions/ledger/items"
        found = hints.arrays(body)
        message = (f"read no array at `{spec.items}`"
                   + (f"; the answer has arrays at {', '.join(f'`{p}`' for p in found)}"
                      if found else ""))
    elif answer is not None and not answer.ok:
        message = f"answered HTTP {answer.status_code}"
    return Problem(field=field_.replace("/ledger", f"/{action}"), message=message)


def delivery_problem(manifest: Manifest, attempts: Sequence[DeliveryAttempt]) -> Problem:
    """Every delivery of the trade's webhook failed: the secret, or the path."""
    last = attempts[-1]
    answered = f"HTTP {last.status_code}" if last.status_code else (last.error or "no answer")
    message = (f"every delivery of the trade's webhook to {last.url} failed "
               f"({len(attempts)} attempt(s), last: {answered})")
    start = manifest.start
    if last.status_code in (400, 401, 403) and start is not None:
        return Problem(field="/start/env/webhook_secret", message=message + "; the partner was "
                       f"given its webhook secret in ${start.env.webhook_secret}: does it read "
                       "that name?")
    return Problem(field="/partner/webhook_path", message=message)


def delivery_hint(provider: Provider, transact_id: str) -> str:
    """How the partner could have learnt the trade's outcome: its polls, webhook answers."""
    attempts = [d for e in provider.events(transact_id) for d in provider.deliveries(e.id)]
    polls = len(provider.polls(provider.trade(transact_id).quote_id))
    parts = [f"; it polled the trade {polls} time(s)"]
    if attempts:
        codes = ", ".join(str(d.status_code or d.error) for d in attempts[:3])
        parts.append(f"; webhook deliveries answered {codes}")
    return "".join(parts)
