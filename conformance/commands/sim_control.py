"""``zeropools-conformance sim trigger|replay|forge|advance|next-outcome``: drive a sandbox.

Like ``stripe trigger``: fire one webhook at a partner under development, replay it, forge
it, move the clock, or script the next trade's outcome, through a running ``sim``'s control
API under ``/_sim/`` (``Authorization: Bearer <control token>``). The token comes from
``--control-token`` or ``$ZEROPOOLS_SIM_CONTROL_TOKEN``; the sandbox from ``--sim-url`` or
``$ZEROPOOLS_SIM_URL`` (default ``http://127.0.0.1:8787``). Exit 0 done, 1 the sandbox
refused (its message shown), 2 it could not be reached or no token was given.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from typing import Any

import httpx

from conformance.errors import ConformanceError

ENV_URL = "ZEROPOOLS_SIM_URL"
ENV_TOKEN = "ZEROPOOLS_SIM_CONTROL_TOKEN"
ENV_PARTNER = "ZEROPOOLS_SIM_PARTNER"
DEFAULT_URL = "http://127.0.0.1:8787"
EVENTS = ("settled", "failed", "released", "returned")
FORGE_KINDS = ("bad_signature", "wrong_secret", "tampered_body", "stale_timestamp",
               "missing_headers")
OUTCOMES = ("settled", "failed", "released", "returned", "reserved")
TIMEOUT_S = 30.0


class Refused(Exception):
    """The control API answered 4xx/5xx: shown with its message, exit 1."""


def add_helpers(parser: argparse.ArgumentParser) -> None:
    """The helper subcommands of ``sim``; without one, ``sim`` serves (as it always did)."""
    sub = parser.add_subparsers(dest="sim_action", metavar="[ACTION]",
                                title="actions against a running sandbox (default: serve)")
    sub.add_parser("serve", help="run the sandbox (the default; takes the options above)")

    def helper(name: str, help_: str, run: Callable[[argparse.Namespace], int]
               ) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_, description=help_)
        command.add_argument("--sim-url", default=None,
                             help=f"the running sandbox (default ${ENV_URL} or {DEFAULT_URL})")
        command.add_argument("--control-token", dest="helper_token", default=None,
                             help=f"its control token (default ${ENV_TOKEN})")
        command.set_defaults(sim_helper=run)
        return command

    trigger = helper("trigger", "move a trade to a terminal status now and send its webhook",
                     trigger_cmd)
    trigger.add_argument("event", choices=EVENTS, metavar="EVENT",
                         help=f"one of {', '.join(EVENTS)} (returned: a settled trade returned)")
    trigger.add_argument("--trade", required=True, metavar="ID", help="the txn_test_… id")

    replay = helper("replay", "deliver an event again (same eventId, fresh signature)",
                    replay_cmd)
    _event_options(replay)

    forge = helper("forge", "deliver a forged copy of an event", forge_cmd)
    forge.add_argument("kind", choices=FORGE_KINDS, metavar="KIND",
                       help=f"one of {', '.join(FORGE_KINDS)}")
    _event_options(forge)

    advance = helper("advance", "move the sandbox clock forward", advance_cmd)
    advance.add_argument("seconds", type=float, metavar="SECONDS")

    outcome = helper("next-outcome", "script the outcome of the partner's next trade",
                     next_outcome_cmd)
    outcome.add_argument("status", choices=OUTCOMES, metavar="STATUS",
                         help=f"one of {', '.join(OUTCOMES)} (reserved: stays reserved)")
    outcome.add_argument("--polls", type=int, default=1,
                         help="status polls before it moves (default 1)")
    outcome.add_argument("--partner", default=None, metavar="ID",
                         help=f"the partner id `sim` printed (default ${ENV_PARTNER})")


def _event_options(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--event", metavar="ID", help="the eventId")
    which.add_argument("--trade", metavar="ID", help="the trade whose latest event to use")


class Sandbox:
    """A running sandbox's control API."""

    def __init__(self, args: argparse.Namespace) -> None:
        url = (args.sim_url or os.environ.get(ENV_URL) or DEFAULT_URL).rstrip("/")
        self.base = url.removesuffix("/v1")
        token = args.helper_token or os.environ.get(ENV_TOKEN)
        if not token:
            raise ConformanceError(f"--control-token: give the control token `sim` printed "
                                   f"(or set ${ENV_TOKEN})")
        self.client = httpx.Client(base_url=f"{self.base}/_sim", timeout=TIMEOUT_S,
                                   headers={"Authorization": f"Bearer {token}"})

    def call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = self.client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ConformanceError(f"--sim-url: cannot reach the sandbox at {self.base}: "
                                   f"{type(exc).__name__}; is `zeropools-conformance sim` "
                                   "running?") from None
        if response.status_code >= 400:
            try:
                message = response.json().get("message") or response.text
            except ValueError:
                message = response.text
            raise Refused(f"the sandbox refused {method} /_sim{path}: HTTP "
                          f"{response.status_code}: {message}")
        return response.json()

    def latest_event(self, transact_id: str) -> dict[str, Any]:
        events = [e for e in self.call("GET", "/events")["events"]
                  if e.get("data", {}).get("transactId") == transact_id]
        if not events:
            raise Refused(f"trade {transact_id} has no event yet: `sim trigger` one first")
        latest: dict[str, Any] = events[-1]
        return latest

    def event_id(self, args: argparse.Namespace) -> str:
        return str(args.event or self.latest_event(args.trade)["eventId"])

    def close(self) -> None:
        self.client.close()


