-- Smart dispatch. Models are derived (retrained from the appeals) and stay out of backups;
-- suggestions are the record of what the platform advised, kept beside what was chosen.
CREATE TABLE models (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    meta       TEXT NOT NULL,
    body       BLOB NOT NULL
);
CREATE INDEX models_kind ON models(kind, id);

CREATE TABLE suggestions (
    appeal_id     INTEGER NOT NULL,
    stage         TEXT NOT NULL,
    at            INTEGER NOT NULL,
    model_version INTEGER,
    units         TEXT NOT NULL,
    categories    TEXT NOT NULL,
    PRIMARY KEY (appeal_id, stage)
);
CREATE INDEX suggestions_at ON suggestions(at);
