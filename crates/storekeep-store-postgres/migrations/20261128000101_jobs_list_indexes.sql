-- Every shop's jobs by state, newest first (the operators' jobs page):
-- read from an index that stops at the page's limit instead of walking
-- every job. A shop's jobs by state have `jobs_tenant_state` (migration
-- 20261128000081).
CREATE INDEX jobs_state ON jobs (state, id);
