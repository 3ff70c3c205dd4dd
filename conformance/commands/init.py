"""``zeropools-conformance init``: write a commented manifest skeleton, optionally from OpenAPI.

Every section is there with each field explained in a comment. What only the partner can
say is a placeholder containing ``TODO``: the skeleton is valid TOML that the schema accepts,
and ``doctor`` / ``certify`` refuse it until no ``TODO`` is left, naming each field. With
``--from-openapi`` the routes that look like create / accept / get / ledger / login (and
health, webhook, alerts, reconcile) are proposed from the partner's own OpenAPI document,
each marked "to be confirmed".
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import ConformanceError

NAME = "init"
HELP = ("Write a commented manifest skeleton (placeholders marked TODO), optionally prefilled "
        "from the partner's OpenAPI document.")
MARKER = "TODO"
METHODS = ("get", "post", "put", "patch", "delete")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="FILE", type=Path, default=Path("manifest.toml"),
                        help="where to write the skeleton (default manifest.toml; - for stdout)")
    parser.add_argument("--from-openapi", metavar="URL|FILE",
                        help="propose routes and pointers from the partner's OpenAPI document")
    parser.add_argument("--name", default=None, help="the partner's name, shown in reports")
    parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")


# -- placeholders ------------------------------------------------------------------------------
def placeholder_problems(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(field, message) for every value that still holds an ``init`` placeholder."""
    found: list[tuple[str, str]] = []
    if isinstance(data, Mapping):
        for key, value in data.items():
            if MARKER in str(key):
                found.append((f"{prefix}/{key}", f"the name {key!r} is an `init` placeholder"))
            found += placeholder_problems(value, f"{prefix}/{key}")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += placeholder_problems(value, f"{prefix}/{index}")
    elif isinstance(data, str) and MARKER in data:
        found.append((prefix, f"still the `init` placeholder {data!r}"))
    return found


# -- OpenAPI -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """One operation of the partner's OpenAPI document."""

    method: str
    path: str
    words: str  # path, operationId, summary and tags, lower-cased
    operation: Mapping[str, Any]

    @property
    def params(self) -> list[str]:
        return re.findall(r"\{([^{}]+)\}", self.path)


