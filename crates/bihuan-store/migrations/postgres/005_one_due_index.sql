-- `appeals_overdue (next_due, lead, township, category, channel, kind)` starts with `next_due`,
-- so it answers every look-up by due time that `appeals_next_due (next_due)` did (the overdue
-- scan, the overdue filter, the counts); the narrower index only cost one more B-tree insert on
-- every write that changes a deadline (`bihuan bench` measures registrations).
DROP INDEX IF EXISTS appeals_next_due;
