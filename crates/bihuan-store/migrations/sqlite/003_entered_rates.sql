-- Headline rates that come from outside the platform (surveys, the integrated-application
-- module), entered per period with their source. Every entry is kept; the latest per period and
-- rate is the one shown.
CREATE TABLE entered_rates (
    id         INTEGER PRIMARY KEY,
    period     TEXT NOT NULL,
    name       TEXT NOT NULL,
    value      REAL NOT NULL,
    source     TEXT NOT NULL,
    entered_by INTEGER NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX entered_rates_period ON entered_rates(period, name, id);
