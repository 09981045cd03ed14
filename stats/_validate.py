"""Argument checks shared by every ``stats`` module.

Each check raises :class:`stats.errors.InvalidInput` (a ``ValueError``) whose ``field`` is
the parameter name as the API spells it and whose message quotes the value and states the
allowed range, e.g. ``"alpha must be in (0, 0.5], got 0.7"``. The web layer turns ``field``
into a 422 problem+json response naming it; it never reads the message.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from stats.errors import InvalidInput
from stats.vocabulary import ALTERNATIVES


def finite(name: str, value: float) -> float:
    """Return ``value`` as a float, or raise if it is not a finite number."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a number, got {value!r}", field=name) from None
    if not math.isfinite(x):
        raise InvalidInput(f"{name} must be a finite number, got {value!r}", field=name)
    return x


MAX_ABS_VALUE = 1e100
"""Largest magnitude of a data value (a mean, an observation) anywhere in ``stats``; uploads
refuse larger cells with the same cap. Beyond it, sums of a few million squares overflow."""


def bounded(name: str, value: float, limit: float = MAX_ABS_VALUE) -> float:
    """A finite number of magnitude at most ``limit`` (``MAX_ABS_VALUE`` unless given)."""
    x = finite(name, value)
    if abs(x) > limit:
        raise InvalidInput(
            f"{name} must be at most {limit:g} in absolute value, got {value!r}", field=name
        )
    return x


def in_open_unit(name: str, value: float) -> float:
    """A probability strictly between 0 and 1 (a rate, a power)."""
    x = finite(name, value)
    if not 0.0 < x < 1.0:
        raise InvalidInput(f"{name} must be in (0, 1), got {value!r}", field=name)
    return x


MIN_ALPHA = 1e-12
"""Smaller levels turn critical values infinite (norm.ppf(1 - 1e-300) is inf) for no use."""


def alpha(value: float, name: str = "alpha", upper: float = 0.5) -> float:
    """A significance level in (0, upper], at least MIN_ALPHA."""
    x = finite(name, value)
    if not 0.0 < x <= upper:
        raise InvalidInput(f"{name} must be in (0, {upper:g}], got {value!r}", field=name)
    if x < MIN_ALPHA:
        raise InvalidInput(f"{name} must be at least {MIN_ALPHA:g}, got {value!r}", field=name)
    return x


def positive(name: str, value: float) -> float:
    """A strictly positive finite number."""
    x = finite(name, value)
    if x <= 0.0:
        raise InvalidInput(f"{name} must be > 0, got {value!r}", field=name)
    return x


def non_negative(name: str, value: float) -> float:
    """A finite number >= 0."""
    x = finite(name, value)
    if x < 0.0:
        raise InvalidInput(f"{name} must be >= 0, got {value!r}", field=name)
    return x


MAX_COUNT = 10**15
"""Counts above this lose integer precision as floats (2**53 ≈ 9e15) and mean nothing here."""


def count(name: str, value: float, minimum: int = 0) -> int:
    """A whole number from ``minimum`` to MAX_COUNT (users, conversions, looks)."""
    x = finite(name, value)
    if x != int(x) or x < minimum:
        raise InvalidInput(f"{name} must be a whole number >= {minimum}, got {value!r}", field=name)
    if x > MAX_COUNT:
        raise InvalidInput(f"{name} must be at most {MAX_COUNT:.0e}, got {value!r}", field=name)
    return int(x)


def alternative(value: str) -> str:
    """One of statsmodels' ``two-sided``, ``larger``, ``smaller``."""
    if value not in ALTERNATIVES:
        raise InvalidInput(
            f"alternative must be one of {', '.join(ALTERNATIVES)}, got {value!r}",
            field="alternative",
        )
    return value


def choice(name: str, value: str, allowed: Sequence[str]) -> str:
    """One of a fixed set of strings."""
    if value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}, got {value!r}", field=name)
    return value
