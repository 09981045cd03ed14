"""Experiments, their variants and weights, assignments and events.

Revision ID: 0001
Revises:
Create Date: 2026-12-05

Timestamps are UTC ISO-8601 text with microseconds and a trailing Z, so text order is time
order. Ids never come back after a delete (SQLite AUTOINCREMENT, PostgreSQL sequences): the
assignment hash is keyed by the experiment id.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

CASCADE = "CASCADE"


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("hypothesis", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.Text, nullable=False, server_default="draft"),
        sa.Column("primary_event", sa.Text, nullable=False),
        sa.Column("guardrail_events", sa.Text, nullable=False, server_default="[]"),
        sa.Column("bandit", sa.Integer, nullable=False, server_default="0"),
        sa.Column("ingest_key", sa.Text, nullable=False, unique=True),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("launched_at", sa.Text),
        sa.Column("stopped_at", sa.Text),
        sa.Column("weights_updated_at", sa.Text),
        sa.CheckConstraint("status IN ('draft', 'running', 'stopped')"),
        sa.CheckConstraint("bandit IN (0, 1)"),
        sqlite_autoincrement=True,
    )
    # Position 0 is the control. weight is the current normalised traffic share (sums to 1).
    op.create_table(
        "variants",
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("weight", sa.Float, nullable=False),
        sa.CheckConstraint("position >= 0"),
        sa.CheckConstraint("weight >= 0"),
        sa.PrimaryKeyConstraint("experiment_id", "position"),
        sa.UniqueConstraint("experiment_id", "name"),
        sa.ForeignKeyConstraint(["experiment_id"], ["experiments.id"], ondelete=CASCADE),
        sqlite_with_rowid=False,
    )
    # Every weight vector ever in force (one row at launch, one per bandit update), so the SRM
    # check can compare against the weights each unit was assigned under.
    op.create_table(
        "weight_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("effective_from", sa.Text, nullable=False),
        sa.Column("weights", sa.Text, nullable=False),  # JSON array, in position order
        sa.ForeignKeyConstraint(["experiment_id"], ["experiments.id"], ondelete=CASCADE),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "weight_history_by_experiment", "weight_history", ["experiment_id", "effective_from"]
    )
    # A unit keeps its first variant; weights_id records the weights it was drawn under.
    op.create_table(
        "assignments",
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("variant", sa.Integer, nullable=False),
        sa.Column("weights_id", sa.Integer, nullable=False),
        sa.Column("assigned_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("experiment_id", "unit"),
        sa.ForeignKeyConstraint(["weights_id"], ["weight_history.id"], ondelete=CASCADE),
        sa.ForeignKeyConstraint(
            ["experiment_id", "variant"],
            ["variants.experiment_id", "variants.position"],
            ondelete=CASCADE,
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("assignments_by_weights", "assignments", ["weights_id"])
    # name is 'exposure', the primary event or a guardrail event. Ingestion guarantees that a
    # conversion follows (in ts) an exposure of the same unit to the same variant.
    op.create_table(
        "events",
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("variant", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("ts", sa.Text, nullable=False),
        sa.Column("received_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("experiment_id", "event_id"),
        sa.ForeignKeyConstraint(
            ["experiment_id", "variant"],
            ["variants.experiment_id", "variants.position"],
            ondelete=CASCADE,
        ),
        sqlite_with_rowid=False,
    )
    # Serves the exposure look-up during ingestion and the distinct-unit counts.
    op.create_index(
        "events_by_name_unit", "events", ["experiment_id", "name", "unit", "variant", "ts"]
    )
