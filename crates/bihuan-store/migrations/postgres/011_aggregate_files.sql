-- Files an aggregate's events refer to (an application's materials, a campaign item's
-- evidence), written in the same transaction as the event that names them. A file is named by
-- the SHA-256 of its bytes within its aggregate, so the event can carry the name before the row
-- exists, and the same file handed in twice is stored once. Never updated or deleted.
CREATE TABLE aggregate_files (
    kind        TEXT NOT NULL,
    aggregate   BIGINT NOT NULL,
    sha256      TEXT NOT NULL,
    mime        TEXT NOT NULL,
    size        BIGINT NOT NULL,
    data        BYTEA NOT NULL,
    uploaded_by BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (kind, aggregate, sha256)
);

CREATE TRIGGER aggregate_files_append_only BEFORE UPDATE OR DELETE ON aggregate_files
    FOR EACH ROW EXECUTE FUNCTION bihuan_append_only();
