"""Reports: any analysis as one self-contained HTML file that works offline.

``POST /api/report`` is here; an experiment's report (``GET /api/experiments/<id>/report``)
is a route of the experiments blueprint (:mod:`blueprints.experiments.report`, imported
here so it attaches before the blueprints are registered), where its auth and store errors
answer as the rest of that API does.
"""

from flask import Blueprint

from blueprints._contract import Contract

bp = Blueprint("report", __name__)
contract = Contract(bp, "report")

from blueprints.experiments import report as _experiment_report  # noqa: E402,F401
from blueprints.report import routes  # noqa: E402,F401  (routes attach to bp)
