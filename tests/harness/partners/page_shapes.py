"""Quote pages of other shapes than the reference partner's, for tests/harness/test_page_shapes.py.

A tiny Starlette app that quotes at a real simulator with its secret key, served on
127.0.0.1 in a thread by :class:`PageServer`. Two pages:

- ``/shapes``: a sign-in form first (user, password); the quote form appears once signed in
  (kept in sessionStorage, so a reload stays signed in), with a required customer name, a
  pool select (labels differ from values) and a terms checkbox: get-quote stays disabled
  until all three are given.
- ``/seeded``: opened as an account already signed in: the server answers 401 without a
  valid ``sid`` cookie, and the page's first script reads its token from localStorage
  (``auth``); the quote call needs both.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

POOL = "EUR-USDT"
NETWORKS = {"tron": "TRON (TRC-20)", "ethereum": "Ethereum (ERC-20)"}

_SCRIPT = """
const $ = id => document.getElementById(id);
const show = text => { $("status").textContent = text; };
async function call(path, body, token) {
  const headers = {"content-type": "application/json"};
  if (token) headers["authorization"] = "Bearer " + token;
  const res = await fetch(path, {method: "POST", headers, body: JSON.stringify(body)});
  return [res.status, await res.json()];
}
async function quote(path, body, token) {
  show("quoting");
  const [status, answer] = await call(path, body, token);
  if (status !== 200) { show("error: " + (answer.error || status)); return; }
  show(answer.status);
  $("accept").disabled = false;
}
"""

SHAPES = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Osprey — sign in and buy</title></head>
<body>
  <form id="login-form">
    <label>User <input id="user" autocomplete="username"></label>
    <label>Password <input id="password" type="password"></label>
    <button id="sign-in" type="submit">Sign in</button>
  </form>
  <form id="quote-form" hidden>
    <label>Amount <input id="amount" required></label>
    <label>Network <select id="network"></select></label>
    <label>Wallet <input id="dest-address" required></label>
    <label>Your name <input id="customer-name" required></label>
    <label>Pool <select id="pool" required>
      <option value="">Choose a pool</option>
      <option value="GBP-USDT">Pound to Tether</option>
      <option value="EUR-USDT">Euro to Tether</option>
    </select></label>
    <label><input type="checkbox" id="terms" required> I accept the terms</label>
    <button id="get-quote" type="submit" disabled>Get quote</button>
  </form>
  <button id="accept" type="button" disabled>Accept</button>
  <div id="status" role="status">signed out</div>
  <script>
  SCRIPT
  let token = null;
  const ready = () => $("customer-name").value.trim() !== "" && $("terms").checked
    && $("pool").value !== "";
  for (const id of ["customer-name", "terms", "pool"]) {
    $(id).addEventListener("input", () => { $("get-quote").disabled = !ready(); });
    $(id).addEventListener("change", () => { $("get-quote").disabled = !ready(); });
  }
  async function signedIn(issued) {
    token = issued;
    sessionStorage.setItem("osprey.token", issued);  // a reload keeps the session
    const config = await (await fetch("/api/config")).json();
    for (const [value, label] of Object.entries(config.networks)) {
      $("network").add(new Option(label, value));
    }
    $("login-form").hidden = true;
    $("quote-form").hidden = false;
    show("signed in");
  }
  if (sessionStorage.getItem("osprey.token")) signedIn(sessionStorage.getItem("osprey.token"));
  $("login-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    const [status, answer] = await call(
      "/api/login", {account: $("user").value, password: $("password").value});
    if (status !== 200) { show("sign-in refused"); return; }
    await signedIn(answer.token);
  });
  $("quote-form").addEventListener("submit", ev => {
    ev.preventDefault();
    quote("/api/shapes/quotes", {
      amount: $("amount").value, network: $("network").value,
      destAddress: $("dest-address").value, name: $("customer-name").value,
      pool: $("pool").value, terms: $("terms").checked,
    }, token);
  });
  </script>
</body></html>
""".replace("SCRIPT", _SCRIPT)

SEEDED = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Osprey — buy</title>
<script>
  // The first script of the page: what it sees is what was there before the page ran.
  window.SEEN = {auth: window.localStorage.getItem("auth"), cookie: document.cookie};
