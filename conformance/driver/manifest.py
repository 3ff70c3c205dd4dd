"""The partner manifest: how to start or reach a partner and drive it, validated by a schema.

TOML (or YAML) is read, validated against ``conformance/schemas/manifest.schema.json``
with every error naming the field (a JSON pointer) and what was expected, then turned
into frozen records the driver and the scenarios read. docs/MANIFEST.md documents it.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from conformance.errors import ManifestError
from conformance.results import Waiver

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "manifest.schema.json"

REQUIRED_ACTIONS = ("create_quote", "accept", "get_order", "ledger")
OPTIONAL_ACTIONS = ("balance", "alerts", "reconcile", "login", "support_packet")
PLACEHOLDERS = frozenset(
    {"amount", "currency", "network", "dest_address", "pool_id", "side", "account", "order_ref"}
)
ANSWER_FIELDS = frozenset(
    {
        "order_ref",
        "quote_id",
        "transact_id",
        "status",
        "expires_at",
        "request_id",
        "event_id",
        "balance",
        "error",
    }
)
ITEM_FIELDS = frozenset(
    {
        "amount",
        "kind",
        "transact_id",
        "quote_id",
        "order_ref",
        "event_id",
        "currency",
        "status",
        "account",
        "exponent",
    }
)
STEP_ACTIONS = ("fill", "select", "check", "click", "wait_for")
STATE_CATEGORIES = ("open", "pending", "done", "refused", "unavailable", "failed", "returned")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvNames:
    """The environment variable names the partner reads its provider settings from."""

    base_url: str
    secret_key: str
    webhook_secret: str
    port: str
    publishable_key: str | None = None
    host: str | None = None
    signature_scheme: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StartSpec:
    """How the harness starts the partner as a subprocess."""

    command: tuple[str, ...]
    cwd: Path
    env: EnvNames
    extra_env: Mapping[str, str] = field(default_factory=dict)
    startup_timeout_s: float = 20.0
    shutdown_timeout_s: float = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialsEnv:
    """For an already-running partner: harness env vars holding the keys it was given."""

    secret_key: str
    webhook_secret: str
    publishable_key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerSpec:
    """How the partner's ledger writes money, and which lines of a double-entry book are the
    customer's."""

    amount: str = "decimal"  # decimal | minor_units
    exponent: int | None = None  # minor_units: fixed exponent (else read from item.exponent)
    customer_accounts: tuple[str, ...] = ()  # double-entry: item.account values of the customer

    @property
    def double_entry(self) -> bool:
        return bool(self.customer_accounts)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderSpec:
    """What the harness cannot guess about how the partner uses the provider."""

    pool_id: str
    side: str
    network: str
    signature_scheme: str
    timeout_s: float
    poll_interval_s: float
    ledger_amount: str
    reversal: str  # negative_amount | kind
    reversal_kind: str | None
    states: Mapping[str, tuple[str, ...]]
    alert_threshold_s: float | None = None
    # A partner that queues its accept: how long its worker may take to send the transact.
    execution_delay_s: float = 0.0
    ledger: LedgerSpec = LedgerSpec()

    def category(self, status: object) -> str | None:
        """The category (pending, done, refused, …) of a partner order state name, if any."""
        if not isinstance(status, str):
            return None
        for name, values in self.states.items():
            if status in values:
                return name
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionSpec:
    """One partner action as a templated HTTP call with JSON-pointer mappings of the answer."""

    name: str
    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None
    expect: Mapping[str, str] = field(default_factory=dict)
    items: str | None = None  # list actions: pointer to the array
    item: Mapping[str, str] = field(default_factory=dict)  # pointers inside one entry
    yields: Mapping[str, str] = field(default_factory=dict)  # login: values for the account


