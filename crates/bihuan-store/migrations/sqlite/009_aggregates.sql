-- Every capability beyond the hotline loop keeps its records here, one shape for all: an
-- aggregate (kind + id) with its current state and version, its append-only history, and index
-- rows (key, value) its lists are found by. A new capability needs a kind and domain code, not
-- new tables or new store methods (docs/architecture.md, "Adding a capability").
CREATE TABLE aggregates (
    kind       TEXT NOT NULL,
    id         INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    state      TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;

-- The last id given out per kind (in the writing transaction, so refusals and rollbacks leave
-- no gap).
CREATE TABLE aggregate_ids (
    kind TEXT PRIMARY KEY,
    last INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE aggregate_events (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    aggregate  INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    actor_user INTEGER NOT NULL,
    type       TEXT NOT NULL,
    body       TEXT NOT NULL,
    UNIQUE (kind, aggregate, version)
);

CREATE TRIGGER aggregate_events_append_only_update BEFORE UPDATE ON aggregate_events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER aggregate_events_append_only_delete BEFORE DELETE ON aggregate_events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

-- Replaced whole with each write of the aggregate, in the same transaction.
CREATE TABLE aggregate_index (
    kind      TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    aggregate INTEGER NOT NULL,
    PRIMARY KEY (kind, key, value, aggregate)
) WITHOUT ROWID;

CREATE INDEX aggregate_index_by_aggregate ON aggregate_index (kind, aggregate);
