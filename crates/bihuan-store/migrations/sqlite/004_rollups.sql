-- Rollups: each appeal's metric facts summed per day (g = 0, bucket = yyyymmdd) and per month
-- (g = 1, bucket = yyyymm) for each breakdown; kept in the write transaction, rebuildable from
-- the appeals (`bihuan rollups rebuild`). Pending facts (deadlines whose outcome is not known
-- yet) are kept per appeal.
CREATE TABLE rollups (
    dim    TEXT NOT NULL,
    g      INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    metric TEXT NOT NULL,
    key    TEXT NOT NULL,
    num    INTEGER NOT NULL,
    den    INTEGER NOT NULL,
    sum    INTEGER NOT NULL,
    PRIMARY KEY (dim, g, bucket, metric, key)
) WITHOUT ROWID;

CREATE TABLE rollup_pending (
    appeal_id INTEGER NOT NULL,
    metric    TEXT NOT NULL,
    day       INTEGER NOT NULL,
    due       INTEGER NOT NULL,
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

-- The overdue count by any breakdown reads only this index.
CREATE INDEX appeals_overdue ON appeals(next_due, lead, township, category, channel, kind);
