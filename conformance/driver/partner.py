"""Partner lifecycle: start the partner as a subprocess with the run's keys, check health, stop it.

Its stdout and stderr are captured into a bounded buffer, redacted by value before
anyone reads them; a partner that does not come up, or dies, is a harness error
(:class:`PartnerUnreachable`) that says why and shows the end of its log.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

import httpx

from conformance.driver.manifest import Manifest
from conformance.errors import ManifestError, PartnerUnreachable
from conformance.interrupt import register_group, unregister_group
from conformance.redact import Redactor

LOG_LINES = 2000


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderAccess:
    """What the partner is given to reach the simulated provider."""

    api_url: str
    secret_key: str
    publishable_key: str
    webhook_secret: str
    signature_scheme: str = "0bit"


def provision(
    simulator: Any, manifest: Manifest, process: PartnerProcess
) -> tuple[str, ProviderAccess]:
    """Provision the manifest's partner at the simulator: its id and what it is given.

    Fresh keys per run, unless a partner already running (``partner.url``) names the harness
    env vars holding the keys it was configured with (``credentials_env``).
    """
    from conformance.simulator import PartnerSpec

    spec = PartnerSpec(
        name=manifest.name,
        webhook_url=process.webhook_url,
        signature_scheme=manifest.provider.signature_scheme,
    )
    if manifest.credentials_env is not None:
        names = manifest.credentials_env
        spec = replace(
            spec,
            secret_key=os.environ.get(names.secret_key) or None,
            webhook_secret=os.environ.get(names.webhook_secret) or None,
            publishable_key=os.environ.get(names.publishable_key or "") or None,
        )
    creds = simulator.control.provision_partner(spec)
    access = ProviderAccess(
        api_url=simulator.api_url,
        secret_key=creds.secret_key,
        publishable_key=creds.publishable_key,
        webhook_secret=creds.webhook_secret,
        signature_scheme=manifest.provider.signature_scheme,
    )
    return str(creds.partner_id), access


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the partner binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class PartnerProcess:
    """A partner the harness started (or one already running, when the manifest gives a URL)."""

    def __init__(self, manifest: Manifest, *, redactor: Redactor, port: int | None = None) -> None:
        self.manifest = manifest
        self.redactor = redactor
        self.port = port or (free_port() if manifest.start else None)
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: deque[str] = deque(maxlen=LOG_LINES)
        self._lines = 0
        self._readers: list[threading.Thread] = []

    @property
    def base_url(self) -> str:
        if self.manifest.url:
            return self.manifest.url
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook_url(self) -> str | None:
        if self.manifest.webhook_path is None:
            return None
        return self.base_url + self.manifest.webhook_path

    def environment(self, access: ProviderAccess) -> dict[str, str]:
        """The partner's environment: ours, the manifest's extra env, then the provider's."""
        start = self.manifest.start
        assert start is not None
        env = dict(os.environ)
        env.update(start.extra_env)
        names = start.env
        env[names.base_url] = access.api_url
        env[names.secret_key] = access.secret_key
        env[names.webhook_secret] = access.webhook_secret
        env[names.port] = str(self.port)
        if names.publishable_key:
            env[names.publishable_key] = access.publishable_key
        if names.host:
            env[names.host] = "127.0.0.1"
        if names.signature_scheme:
            env[names.signature_scheme] = access.signature_scheme
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def command(self) -> list[str]:
        start = self.manifest.start
        assert start is not None
        return [
            part.replace("{python}", sys.executable).replace("{port}", str(self.port))
            for part in start.command
        ]

    def start(self, access: ProviderAccess) -> None:
        """Start the partner and wait, bounded, until its health check answers 2xx."""
        for secret in (access.secret_key, access.webhook_secret, access.publishable_key):
            self.redactor.add(secret)
        start = self.manifest.start
        if start is None:
            self.wait_healthy(timeout_s=10.0)
            return
        if not start.cwd.is_dir():
            raise ManifestError(
                f"working directory does not exist: {start.cwd}", field="/start/cwd"
            )
        try:
            self._proc = subprocess.Popen(
                self.command(),
                cwd=start.cwd,
                env=self.environment(access),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise PartnerUnreachable(
                f"cannot start the partner command {self.command()[0]!r}: {exc.strerror or exc}"
            ) from None
        register_group(self._proc.pid)  # its own session: the group id is its pid
        for stream, name in ((self._proc.stdout, "stdout"), (self._proc.stderr, "stderr")):
            reader = threading.Thread(
                target=self._pump, args=(stream, name), name=f"partner-{name}", daemon=True
            )
            reader.start()
            self._readers.append(reader)
        try:
            self.wait_healthy(timeout_s=start.startup_timeout_s)
        except BaseException:  # unreachable, or the run was interrupted while it started
            self.stop()
            raise

    def _pump(self, stream: object, name: str) -> None:
        assert hasattr(stream, "readline")
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self._log.append(f"[{name}] {line}")
            self._lines += 1

    def exit_reason(self) -> str | None:
        """Why the partner is not running, or None while it runs (always None for a URL)."""
        if self._proc is None:
            return None
        code = self._proc.poll()
        if code is None:
            return None
        return f"exited with code {code}"

    def wait_healthy(self, *, timeout_s: float) -> None:
        """Poll the health path until a 2xx; fail closed with the end of the log."""
        url = self.base_url + self.manifest.health_path
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                dead = self.exit_reason()
                if dead:
                    raise PartnerUnreachable(
                        f"the partner {dead} before its health check passed; log tail:\n"
                        + self.log_tail(20)
                    )
                try:
                    response = client.get(url)
                    if 200 <= response.status_code < 300:
                        return
                    last = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                time.sleep(0.1)
        raise PartnerUnreachable(
            f"the partner's health check {url} did not pass within {timeout_s:g} s "
            f"(last: {last}); log tail:\n" + self.log_tail(20)
        )

    def stop(self) -> None:
        """Stop cleanly: SIGTERM to its process group, then SIGKILL after the bound."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is not None:
            self._reap_group(proc.pid)
            self._join()
            return
        timeout = self.manifest.start.shutdown_timeout_s if self.manifest.start else 5.0
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)
        self._reap_group(proc.pid)
        self._join()

    @staticmethod
    def _reap_group(pgid: int) -> None:
        """Whatever the partner forked into its group goes with it (no orphan keeps a port)."""
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        unregister_group(pgid)

    def kill(self) -> None:
        """Kill the partner abruptly (tests of the crash-mid-run path)."""
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=5)

    def _join(self) -> None:
        for reader in self._readers:
            reader.join(timeout=1)
        self._readers.clear()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def log(self) -> str:
        """Everything captured so far, secrets redacted."""
        return self.redactor.text("\n".join(self._log))

    def mark(self) -> int:
        """A position in the log, to read what was written after it with ``log_since``."""
        return self._lines

    def log_since(self, mark: int) -> str:
        """The lines written after ``mark`` (as many as the bounded buffer still holds)."""
        count = max(0, self._lines - mark)
        lines = list(self._log)[-count:] if count else []
        return self.redactor.text("\n".join(lines))

    def unredacted_since(self, mark: int) -> tuple[str, ...]:
        """The raw lines written after ``mark``, NOT redacted.

        Only for the harness's own secret search in the partner's logs (``logs.no_secrets``):
        what it returns must never be recorded, printed or written anywhere.
        """
        count = max(0, self._lines - mark)
        return tuple(list(self._log)[-count:]) if count else ()

    @property
    def captures_log(self) -> bool:
        """Whether the harness started the partner and so captures its stdout and stderr."""
        return self.manifest.start is not None

    def log_tail(self, lines: int) -> str:
        return self.redactor.text("\n".join(list(self._log)[-lines:]))

    def __enter__(self) -> PartnerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
