"""Data sources named in configuration, as JSON: which sources and tables a request may use
(``GET /api/sources``) and a table's columns (``GET /api/sources/<name>/tables/<table>``).

Not a page of its own (no ``MODULE``): the data pages' "Data source" mode calls it. The
sources themselves live in :mod:`sources.config`.
"""

from flask import Blueprint

from blueprints._contract import Contract

bp = Blueprint("sources", __name__)
contract = Contract(bp, "sources")

from blueprints.sources import routes  # noqa: E402,F401  (routes attach to bp)
