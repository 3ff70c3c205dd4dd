"""``zeropools-conformance sim``: the simulated provider as a standalone sandbox, and helpers.

``sim [options]`` (or ``sim serve [options]``) serves until Ctrl-C. The helpers drive a
running sandbox through its control API under ``/_sim/``, in the spirit of ``stripe trigger``:
``sim trigger settled --trade ID``, ``sim replay``, ``sim forge KIND``, ``sim advance SECONDS``,
``sim next-outcome STATUS`` (see :mod:`conformance.commands.sim_control`).
"""

from __future__ import annotations

import argparse
import signal
import threading

from conformance.errors import ConformanceError, ControlError
from conformance.simulator import PartnerSpec, Simulator, SimulatorSettings
from conformance.simulator.settings import SIGNATURE_SCHEMES

NAME = "sim"
HELP = "Run the simulated 0Pools provider on 127.0.0.1 until Ctrl-C (a sandbox to develop against)."
DEFAULT_PORT = 8787


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on (0 = any free port; default {DEFAULT_PORT})")
    parser.add_argument("--secret-key", help="the partner's sk_test_ key (generated if omitted)")
    parser.add_argument("--publishable-key", help="the partner's pk_test_ key (generated)")
    parser.add_argument("--webhook-secret", help="the whsec_ webhook secret (generated)")
    parser.add_argument("--control-token", help="Bearer token for /_sim/ (generated)")
    parser.add_argument("--webhook-url", help="where settled/failed/released events are POSTed")
    parser.add_argument("--quote-ttl", type=float, default=15.0,
                        help="firm quote lifetime in seconds (default 15, as documented)")
    parser.add_argument("--signature-scheme", choices=SIGNATURE_SCHEMES, default="0bit",
                        help="webhook signatures: 0bit (t=…,v1=…) or standard (Standard Webhooks)")
    from conformance.commands import sim_control

    sim_control.add_helpers(parser)


def _check(args: argparse.Namespace) -> None:
    for name, prefix in (("secret_key", "sk_test_"), ("publishable_key", "pk_test_"),
                         ("webhook_secret", "whsec_")):
        value = getattr(args, name)
        if value is not None and (not value.startswith(prefix) or len(value) <= len(prefix)):
            flag = "--" + name.replace("_", "-")
            raise ConformanceError(f"{flag}: must start with {prefix}")
    if args.quote_ttl <= 0:
        raise ConformanceError("--quote-ttl: must be positive")
    if not 0 <= args.port <= 65535:
        raise ConformanceError("--port: must be between 0 and 65535")


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve until Ctrl-C (or ``stop`` is set, for tests); trades settle on the first poll.

    With a helper (``sim trigger …``), run it against a running sandbox instead.
    """
    helper = getattr(args, "sim_helper", None)
    if helper is not None:
        return int(helper(args))
    _check(args)
    settings = SimulatorSettings(host=args.host, port=args.port,
                                 control_token=args.control_token,
                                 quote_ttl_seconds=args.quote_ttl,
                                 signature_scheme=args.signature_scheme)
    simulator = Simulator(settings)
    try:
        simulator.start()
    except ConformanceError as exc:
        where = f"{args.host}:{args.port}"
        raise ConformanceError(f"--port: cannot listen on {where} ({exc})") from None
    try:
        try:
            creds = simulator.control.provision_partner(PartnerSpec(
                name="sandbox", secret_key=args.secret_key, publishable_key=args.publishable_key,
                webhook_secret=args.webhook_secret, webhook_url=args.webhook_url,
            ))
        except ControlError as exc:
            raise ConformanceError(str(exc)) from None
        print(f"0Pools simulator listening on {simulator.api_url}", flush=True)
        print(f"  partner id       {creds.partner_id}")
        print(f"  secret key       {creds.secret_key}")
        print(f"  publishable key  {creds.publishable_key}")
        print(f"  webhook secret   {creds.webhook_secret}")
        print(f"  webhook url      {args.webhook_url or '(none: events are kept, not sent)'}")
        print(f"  control token    {simulator.control_token}"
              f"  (Bearer, for {simulator.base_url}/_sim/)")
        print("Trades settle on the first status poll. Press Ctrl-C to stop.", flush=True)
        waiter = stop or threading.Event()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: waiter.set())
        try:
            while not waiter.wait(0.5):
                pass
        except KeyboardInterrupt:
            print("stopping", flush=True)
        return 0
    finally:
        simulator.stop()
