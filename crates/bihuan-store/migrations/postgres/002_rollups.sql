-- Rollups (see the SQLite migration 004 and crates/bihuan-store/src/rollups.rs).
CREATE TABLE rollups (
    dim    TEXT NOT NULL,
    g      BIGINT NOT NULL,
    bucket BIGINT NOT NULL,
    metric TEXT NOT NULL,
    key    TEXT NOT NULL,
    num    BIGINT NOT NULL,
    den    BIGINT NOT NULL,
    sum    BIGINT NOT NULL,
    PRIMARY KEY (dim, g, bucket, metric, key)
);

CREATE TABLE rollup_pending (
    appeal_id BIGINT NOT NULL,
    metric    TEXT NOT NULL,
    day       BIGINT NOT NULL,
    due       BIGINT NOT NULL,
    unit      TEXT NOT NULL,
    township  TEXT NOT NULL,
    category  TEXT NOT NULL,
    channel   TEXT NOT NULL,
    kind      TEXT NOT NULL
);
CREATE INDEX rollup_pending_appeal ON rollup_pending(appeal_id);
-- Covers the read of a period (every column), so it never touches the table.
CREATE INDEX rollup_pending_day ON rollup_pending(day, due, metric, unit, township, category, channel, kind);
CREATE INDEX appeals_citizen_category ON appeals(citizen_key, category, registered_at);

-- Writers append their changes here instead of updating `rollups` (rows every registration
-- touches would otherwise be locked until each commit, serialising all writers); every server
-- folds them into `rollups` about once a second, and readers add both.
CREATE TABLE rollup_deltas (
    dim    TEXT NOT NULL,
    g      BIGINT NOT NULL,
    bucket BIGINT NOT NULL,
    metric TEXT NOT NULL,
    key    TEXT NOT NULL,
    num    BIGINT NOT NULL,
    den    BIGINT NOT NULL,
    sum    BIGINT NOT NULL
);
CREATE INDEX rollup_deltas_dim ON rollup_deltas(dim, g, bucket);

-- The overdue count by any breakdown reads only this index.
CREATE INDEX appeals_overdue ON appeals(next_due, lead, township, category, channel, kind);
