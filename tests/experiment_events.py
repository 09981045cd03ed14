"""Synthetic Experiments events, shared by the API tests (tests/web) and the page tests
(tests/browser): exposures of fresh units, some of them converting."""

from __future__ import annotations

from typing import Any

import numpy as np

EXPOSED_AT = "2026-11-20T10:00:00Z"
CONVERTED_AT = "2026-11-20T10:05:00Z"


def traffic(
    counts: dict[str, tuple[int, int]],
    *,
    event: str = "purchase",
    prefix: str = "u",
    converted_at: str = CONVERTED_AT,
) -> list[dict[str, str]]:
    """For ``{variant: (exposed, converted)}``: an exposure at :data:`EXPOSED_AT` for each of
    ``exposed`` units ``<prefix>-<variant>-<j>``, and ``event`` at ``converted_at`` for the
    first ``converted`` of them."""
    events = []
    for variant, (exposed, converted) in counts.items():
        for j in range(exposed):
            unit = f"{prefix}-{variant}-{j}"
            events.append({"event_id": f"{unit}-x", "unit": unit, "variant": variant,
                           "name": "exposure", "ts": EXPOSED_AT})  # fmt: skip
            if j < converted:
                events.append({"event_id": f"{unit}-c", "unit": unit, "variant": variant,
                               "name": event, "ts": converted_at})  # fmt: skip
    return events


def covariate_traffic(
    variants: tuple[str, str],
    *,
    seed: int,
    slope: float,
    lift: float,
    prefix: str = "u",
    refund_every: int | None = None,
) -> list[dict[str, Any]]:
    """400 units per arm, each exposure carrying a pre-period covariate ``x ~ N(10, 3²)``;
    a unit purchases (at 10:03) with probability ``0.1 + slope·(x − 10)`` plus ``lift`` in
    the second arm; every ``refund_every``-th unit also sends a ``refund`` (at 10:04)."""
    rng = np.random.default_rng(seed)
    events: list[dict[str, Any]] = []
    for arm, variant in enumerate(variants):
        for j, x in enumerate(rng.normal(10, 3, 400)):
            unit = f"{prefix}-{variant}-{j}"
            events.append({"event_id": f"{unit}-x", "unit": unit, "variant": variant,
                           "name": "exposure", "covariate": float(x),
                           "ts": EXPOSED_AT})  # fmt: skip
            if rng.random() < 0.1 + slope * (x - 10) + lift * arm:
                events.append({"event_id": f"{unit}-p", "unit": unit, "variant": variant,
                               "name": "purchase", "ts": "2026-11-20T10:03:00Z"})  # fmt: skip
            if refund_every is not None and j % refund_every == 0:
                events.append({"event_id": f"{unit}-r", "unit": unit, "variant": variant,
                               "name": "refund", "ts": "2026-11-20T10:04:00Z"})  # fmt: skip
    return events
