-- Platform-level tables: plans and tenants. Never edit an applied migration;
-- add a new one.

CREATE TABLE plans (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL CONSTRAINT plans_name_key UNIQUE,
    max_products INTEGER NOT NULL CHECK (max_products >= 0),
    max_staff INTEGER NOT NULL CHECK (max_staff >= 0),
    storage_bytes INTEGER NOT NULL CHECK (storage_bytes >= 0),
    api_requests_per_minute INTEGER NOT NULL CHECK (api_requests_per_minute >= 0),
    auth_requests_per_minute INTEGER NOT NULL CHECK (auth_requests_per_minute >= 0),
    search_requests_per_minute INTEGER NOT NULL CHECK (search_requests_per_minute >= 0),
    admin_requests_per_minute INTEGER NOT NULL CHECK (admin_requests_per_minute >= 0),
    created_at TEXT NOT NULL
) STRICT;

-- The plan a tenant gets when none is named (PlanLimits::default()).
INSERT INTO plans VALUES (
    '00000000-0000-7000-8000-000000000001', 'default',
    10000, 25, 10737418240, 6000, 30, 1200, 1200,
    '2026-11-21T00:00:00+00:00'
);

CREATE TABLE tenants (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL CONSTRAINT tenants_slug_key UNIQUE,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    plan_id TEXT NOT NULL REFERENCES plans (id),
    settings TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE tenant_domains (
    domain TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE
) STRICT;

CREATE INDEX tenant_domains_tenant_id ON tenant_domains (tenant_id);