@dataclass(frozen=True, slots=True, kw_only=True)
class PageStep:
    """One step on the partner's page: fill, select, check, click or wait_for a selector."""

    action: str
    selector: str
    value: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSpec:
    """The partner's quote page and selectors, for the browser scenarios."""

    quote_page: str
    selectors: Mapping[str, str]
    login: tuple[PageStep, ...] = ()  # run right after the page loads
    steps: tuple[PageStep, ...] = ()  # run after amount/network/address, before get_quote
    cookies: Mapping[str, str] = field(default_factory=dict)  # set before the page loads
    local_storage: Mapping[str, str] = field(default_factory=dict)
    # the page's own words for "no quote can be had now" (any language), beside the built-in
    # English wording of checks.screens
    unavailable_text: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ArtefactsSpec:
    """Client artefacts to scan: pages to crawl and file globs (relative to the manifest)."""

    pages: tuple[str, ...] = ()
    files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LogsSpec:
    """Log files the partner writes (globs relative to the manifest), for the log scenarios."""

    files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    """A validated partner manifest."""

    path: Path
    name: str
    provider: ProviderSpec
    actions: Mapping[str, ActionSpec]
    start: StartSpec | None = None
    url: str | None = None
    credentials_env: CredentialsEnv | None = None
    simulator_port: int | None = None
    health_path: str = "/"
    webhook_path: str | None = None
    account_headers: Mapping[str, str] = field(default_factory=dict)
    account_query: Mapping[str, str] = field(default_factory=dict)
    account_cookies: Mapping[str, str] = field(default_factory=dict)
    adapter: str | None = None
    adapter_path: Path | None = None
    web: WebSpec | None = None
    artefacts: ArtefactsSpec | None = None
    logs: LogsSpec | None = None
    waivers: tuple[Waiver, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def directory(self) -> Path:
        return self.path.parent

    def action(self, name: str) -> ActionSpec | None:
        return self.actions.get(name)

    @property
    def login_yields(self) -> frozenset[str]:
        """Placeholder names the login action yields for an account (``token``…)."""
        login = self.actions.get("login")
        return frozenset(login.yields) if login is not None else frozenset()

    def with_extra_env(self, overrides: Mapping[str, str]) -> Manifest:
        """A copy whose started partner gets extra environment (e.g. a test's switches)."""
        if not overrides or self.start is None:
            return self
        merged = {**self.start.extra_env, **overrides}
        return replace(self, start=replace(self.start, extra_env=merged))


@cache
def schema() -> dict[str, Any]:
    """The manifest JSON Schema shipped in the package."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def load_manifest(path: str | Path) -> Manifest:
    """Read, validate and parse a manifest file; a ManifestError names the bad field."""
    manifest_path = Path(path).resolve()
    if not manifest_path.is_file():
        raise ManifestError(f"manifest file not found: {manifest_path}", field="")
    text = manifest_path.read_text(encoding="utf-8")
    data = parse_text(text, suffix=manifest_path.suffix.lower())
    return manifest_from_data(data, path=manifest_path)


def parse_text(text: str, *, suffix: str = ".toml") -> dict[str, Any]:
    """Parse TOML (default) or YAML text into a mapping, with a clear error on bad syntax."""
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ManifestError(f"not valid YAML: {exc}") from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ManifestError(f"not valid TOML: {exc}") from None
    if not isinstance(data, dict):
        raise ManifestError("expected a table (mapping) at the top level", field="/")
    return data


def validation_errors(data: Any) -> list[tuple[str, str]]:
    """Every schema violation as (JSON pointer of the field, what was expected)."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema())
    found: list[tuple[str, str]] = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        found.extend(_describe(error))
    return found


def _pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts) or "/"


def _describe(error: Any) -> list[tuple[str, str]]:
    where = list(error.path)
    validator, value, instance = error.validator, error.validator_value, error.instance
    if validator == "required":
        missing = [name for name in value if isinstance(instance, dict) and name not in instance]
        return [(_pointer([*where, name]), "is required") for name in missing]
    if validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        extra = [k for k in instance if k not in error.schema.get("properties", {})]
        hint = f" (expected one of: {', '.join(known)})" if known else ""
        return [(_pointer([*where, k]), f"unknown field{hint}") for k in extra]
    if validator == "type":
        return [(_pointer(where), f"expected {value}, got {type(instance).__name__} {instance!r}")]
    if validator == "enum":
        return [(_pointer(where), f"expected one of {value}, got {instance!r}")]
    if validator == "pattern":
        return [(_pointer(where), f"expected a value matching {value!r}, got {instance!r}")]
    if validator in ("minLength", "minItems"):
        return [(_pointer(where), f"must not be empty (minimum {value})")]
    if validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return [(_pointer(where), f"expected {validator} {value}, got {instance!r}")]
    return [(_pointer(where), str(error.message))]


