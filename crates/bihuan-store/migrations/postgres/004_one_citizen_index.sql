-- `appeals_citizen_category (citizen_key, category, registered_at)` answers every look-up by
-- caller (its first column), so `appeals_citizen` only cost writes: the key is a hash, so each
-- registration dirtied one more page at a random place in it (4 KiB more log and checkpoint
-- per registration, measured by `bihuan bench`).
DROP INDEX IF EXISTS appeals_citizen;
