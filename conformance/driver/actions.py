"""Partner actions: templated HTTP calls with JSON-pointer mappings, or an adapter class.

The driver never knows a partner's routes or field names: the manifest's ``[actions.*]``
tables say how to call each action and where the answer keeps each id. A partner that
needs code supplies an adapter (``[adapter] class = "module:Class"``) implementing
:class:`PartnerAdapter` instead.
"""

from __future__ import annotations

import importlib
import json
import secrets
import sys
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

import httpx

from conformance.driver.login import MISSING, AccountSessions
from conformance.driver.manifest import ActionSpec, Manifest
from conformance.errors import (
    ManifestError,
    PartnerError,
    PartnerGarbage,
    PartnerTimeout,
    PartnerUnreachable,
)
from conformance.redact import Redactor

# How long a partner that dropped a connection has to be seen exiting to count as crashed.
DROP_GRACE_S = 0.5
# A partner that failed this many calls in a row (timeouts, refused connections) and then
# its health probe is declared dead: every later call fails at once (the run ends quickly).
DEAD_AFTER_FAILURES = 2
# A partner whose health path answers but whose actions time out this many times in a row
# is taken for dead too (each timeout costs a whole per-call bound).
DEAD_AFTER_TIMEOUTS = 3
HEALTH_PROBE_S = 2.0

_MISSING = object()
MISSING_VALUE = _MISSING  # what resolve_pointer returns where nothing is
DROPPED = 0  # the status code of an answer the partner never gave (connection dropped)


def render(template: str, variables: Mapping[str, str], *, quote_values: bool = False) -> str:
    """Fill ``{name}`` placeholders; ``{{`` and ``}}`` are literal braces."""
    out: list[str] = []
    i = 0
    while i < len(template):
        ch = template[i]
        if template.startswith("{{", i) or template.startswith("}}", i):
            out.append(ch)
            i += 2
            continue
        if ch == "{":
            end = template.index("}", i)
            name = template[i + 1 : end]
            if name not in variables:
                raise ManifestError(f"placeholder {{{name}}} has no value for this action")
            value = str(variables[name])
            out.append(urllib.parse.quote(value, safe="") if quote_values else value)
            i = end + 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def render_value(value: Any, variables: Mapping[str, str]) -> Any:
    """Render a TOML body template: strings are filled, tables and lists recursed."""
    if isinstance(value, str):
        return render(value, variables)
    if isinstance(value, Mapping):
        return {render(str(k), variables): render_value(v, variables) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render_value(v, variables) for v in value]
    return value


def resolve_pointer(document: Any, pointer: str) -> Any:
    """RFC 6901: the value at ``pointer``, or the module's missing marker."""
    if pointer == "":
        return document
    current = document
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(current, Mapping) and token in current:
            current = current[token]
        elif isinstance(current, list) and token.isdigit() and int(token) < len(current):
            current = current[int(token)]
        else:
            return _MISSING
    return current


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """What the partner answered to one action, with the manifest's fields picked out."""

    action: str
    method: str
    url: str
    status_code: int
    body: Any  # parsed JSON, or None when the body was not JSON
    text: str
    content_type: str
    elapsed_s: float
    fields: Mapping[str, Any] = field(default_factory=dict)
    items: tuple[Mapping[str, Any], ...] = ()

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def refused(self) -> bool:
        return 400 <= self.status_code < 500

    @property
    def server_error(self) -> bool:
        """A 5xx, or a connection the partner dropped without answering (``dropped``)."""
        return self.status_code >= 500 or self.dropped

    @property
    def dropped(self) -> bool:
        return self.status_code == DROPPED

    @property
    def is_json(self) -> bool:
        return self.body is not None

    def get(self, name: str) -> Any:
        """A mapped answer field (``order_ref``, ``status``, …) or None."""
        return self.fields.get(name)

    def require(self, name: str) -> Any:
        """A mapped field the harness needs; garbage (a harness error) when absent."""
        value = self.fields.get(name)
        if value is None or value == "":
            raise PartnerGarbage(
                f"{self.action} answered HTTP {self.status_code} without {name!r} at the "
                f"manifest's pointer ({self.content_type or 'no content type'}): "
                f"{self.text[:200]!r}"
            )
        return value

    def summary(self) -> str:
        shown = {k: v for k, v in self.fields.items() if v is not None}
        return f"{self.method} {self.url} → {self.status_code} {json.dumps(shown, default=str)}"


@runtime_checkable
class PartnerAdapter(Protocol):
    """The escape hatch: code that performs the partner's actions and maps the answers."""

    def call(self, action: str, variables: Mapping[str, str]) -> Answer: ...


