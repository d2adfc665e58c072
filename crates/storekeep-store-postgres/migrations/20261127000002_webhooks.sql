-- Outbound webhooks: the endpoints a shop registers and every delivery
-- attempt to them. Secrets are sealed with the keyring.

CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url text NOT NULL,
    description text NOT NULL,
    -- array of event types; empty = every type
    events jsonb NOT NULL,
    secret_sealed text NOT NULL,
    previous_secret_sealed text,
    previous_secret_expires_at timestamptz,
    status text NOT NULL CHECK (status IN ('enabled', 'disabled')),
    disabled_reason text,
    failing_since timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id);

CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id text NOT NULL,
    event_type text NOT NULL,
    attempt bigint NOT NULL,
    at timestamptz NOT NULL,
    status_code bigint,
    error text,
    latency_ms bigint NOT NULL,
    response_excerpt text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'abandoned'))
);

CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (tenant_id, endpoint_id, id);
