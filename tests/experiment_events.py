"""Synthetic Experiments events, shared by the API tests (tests/web) and the page tests
(tests/browser): exposures of fresh units, some of them converting."""

from __future__ import annotations

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
