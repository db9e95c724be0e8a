-- The list sorted by "the deadline that runs out first, appeals with none last" (`sort=due`)
-- orders by COALESCE(next_due, i64::MAX) (`query::order_clause`). Without an index on that
-- expression every such page sorted the whole table: 1.85 s for page 1 at 1,000,000 appeals
-- (`bihuan bench-metrics`). The expression must stay the same text as the query's.
CREATE INDEX appeals_due_first ON appeals(COALESCE(next_due, 9223372036854775807), id);
