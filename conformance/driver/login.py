"""Accounts that sign in: the manifest's ``login`` action, run once per account, remembered.

A partner whose API needs its own login declares ``[actions.login]`` with ``yields``
(JSON pointers into its answer, e.g. ``token = "/token"``). Before an account's first
action the harness calls it; what it yields fills that account's templates (``{token}`` in
``[accounts]``, other actions and ``[web]``) and the cookies its answer sets are sent with
every later request of that account, and only that account.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from conformance.driver.manifest import ActionSpec
from conformance.errors import PartnerGarbage

MISSING = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSession:
    """What signing an account in gave: template values and cookies."""

    account: str
    values: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)


# (login spec, account's template variables) -> the answer to the login request
LoginCall = Callable[[ActionSpec, Mapping[str, str]], httpx.Response]
Resolve = Callable[[object, str], object]


class AccountSessions:
    """Signs each account in once (thread-safe) and keeps what the login yielded."""

    def __init__(self, spec: ActionSpec | None, call: LoginCall, resolve: Resolve) -> None:
        self.spec = spec
        self._call = call
        self._resolve = resolve
        self._sessions: dict[str, AccountSession] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.spec is not None

    def session(self, account: str, variables: Mapping[str, str]) -> AccountSession:
        """The account's session, signing it in on first use."""
        if self.spec is None:
            return AccountSession(account=account)
        with self._lock:
            known = self._sessions.get(account)
            if known is not None:
                return known
            session = self._sign_in(self.spec, account, variables)
            self._sessions[account] = session
            return session

    def _sign_in(
        self, spec: ActionSpec, account: str, variables: Mapping[str, str]
    ) -> AccountSession:
        response = self._call(spec, {**variables, "account": account})
        if not 200 <= response.status_code < 300:
            raise PartnerGarbage(
                f"login for account {account} answered HTTP {response.status_code}: "
                f"{response.text[:200]!r}"
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        values: dict[str, str] = {}
        for name, pointer in spec.yields.items():
            value = self._resolve(body, pointer) if body is not None else MISSING
            if value is MISSING or value is None or value == "" or isinstance(value, dict | list):
                raise PartnerGarbage(
                    f"login for account {account}: /actions/login/yields/{name} read nothing "
                    f"at {pointer!r}; the answer was {response.text[:200]!r}"
                )
            values[name] = str(value)
        cookies = {name: value for name, value in response.cookies.items()}
        return AccountSession(account=account, values=values, cookies=cookies)