class HttpActions:
    """The default adapter: each action is the manifest's templated HTTP call."""

    def __init__(self, manifest: Manifest, base_url: str, *, timeout_s: float) -> None:
        self.manifest = manifest
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)
        self.sessions = AccountSessions(manifest.action("login"), self._login, _resolve)
        # The account that ops actions (alerts, reconcile) sign in as, when login is needed.
        self.ops_account = "ops_" + secrets.token_hex(4)

    def close(self) -> None:
        self._client.close()

    def session_values(self, account: str) -> dict[str, str]:
        """What the login action yielded for ``account`` (signing it in on first use)."""
        if not self.sessions.enabled:
            return {}
        return dict(self.sessions.session(account, {"account": account}).values)

    def session_cookies(self, account: str) -> dict[str, str]:
        """The cookies the login action set for ``account`` (signing it in on first use)."""
        if not self.sessions.enabled:
            return {}
        return dict(self.sessions.session(account, {"account": account}).cookies)

    def build_request(self, spec: ActionSpec, variables: Mapping[str, str]) -> dict[str, Any]:
        values = dict(variables)
        cookies: dict[str, str] = {}
        headers: dict[str, str] = {}
        query: dict[str, str] = {}
        if spec.name != "login":
            # The login is what gives an account its identity: [accounts] applies after it.
            if self.sessions.enabled:
                # Sign the account in first (once): its yields fill the templates, and the
                # cookies it set go along.
                values["account"] = values.get("account") or self.ops_account
                session = self.sessions.session(values["account"], values)
                values.update(session.values)
                cookies.update(session.cookies)
            headers = {k: render(v, values) for k, v in self.manifest.account_headers.items()}
            query = {k: render(v, values) for k, v in self.manifest.account_query.items()}
            cookies.update(
                {k: render(v, values) for k, v in self.manifest.account_cookies.items()}
            )
        headers.update({k: render(v, values) for k, v in spec.headers.items()})
        query.update({k: render(v, values) for k, v in spec.query.items()})
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        request: dict[str, Any] = {
            "method": spec.method,
            "url": self.base_url + render(spec.path, values, quote_values=True),
            "headers": headers,
            "params": query,
        }
        if spec.body is not None:
            request["json"] = render_value(spec.body, values)
        return request

    def _login(self, spec: ActionSpec, variables: Mapping[str, str]) -> httpx.Response:
        response = self._client.request(**self.build_request(spec, variables))
        self._client.cookies.clear()  # cookies belong to one account: kept by the session
        return response

    def spec(self, action: str) -> ActionSpec:
        spec = self.manifest.action(action)
        if spec is None:
            raise ManifestError(
                f"the manifest declares no {action!r} action", field=f"/actions/{action}"
            )
        return spec

    def call(self, action: str, variables: Mapping[str, str]) -> Answer:
        spec = self.spec(action)
        request = self.build_request(spec, variables)
        started = time.monotonic()
        response = self._client.request(**request)
        self._client.cookies.clear()  # never carry one account's cookies to another
        return to_answer(spec, request, response, time.monotonic() - started)

    def raw(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A raw request to the partner (bad-input scenarios send bodies no template makes)."""
        response = self._client.request(method, url, **kwargs)
        self._client.cookies.clear()
        return response


def _resolve(document: object, pointer: str) -> object:
    value = resolve_pointer(document, pointer)
    return MISSING if value is _MISSING else value


def read_fields(expect: Mapping[str, str], text: str) -> tuple[Any, dict[str, Any]]:
    """An answer's JSON body (None when it is not JSON; numbers read exactly as Decimal) and
    the manifest's fields picked from it by their pointers (None where a pointer reads nothing)."""
    body: Any = None
    if text.strip():
        try:
            body = json.loads(text, parse_float=Decimal)
        except ValueError:
            body = None
    fields: dict[str, Any] = {}
    if body is not None:
        for name, pointer in expect.items():
            value = resolve_pointer(body, pointer)
            fields[name] = None if value is _MISSING else value
    return body, fields


def to_answer(
    spec: ActionSpec, request: Mapping[str, Any], response: httpx.Response, elapsed: float
) -> Answer:
    """Parse a response and pick out the manifest's fields; non-JSON bodies keep ``body=None``."""
    content_type = response.headers.get("content-type", "")
    text = response.text
    body, fields = read_fields(spec.expect, text)
    items: list[Mapping[str, Any]] = []
    if body is not None:
        if spec.items is not None:
            array = resolve_pointer(body, spec.items)
            if isinstance(array, list):
                for entry in array:
                    picked = {}
                    for name, pointer in spec.item.items():
                        value = resolve_pointer(entry, pointer)
                        picked[name] = None if value is _MISSING else value
                    items.append(picked)
            elif 200 <= response.status_code < 300:
                raise PartnerGarbage(
                    f"{spec.name} answered HTTP {response.status_code} without an array at "
                    f"{spec.items!r}: {text[:200]!r}"
                )
    return Answer(
        action=spec.name,
        method=str(request["method"]),
        url=str(response.request.url),
        status_code=response.status_code,
        body=body,
        text=text,
        content_type=content_type,
        elapsed_s=elapsed,
        fields=fields,
        items=tuple(items),
    )


def load_adapter(manifest: Manifest, base_url: str) -> PartnerAdapter:
    """Instantiate the manifest's adapter class with (manifest, base_url)."""
    assert manifest.adapter is not None
    module_name, _, class_name = manifest.adapter.partition(":")
    if manifest.adapter_path is not None and str(manifest.adapter_path) not in sys.path:
        sys.path.insert(0, str(manifest.adapter_path))
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ManifestError(
            f"cannot load adapter {manifest.adapter!r}: {exc}", field="/adapter/class"
        ) from None
    adapter = cls(manifest, base_url)
    if not isinstance(adapter, PartnerAdapter):
        raise ManifestError(
            f"adapter {manifest.adapter!r} has no call(action, variables) method",
            field="/adapter/class",
        )
    return adapter


class Actions:
    """Calls partner actions, turning transport failures into harness errors that say why."""

    def __init__(
        self,
        manifest: Manifest,
        base_url: str,
        *,
        redactor: Redactor,
        liveness: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.manifest = manifest
        self.base_url = base_url.rstrip("/")
        self.redactor = redactor
        self.liveness = liveness
        # Bounded: an accept may wait for the partner's provider timeout and one retry.
        self.timeout_s = min(120.0, 10.0 + 3 * manifest.provider.timeout_s)
        self.http = HttpActions(manifest, base_url, timeout_s=self.timeout_s)
        self.adapter: PartnerAdapter = (
            load_adapter(manifest, base_url) if manifest.adapter else self.http
        )
        self._failures = 0
        self._timeouts = 0
        self.dead: str | None = None
        # Every order reference the partner gave this session (to scope one-book ledgers).
        self.order_refs: set[str] = set()  # why the partner is taken for dead, once it is

    def gone(self) -> str | None:
        """Why the partner cannot be driven any more (exited, or stopped answering), if so."""
        return self.liveness() or self.dead

    def _answered(self) -> None:
        self._failures = self._timeouts = 0

    def _probe_health(self) -> bool:
        try:
            response = httpx.get(
                self.base_url + self.manifest.health_path, timeout=HEALTH_PROBE_S
            )
        except httpx.HTTPError:
            return False
        return 200 <= response.status_code < 300

    def has(self, action: str) -> bool:
        return self.manifest.adapter is not None or self.manifest.action(action) is not None

    def close(self) -> None:
        self.http.close()

    def _transport_error(self, action: str, exc: Exception) -> PartnerError:
        dead = self.liveness()
        if dead:
            return PartnerUnreachable(f"{action}: the partner is not running ({dead})")
        if isinstance(exc, httpx.TimeoutException):
            error: PartnerError = PartnerTimeout(
                f"{action}: no answer within {self.timeout_s:.0f} s"
            )
        else:
            error = PartnerUnreachable(
                f"{action}: {type(exc).__name__}: {self.redactor.text(str(exc))}"
            )
        self._failures += 1
        self._timeouts = self._timeouts + 1 if isinstance(error, PartnerTimeout) else 0
        if self._timeouts >= DEAD_AFTER_TIMEOUTS:
            self.dead = f"{self._timeouts} calls in a row timed out (last: {error})"
        elif self._failures >= DEAD_AFTER_FAILURES and not self._probe_health():
            self.dead = (
                f"{self._failures} calls in a row failed (last: {error}) and "
                f"GET {self.manifest.health_path} did not answer 2xx within {HEALTH_PROBE_S:g} s"
            )
        return error

    def _dropped(self, action: str, exc: httpx.HTTPError) -> Answer:
        """The partner accepted the request, then closed the connection without an answer.

        While its process still runs this is the partner failing that one request (judged
        like a 5xx by scenarios); a process that died is a harness error instead.
        """
        # A crashing process drops its connections just before it exits: watch it, bounded.
        deadline = time.monotonic() + DROP_GRACE_S
        while not (dead := self.liveness()) and time.monotonic() < deadline:
            time.sleep(0.05)
        if dead:
            raise PartnerUnreachable(f"{action}: the partner is not running ({dead})")
        text = f"connection dropped without an answer ({type(exc).__name__})"
        return Answer(
            action=action,
            method="",
            url=self.base_url,
            status_code=DROPPED,
            body=None,
            text=text,
            content_type="",
            elapsed_s=0.0,
        )

    def call(self, action: str, variables: Mapping[str, str]) -> Answer:
        dead = self.gone()
        if dead:
            raise PartnerUnreachable(f"{action}: the partner is not running ({dead})")
        try:
            answer = self.adapter.call(action, variables)
            self._answered()
            return answer
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError) as exc:
            return self._dropped(action, exc)
        except httpx.HTTPError as exc:
            raise self._transport_error(action, exc) from None
