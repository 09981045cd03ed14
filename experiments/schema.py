"""The Experiments tables as SQLAlchemy Core sees them, for the store's queries.

The schema itself is made by the Alembic revisions in ``migrations/versions`` (frozen history,
never imported from here); a new column or table needs a revision there and its description
here. Timestamps are UTC ISO-8601 text with microseconds and a trailing Z (fixed width), so
text order is time order on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, MetaData, Table, Text

metadata = MetaData()

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("hypothesis", Text, nullable=False),
    Column("status", Text, nullable=False),  # draft | running | stopped
    Column("primary_event", Text, nullable=False),
    Column("guardrail_events", Text, nullable=False),  # JSON array of event names
    Column("bandit", Integer, nullable=False),  # 0 or 1
    Column("ingest_key", Text, nullable=False, unique=True),
    Column("created_at", Text, nullable=False),
    Column("launched_at", Text),
    Column("stopped_at", Text),
    Column("weights_updated_at", Text),
    Column("winner", Text),  # named by the latest analysis (NULL: none yet)
    Column("analyzed_at", Text),
)

# Position 0 is the control; weight is the current normalised traffic share (sums to 1).
variants = Table(
    "variants",
    metadata,
    Column("experiment_id", Integer, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("weight", Float, nullable=False),
)

# Every weight vector ever in force (one at launch, one per bandit update).
weight_history = Table(
    "weight_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", Integer, nullable=False),
    Column("effective_from", Text, nullable=False),
    Column("weights", Text, nullable=False),  # JSON array, in variant position order
)

# A unit keeps its first variant; weights_id records the weights it was drawn under.
assignments = Table(
    "assignments",
    metadata,
    Column("experiment_id", Integer, primary_key=True),
    Column("unit", Text, primary_key=True),
    Column("variant", Integer, nullable=False),
    Column("weights_id", Integer, nullable=False),
    Column("assigned_at", Text, nullable=False),
)

# name is 'exposure', the primary event, a guardrail event or 'covariate'.
events = Table(
    "events",
    metadata,
    Column("experiment_id", Integer, primary_key=True),
    Column("event_id", Text, primary_key=True),
    Column("unit", Text, nullable=False),
    Column("variant", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("ts", Text, nullable=False),
    Column("received_at", Text, nullable=False),
    Column("value", Float),  # the unit's pre-period covariate, on an exposure or 'covariate'
)

# Issue 15's append-only governance records (see experiments.records).
experiment_specs = Table(
    "experiment_specs",
    metadata,
    Column("experiment_id", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),  # 1: the spec it was created from
    Column("spec", Text, nullable=False),  # JSON
    Column("plan", Text, nullable=False),  # JSON, computed by stats.power
    Column("changed", Text, nullable=False),  # JSON array of the sections changed
    Column("reason", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("after_launch", Integer, nullable=False),  # 1: an audited amendment
)

analysis_looks = Table(
    "analysis_looks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", Integer, nullable=False),
    Column("at", Text, nullable=False),
    Column("n", Integer, nullable=False),
    Column("before_horizon", Integer, nullable=False),  # 0 or 1
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", Integer, nullable=False),
    Column("decision", Text, nullable=False),  # ship | iterate | stop | re-run
    Column("owner", Text, nullable=False),
    Column("rationale", Text, nullable=False),
    Column("follow_up", Text, nullable=False),
    Column("decided_at", Text, nullable=False),
    Column("spec_version", Integer),
    Column("analysis", Text, nullable=False),  # JSON snapshot
)
