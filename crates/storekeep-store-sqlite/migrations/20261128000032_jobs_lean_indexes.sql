-- Platform jobs have no shop: index only the rows that have one, so a
-- job's claim and completion write one entry less (PostgreSQL's migration
-- of the same number also narrows the unique key's index; here that index
-- is the column's own constraint, which only a rebuild of the table could
-- change, not worth it for SQLite's write path).
DROP INDEX jobs_tenant;
CREATE INDEX jobs_tenant ON jobs (tenant_id, id) WHERE tenant_id IS NOT NULL;
