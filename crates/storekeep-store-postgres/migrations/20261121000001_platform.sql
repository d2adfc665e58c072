-- Platform-level tables: plans and tenants. Never edit an applied migration;
-- add a new one (expand/contract for changes to live tables).

CREATE TABLE plans (
    id uuid PRIMARY KEY,
    name text NOT NULL CONSTRAINT plans_name_key UNIQUE,
    max_products bigint NOT NULL CHECK (max_products >= 0),
    max_staff bigint NOT NULL CHECK (max_staff >= 0),
    storage_bytes bigint NOT NULL CHECK (storage_bytes >= 0),
    api_requests_per_minute bigint NOT NULL CHECK (api_requests_per_minute >= 0),
    auth_requests_per_minute bigint NOT NULL CHECK (auth_requests_per_minute >= 0),
    search_requests_per_minute bigint NOT NULL CHECK (search_requests_per_minute >= 0),
    admin_requests_per_minute bigint NOT NULL CHECK (admin_requests_per_minute >= 0),
    created_at timestamptz NOT NULL
);

-- The plan a tenant gets when none is named (PlanLimits::default()).
INSERT INTO plans VALUES (
    '00000000-0000-7000-8000-000000000001', 'default',
    10000, 25, 10737418240, 6000, 30, 1200, 1200,
    '2026-11-21T00:00:00+00:00'
);

CREATE TABLE tenants (
    id uuid PRIMARY KEY,
    slug text NOT NULL CONSTRAINT tenants_slug_key UNIQUE,
    name text NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'suspended')),
    plan_id uuid NOT NULL REFERENCES plans (id),
    settings jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE tenant_domains (
    domain text PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX tenant_domains_tenant_id ON tenant_domains (tenant_id);