def read_openapi(source: str) -> dict[str, Any]:
    """The document at a URL or in a file, JSON or YAML."""
    if re.match(r"^https?://", source):
        import httpx

        try:
            response = httpx.get(source, timeout=15, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise ConformanceError(f"--from-openapi: cannot fetch {source}: {exc}") from None
        text = response.text
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConformanceError(f"--from-openapi: cannot read {source}: "
                                   f"{exc.strerror}") from None
    try:
        document = json.loads(text)
    except ValueError:
        import yaml

        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConformanceError(f"--from-openapi: {source} is neither JSON nor YAML: "
                                   f"{exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise ConformanceError(f"--from-openapi: {source} has no `paths`: not an OpenAPI "
                               "document")
    return document


def routes(document: Mapping[str, Any]) -> Iterator[Route]:
    for path, item in document["paths"].items():
        if not isinstance(item, Mapping):
            continue
        for method in METHODS:
            operation = item.get(method)
            if isinstance(operation, Mapping):
                words = " ".join([path, str(operation.get("operationId", "")),
                                  str(operation.get("summary", "")),
                                  " ".join(map(str, operation.get("tags", [])))]).lower()
                yield Route(method=method.upper(), path=path, words=words, operation=operation)


# action: (method, needs a path parameter, words that suggest it)
RULES: dict[str, tuple[str, bool | None, tuple[str, ...]]] = {
    "login": ("POST", False, ("login", "session", "signin", "sign-in", "auth")),
    "accept": ("POST", True, ("accept", "confirm", "execute", "acceptance", "commit")),
    "create_quote": ("POST", False, ("quote", "order")),
    "get_order": ("GET", True, ("order", "quote")),
    "ledger": ("GET", None, ("ledger", "statement", "posting", "entries", "journal")),
    "alerts": ("GET", None, ("alert", "stuck")),
    "reconcile": ("POST", None, ("reconcil", "sync")),
    "health": ("GET", False, ("health", "ping", "ready", "live")),
    "webhook": ("POST", False, ("webhook", "hook", "callback")),
}


def propose(document: Mapping[str, Any]) -> dict[str, Route]:
    """The route that best looks like each action (each route used once, rules in order)."""
    chosen: dict[str, Route] = {}
    used: set[tuple[str, str]] = set()
    candidates = list(routes(document))
    for action, (method, with_param, words) in RULES.items():
        for route in candidates:
            if (route.method, route.path) in used or route.method != method:
                continue
            if with_param is not None and bool(route.params) != with_param:
                continue
            if any(word in route.words for word in words):
                chosen[action] = route
                used.add((route.method, route.path))
                break
    return chosen


def _resolve(document: Mapping[str, Any], schema: Any) -> Any:
    seen = 0
    while isinstance(schema, Mapping) and "$ref" in schema and seen < 10:
        node: Any = document
        for part in str(schema["$ref"]).lstrip("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        schema, seen = node, seen + 1
    return schema


def response_properties(document: Mapping[str, Any], route: Route) -> dict[str, str]:
    """Pointers to the properties of the 2xx JSON answer (two levels deep)."""
    responses = route.operation.get("responses", {})
    for code, response in responses.items():
        if not str(code).startswith("2"):
            continue
        response = _resolve(document, response)
        content = response.get("content", {}) if isinstance(response, Mapping) else {}
        media = next((v for k, v in content.items() if "json" in k), None)
        schema = _resolve(document, (media or {}).get("schema"))
        found: dict[str, str] = {}
        _properties(document, schema, "", found, depth=0)
        return found
    return {}


def _properties(document: Mapping[str, Any], schema: Any, prefix: str,
                found: dict[str, str], depth: int) -> None:
    if not isinstance(schema, Mapping) or depth > 2:
        return
    for name, sub in (schema.get("properties") or {}).items():
        pointer = f"{prefix}/{name}"
        found.setdefault(name.lower(), pointer)
        _properties(document, _resolve(document, sub), pointer, found, depth + 1)


FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "order_ref": ("orderref", "order_ref", "orderid", "order_id", "reference", "id"),
    "quote_id": ("quoteid", "quote_id", "providerquoteid"),
    "transact_id": ("tradeid", "trade_id", "transactid", "transactionid", "transact_id"),
    "status": ("status", "state"),
    "expires_at": ("expiresat", "expires_at", "expiry", "expiresat"),
    "error": ("code",),
    "request_id": ("requestids", "request_ids", "requestid", "requests"),
    "event_id": ("eventids", "event_ids", "eventid", "events"),
}


def guess_pointer(props: Mapping[str, str], field: str) -> str | None:
    for name in FIELD_NAMES[field]:
        if name in props:
            return props[name]
    return None


# -- the skeleton ------------------------------------------------------------------------------
def _action_block(document: Mapping[str, Any] | None, proposals: Mapping[str, Route],
                  action: str, default_method: str, default_path: str,
                  fields: tuple[str, ...]) -> tuple[str, str, dict[str, str], str]:
    """(method, path, expect pointers, comment) for one action."""
    route = proposals.get(action)
    if route is None or document is None:
        return default_method, default_path, {f: f"/{MARKER}-{f}" for f in fields}, ""
    path = route.path
    if action in ("accept", "get_order") and route.params:
        path = path.replace("{" + route.params[-1] + "}", "{order_ref}")
    props = response_properties(document, route)
    expect = {f: guess_pointer(props, f) or f"/{MARKER}-{f}" for f in fields}
    note = (f"# proposed from your OpenAPI document ({route.method} {route.path}): "
            "to be confirmed\n")
    return route.method, path, expect, note


def _table(values: Mapping[str, str]) -> str:
    return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in values.items()) + " }"


