"""Experiments module: storage, deterministic assignment and event ingestion (issue 8).

The Flask blueprint (``bp``) arrives in a later phase; until then this package only holds the
layers below it: :mod:`.store` (SQLite) and :mod:`.assignment` (hashing into weights).
"""
