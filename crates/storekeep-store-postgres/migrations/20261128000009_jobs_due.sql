-- The claim reads a queue's due jobs in (priority, run_at, id) order. The
-- old index led with `state`, so a claim over two states ('available',
-- 'retryable') had to sort every due job of the queue for each claim,
-- which made a backlog slower to drain the longer it was. This one holds
-- only waiting jobs, already in claim order.
DROP INDEX jobs_claim;
CREATE INDEX jobs_due ON jobs (queue, priority, run_at, id)
    WHERE state IN ('available', 'retryable');
