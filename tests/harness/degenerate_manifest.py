"""Manifests for the degenerate partners: the reference partner's actions, another process."""

from __future__ import annotations

import copy
import json
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance.driver.actions import Actions
from conformance.driver.manifest import load_manifest
from conformance.redact import Redactor

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "partners" / "degenerate.py"
REFERENCE = HERE.parents[1] / "fixtures" / "reference_partner" / "manifest.toml"
# Small, so the harness's per-call bound (10 s + 3 x this) is as short as it gets.
TIMEOUT_S = 0.3
POLL_S = 0.3
NO_CLIENT = "this test partner ships no client: no page or bundle exists to scan"


def degenerate_manifest(
    tmp_path: Path,
    mode: str,
    *args: object,
    extra_env: Mapping[str, str] | None = None,
    timeout_s: float = TIMEOUT_S,
) -> Path:
    """A manifest (JSON, read as YAML) that starts ``degenerate.py MODE ARGS``.

    It keeps the reference manifest's actions, accounts and states, so every answer the
    partner gives is mapped as the reference partner's would be, and drops ``[web]`` and
    ``[artefacts]``: the browser scenarios and the bundle scan are not applicable, and RQ2
    is waived in writing (as the second partner does), so the verdict rests on what the
    degenerate partner did, not on an unanswered RQ2.
    """
    data: dict[str, Any] = copy.deepcopy(tomllib.loads(REFERENCE.read_text()))
    data.pop("web", None)
    data.pop("artefacts", None)
    data["partner"]["name"] = f"degenerate partner ({mode})"
    data["start"] = {
        "command": ["{python}", str(SCRIPT), mode, *(str(a) for a in args)],
        "cwd": str(HERE),
        "startup_timeout_seconds": 10,
        "shutdown_timeout_seconds": 2,
        "env": {
            "base_url": "DEGENERATE_BASE_URL",
            "secret_key": "DEGENERATE_SECRET_KEY",
            "webhook_secret": "DEGENERATE_WEBHOOK_SECRET",
            "port": "DEGENERATE_PORT",
        },
        "extra_env": dict(extra_env or {}),
    }
    data["provider"]["timeout_seconds"] = timeout_s
    data["provider"]["poll_interval_seconds"] = POLL_S
    data["waivers"] = [{"target": "RQ2", "reason": NO_CLIENT}]
    path = tmp_path / f"degenerate-{mode}.yaml"
    path.write_text(json.dumps(data, indent=2))
    return path


def per_call_bound(timeout_s: float = TIMEOUT_S) -> float:
    """The harness's own bound on one partner call (the driver's formula, not a copy of it)."""
    with tempfile.TemporaryDirectory() as scratch:
        path = degenerate_manifest(Path(scratch), "yes_man", timeout_s=timeout_s)
        actions = Actions(load_manifest(path), "http://127.0.0.1:9", redactor=Redactor())
        try:
            return actions.timeout_s
        finally:
            actions.close()