def format_problems(problems: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The problems deduplicated and sorted by field (a JSON pointer), then by message."""
    return tuple(sorted(set(problems)))


def _fail(problems: list[tuple[str, str]]) -> None:
    raise_problems(problems)


def raise_problems(problems: Iterable[tuple[str, str]]) -> None:
    """Raise one ManifestError listing every problem once, one per line, sorted by field."""
    unique = format_problems(problems)
    if not unique:
        return
    if len(unique) == 1:
        message = f"invalid manifest: {unique[0][0]}: {unique[0][1]}"
    else:
        lines = "\n".join(f"  {f}: {m}" for f, m in unique)
        message = f"invalid manifest ({len(unique)} problems):\n{lines}"
    error = ManifestError(message)
    error.field = unique[0][0]
    raise error


def manifest_from_data(data: Mapping[str, Any], *, path: Path) -> Manifest:
    """Validate a parsed manifest and build the records; relative paths resolve from ``path``."""
    data = _waiver_dates_as_text(data)
    _fail(validation_errors(data))
    _fail(_semantic_errors(data))
    base = path.parent
    partner = data["partner"]
    provider = data["provider"]
    states = {k: tuple(v) for k, v in provider["states"].items()}
    start = None
    if "start" in data:
        s = data["start"]
        e = s["env"]
        start = StartSpec(
            command=tuple(s["command"]),
            cwd=(base / s.get("cwd", ".")).resolve(),
            env=EnvNames(
                base_url=e["base_url"],
                secret_key=e["secret_key"],
                webhook_secret=e["webhook_secret"],
                port=e["port"],
                publishable_key=e.get("publishable_key"),
                host=e.get("host"),
                signature_scheme=e.get("signature_scheme"),
            ),
            extra_env=dict(s.get("extra_env", {})),
            startup_timeout_s=float(s.get("startup_timeout_seconds", 20)),
            shutdown_timeout_s=float(s.get("shutdown_timeout_seconds", 5)),
        )
    creds = None
    if "credentials_env" in partner:
        c = partner["credentials_env"]
        creds = CredentialsEnv(
            secret_key=c["secret_key"],
            webhook_secret=c["webhook_secret"],
            publishable_key=c.get("publishable_key"),
        )
    actions = {name: _action(name, spec) for name, spec in data["actions"].items()}
    adapter = data.get("adapter")
    web = data.get("web")
    artefacts = data.get("artefacts")
    return Manifest(
        path=path,
        name=partner["name"],
        start=start,
        url=partner.get("url", "").rstrip("/") or None,
        credentials_env=creds,
        simulator_port=partner.get("simulator_port"),
        health_path=partner.get("health_path", "/"),
        webhook_path=partner.get("webhook_path"),
        provider=ProviderSpec(
            pool_id=provider.get("pool_id", "EUR-USDT"),
            side=provider.get("side", "on_ramp"),
            network=provider.get("network", "tron"),
            signature_scheme=provider.get("signature_scheme", "0bit"),
            timeout_s=float(provider["timeout_seconds"]),
            poll_interval_s=float(provider["poll_interval_seconds"]),
            ledger_amount=provider["ledger_amount"],
            reversal=provider["reversal"]["representation"],
            reversal_kind=provider["reversal"].get("kind"),
            states=states,
            alert_threshold_s=(
                float(provider["alert_threshold_seconds"])
                if "alert_threshold_seconds" in provider
                else None
            ),
            execution_delay_s=float(provider.get("execution_delay_seconds", 0)),
            ledger=_ledger(provider.get("ledger", {})),
        ),
        actions=actions,
        account_headers=dict(data.get("accounts", {}).get("headers", {})),
        account_query=dict(data.get("accounts", {}).get("query", {})),
        account_cookies=dict(data.get("accounts", {}).get("cookies", {})),
        adapter=adapter["class"] if adapter else None,
        adapter_path=(base / adapter["path"]).resolve() if adapter and "path" in adapter else None,
        web=_web(web) if web else None,
        artefacts=ArtefactsSpec(
            pages=tuple(artefacts.get("pages", ())), files=tuple(artefacts.get("files", ()))
        )
        if artefacts
        else None,
        logs=LogsSpec(files=tuple(data["logs"].get("files", ()))) if "logs" in data else None,
        waivers=tuple(
            Waiver(
                target=w["target"],
                reason=w["reason"],
                owner=w.get("owner"),
                expires=date.fromisoformat(w["expires"]) if "expires" in w else None,
            )
            for w in data.get("waivers", ())
        ),
        raw=data,
    )


def _ledger(spec: Mapping[str, Any]) -> LedgerSpec:
    return LedgerSpec(
        amount=spec.get("amount", "decimal"),
        exponent=spec.get("exponent"),
        customer_accounts=tuple(spec.get("customer_accounts", ())),
    )


def _steps(specs: Iterable[Mapping[str, Any]]) -> tuple[PageStep, ...]:
    return tuple(
        PageStep(action=s["action"], selector=s["selector"], value=s.get("value")) for s in specs
    )


def _web(web: Mapping[str, Any]) -> WebSpec:
    return WebSpec(
        quote_page=web["quote_page"],
        selectors=dict(web["selectors"]),
        login=_steps(web.get("login", ())),
        steps=_steps(web.get("steps", ())),
        cookies=dict(web.get("cookies", {})),
        local_storage=dict(web.get("local_storage", {})),
        unavailable_text=tuple(web.get("unavailable_text", ())),
    )


def _action(name: str, spec: Mapping[str, Any]) -> ActionSpec:
    return ActionSpec(
        name=name,
        method=spec["method"],
        path=spec["path"],
        headers=dict(spec.get("headers", {})),
        query=dict(spec.get("query", {})),
        body=spec.get("body"),
        expect=dict(spec.get("expect", {})),
        items=spec.get("items"),
        item=dict(spec.get("item", {})),
        yields=dict(spec.get("yields", {})),
    )


def placeholders_in(value: Any) -> set[str]:
    """Every ``{name}`` used in a template value (strings, lists, tables), ``{{`` escaped."""
    if isinstance(value, str):
        return set(_PLACEHOLDER.findall(value.replace("{{", "").replace("}}", "")))
    if isinstance(value, Mapping):
        return set().union(*(placeholders_in(v) for v in value.values()), set())
    if isinstance(value, list | tuple):
        return set().union(*(placeholders_in(v) for v in value), set())
    return set()


def _unknown_placeholders(where: str, value: Any, allowed: Iterable[str]) -> list[tuple[str, str]]:
    names = sorted(set(allowed))
    return [
        (where, f"unknown placeholder {{{u}}} (expected one of: {', '.join(names)})")
        for u in sorted(placeholders_in(value) - set(names))
    ]


def _semantic_errors(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the schema cannot say: start xor url, placeholders, required answer pointers."""
    problems: list[tuple[str, str]] = []
    partner = data["partner"]
    if "start" in data and "url" in partner:
        problems.append(("/partner/url", "give either [start] or partner.url, not both"))
    if "start" not in data and "url" not in partner:
        problems.append(("/start", "is required (or partner.url for a partner already running)"))
    if "url" in partner and "credentials_env" not in partner:
        problems.append(("/partner/credentials_env", "is required with partner.url"))
    has_adapter = "adapter" in data
    actions = data["actions"]
    yields = set(actions.get("login", {}).get("yields", {}))
    clash = sorted(yields & PLACEHOLDERS)
    if clash:
        problems.append(
            ("/actions/login/yields", f"{', '.join(clash)} is a built-in placeholder name")
        )
    known = PLACEHOLDERS | yields
    for name, spec in actions.items():
        where = f"/actions/{name}"
        # A login signs one account in, before any order exists: only {account} is known.
        allowed = frozenset({"account"}) if name == "login" else known
        for part in ("path", "headers", "query", "body"):
            problems.extend(_unknown_placeholders(f"{where}/{part}", spec.get(part, ""), allowed))
        for key in spec.get("expect", {}):
            if key not in ANSWER_FIELDS:
                problems.append(
                    (
                        f"{where}/expect/{key}",
                        "unknown answer field "
                        f"(expected one of: {', '.join(sorted(ANSWER_FIELDS))})",
                    )
                )
        for key in spec.get("item", {}):
            if key not in ITEM_FIELDS:
                problems.append(
                    (
                        f"{where}/item/{key}",
                        f"unknown entry field (expected one of: {', '.join(sorted(ITEM_FIELDS))})",
                    )
                )
        if name in ("accept", "get_order") and not has_adapter:
            used = set().union(
                *(placeholders_in(spec.get(p, "")) for p in ("path", "query", "body"))
            )
            if "order_ref" not in used:
                problems.append(
                    (f"{where}/path", "must use {order_ref} in its path, query or body")
                )
    if not has_adapter:
        if "order_ref" not in actions["create_quote"].get("expect", {}):
            problems.append(("/actions/create_quote/expect/order_ref", "is required"))
        if "status" not in actions["get_order"].get("expect", {}):
            problems.append(("/actions/get_order/expect/status", "is required"))
        for list_name in ("ledger",):
            item = actions[list_name].get("item", {})
            if "amount" not in item:
                problems.append((f"/actions/{list_name}/item/amount", "is required"))
            if not {"transact_id", "quote_id", "order_ref"} & set(item):
                problems.append(
                    (
                        f"/actions/{list_name}/item",
                        "needs one of transact_id, quote_id or order_ref to match postings",
                    )
                )
    for part in ("headers", "query", "cookies"):
        where = f"/accounts/{part}"
        problems.extend(_unknown_placeholders(where, data.get("accounts", {}).get(part, {}), known))
    web = data.get("web", {})
    for part in ("cookies", "local_storage", "login", "steps"):
        problems.extend(_unknown_placeholders(f"/web/{part}", web.get(part, {}), known))
    ledger = data["provider"].get("ledger", {})
    item = actions["ledger"].get("item", {})
    minor = ledger.get("amount") == "minor_units"
    if minor and "exponent" not in ledger and "exponent" not in item:
        problems.append(
            (
                "/provider/ledger/exponent",
                "is required with amount = 'minor_units' (or map actions.ledger.item.exponent)",
            )
        )
    if ledger.get("customer_accounts") and "account" not in item:
        problems.append(
            ("/actions/ledger/item/account", "is required with provider.ledger.customer_accounts")
        )
    reversal = data["provider"]["reversal"]
    if reversal["representation"] == "kind" and "kind" not in actions["ledger"].get("item", {}):
        problems.append(
            ("/actions/ledger/item/kind", "is required when provider.reversal is 'kind'")
        )
    seen: dict[str, str] = {}
    for cat, names in data["provider"]["states"].items():
        for n in names:
            if n in seen:
                problems.append(
                    (f"/provider/states/{cat}", f"state {n!r} is already listed under {seen[n]!r}")
                )
            seen[n] = cat
    from conformance.catalogue import QUESTIONS_BY_ID, SCENARIOS_BY_ID

    for i, waiver in enumerate(data.get("waivers", ())):
        target = waiver["target"]
        if target not in QUESTIONS_BY_ID and target not in SCENARIOS_BY_ID:
            problems.append((f"/waivers/{i}/target", f"unknown question or scenario id {target!r}"))
        if "expires" in waiver:
            try:
                date.fromisoformat(waiver["expires"])
            except ValueError:
                problems.append((f"/waivers/{i}/expires", f"not a date: {waiver['expires']!r}"))
    return problems


def _waiver_dates_as_text(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """TOML and YAML read ``expires = 2026-12-31`` as a date; the schema checks the text form."""
    waivers = data.get("waivers")
    if not isinstance(waivers, list):
        return data
    fixed = [
        {**w, "expires": w["expires"].isoformat()}
        if isinstance(w, dict) and isinstance(w.get("expires"), date)
        and not isinstance(w.get("expires"), datetime)
        else w
        for w in waivers
    ]
    return {**data, "waivers": fixed}
