-- bihuan on SQLite, schema version 1.
-- Times are Unix seconds (UTC). Current state lives in `appeals` (filter columns + the whole
-- state as JSON); history lives in `events`, which is append-only.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE units (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL,
    kind    TEXT NOT NULL,
    parent  INTEGER,
    aliases TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE categories (
    id     INTEGER PRIMARY KEY,
    name   TEXT NOT NULL,
    parent INTEGER
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    unit          INTEGER NOT NULL,
    password_hash TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

CREATE TABLE credentials (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER
);

CREATE TABLE calendar_years (
    year      INTEGER PRIMARY KEY,
    json      TEXT NOT NULL,
    loaded_at INTEGER NOT NULL
);

CREATE TABLE number_seq (
    ym   TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);

CREATE TABLE appeals (
    id              INTEGER PRIMARY KEY,
    number          TEXT NOT NULL UNIQUE,
    version         INTEGER NOT NULL,
    status          TEXT NOT NULL,
    regime          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    urgency         TEXT NOT NULL,
    category        INTEGER,
    township        INTEGER,
    lead            INTEGER,
    owner           INTEGER,
    registered_at   INTEGER NOT NULL,
    registered_by   INTEGER NOT NULL,
    citizen_key     TEXT,
    next_due        INTEGER,
    due_soon_at     INTEGER,
    -- the earliest running deadline not yet supervised as overdue (for the scanner)
    unsupervised_due INTEGER,
    idempotency_key TEXT UNIQUE,
    updated_at      INTEGER NOT NULL,
    state           TEXT NOT NULL
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

-- Units an appeal involves (lead, assisting, called by whistle, or once led): for scoping.
CREATE TABLE appeal_units (
    unit_id   INTEGER NOT NULL,
    appeal_id INTEGER NOT NULL,
    PRIMARY KEY (unit_id, appeal_id)
) WITHOUT ROWID;

CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    appeal_id  INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    actor_user INTEGER NOT NULL,
    type       TEXT NOT NULL,
    body       TEXT NOT NULL,
    UNIQUE (appeal_id, version)
);

CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
