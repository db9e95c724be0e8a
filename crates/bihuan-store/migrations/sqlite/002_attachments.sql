-- Attachments (photos, documents) stored with their appeal. Like events, never changed or removed.
CREATE TABLE attachments (
    id          INTEGER PRIMARY KEY,
    appeal_id   INTEGER NOT NULL,
    name        TEXT NOT NULL,
    mime        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    data        BLOB NOT NULL,
    uploaded_by INTEGER NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX attachments_appeal ON attachments(appeal_id, id);

CREATE TRIGGER attachments_append_only_update BEFORE UPDATE ON attachments
BEGIN
    SELECT RAISE(ABORT, 'attachments are append-only');
END;

CREATE TRIGGER attachments_append_only_delete BEFORE DELETE ON attachments
BEGIN
    SELECT RAISE(ABORT, 'attachments are append-only');
END;
