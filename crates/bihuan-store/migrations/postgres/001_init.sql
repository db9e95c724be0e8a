-- bihuan on PostgreSQL, schema version 1 (the same tables as SQLite's versions 1–3).
-- Times are Unix seconds (UTC). Current state lives in `appeals` (filter columns + the whole
-- state as JSONB); history lives in `events`, which is append-only. Appeal ids come from the
-- sequence `appeal_ids`; the numbers of each month from a sequence `appeal_no_YYYYMM`, created
-- when the month's first appeal arrives (sequences never hand out a number twice, even across
-- several servers, and do not hold a lock until commit the way a counter row would).

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE units (
    id      BIGINT PRIMARY KEY,
    name    TEXT NOT NULL,
    kind    TEXT NOT NULL,
    parent  BIGINT,
    aliases TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE categories (
    id     BIGINT PRIMARY KEY,
    name   TEXT NOT NULL,
    parent BIGINT
);

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    unit          BIGINT NOT NULL,
    password_hash TEXT NOT NULL,
    active        BIGINT NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL
);

CREATE TABLE credentials (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);

CREATE TABLE calendar_years (
    year      BIGINT PRIMARY KEY,
    json      TEXT NOT NULL,
    loaded_at BIGINT NOT NULL
);

CREATE SEQUENCE appeal_ids;

CREATE TABLE appeals (
    id              BIGINT PRIMARY KEY,
    number          TEXT NOT NULL UNIQUE,
    version         BIGINT NOT NULL,
    status          TEXT NOT NULL,
    regime          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    urgency         TEXT NOT NULL,
    category        BIGINT,
    township        BIGINT,
    lead            BIGINT,
    owner           BIGINT,
    registered_at   BIGINT NOT NULL,
    registered_by   BIGINT NOT NULL,
    citizen_key     TEXT,
    next_due        BIGINT,
    due_soon_at     BIGINT,
    unsupervised_due BIGINT,
    idempotency_key TEXT UNIQUE,
    updated_at      BIGINT NOT NULL,
    state           JSONB NOT NULL
);
CREATE INDEX appeals_status ON appeals(status, id);
CREATE INDEX appeals_lead ON appeals(lead, id);
CREATE INDEX appeals_township ON appeals(township, id);
CREATE INDEX appeals_category ON appeals(category, id);
CREATE INDEX appeals_registered ON appeals(registered_at);
CREATE INDEX appeals_next_due ON appeals(next_due);
CREATE INDEX appeals_unsupervised_due ON appeals(unsupervised_due);
CREATE INDEX appeals_citizen ON appeals(citizen_key);
CREATE INDEX appeals_owner ON appeals(owner);

CREATE TABLE appeal_units (
    unit_id   BIGINT NOT NULL,
    appeal_id BIGINT NOT NULL,
    PRIMARY KEY (unit_id, appeal_id)
);

CREATE TABLE events (
    id         BIGSERIAL PRIMARY KEY,
    appeal_id  BIGINT NOT NULL,
    version    BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    actor_user BIGINT NOT NULL,
    type       TEXT NOT NULL,
    body       JSONB NOT NULL,
    UNIQUE (appeal_id, version)
);

CREATE TABLE attachments (
    id          BIGSERIAL PRIMARY KEY,
    appeal_id   BIGINT NOT NULL,
    name        TEXT NOT NULL,
    mime        TEXT NOT NULL,
    size        BIGINT NOT NULL,
    sha256      TEXT NOT NULL,
    data        BYTEA NOT NULL,
    uploaded_by BIGINT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX attachments_appeal ON attachments(appeal_id, id);

CREATE TABLE entered_rates (
    id         BIGSERIAL PRIMARY KEY,
    period     TEXT NOT NULL,
    name       TEXT NOT NULL,
    value      DOUBLE PRECISION NOT NULL,
    source     TEXT NOT NULL,
    entered_by BIGINT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX entered_rates_period ON entered_rates(period, name, id);

-- History is never changed or removed.
CREATE FUNCTION bihuan_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION bihuan_append_only();
CREATE TRIGGER attachments_append_only BEFORE UPDATE OR DELETE ON attachments
    FOR EACH ROW EXECUTE FUNCTION bihuan_append_only();
