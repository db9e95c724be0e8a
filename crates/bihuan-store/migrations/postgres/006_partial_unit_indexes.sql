-- An appeal has no lead unit until it is dispatched and no owner until someone signs for it, and
-- nothing looks appeals up by a missing lead or owner (the lists filter `lead = ?`, `owner = ?`,
-- which imply a value). Indexing only appeals that have one spares every registration two index
-- entries, and every dispatch and signing the removal of the empty one.
DROP INDEX IF EXISTS appeals_lead;
CREATE INDEX appeals_lead ON appeals(lead, id) WHERE lead IS NOT NULL;
DROP INDEX IF EXISTS appeals_owner;
CREATE INDEX appeals_owner ON appeals(owner) WHERE owner IS NOT NULL;
