"""Conjugate posteriors for the Bayesian A/B module, one class per metric type.

Every posterior has a ``mean``, an equal-tailed credible ``interval(level)`` and vectorised
``draws(rng, size)``. The three closed-form ones (Beta, Student-t, Gamma) also expose
``pdf``, ``cdf`` and ``ppf`` through :mod:`scipy.special` (the frozen ``scipy.stats``
distributions cost ~0.5 ms per call, too slow for a 5 ms analysis), which lets
:mod:`stats.bayes.decision` compute pairwise lift distributions by quadrature instead of draws.
The revenue posterior has no closed form for its mean revenue per user; it summarises draws.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from stats import _validate
from stats.errors import InvalidInput
from stats.sufficient import RatioStats, RevenueStats

FloatArray = npt.NDArray[np.float64]
LOG_MAX_FLOAT = float(np.log(np.finfo(np.float64).max))


class ClosedFormPosterior(ABC):
    """A posterior with closed-form ``cdf``/``ppf``/``pdf`` (Beta, Student-t, Gamma)."""

    __slots__ = ()

    @property
    @abstractmethod
    def mean(self) -> float: ...

    @abstractmethod
    def cdf(self, x: npt.ArrayLike) -> FloatArray: ...

    @abstractmethod
    def ppf(self, q: npt.ArrayLike) -> FloatArray: ...

    @abstractmethod
    def pdf(self, x: npt.ArrayLike) -> FloatArray: ...

    @abstractmethod
    def draws(self, rng: np.random.Generator, size: int) -> FloatArray: ...

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """Equal-tailed credible interval from the quantile function."""
        tail = (1.0 - level) / 2.0
        lo, hi = self.ppf(np.array([tail, 1.0 - tail]))
        return float(lo), float(hi)


@dataclass(frozen=True, slots=True)
class BetaPosterior(ClosedFormPosterior):
    """Beta(alpha, beta) posterior of a conversion rate.

    Beta-Binomial conjugacy: prior Beta(a, b) and ``c`` conversions out of ``n`` users give
    Beta(a + c, b + n − c) (Gelman et al., *Bayesian Data Analysis*, 3rd ed., §2.4).
    """

    alpha: float
    beta: float

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        return np.asarray(special.betainc(self.alpha, self.beta, np.clip(x, 0.0, 1.0)))

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        return np.asarray(special.betaincinv(self.alpha, self.beta, q))

    def pdf(self, x: npt.ArrayLike) -> FloatArray:
        v = np.clip(np.asarray(x, dtype=float), 0.0, 1.0)
        log_pdf = (
            special.xlogy(self.alpha - 1.0, v)
            + special.xlog1py(self.beta - 1.0, -v)
            - special.betaln(self.alpha, self.beta)
        )
        return np.asarray(np.exp(log_pdf))

    def draws(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.beta(self.alpha, self.beta, size)


class LocationScalePosterior(ClosedFormPosterior):
    """``loc + scale · Z`` for a standard variable ``Z`` that a subclass defines by its
    ``_standard_*`` functions; ``scale`` 0 is a point mass at ``loc``. The density, quantile
    and distribution functions of a location-scale family follow from Z's by the change of
    variables ``z = (x − loc) / scale`` (Casella & Berger, *Statistical Inference*, 2nd ed.,
    Theorem 3.5.6)."""

    __slots__ = ()
    loc: float
    scale: float

    @abstractmethod
    def _standard_cdf(self, z: FloatArray) -> FloatArray: ...

    @abstractmethod
    def _standard_ppf(self, q: npt.ArrayLike) -> FloatArray: ...

    @abstractmethod
    def _standard_logpdf(self, z: FloatArray) -> FloatArray: ...

    @abstractmethod
    def _standard_draws(self, rng: np.random.Generator, size: int) -> FloatArray: ...

    @property
    def mean(self) -> float:
        return self.loc

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        v = np.asarray(x, dtype=float)
        if self.scale == 0.0:
            return (v >= self.loc).astype(float)
        return np.asarray(self._standard_cdf((v - self.loc) / self.scale))

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        return np.asarray(self.loc + self.scale * self._standard_ppf(q))

    def pdf(self, x: npt.ArrayLike) -> FloatArray:
        z = (np.asarray(x, dtype=float) - self.loc) / self.scale
        return np.asarray(np.exp(self._standard_logpdf(z)) / self.scale)

    def draws(self, rng: np.random.Generator, size: int) -> FloatArray:
        return self.loc + self.scale * self._standard_draws(rng, size)


@dataclass(frozen=True, slots=True)
class StudentTPosterior(LocationScalePosterior):
    """Student-t posterior of a mean: ``loc + scale · T_df``.

    From the reference prior p(μ, σ²) ∝ 1/σ² (the limit κ0 → 0, ν0 → 0 of the
    normal-inverse-gamma family), the marginal posterior of μ is t_{n−1}(x̄, s²/n)
    (Gelman et al., *Bayesian Data Analysis*, 3rd ed., §3.2, eq. 3.5). Exact for normal data
    with unknown variance; by the central limit theorem a good approximation for other data
    with large n. ``scale`` 0 (all observations equal) is a point mass at ``loc``.
    """

    df: float
    loc: float
    scale: float

    def _standard_cdf(self, z: FloatArray) -> FloatArray:
        return np.asarray(special.stdtr(self.df, z))

    def _standard_ppf(self, q: npt.ArrayLike) -> FloatArray:
        return np.asarray(special.stdtrit(self.df, q))

    def _standard_logpdf(self, z: FloatArray) -> FloatArray:
        return np.asarray(
            special.gammaln((self.df + 1.0) / 2.0)
            - special.gammaln(self.df / 2.0)
            - 0.5 * np.log(self.df * np.pi)
            - (self.df + 1.0) / 2.0 * np.log1p(z * z / self.df)
        )

    def _standard_draws(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.standard_t(self.df, size)


@dataclass(frozen=True, slots=True)
class NormalPosterior(LocationScalePosterior):
    """Normal posterior ``N(loc, scale²)``: the large-sample approximation of an estimate
    with a known standard error under a flat prior (Gelman et al., *Bayesian Data Analysis*,
    3rd ed., §4.1). ``scale`` 0 is a point mass at ``loc``. scipy's ``norm`` functions, called
    as ``special.ndtr``/``ndtri`` on the standardised values."""

    loc: float
    scale: float

    def _standard_cdf(self, z: FloatArray) -> FloatArray:
        return np.asarray(special.ndtr(z))

    def _standard_ppf(self, q: npt.ArrayLike) -> FloatArray:
        return np.asarray(special.ndtri(q))

    def _standard_logpdf(self, z: FloatArray) -> FloatArray:
        return -0.5 * z * z - 0.5 * np.log(2.0 * np.pi)

    def _standard_draws(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.standard_normal(size)


@dataclass(frozen=True, slots=True)
class GammaPosterior(ClosedFormPosterior):
    """Gamma(shape, rate) posterior of a Poisson rate (events per user).

    Gamma-Poisson conjugacy: prior Gamma(a, b) and ``total`` events over ``users`` users give
    Gamma(a + total, b + users) (Gelman et al., *Bayesian Data Analysis*, 3rd ed., §2.6).
    """

    shape: float
    rate: float

    @property
    def mean(self) -> float:
        return self.shape / self.rate

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        return np.asarray(special.gammainc(self.shape, np.maximum(x, 0.0) * self.rate))

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        return np.asarray(special.gammaincinv(self.shape, q) / self.rate)

    def pdf(self, x: npt.ArrayLike) -> FloatArray:
        v = np.maximum(np.asarray(x, dtype=float), 0.0)
        log_pdf = (
            self.shape * np.log(self.rate)
            + special.xlogy(self.shape - 1.0, v)
            - self.rate * v
            - special.gammaln(self.shape)
        )
        return np.asarray(np.exp(log_pdf))

    def draws(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.standard_gamma(self.shape, size) / self.rate


@dataclass(frozen=True, slots=True)
class RevenuePosterior:
    """Posterior of mean revenue per user, p · exp(μ + σ²/2), a hurdle log-normal model.

    The share of buyers p has a Beta posterior (``buyer``); log amounts of buyers are normal
    with the reference prior p(μ, σ²) ∝ 1/σ², so σ² | data ~ (k − 1)s² / χ²_{k−1} and
    μ | σ², data ~ N(ȳ, σ²/k) (Gelman et al., *Bayesian Data Analysis*, 3rd ed., §3.2).
    Mean of a log-normal: exp(μ + σ²/2). Its exact posterior mean is infinite (E[exp(σ²/2)]
    diverges under any inverse-gamma posterior; Zellner 1971, *An Introduction to Bayesian
    Inference in Econometrics*, §3.3), so the mean and interval are Monte Carlo summaries of
    draws, which are stable when buyers are many (callers warn below 30 buyers).
    """

    buyer: BetaPosterior
    buyers: int
    log_mean: float
    log_sd: float

    def overflow_probability(self) -> float:
        """P(a draw of exp(μ + σ²/2) overflows a float64), up to μ's own spread: with σ² =
        (k − 1)s² / χ²_{k−1}, P(σ²/2 > log(max float) − ȳ) = P(χ²_{k−1} < (k − 1)s² / (2c))."""
        room = LOG_MAX_FLOAT - self.log_mean
        if room <= 0.0:
            return 1.0
        dof = self.buyers - 1
        return float(special.chdtr(dof, dof * self.log_sd**2 / (2.0 * room)))

    def draws(self, rng: np.random.Generator, size: int) -> FloatArray:
        p = self.buyer.draws(rng, size)
        dof = self.buyers - 1
        sigma2 = dof * self.log_sd**2 / rng.chisquare(dof, size)
        mu = self.log_mean + np.sqrt(sigma2 / self.buyers) * rng.standard_normal(size)
        return np.asarray(p * np.exp(mu + sigma2 / 2.0))


Posterior = ClosedFormPosterior | RevenuePosterior


def beta_binomial_posterior(
    users: int, conversions: int, prior_alpha: float = 1.0, prior_beta: float = 1.0
) -> BetaPosterior:
    """Beta posterior of a conversion rate from ``conversions`` out of ``users``."""
    users = _validate.count("users", users)
    conversions = _validate.count("conversions", conversions)
    if conversions > users:
        raise InvalidInput(
            f"conversions must be <= users ({users}), got {conversions!r}", field="conversions"
        )
    a = _validate.positive("prior.alpha", prior_alpha)
    b = _validate.positive("prior.beta", prior_beta)
    return BetaPosterior(a + conversions, b + users - conversions)


def normal_mean_posterior(n: int, mean: float, sd: float) -> StudentTPosterior:
    """Student-t posterior of a mean from ``n`` >= 2 observations (reference prior)."""
    n = _validate.count("users", n, minimum=2)
    mean = _validate.finite("mean", mean)
    sd = _validate.non_negative("sd", sd)
    return StudentTPosterior(float(n - 1), mean, sd / np.sqrt(n))


def normal_ratio_posterior(ratio: RatioStats) -> NormalPosterior:
    """Posterior of a ratio metric's ratio of means: the normal approximation
    ``N(R̂, se²)`` with the delta-method standard error including the numerator–denominator
    covariance (Deng, Knoblich & Lu 2018) under a flat prior, as gbstats' Bayesian test
    treats a ``RatioStatistic`` (a large-sample approximation, stated in the readout)."""
    if ratio.n < 2:
        raise InvalidInput(f"users must be a whole number >= 2, got {ratio.n}", field="users")
    return NormalPosterior(ratio.mean, ratio.se)


def gamma_poisson_posterior(
    users: int, total: float, prior_shape: float = 0.5, prior_rate: float = 0.0
) -> GammaPosterior:
    """Gamma posterior of events per user from ``total`` events over ``users`` >= 1 users.

    The default prior Gamma(1/2, 0) ∝ λ^(−1/2) is Jeffreys' prior for a Poisson rate
    (Gelman et al., *Bayesian Data Analysis*, 3rd ed., §2.8); improper, but the posterior is
    proper once there is one user.
    """
    users = _validate.count("users", users, minimum=1)
    total = _validate.count("total", total)
    shape = _validate.positive("prior.shape", prior_shape)
    rate = _validate.non_negative("prior.rate", prior_rate)
    return GammaPosterior(shape + total, rate + users)


def revenue_stats(amounts: npt.ArrayLike, name: str = "revenue") -> RevenueStats:
    """Reduce per-user amounts (zeros included) to :class:`~stats.sufficient.RevenueStats`
    the model can take (see :func:`check_revenue`)."""
    return check_revenue(RevenueStats.from_amounts(name, amounts))


def check_revenue(stats: RevenueStats) -> RevenueStats:
    """``stats`` if the model can take it: at least one user and 2 buyers (errors name
    ``amounts``)."""
    if stats.users == 0:
        raise InvalidInput(
            "amounts must be a non-empty list of finite numbers >= 0", field="amounts"
        )
    if stats.buyers < 2:
        raise InvalidInput(
            f"amounts must contain at least 2 positive amounts, got {stats.buyers}",
            field="amounts",
        )
    return stats


def revenue_posterior(
    stats: RevenueStats, prior_alpha: float = 1.0, prior_beta: float = 1.0
) -> RevenuePosterior:
    """Hurdle log-normal posterior of mean revenue per user from
    :class:`~stats.sufficient.RevenueStats` (:func:`check_revenue` first)."""
    check_revenue(stats)
    buyer = beta_binomial_posterior(stats.users, stats.buyers, prior_alpha, prior_beta)
    return RevenuePosterior(buyer, stats.buyers, stats.log_mean, stats.log_sd)
