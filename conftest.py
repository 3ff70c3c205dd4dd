"""The whole repository's pytest runs: Hypothesis profiles (dev, ci, thorough).

Choose one with ``ZEROPOOLS_HYPOTHESIS_PROFILE`` (``.ci/run`` runs with ``CI=true``, so
``ci`` there). The plugin is registered once, through its ``pytest11`` entry point, not
here: pluggy refuses a second registration.
"""

from conformance.hypothesis_profiles import load_profile

load_profile()
