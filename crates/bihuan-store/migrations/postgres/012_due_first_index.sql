-- The list sorted by "the deadline that runs out first, appeals with none last" (`sort=due`)
-- orders by COALESCE(next_due, i64::MAX) (`query::order_clause`); without an index on that
-- expression every such page sorted the whole table. Same text as the query's.
CREATE INDEX IF NOT EXISTS appeals_due_first ON appeals ((COALESCE(next_due, 9223372036854775807)), id);
