-- Background jobs: one table for every queue. A scheduled job is
-- 'available' with run_at in the future. Times are RFC 3339 text (UTC),
-- which sorts as time.

CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    queue TEXT NOT NULL,
    tenant_id TEXT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN
        ('available', 'running', 'retryable', 'completed', 'dead', 'discarded')),
    priority INTEGER NOT NULL,
    run_at TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
    lease_token TEXT,
    locked_until TEXT,
    locked_by TEXT,
    last_error TEXT,
    errors TEXT NOT NULL DEFAULT '[]',
    unique_key TEXT UNIQUE,
    created_at TEXT NOT NULL,
    finished_at TEXT
) STRICT;

-- The claim: a queue's due jobs, smaller priority first, then oldest.
CREATE INDEX jobs_claim ON jobs (queue, state, priority, run_at);
-- The rescuer: running jobs by the end of their lease.
CREATE INDEX jobs_leases ON jobs (locked_until) WHERE state = 'running';
-- Queue figures, read without the completed history.
CREATE INDEX jobs_open ON jobs (queue, state, run_at)
    WHERE state IN ('available', 'retryable', 'running', 'dead');
-- Pruning completed jobs.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state = 'completed';
-- A shop's jobs, newest first.
CREATE INDEX jobs_tenant ON jobs (tenant_id, id);
