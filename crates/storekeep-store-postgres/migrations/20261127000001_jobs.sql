-- Background jobs: one table for every queue. A scheduled job is
-- 'available' with run_at in the future.

CREATE TABLE jobs (
    id uuid PRIMARY KEY,
    kind text NOT NULL,
    queue text NOT NULL,
    tenant_id uuid,
    payload jsonb NOT NULL,
    state text NOT NULL CHECK (state IN
        ('available', 'running', 'retryable', 'completed', 'dead', 'discarded')),
    priority integer NOT NULL,
    run_at timestamptz NOT NULL,
    attempt integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts integer NOT NULL CHECK (max_attempts >= 1),
    lease_token uuid,
    locked_until timestamptz,
    locked_by text,
    last_error text,
    errors jsonb NOT NULL DEFAULT '[]',
    unique_key text UNIQUE,
    created_at timestamptz NOT NULL,
    finished_at timestamptz
);

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
