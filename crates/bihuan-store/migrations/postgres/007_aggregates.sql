-- Every capability beyond the hotline loop keeps its records here, one shape for all: an
-- aggregate (kind + id) with its current state and version, its append-only history, and index
-- rows (key, value) its lists are found by. A new capability needs a kind and domain code, not
-- new tables or new store methods (docs/architecture.md, "Adding a capability").
CREATE TABLE aggregates (
    kind       TEXT NOT NULL,
    id         BIGINT NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    state      JSONB NOT NULL,
    PRIMARY KEY (kind, id)
);

-- The last id given out per kind: a row, not a sequence, so that a rolled-back write gives its
-- id back and two servers never hand out the same one (the row lock orders them).
CREATE TABLE aggregate_ids (
    kind TEXT PRIMARY KEY,
    last BIGINT NOT NULL
);

CREATE TABLE aggregate_events (
    id         BIGSERIAL PRIMARY KEY,
    kind       TEXT NOT NULL,
    aggregate  BIGINT NOT NULL,
    version    BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    actor_user BIGINT NOT NULL,
    type       TEXT NOT NULL,
    body       JSONB NOT NULL,
    UNIQUE (kind, aggregate, version)
);

CREATE TRIGGER aggregate_events_append_only BEFORE UPDATE OR DELETE ON aggregate_events
    FOR EACH ROW EXECUTE FUNCTION bihuan_append_only();

CREATE TABLE aggregate_index (
    kind      TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    aggregate BIGINT NOT NULL,
    PRIMARY KEY (kind, key, value, aggregate)
);

CREATE INDEX aggregate_index_by_aggregate ON aggregate_index (kind, aggregate);
