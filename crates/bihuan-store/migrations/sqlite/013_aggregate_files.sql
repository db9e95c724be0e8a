-- Files an aggregate's events refer to (an application's materials, a campaign item's
-- evidence), written in the same transaction as the event that names them. A file is named by
-- the SHA-256 of its bytes within its aggregate, so the event can carry the name before the row
-- exists, and the same file handed in twice is stored once. Never updated or deleted, as the
-- events that name them.
CREATE TABLE aggregate_files (
    kind        TEXT NOT NULL,
    aggregate   INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    mime        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    data        BLOB NOT NULL,
    uploaded_by INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (kind, aggregate, sha256)
) WITHOUT ROWID;

CREATE TRIGGER aggregate_files_append_only_update BEFORE UPDATE ON aggregate_files
BEGIN
    SELECT RAISE(ABORT, 'files are append-only');
END;

CREATE TRIGGER aggregate_files_append_only_delete BEFORE DELETE ON aggregate_files
BEGIN
    SELECT RAISE(ABORT, 'files are append-only');
END;
