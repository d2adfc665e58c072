-- The outbox's events are handed to their destinations (an email job, one
-- job per subscribed webhook endpoint) by the dispatcher, in one
-- transaction with the jobs it creates. `dispatched_at` records that hand-
-- over; delivery itself is each job's business.
ALTER TABLE outbox_events RENAME COLUMN delivered_at TO dispatched_at;

-- Events written before this version had no destinations: nothing is owed
-- for them, and a shop upgrading must not receive months of old emails.
UPDATE outbox_events SET dispatched_at = created_at WHERE dispatched_at IS NULL;
