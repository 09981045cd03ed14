"""Pure statistics for Abacus: numpy, scipy and statsmodels only (no pandas: data frames
belong to :mod:`sources`, as ``tests/test_layers.py`` checks).

Nothing here knows it is on the web. Functions take plain numbers or sufficient statistics
and return frozen dataclass results; invalid input raises :class:`stats.errors.InvalidInput`
(a ``ValueError``) carrying the parameter as ``field`` (and ``row``) beside a message naming
its allowed range (see :mod:`stats._validate`).
"""
