"""The one error type of :mod:`sources`: a ``ValueError`` that names the offending field."""

from __future__ import annotations


class SourceError(ValueError):
    """A source, table or column a request may not use, or data it cannot reduce.

    ``field`` is ``"source"``, ``"table"`` or the column role (``"variant"``, ``"metric"``,
    ``"covariate"``, ``"segment"``, ``"date"`` …), so the web layer can name it without
    parsing the message.
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field
