"""The winner named by the latest analysis (NULL: none yet, or never analysed) and when it ran,
so listing experiments reads a column instead of analysing every experiment again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("experiments", sa.Column("winner", sa.Text))
    op.add_column("experiments", sa.Column("analyzed_at", sa.Text))
