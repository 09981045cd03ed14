"""Pure statistics for Abacus: numpy, scipy, statsmodels and pandas only.

Nothing here knows it is on the web. Functions take plain numbers or sufficient statistics
and return frozen dataclass results; invalid input raises ``ValueError`` naming the parameter
and its allowed range (see :mod:`stats._validate`).
"""
