"""Experiment specs (every version: the audit trail), analysis looks and decision records
(issue 15). All three are append-only: the store has no update or delete for them, and an
UPDATE is refused by a trigger on both dialects; rows go only with their experiment.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

CASCADE = "CASCADE"
APPEND_ONLY = ("experiment_specs", "analysis_looks", "decisions")


def upgrade() -> None:
    # Version 1 is the spec the experiment was created from; after_launch marks amendments.
    op.create_table(
        "experiment_specs",
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("spec", sa.Text, nullable=False),  # JSON, validated against the schema
        sa.Column("plan", sa.Text, nullable=False),  # JSON, computed by stats.power
        sa.Column("changed", sa.Text, nullable=False),  # JSON array of changed sections
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("after_launch", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("version >= 1"),
        sa.CheckConstraint("after_launch IN (0, 1)"),
        sa.PrimaryKeyConstraint("experiment_id", "version"),
        sa.ForeignKeyConstraint(["experiment_id"], ["experiments.id"], ondelete=CASCADE),
    )
    op.create_table(
        "analysis_looks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("before_horizon", sa.Integer, nullable=False),
        sa.CheckConstraint("before_horizon IN (0, 1)"),
        sa.ForeignKeyConstraint(["experiment_id"], ["experiments.id"], ondelete=CASCADE),
    )
    op.create_index("analysis_looks_by_experiment", "analysis_looks", ["experiment_id"])
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("rationale", sa.Text, nullable=False),
        sa.Column("follow_up", sa.Text, nullable=False, server_default=""),
        sa.Column("decided_at", sa.Text, nullable=False),
        sa.Column("spec_version", sa.Integer),
        sa.Column("analysis", sa.Text, nullable=False),  # JSON snapshot of the analysis
        sa.CheckConstraint("decision IN ('ship', 'iterate', 'stop', 're-run')"),
        sa.ForeignKeyConstraint(["experiment_id"], ["experiments.id"], ondelete=CASCADE),
    )
    op.create_index("decisions_by_experiment", "decisions", ["experiment_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION abacus_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION abacus_append_only()"
            )
    else:
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
