"""Pure statistics for Abacus: numpy, scipy, statsmodels and pandas only.

Nothing here knows it is on the web. Functions take plain numbers or sufficient statistics
and return frozen dataclass results; invalid input raises :class:`stats.errors.InvalidInput`
(a ``ValueError``) carrying the parameter as ``field`` (and ``row``) beside a message naming
its allowed range (see :mod:`stats._validate`).
"""
