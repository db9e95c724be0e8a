-- Each running deadline in a column of its own, for lists sorted by one chosen deadline (交办、
-- 签收、首次联系、答复期限): NULL when that deadline is not running. Written with the state row
-- (`save_appeal`); rows from before this migration are filled once when the store opens (meta
-- key `deadline_columns`). Partial indexes: only running deadlines are indexed, so the write
-- cost falls on open appeals and a sorted list reads its first page from the index.
ALTER TABLE appeals ADD COLUMN dispatch_due BIGINT;
ALTER TABLE appeals ADD COLUMN sign_due BIGINT;
ALTER TABLE appeals ADD COLUMN contact_due BIGINT;
ALTER TABLE appeals ADD COLUMN reply_due BIGINT;
CREATE INDEX appeals_dispatch_due ON appeals(dispatch_due, id) WHERE dispatch_due IS NOT NULL;
CREATE INDEX appeals_sign_due ON appeals(sign_due, id) WHERE sign_due IS NOT NULL;
CREATE INDEX appeals_contact_due ON appeals(contact_due, id) WHERE contact_due IS NOT NULL;
CREATE INDEX appeals_reply_due ON appeals(reply_due, id) WHERE reply_due IS NOT NULL;
