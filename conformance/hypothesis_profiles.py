"""Hypothesis profiles for the property-based scenarios and tests: dev, ci, thorough.

Chosen by ``ZEROPOOLS_HYPOTHESIS_PROFILE`` (default ``ci`` when the ``CI`` variable is set,
else ``dev``). Loaded once by the repository's root ``conftest.py`` (the harness's own tests)
and by the plugin (scenario runs, which do not see that conftest). A property names its
budget at the ``ci`` scale with :func:`examples`; the profile scales it: ``dev`` runs fewer
examples for a quick local loop, ``thorough`` ten times more, not derandomized, for a
nightly hunt.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

ENV = "ZEROPOOLS_HYPOTHESIS_PROFILE"
SCALE = {"dev": 0.5, "ci": 1.0, "thorough": 10.0}
_BASE = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

settings.register_profile("dev", _BASE)
settings.register_profile("ci", _BASE, derandomize=True, database=None, print_blob=True)
settings.register_profile("thorough", _BASE, database=None, print_blob=True)


def profile_name() -> str:
    name = os.environ.get(ENV) or ("ci" if os.environ.get("CI") else "dev")
    if name not in SCALE:
        raise ValueError(f"{ENV}={name!r}: expected one of {', '.join(SCALE)}")
    return name


def load_profile() -> str:
    """Load the chosen profile (idempotent); returns its name."""
    name = profile_name()
    settings.load_profile(name)
    return name


def examples(at_ci_scale: int) -> int:
    """A property's example budget, scaled by the chosen profile (at least one)."""
    return max(1, round(at_ci_scale * SCALE[profile_name()]))
