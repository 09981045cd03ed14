"""Per-user orders and revenue for the ratio-metric tests (revenue per order)."""

from __future__ import annotations

import numpy as np


def orders_csv(
    seed: int, ratios: tuple[float, float], *, rate: float, users: int, noise: float
) -> tuple[str, dict[str, np.ndarray]]:
    """Arms A and B of ``users`` each: orders ``y ~ Poisson(rate)`` and revenue
    ``x = ratio·y + noise·√y·ε`` (rounded to cents), as a CSV ``user,variant,orders,revenue``
    and each arm's ``[x, y]``."""
    rng = np.random.default_rng(seed)
    rows, data = ["user,variant,orders,revenue"], {}
    for arm, value in zip(("A", "B"), ratios, strict=True):
        y = rng.poisson(rate, users).astype(float)
        x = np.round(value * y + noise * np.sqrt(y) * rng.standard_normal(users), 2)
        data[arm] = np.vstack([x, y])
        rows += [
            f"{arm}{i},{arm},{int(b)},{a:.2f}" for i, (a, b) in enumerate(zip(x, y, strict=True))
        ]
    return "\n".join(rows) + "\n", data
