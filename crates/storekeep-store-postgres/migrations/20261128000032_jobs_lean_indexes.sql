-- Every claim and every completion rewrites a job's row, and the row's
-- indexes get a new entry each time (the state changes, so no HOT update).
-- Most jobs have no unique key, and platform jobs no shop: indexing only
-- the rows that have one saves two of the nine entries a job's run writes.
-- `ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL` infers this index.
ALTER TABLE jobs DROP CONSTRAINT jobs_unique_key_key;
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key) WHERE unique_key IS NOT NULL;
DROP INDEX jobs_tenant;
CREATE INDEX jobs_tenant ON jobs (tenant_id, id) WHERE tenant_id IS NOT NULL;