def skeleton(name: str, document: Mapping[str, Any] | None = None) -> str:
    """The manifest text: valid TOML, schema-valid, with TODO placeholders."""
    proposals = propose(document) if document is not None else {}
    health = proposals["health"].path if "health" in proposals else "/TODO-health"
    webhook = proposals["webhook"].path if "webhook" in proposals else "/TODO-webhooks/0pools"
    blocks = {}
    for action, method, path, fields in (
        ("create_quote", "POST", "/TODO/quotes", ("order_ref", "quote_id", "status",
                                                   "expires_at")),
        ("accept", "POST", "/TODO/orders/{order_ref}/accept", ("status", "transact_id")),
        ("get_order", "GET", "/TODO/orders/{order_ref}", ("order_ref", "quote_id",
                                                          "transact_id", "status",
                                                          "request_id", "event_id")),
    ):
        blocks[action] = _action_block(document, proposals, action, method, path, fields)
    ledger_method, ledger_path, _, ledger_note = _action_block(
        document, proposals, "ledger", "GET", "/TODO/ledger", ())
    login = proposals.get("login")
    optional = []
    for action in ("alerts", "reconcile"):
        if action in proposals:
            route = proposals[action]
            optional.append((action, route))
    source = "" if document is None else (
        "# Routes marked \"proposed from your OpenAPI document\" are guesses: confirm each.\n")
    parts = [HEADER.format(name=name, source=source, health=health, webhook=webhook)]
    parts.append(PROVIDER)
    for action, (method, path, expect, note) in blocks.items():
        parts.append(ACTION.format(action=action, note=note, method=method, path=path,
                                   body=BODIES[action], expect=_table(expect),
                                   comment=COMMENTS[action]))
    parts.append(LEDGER.format(note=ledger_note, method=ledger_method, path=ledger_path))
    if login is not None:
        parts.append(LOGIN.format(route=f"{login.method} {login.path}", path=login.path))
    else:
        parts.append(LOGIN_COMMENTED)
    for action, route in optional:
        parts.append(
            f"\n# proposed from your OpenAPI document ({route.method} {route.path}): "
            f"to be confirmed\n[actions.{action}]\nmethod = \"{route.method}\"\n"
            f"path = {json.dumps(route.path)}\n"
            + ("items = \"/TODO-alerts\"\nitem = { transact_id = \"/TODO-alert-transact_id\" }\n"
               if action == "alerts" else ""))
    parts.append(TAIL)
    return "".join(parts)


HEADER = '''\
# Partner manifest for zeropools-conformance (written by `zeropools-conformance init`).
# Format: docs/MANIFEST.md. Every value containing TODO is a placeholder only you can fill:
# `zeropools-conformance doctor --partner THIS_FILE` lists the ones left, then walks your
# happy path once and shows what each mapping read. Steps: docs/ONBOARDING.md.
{source}manifest_version = 1

[partner]
name = "{name}"                      # shown in reports
health_path = "{health}"            # GET here answers 2xx once your app is ready
webhook_path = "{webhook}"   # where the provider POSTs its signed webhooks
# url = "https://…"                  # instead of [start]: where your partner already runs
# credentials_env = {{ secret_key = "MY_SK", webhook_secret = "MY_WHSEC" }}  # with url

# How the harness starts your app: each run gets a free port and fresh test keys, passed in
# the environment variables NAMED below (the names your app reads, not values).
[start]
command = ["TODO", "your", "start", "command"]   # argv; {{python}} = the harness's Python,
                                                 # {{port}} = the port chosen for this run
cwd = "."                                        # relative to this file
startup_timeout_seconds = 20

[start.env]
base_url = "TODO_PROVIDER_BASE_URL_VAR"   # gets the provider base URL, including /v1
secret_key = "TODO_SECRET_KEY_VAR"        # gets the sk_test_… secret key
webhook_secret = "TODO_WEBHOOK_SECRET_VAR"  # gets the whsec_… webhook secret
port = "TODO_PORT_VAR"                    # gets the port to listen on (127.0.0.1)
# publishable_key = "MY_PK"   # gets the pk_test_… key, if your app reads one
# signature_scheme = "MY_SCHEME"  # gets 0bit or standard, if your app reads it

# [start.extra_env]           # extra variables your app needs for a test run
# MY_SETTING = "value"
'''

PROVIDER = '''
# What the harness cannot guess. Declare your real timings: every wait derives from them.
[provider]
pool_id = "EUR-USDT"            # the pool you sell
side = "on_ramp"                # on_ramp or off_ramp
network = "tron"                # the network your orders use
signature_scheme = "0bit"       # 0bit (t=…,v1=…) or standard (Standard Webhooks)
timeout_seconds = 5             # your timeout on provider calls
poll_interval_seconds = 1       # how often you poll open trades
execution_delay_seconds = 0     # a queued accept (202, a worker transacts later): its delay
ledger_amount = "fiatAmount"    # which trade amount your postings carry: fiatAmount, cryptoAmount
# alert_threshold_seconds = 60  # with actions.alerts: a trade reserved longer shows there
reversal = { representation = "negative_amount" }   # or { representation = "kind", kind = "…" }

# [provider.ledger]             # how postings write money (default: decimal strings)
# amount = "minor_units"        # integer minor units…
# exponent = 2                  # …with this exponent (or map actions.ledger.item.exponent)
# customer_accounts = ["customer_wallets"]  # a double-entry book: the customer's account(s)

# Your order's state names, by category (each name once). Required: pending, done, refused,
# failed; optional: open, unavailable, returned.
[provider.states]
open = ["TODO_quoted"]
pending = ["TODO_pending"]
done = ["TODO_settled"]
refused = ["TODO_refused"]
failed = ["TODO_failed"]
# unavailable = ["unavailable"]
# returned = ["returned"]

# How a request acts as a customer account ({{account}} is a fresh id per scenario).
[accounts]
headers = {{ "TODO-Account-Header" = "{{account}}" }}   # or query = {{…}}, cookies = {{…}}
'''.replace("{{", "{").replace("}}", "}")

