-- Each appeal's facts (crates/bihuan-store/src/rollups.rs), one row per metric, day and unit:
-- the appeals behind every figure, so that a figure opens exactly the appeals it counts.
-- `unit` is 0 for facts of no unit; `pending` counts facts whose outcome is not known yet
-- (missed once `now` passes `due`). Filled by the rollup rebuild the new facts version asks for.
CREATE TABLE appeal_facts (
    metric    TEXT NOT NULL,
    day       INTEGER NOT NULL,
    unit      INTEGER NOT NULL,
    appeal_id INTEGER NOT NULL,
    num       INTEGER NOT NULL,
    den       INTEGER NOT NULL,
    pending   INTEGER NOT NULL,
    due       INTEGER,
    PRIMARY KEY (metric, day, unit, appeal_id)
) WITHOUT ROWID;
