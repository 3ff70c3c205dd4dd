"""``zeropools-conformance list``: the scenario catalogue, and what each scenario needs."""

from __future__ import annotations

import argparse
import json

from conformance.catalogue import CATALOGUE_VERSION, QUESTIONS_BY_ID, SCENARIOS, ScenarioSpec

NAME = "list"
HELP = ("List the scenario catalogue: id, readiness question, seed clause, what each scenario "
        "needs from the manifest, browser or not.")

BASE = "[provider], actions create_quote, accept, get_order"
# What a scenario needs beyond BASE (docs/MANIFEST.md); by scenario id, else by group.
NEEDS: dict[str, str] = {
    "expiry.ui_disabled": "[web] quote_page and selectors (skipped without [web])",
    "secrets.bundle_scan": "[web] or [artefacts] (skipped without both)",
    "secrets.browser_no_provider_calls": "[web] quote_page and selectors (skipped without [web])",
    "duplicates.double_click_ui": "[web] quote_page and selectors (skipped without [web])",
    "duplicates.timeout_retry": "provider.timeout_seconds",
    "guards.provider_refusals": "provider.timeout_seconds",
    "trace.order_record": "actions.get_order expect quote_id, transact_id, request_id or event_id",
    "settlement.partner_polls": "provider.poll_interval_seconds",
    "recon.daily_close": "actions.ledger, provider.ledger_amount, [provider.ledger]; "
                         "actions.reconcile if it has one",
    "ops.stuck_reserved_alert": "actions.alerts and provider.alert_threshold_seconds "
                                "(skipped without them)",
    "ledger": "actions.ledger, partner.webhook_path, provider.ledger_amount, provider.reversal",
    "logs": "the partner's output (captured when the harness starts it); [logs] files and "
            "actions.support_packet if it has them",
    "screens": "[web] quote_page and selectors (skipped without [web])",
}


def needs(spec: ScenarioSpec) -> str:
    """What the scenario reads from the manifest, in docs/MANIFEST.md's field names."""
    extra = NEEDS.get(spec.id) or NEEDS.get(spec.group)
    return f"{BASE}; {extra}" if extra else BASE


def row(spec: ScenarioSpec) -> dict[str, object]:
    question = QUESTIONS_BY_ID.get(spec.question or "")
    return {
        "id": spec.id,
        "question": spec.question,
        "question_text": question.text if question else None,
        "title": spec.title,
        "clause": spec.clause.cite(),
        "clause_url": spec.clause.url,
        "needs": needs(spec),
        "browser": spec.browser,
        "advisory": spec.advisory,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the catalogue as JSON")


def run(args: argparse.Namespace) -> int:
    rows = [row(spec) for spec in SCENARIOS]
    if args.json:
        print(json.dumps({"catalogue_version": CATALOGUE_VERSION, "scenarios": rows}, indent=2))
        return 0
    width = max(len(spec.id) for spec in SCENARIOS)
    for spec, data in zip(SCENARIOS, rows, strict=True):
        flags = ", ".join(f for f, on in (("browser", spec.browser),
                                          ("advisory", spec.advisory)) if on)
        question = spec.question or "guard"
        print(f"{spec.id:<{width}}  {question:<5}  {spec.title}" + (f"  [{flags}]" if flags
                                                                    else ""))
        print(f"{'':<{width}}  {'':<5}  clause: {data['clause']}")
        print(f"{'':<{width}}  {'':<5}  needs:  {data['needs']}")
    print(f"{len(SCENARIOS)} scenarios (catalogue {CATALOGUE_VERSION}); "
          "run one with: zeropools-conformance certify --only ID")
    return 0
