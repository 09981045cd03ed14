-- Experiments, their variants and weights, assignments and events.
-- Timestamps are UTC ISO-8601 text with microseconds and a trailing Z, so text order is time order.

CREATE TABLE experiments (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    name               TEXT    NOT NULL,
    hypothesis         TEXT    NOT NULL DEFAULT '',
    status             TEXT    NOT NULL DEFAULT 'draft'
                               CHECK (status IN ('draft', 'running', 'stopped')),
    primary_event      TEXT    NOT NULL,
    guardrail_events   TEXT    NOT NULL DEFAULT '[]',  -- JSON array of event names
    bandit             INTEGER NOT NULL DEFAULT 0 CHECK (bandit IN (0, 1)),
    ingest_key         TEXT    NOT NULL UNIQUE,
    created_at         TEXT    NOT NULL,
    launched_at        TEXT,
    stopped_at         TEXT,
    weights_updated_at TEXT
);

-- Position 0 is the control. weight is the current normalised traffic share (sums to 1).
CREATE TABLE variants (
    experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL CHECK (position >= 0),
    name          TEXT    NOT NULL,
    weight        REAL    NOT NULL CHECK (weight >= 0),
    PRIMARY KEY (experiment_id, position),
    UNIQUE (experiment_id, name)
) WITHOUT ROWID;

-- Every weight vector ever in force (one row at launch, one per bandit update), so the SRM
-- check can compare against the weights each unit was assigned under.
CREATE TABLE weight_history (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    experiment_id  INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    effective_from TEXT    NOT NULL,
    weights        TEXT    NOT NULL  -- JSON array, in variant position order
);
CREATE INDEX weight_history_by_experiment ON weight_history (experiment_id, effective_from);

-- A unit keeps its first variant; weights_id records the weights it was drawn under.
CREATE TABLE assignments (
    experiment_id INTEGER NOT NULL,
    unit          TEXT    NOT NULL,
    variant       INTEGER NOT NULL,
    weights_id    INTEGER NOT NULL REFERENCES weight_history (id) ON DELETE CASCADE,
    assigned_at   TEXT    NOT NULL,
    PRIMARY KEY (experiment_id, unit),
    FOREIGN KEY (experiment_id, variant)
        REFERENCES variants (experiment_id, position) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX assignments_by_weights ON assignments (weights_id);

-- name is 'exposure', the primary event or a guardrail event. Ingestion guarantees that a
-- conversion follows (in ts) an exposure of the same unit to the same variant.
CREATE TABLE events (
    experiment_id INTEGER NOT NULL,
    event_id      TEXT    NOT NULL,
    unit          TEXT    NOT NULL,
    variant       INTEGER NOT NULL,
    name          TEXT    NOT NULL,
    ts            TEXT    NOT NULL,
    received_at   TEXT    NOT NULL,
    PRIMARY KEY (experiment_id, event_id),
    FOREIGN KEY (experiment_id, variant)
        REFERENCES variants (experiment_id, position) ON DELETE CASCADE
) WITHOUT ROWID;
-- Serves the exposure look-up during ingestion and the distinct-unit counts.
CREATE INDEX events_by_name_unit ON events (experiment_id, name, unit, variant, ts);
