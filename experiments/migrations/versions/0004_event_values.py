"""A value on events: the unit's pre-period covariate (CUPED), sent on its exposure or as a
'covariate' event; NULL on every other event.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("value", sa.Float))