</script></head>
<body>
  <form id="quote-form">
    <label>Amount <input id="amount"></label>
    <label>Network <select id="network">NETWORKS</select></label>
    <label>Wallet <input id="dest-address"></label>
    <button id="get-quote" type="submit">Get quote</button>
  </form>
  <button id="accept" type="button" disabled>Accept</button>
  <div id="status" role="status">ACCOUNT</div>
  <script>
  SCRIPT
  if (!window.SEEN.auth) { show("no token in localStorage"); $("get-quote").disabled = true; }
  $("quote-form").addEventListener("submit", ev => {
    ev.preventDefault();
    quote("/api/quotes", {
      amount: $("amount").value, network: $("network").value,
      destAddress: $("dest-address").value,
    }, window.SEEN.auth);
  });
  </script>
</body></html>
""".replace("SCRIPT", _SCRIPT).replace(
    "NETWORKS", "".join(f'<option value="{v}">{label}</option>' for v, label in NETWORKS.items())
)


def password_for(account: str) -> str:
    """The one password each test account has (the page's sign-in form and the API agree)."""
    return f"pw-{account}"


def make_app(api_url: str, secret_key: str) -> Starlette:
    """The page app, quoting at the simulator behind ``api_url`` with ``secret_key``."""
    tokens: dict[str, str] = {}  # token -> account
    seen_cookies: list[dict[str, str]] = []  # cookies the /seeded page was requested with

    def error(status: int, code: str) -> JSONResponse:
        return JSONResponse({"error": code}, status_code=status)

    def bearer(request: Request) -> str | None:
        value = request.headers.get("authorization", "")
        return tokens.get(value.removeprefix("Bearer ")) if value.startswith("Bearer ") else None

    async def login(request: Request) -> Response:
        body = await request.json()
        account = str(body.get("account") or "")
        if not account or body.get("password") != password_for(account):
            return error(401, "bad_credentials")
        token = "tok_" + secrets.token_hex(8)
        tokens[token] = account
        response = JSONResponse({"token": token, "account": account})
        # The API's own session cookie (the /seeded page reads ``sid``, set by [web].cookies).
        response.set_cookie("session", token, httponly=True, samesite="lax")
        return response

    async def config(request: Request) -> Response:
        return JSONResponse({"networks": NETWORKS})

    async def provider_quote(body: dict[str, Any]) -> Response:
        request = {
            "side": "on_ramp", "amount": str(body.get("amount")), "type": "firm",
            "cryptoNetwork": str(body.get("network")), "destAddress": str(body.get("destAddress")),
        }
        async with httpx.AsyncClient(timeout=5.0) as client:
            reply = await client.post(
                f"{api_url}/pools/{POOL}/quote", json=request,
                headers={"Authorization": f"Bearer {secret_key}"},
            )
        answer = reply.json()
        if reply.status_code != 200 or not answer.get("quoteId"):
            return error(502, f"provider answered {reply.status_code}")
        return JSONResponse({
            "orderRef": "ord_" + secrets.token_hex(6), "quoteId": answer["quoteId"],
            "expiresAt": answer.get("expiresAt"), "status": "quoted",
        })

    async def shapes_quote(request: Request) -> Response:
        if bearer(request) is None:
            return error(401, "sign_in_first")
        body = await request.json()
        if not str(body.get("name") or "").strip():
            return error(400, "name_required")
        if body.get("terms") is not True:
            return error(400, "terms_required")
        if body.get("pool") != POOL:
            return error(400, "unknown_pool")
        return await provider_quote(body)

    async def seeded_quote(request: Request) -> Response:
        account = bearer(request)
        if account is None or tokens.get(request.cookies.get("sid", "")) != account:
            return error(401, "sign_in_first")
        return await provider_quote(await request.json())

    async def shapes(request: Request) -> Response:
        return HTMLResponse(SHAPES)

    async def seeded(request: Request) -> Response:
        seen_cookies.append(dict(request.cookies))
        account = tokens.get(request.cookies.get("sid", ""))
        if account is None:
            return HTMLResponse("<p>Please sign in first.</p>", status_code=401)
        return HTMLResponse(SEEDED.replace("ACCOUNT", f"signed in as {account}"))

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    app = Starlette(routes=[
        Route("/healthz", health),
        Route("/shapes", shapes),
        Route("/seeded", seeded),
        Route("/api/login", login, methods=["POST"]),
        Route("/api/config", config),
        Route("/api/shapes/quotes", shapes_quote, methods=["POST"]),
        Route("/api/quotes", seeded_quote, methods=["POST"]),
    ])
    app.state.seen_cookies = seen_cookies
    return app


class PageServer:
    """The page app on 127.0.0.1 in a thread (uvicorn), started and stopped by a test."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> PageServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the page app did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
