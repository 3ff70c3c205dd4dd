"""What a run was made of, beyond its results: the partner's build, the manifest, randomness.

``certify`` builds a :class:`Provenance`; the report document records it and the signed
statement (``signing.py``) binds it. The rerun command of each scenario is built here.
"""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from conformance.report.hashes import sha256_file
from conformance.report.shape import ManifestEntry

PARTNER_MANIFEST_STEM = "partner-manifest"
PARTNER_MANIFEST_FILES = tuple(
    f"{PARTNER_MANIFEST_STEM}{suffix}" for suffix in (".toml", ".yaml", ".yml")
)
COMMAND = "zeropools-conformance"

PROPERTY_SCENARIO = "robustness.bad_input"
PROFILE_ENV = "ZEROPOOLS_HYPOTHESIS_PROFILE"

# Every random choice a run makes, and why none of them needs a seed to repeat the run.
# tests/report/test_provenance.py keeps this honest (derandomize=True stays in the scenario).
RANDOMNESS: dict[str, Any] = {
    "seed": None,
    "decisions": (
        "No random choice decides an outcome: the property-based inputs of "
        "robustness.bad_input come from Hypothesis with derandomize=True (the same examples "
        "on every run of this harness version and Hypothesis profile), so a rerun needs no "
        "seed, only the same profile."
    ),
    "hypothesis": {"scenario": PROPERTY_SCENARIO, "derandomize": True, "database": None},
    "random_ids": (
        "Customer account ids, destination addresses and the simulator's keys and secrets "
        "are drawn from the operating system (Python's secrets module) on every run and are "
        "not seeded; the simulator's object ids (conformance/simulator/ids.py) come from the "
        "random module, seeded from the operating system once per run: unique, not secret, not "
        "repeated. Each scenario works on its own fresh ids, and the ids seen are in its "
        "evidence."
    ),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """How a certification run was invoked: the partner's build and the manifest used."""

    partner_build: str | None = None
    manifest_path: Path | None = None  # the manifest file that was read
    manifest_arg: str | None = None  # as given to --partner; None for the bundled partner
    partner_env_names: tuple[str, ...] = ()
    out_arg: str | None = None  # as given to --out


def hypothesis_profile() -> str | None:
    """The Hypothesis profile this run uses (it sets how many examples are drawn)."""
    try:
        from conformance.hypothesis_profiles import profile_name
    except ImportError:
        return None
    try:
        return profile_name()
    except ValueError:
        return None


def randomness() -> dict[str, Any]:
    """RANDOMNESS with this run's Hypothesis profile."""
    return {**RANDOMNESS, "hypothesis": {**RANDOMNESS["hypothesis"],
                                         "profile": hypothesis_profile()}}


@cache
def api_version() -> str:
    """The 0Pools Partner API version the simulator follows (its OpenAPI ``info.version``)."""
    text = resources.files("conformance").joinpath("simulator/openapi.yaml").read_text("utf-8")
    match = re.search(r"^info:\n(?:[ \t]+.*\n)*?[ \t]+version:\s*[\"']?([^\"'\n]+)", text, re.M)
    return match.group(1).strip() if match else "unknown"


def manifest_copy_name(path: Path) -> str:
    suffix = path.suffix.lower()
    return f"{PARTNER_MANIFEST_STEM}{suffix if suffix in ('.yaml', '.yml') else '.toml'}"


def copy_manifest(provenance: Provenance | None, out_dir: Path) -> ManifestEntry | None:
    """Copy the manifest used into the report directory (verbatim); its record for the report."""
    if provenance is None or provenance.manifest_path is None:
        return None
    target = out_dir / manifest_copy_name(provenance.manifest_path)
    shutil.copyfile(provenance.manifest_path, target)
    return {
        "file": target.name,
        "sha256": sha256_file(target),
        "given_as": provenance.manifest_arg,
    }


def rerun_command(provenance: Provenance | None, scenario_id: str) -> str:
    """The command that reruns just this scenario with the same manifest (no seed needed)."""
    parts: list[str] = [COMMAND, "certify"]
    if provenance is None:
        parts += ["--partner", "MANIFEST"]
    elif provenance.manifest_arg is not None:
        parts += ["--partner", provenance.manifest_arg]
    parts += ["--only", scenario_id]
    out = (provenance.out_arg if provenance and provenance.out_arg else "report").rstrip("/")
    parts += ["--out", f"{out}-rerun"]
    text = " ".join(shlex.quote(p) for p in parts)
    profile = hypothesis_profile()
    if scenario_id == PROPERTY_SCENARIO and profile is not None:
        text = f"{PROFILE_ENV}={shlex.quote(profile)} {text}"
    for name in _env_names(provenance):
        # Values are never written down (they may be secrets): the shell supplies them.
        text += f' --partner-env {name}="${name}"'
    return text


def _env_names(provenance: Provenance | None) -> Sequence[str]:
    if provenance is None:
        return ()
    return [n for n in provenance.partner_env_names if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n)]
