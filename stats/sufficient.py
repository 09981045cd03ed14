"""Sufficient statistics per variant, shared by every ``stats`` module.

Row-level data is reduced once (see :mod:`sources.tabular`) to one of these per variant, and
every test, interval and model works from them, so the same math serves 100 rows or 100
million and a warehouse can hand in its own aggregates. Shaped like gbstats'
``ProportionStatistic`` and ``SampleMeanStatistic`` (growthbook/growthbook,
``packages/stats/gbstats/models/statistics.py``).

Both classes expose the same small protocol, so generic code (delta method, sequential
tests) can take either: ``name``, ``n``, ``mean``, ``var`` (per-observation variance) and
``se`` (standard error of the mean). Construction validates: a value that exists is valid.
Messages start with the field name (``users``, ``conversions``, ``n``, ``mean``, ``sd``);
:func:`proportion_variants` and :func:`mean_variants` parse JSON-style records and prefix
the messages with ``variants[i].`` so the web layer can name the exact field.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from stats import _validate
from stats.errors import InvalidInput


def _check_name(value: object, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must be a non-empty string, got {value!r}", field=field)
    return value


@dataclass(frozen=True, slots=True)
class ProportionStats:
    """Users and conversions of one variant (a binary metric).

    ``users`` is a whole number >= 0 and ``conversions`` a whole number in [0, users];
    numpy integers and whole floats are accepted and stored as ``int``.
    """

    name: str
    users: int
    conversions: int

    def __post_init__(self) -> None:
        _check_name(self.name)
        users = _validate.count("users", self.users)
        conversions = _validate.count("conversions", self.conversions)
        if conversions > users:
            raise InvalidInput(
                f"conversions must be <= users ({users}), got {self.conversions!r}",
                field="conversions",
            )
        object.__setattr__(self, "users", users)
        object.__setattr__(self, "conversions", conversions)

    @property
    def n(self) -> int:
        """Number of users (the protocol's sample size)."""
        return self.users

    @property
    def rate(self) -> float:
        """Conversion rate ``conversions / users`` (NaN when there are no users)."""
        return self.conversions / self.users if self.users else math.nan

    @property
    def mean(self) -> float:
        """The rate, as the mean of the 0/1 metric (the protocol's mean)."""
        return self.rate

    @property
    def var(self) -> float:
        """Bernoulli variance ``p(1 - p)`` per user (gbstats ``ProportionStatistic.variance``)."""
        p = self.rate
        return p * (1.0 - p)

    @property
    def se(self) -> float:
        """Unpooled standard error of the rate, ``sqrt(p(1 - p) / users)``."""
        return math.sqrt(self.var / self.users) if self.users else math.nan


@dataclass(frozen=True, slots=True)
class MeanStats:
    """Sample size, mean and sample standard deviation (ddof = 1) of one variant.

    ``n`` is a whole number >= 0, ``mean`` finite and ``sd`` finite and >= 0. Build it from
    sums with :meth:`from_sums` when that is what a warehouse gives.
    """

    name: str
    n: int
    mean: float
    sd: float

    def __post_init__(self) -> None:
        _check_name(self.name)
        object.__setattr__(self, "n", _validate.count("n", self.n))
        object.__setattr__(self, "mean", _validate.finite("mean", self.mean))
        object.__setattr__(self, "sd", _validate.non_negative("sd", self.sd))

    @classmethod
    def from_sums(cls, name: str, n: int, total: float, total_sq: float) -> MeanStats:
        """From ``n``, the sum and the sum of squares of the observations.

        Sample variance ``(Σx² − (Σx)²/n) / (n − 1)`` (the textbook computational formula,
        e.g. Chan, Golub & LeVeque 1983, "Algorithms for computing the sample variance",
        eq. 1.2). It loses precision when the mean is huge relative to the spread, so
        :func:`sources.tabular.summarize` computes sums of values shifted by a reference point
        instead; a tiny negative variance from rounding is clipped to 0. With ``n < 2`` the
        sd is 0 (undefined; callers that need it warn).
        """
        n = _validate.count("n", n)
        total = _validate.finite("total", total)
        total_sq = _validate.finite("total_sq", total_sq)
        if n == 0:
            return cls(name, 0, 0.0, 0.0)
        mean = total / n
        var = max(total_sq - total * mean, 0.0) / (n - 1) if n > 1 else 0.0
        return cls(name, n, mean, math.sqrt(var))

    @property
    def var(self) -> float:
        """Sample variance ``sd²`` per observation."""
        return self.sd * self.sd

    @property
    def se(self) -> float:
        """Standard error of the mean, ``sd / sqrt(n)``."""
        return self.sd / math.sqrt(self.n) if self.n else math.nan

    @property
    def total(self) -> float:
        """Sum of the observations, ``n * mean``."""
        return self.n * self.mean


@dataclass(frozen=True, slots=True)
class RatioStats:
    """A ratio metric of one variant: revenue per order, clicks per impression.

    The unit of randomisation (a user) differs from the unit of analysis (an order), so each
    user contributes a numerator ``x`` and a denominator ``y``, and the metric is
    ``R = mean(x) / mean(y)``. ``users`` (a whole number >= 0), the means and sample standard
    deviations (ddof = 1) of ``x`` and ``y`` per user, and their sample ``covariance``;
    ``denominator_mean`` must be > 0 and ``|covariance| <= numerator_sd·denominator_sd``.
    Build it from sums with :meth:`from_sums`. Shaped like gbstats' ``RatioStatistic``.

    The protocol's ``mean`` is ``R`` and ``var`` the delta-method variance per user
    ``(σ_x² − 2R·cov + R²σ_y²) / μ_y²`` (Deng, Knoblich & Lu 2018, "Applying the Delta Method
    in Metric Analytics", KDD, §3, eq. 4 times n; gbstats ``RatioStatistic.variance``), so
    ``se = sqrt(var / users)`` and every test written for the protocol applies.
    """

    name: str
    users: int
    numerator_mean: float
    denominator_mean: float
    numerator_sd: float
    denominator_sd: float
    covariance: float

    def __post_init__(self) -> None:
        _check_name(self.name)
        object.__setattr__(self, "users", _validate.count("users", self.users))
        for field in ("numerator_mean", "denominator_mean", "covariance"):
            object.__setattr__(self, field, _validate.bounded(field, getattr(self, field)))
        for field in ("numerator_sd", "denominator_sd"):
            object.__setattr__(self, field, _validate.non_negative(field, getattr(self, field)))
            _validate.bounded(field, getattr(self, field), 1e150)
        if self.denominator_mean <= 0:
            raise InvalidInput(
                f"denominator_mean must be > 0 (orders, impressions per user), got "
                f"{self.denominator_mean!r}",
                field="denominator_mean",
            )
        bound = self.numerator_sd * self.denominator_sd
        if abs(self.covariance) > bound * (1.0 + 1e-9) + 1e-300:
            raise InvalidInput(
                f"covariance must satisfy |covariance| <= numerator_sd * denominator_sd "
                f"({bound:.6g}), got {self.covariance!r}",
                field="covariance",
            )

    @classmethod
    def from_sums(
        cls,
        name: str,
        n: int,
        x: float,
        y: float,
        xx: float,
        yy: float,
        xy: float,
        shift: tuple[float, float] = (0.0, 0.0),
    ) -> RatioStats:
        """From ``n`` users' sums ``Σx``, ``Σy``, ``Σx²``, ``Σy²`` and ``Σxy`` (sample moments
        with ddof = 1, by the computational formulas of :meth:`MeanStats.from_sums`; a tiny
        negative variance from rounding is clipped to 0, the covariance to its bound). The
        sums may be of values less ``shift`` (a reference point such as the overall means,
        so that the formulas do not cancel catastrophically); the means add it back."""
        n = _validate.count("users", n)
        if n < 2:
            raise InvalidInput(f"users must be >= 2 for a ratio metric, got {n}", field="users")
        mx, my = x / n, y / n
        vx = max(xx - x * mx, 0.0) / (n - 1)
        vy = max(yy - y * my, 0.0) / (n - 1)
        bound = math.sqrt(vx * vy)
        cov = min(max((xy - x * my) / (n - 1), -bound), bound)
        return cls(name, n, mx + shift[0], my + shift[1], math.sqrt(vx), math.sqrt(vy), cov)

    @property
    def n(self) -> int:
        """Number of users (the protocol's sample size)."""
        return self.users

    @property
    def mean(self) -> float:
        """The ratio ``R = numerator_mean / denominator_mean``."""
        return self.numerator_mean / self.denominator_mean

    @property
    def var(self) -> float:
        """Delta-method variance of the ratio per user (class docstring); at least 0."""
        r, my = self.mean, self.denominator_mean
        num = self.numerator_sd**2 - 2 * r * self.covariance + r * r * self.denominator_sd**2
        return max(num, 0.0) / (my * my)

    @property
    def sd(self) -> float:
        """Delta-method standard deviation of the ratio per user, ``sqrt(var)``."""
        return math.sqrt(self.var)

    @property
    def se(self) -> float:
        """Standard error of the ratio, ``sqrt(var / users)``."""
        return math.sqrt(self.var / self.users) if self.users else math.nan


@dataclass(frozen=True, slots=True)
class CountStats:
    """Events of one variant: ``total`` events (a whole number >= 0) over ``users`` users (a
    whole number >= 0; a rate needs at least one, which the model checks)."""

    name: str
    users: int
    total: int

    def __post_init__(self) -> None:
        _check_name(self.name)
        object.__setattr__(self, "users", _validate.count("users", self.users))
        object.__setattr__(self, "total", _validate.count("total", self.total))


@dataclass(frozen=True, slots=True)
class RevenueStats:
    """Per-user revenue of one variant, zeros included, summarised for the hurdle model.

    ``users`` users of whom ``buyers`` spent a positive amount; ``log_mean`` and ``log_sd``
    (ddof = 1) summarise the logs of the positive amounts (0 when there are too few to
    define them). Build it from the amounts with :meth:`from_amounts`. The model needs at
    least one user and 2 buyers, which it checks.
    """

    name: str
    users: int
    buyers: int
    log_mean: float
    log_sd: float

    def __post_init__(self) -> None:
        _check_name(self.name)
        object.__setattr__(self, "users", _validate.count("users", self.users))
        buyers = _validate.count("buyers", self.buyers)
        if buyers > self.users:
            raise InvalidInput(
                f"buyers must be <= users ({self.users}), got {self.buyers!r}", field="buyers"
            )
        object.__setattr__(self, "buyers", buyers)
        object.__setattr__(self, "log_mean", _validate.finite("log_mean", self.log_mean))
        object.__setattr__(self, "log_sd", _validate.non_negative("log_sd", self.log_sd))

    @classmethod
    def from_amounts(cls, name: str, amounts: Any) -> RevenueStats:
        """From the per-user amounts (finite numbers >= 0; errors name ``amounts``)."""
        try:
            x = np.asarray(amounts, dtype=float).ravel()
        except (TypeError, ValueError):
            x = np.array([np.nan])
        if not np.all(np.isfinite(x)) or np.any(x < 0.0):
            raise InvalidInput(
                "amounts must be a non-empty list of finite numbers >= 0", field="amounts"
            )
        logs = np.log(x[x > 0.0])
        log_mean = float(logs.mean()) if logs.size else 0.0
        log_sd = float(logs.std(ddof=1)) if logs.size > 1 else 0.0
        return cls(name, int(x.size), int(logs.size), log_mean, log_sd)


Stats = TypeVar("Stats")


def named_records(
    records: Sequence[Mapping[str, Any]], field: str, keys: Sequence[str]
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Yield (``field[i]``, record) after checking shape, required keys and unique names."""
    if isinstance(records, str | bytes) or not isinstance(records, Sequence):
        raise InvalidInput(f"{field} must be a list of objects, got {records!r}", field=field)
    seen: set[str] = set()
    for i, rec in enumerate(records):
        where = f"{field}[{i}]"
        if not isinstance(rec, Mapping):
            raise InvalidInput(
                f"{where} must be an object with {', '.join(keys)}, got {rec!r}", field=where
            )
        for key in keys:
            if key not in rec:
                raise InvalidInput(f"{where}.{key} is required", field=f"{where}.{key}")
        name = _check_name(rec["name"], f"{where}.name")
        if name in seen:
            raise InvalidInput(
                f"{where}.name must be unique, got {name!r} twice", field=f"{where}.name"
            )
        seen.add(name)
        yield where, rec


def stats_records(
    records: Sequence[Mapping[str, Any]],
    cls: type[Stats],
    keys: Mapping[str, str],
    field: str,
) -> tuple[Stats, ...]:
    """Build one ``cls`` per record (``keys`` maps JSON key -> constructor argument).

    Errors are prefixed with ``field[i].`` and name the JSON key; names must be unique.
    """
    out: list[Stats] = []
    for where, rec in named_records(records, field, tuple(keys)):
        try:
            out.append(cls(**{arg: rec[key] for key, arg in keys.items()}))
        except InvalidInput as exc:
            msg, field_ = exc.message, exc.field
            for key, arg in keys.items():
                if field_ == arg:  # the constructor's argument, named as the JSON key
                    field_ = key
                    msg = key + msg[len(arg) :] if msg.startswith(f"{arg} ") else msg
            raise InvalidInput(msg, field=field_).within(f"{where}.") from None
    return tuple(out)


def proportion_variants(
    records: Sequence[Mapping[str, Any]], field: str = "variants"
) -> tuple[ProportionStats, ...]:
    """Parse ``[{"name", "users", "conversions"}, ...]`` into :class:`ProportionStats`.

    Errors read like ``variants[1].conversions must be <= users (1000), got 1200``.
    """
    keys = {"name": "name", "users": "users", "conversions": "conversions"}
    return stats_records(records, ProportionStats, keys, field)


def ratio_variants(
    records: Sequence[Mapping[str, Any]], field: str = "variants"
) -> tuple[RatioStats, ...]:
    """Parse ``[{"name", "users", "numerator_mean", "denominator_mean", "numerator_sd",
    "denominator_sd", "covariance"}, ...]`` into :class:`RatioStats`."""
    keys = {k: k for k in RATIO_KEYS}
    return stats_records(records, RatioStats, keys, field)


RATIO_KEYS = (
    "name",
    "users",
    "numerator_mean",
    "denominator_mean",
    "numerator_sd",
    "denominator_sd",
    "covariance",
)
"""The JSON keys of a ratio metric's variant (the :class:`RatioStats` fields)."""


def mean_variants(
    records: Sequence[Mapping[str, Any]], field: str = "variants"
) -> tuple[MeanStats, ...]:
    """Parse ``[{"name", "users", "mean", "sd"}, ...]`` into :class:`MeanStats`.

    The API calls the sample size ``users``; errors name it so, e.g.
    ``variants[0].users must be a whole number >= 0, got 2.5``.
    """
    keys = {"name": "name", "users": "n", "mean": "mean", "sd": "sd"}
    return stats_records(records, MeanStats, keys, field)