COMMENTS = {
    "create_quote": "# Create an order with a firm quote. Placeholders: {amount} {currency}\n"
                    "# {network} {dest_address} {pool_id} {side} {account}. expect: JSON pointers "
                    "into the\n"
                    "# answer (order_ref required; quote_id, status, expires_at recommended).\n",
    "accept": "# Accept the order's quote (must use {order_ref}). A queued accept may answer\n"
              "# 202 with a pending state and no trade id yet.\n",
    "get_order": "# Read the order record (must use {order_ref}; status required). Support\n"
                 "# traces an order by the provider's ids: its request ids or event ids.\n",
}
BODIES = {
    "create_quote": 'body = { amount = "{amount}", network = "{network}", '
                    'destAddress = "{dest_address}" }   # your field names\n',
    "accept": "",
    "get_order": "",
}
ACTION = '''
{comment}{note}[actions.{action}]
method = "{method}"
path = "{path}"
{body}expect = {expect}
'''

LEDGER = '''
# The customer's (or one finance book's) postings: items = pointer to the array; item =
# pointers inside one entry (amount, and one of transact_id, quote_id, order_ref).
{note}[actions.ledger]
method = "{method}"
path = "{path}"
items = "/TODO-items"
item = {{ amount = "/TODO-item-amount", transact_id = "/TODO-item-transact_id" }}
'''

LOGIN = '''
# proposed from your OpenAPI document ({route}): to be confirmed. Its yields become
# placeholders ({{token}}) for [accounts] and the actions.
[actions.login]
method = "POST"
path = "{path}"
body = {{ username = "{{account}}" }}
yields = {{ token = "/TODO-token" }}
'''

LOGIN_COMMENTED = '''
# Optional actions: balance, alerts, reconcile, login (docs/MANIFEST.md).
# [actions.login]               # an API behind its own login: called once per account
# method = "POST"
# path = "/auth/login"
# body = { username = "{account}" }
# yields = { token = "/token" }   # then [accounts] headers = { Authorization = "Bearer {token}" }
'''

TAIL = '''
# [actions.alerts]              # ops: trades stuck reserved (with provider.alert_threshold_seconds)
# method = "GET"
# path = "/ops/alerts"
# items = "/alerts"
# item = { order_ref = "/orderRef", transact_id = "/tradeId" }

# [actions.reconcile]           # ops: run your reconciliation once
# method = "POST"
# path = "/ops/reconcile"

# [web]                         # your quote page, for the browser scenarios (else skipped)
# quote_page = "/"
# [web.selectors]
# amount = "#amount"
# get_quote = "#get-quote"
# accept = "#accept"
# status = "#status"

# [artefacts]                   # what a client can download, scanned for secrets
# pages = ["/"]
# files = ["dist/**/*.js"]

# A question or scenario you cannot answer, waived in writing (shown in every report):
# [[waivers]]
# target = "RQ2"
# reason = "Server-to-server only: no browser page, bundle or app ships."
'''


def run(args: argparse.Namespace) -> int:
    document = read_openapi(args.from_openapi) if args.from_openapi else None
    name = args.name
    if name is None and document is not None:
        name = str((document.get("info") or {}).get("title") or "") or None
    text = skeleton(name or "TODO: your product's name", document)
    if str(args.out) == "-":
        print(text, end="")
        return 0
    out: Path = args.out
    if out.exists() and not args.force:
        raise ConformanceError(f"{out} exists: choose another --out, or --force to overwrite")
    out.write_text(text, encoding="utf-8")
    proposals = propose(document) if document is not None else {}
    print(f"wrote {out}")
    for action, route in proposals.items():
        print(f"  proposed {action:<12} {route.method} {route.path}  (to be confirmed)")
    print(f"next: replace every TODO, then `zeropools-conformance doctor --partner {out}` "
          "(docs/ONBOARDING.md)")
    return 0
