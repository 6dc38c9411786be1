"""Settings shared by the property-based tests: fixed in CI, fresh on request."""

from __future__ import annotations

import os
import typing as t

from hypothesis import HealthCheck, settings


def property_settings(env_name: str, default: int) -> t.Any:
    """CI runs ``default`` derandomized examples; ``env_name=N`` runs N fresh random ones.

    Args:
        env_name: The environment variable that asks for fresh examples.
        default: Examples in CI.

    Returns:
        The ``hypothesis.settings`` decorator.
    """
    return settings(
        max_examples=int(os.environ.get(env_name, str(default))),
        deadline=None,
        derandomize=env_name not in os.environ,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
