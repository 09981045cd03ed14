"""Deterministic assignment of a unit to a variant by hashing into the traffic weights.

The unit's position in [0, 1) comes from SHA-256 of ``"{experiment_id}:{unit}"``, so it is
the same in every process and after every restart (Python's ``hash()`` is salted per process)
and independent between experiments (a different prefix gives an unrelated digest). This is the
scheme GrowthBook and Statsig use (hash of seed and unit id, bucketed by cumulative weights).
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate


def unit_position(experiment_id: int | str, unit: str) -> float:
    """Map ``(experiment_id, unit)`` to a uniform number in [0, 1).

    Uses the top 53 bits of the first 8 bytes of the SHA-256 digest: a double holds 53 bits
    exactly, so the result is exact and strictly below 1 (dividing all 64 bits by 2**64 can
    round up to 1.0).
    """
    digest = hashlib.sha256(f"{experiment_id}:{unit}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / 2.0**53


def assign_variant(
    experiment_id: int | str, unit: str, weights: Sequence[float], names: Sequence[str]
) -> str:
    """Return the name of the variant that ``unit`` falls into under ``weights``.

    ``weights`` are non-negative with a positive sum (they need not sum to 1); variant ``i``
    receives the units whose position lies in ``[c_{i-1}, c_i)`` of the cumulative weights,
    so a zero weight never receives a unit.
    """
    if not isinstance(unit, str) or not unit:
        raise ValueError(f"unit must be a non-empty string, got {unit!r}")
    if len(names) != len(weights) or not weights:
        raise ValueError(
            f"names must have one name per weight ({len(weights)}), got {len(names)} names"
        )
    for i, w in enumerate(weights):
        if not math.isfinite(w) or w < 0:
            raise ValueError(f"weights[{i}] must be a finite number >= 0, got {w!r}")
    cumulative = list(accumulate(weights))
    if cumulative[-1] <= 0:
        raise ValueError(f"weights must have a positive sum, got {list(weights)!r}")
    # position * total < total strictly (position <= 1 - 2**-53 and rounding is to nearest),
    # so the index is always a variant with a positive weight.
    return names[bisect_right(cumulative, unit_position(experiment_id, unit) * cumulative[-1])]
