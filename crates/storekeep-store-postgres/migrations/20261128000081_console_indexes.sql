-- The console's lists: a shop's staff or customers by id (the users'
-- unique key leads with coalesce(tenant_id, ''), which a plain
-- `tenant_id = $1` cannot use, so the list walked every shop's users), and
-- a shop's jobs in one state by id ("needs attention" counts the dead ones;
-- `jobs_tenant` alone walked every job the shop keeps).
CREATE INDEX users_tenant_kind ON users (tenant_id, kind, id);
CREATE INDEX jobs_tenant_state ON jobs (tenant_id, state, id) WHERE tenant_id IS NOT NULL;
