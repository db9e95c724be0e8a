-- Each appeal's facts, one row per metric, day and unit (see the SQLite migration 011).
CREATE TABLE appeal_facts (
    metric    TEXT NOT NULL,
    day       BIGINT NOT NULL,
    unit      BIGINT NOT NULL,
    appeal_id BIGINT NOT NULL,
    num       BIGINT NOT NULL,
    den       BIGINT NOT NULL,
    pending   BIGINT NOT NULL,
    due       BIGINT,
    PRIMARY KEY (metric, day, unit, appeal_id)
);
