-- Smart dispatch. Models are derived (retrained from the appeals) and stay out of backups;
-- suggestions are the record of what the platform advised, kept beside what was chosen.
CREATE TABLE models (
    id         BIGSERIAL PRIMARY KEY,
    kind       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    meta       TEXT NOT NULL,
    body       BYTEA NOT NULL
);
CREATE INDEX models_kind ON models(kind, id);

CREATE TABLE suggestions (
    appeal_id     BIGINT NOT NULL,
    stage         TEXT NOT NULL,
    at            BIGINT NOT NULL,
    model_version BIGINT,
    units         TEXT NOT NULL,
    categories    TEXT NOT NULL,
    PRIMARY KEY (appeal_id, stage)
);
CREATE INDEX suggestions_at ON suggestions(at);