def _run(args: argparse.Namespace, act: Callable[[Sandbox], list[str]]) -> int:
    sandbox = Sandbox(args)
    try:
        lines = act(sandbox)
    except Refused as exc:
        print(f"zeropools-conformance sim: {exc}")
        return 1
    finally:
        sandbox.close()
    print("\n".join(lines))
    return 0


def _attempt(attempt: dict[str, Any]) -> str:
    answered = (f"HTTP {attempt['statusCode']}" if attempt.get("statusCode")
                else attempt.get("error") or "no answer")
    return (f"{attempt.get('kind', 'delivery')} of {attempt['eventId']} to {attempt.get('url')}: "
            f"{answered} (attempt {attempt.get('attempt')})")


def trigger_cmd(args: argparse.Namespace) -> int:
    def act(sandbox: Sandbox) -> list[str]:
        trade = sandbox.call("POST", f"/trades/{args.trade}/outcome",
                             {"status": args.event, "now": True})
        lines = [f"trade {trade['transactId']} is {trade['status']}"]
        try:
            event = sandbox.latest_event(args.trade)
        except Refused:
            return lines + ["no webhook event for this status"]
        lines.append(f"event {event['eventId']} ({event['type']}) sent to the partner's "
                     "webhook URL (at-least-once, with retries)")
        deliveries = [d for d in sandbox.call("GET", "/deliveries")["deliveries"]
                      if d["eventId"] == event["eventId"]]
        lines += [_attempt(d) for d in deliveries[-1:]]
        return lines

    return _run(args, act)


def replay_cmd(args: argparse.Namespace) -> int:
    return _run(args, lambda s: [_attempt(s.call("POST", f"/webhooks/{s.event_id(args)}"
                                                         "/redeliver"))])


def forge_cmd(args: argparse.Namespace) -> int:
    return _run(args, lambda s: [_attempt(s.call("POST", f"/webhooks/{s.event_id(args)}/forge",
                                                 {"kind": args.kind}))])


def advance_cmd(args: argparse.Namespace) -> int:
    def act(sandbox: Sandbox) -> list[str]:
        clock = sandbox.call("POST", "/clock/advance", {"seconds": args.seconds})
        return [f"sandbox clock: {clock.get('now')} (offset {clock.get('offsetSeconds')} s)"]

    return _run(args, act)


def next_outcome_cmd(args: argparse.Namespace) -> int:
    partner = args.partner or os.environ.get(ENV_PARTNER)
    if not partner:
        raise ConformanceError(f"--partner: give the partner id `sim` printed (or set "
                               f"${ENV_PARTNER})")

    def act(sandbox: Sandbox) -> list[str]:
        plan = {"status": args.status, "polls": args.polls}
        sandbox.call("POST", f"/partners/{partner}/next-trades", {"plans": [plan]})
        return [f"the next trade of {partner} will be {args.status} after {args.polls} "
                f"poll(s): {json.dumps(plan)}"]

    return _run(args, act)
