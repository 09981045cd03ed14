"""The one exception ``stats`` raises for invalid input.

:class:`InvalidInput` is a ``ValueError`` (so ``except ValueError`` still catches it) that
carries, beside a message quoting the value and naming the allowed range, the parameter it is
about as data: ``field`` spelt as the API spells it (``alpha``, ``variants[1].conversions``)
and, for row data, the 1-based ``row``. The web layer reads those attributes and never parses
the message, so the wording of a message is free to change.
"""

from __future__ import annotations


class InvalidInput(ValueError):
    """Invalid input to a ``stats`` function: ``field`` (and ``row``) say where.

    >>> err = InvalidInput("alpha must be in (0, 0.5], got 0.7", field="alpha")
    >>> err.field, err.row, str(err)
    ('alpha', None, 'alpha must be in (0, 0.5], got 0.7')
    """

    def __init__(self, message: str, *, field: str | None = None, row: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.row = row

    def __reduce__(self) -> tuple[object, ...]:  # keyword-only arguments survive pickling
        return (_rebuild, (self.message, self.field, self.row))

    def within(self, prefix: str) -> InvalidInput:
        """The same error one level down, e.g. ``within("variants[2].")`` turns field
        ``users`` into ``variants[2].users`` (and its message likewise)."""
        field = None if self.field is None else f"{prefix}{self.field}"
        return InvalidInput(f"{prefix}{self.message}", field=field, row=self.row)


def _rebuild(message: str, field: str | None, row: int | None) -> InvalidInput:
    return InvalidInput(message, field=field, row=row)
