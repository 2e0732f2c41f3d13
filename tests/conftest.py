"""Shared test configuration.

Hypothesis: no deadlines (this machine is small and noisy; the tests assert
behaviour, never speed) and a fixed database-free profile in CI.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    parent=settings.get_profile("default"),
    database=None,
    print_blob=True,
)
settings.load_profile("ci" if os.environ.get("CI") else "default")
