"""Assign a unit to an Abacus experiment's variant locally, as the server's ``assign`` does.

Reference snippet for high-volume clients (README, "Assign units locally"); standard library
only, Python 3.9+. Copy it into your service::

    assign(42, "u123", [("control", 0.5), ("B", 0.5)])  # -> "B"

``variants`` are the experiment's variants in its order, with their current weights (as
``GET /api/experiments/<id>`` lists them). The server also remembers each unit's first
answer, so after a weight change (bandit mode) it keeps answering that; a stopped experiment
answers the control.
"""

import hashlib


def position(experiment_id: int, unit: str) -> float:
    """The unit's place in [0, 1): the top 53 bits of the first 8 bytes of
    SHA-256("<experiment_id>:<unit>") (UTF-8, big-endian), divided by 2**53."""
    digest = hashlib.sha256(f"{experiment_id}:{unit}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / 2**53


def assign(experiment_id: int, unit: str, variants: list[tuple[str, float]]) -> str:
    """The first variant whose running total of weights exceeds position × total weight."""
    total = 0.0
    bounds = []
    for name, weight in variants:
        total += weight
        bounds.append((total, name))
    x = position(experiment_id, unit) * total
    return next(name for bound, name in bounds if bound > x)
