-- Background CSV imports of products (the console's upload). The file sits
-- in the media object store under `object_key` until the import ends; a
-- job imports it batch by batch and records its progress here, so staff
-- see how far it got. `errors` holds the first row errors (at most the
-- bulk import's reporting cap) as a JSON array of {line, column, message}.
-- Listed newest first per shop: the (tenant_id, id) index (ids are UUIDv7).
CREATE TABLE product_imports (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    status text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    format text NOT NULL,
    object_key text NOT NULL,
    total_rows bigint,
    rows_done bigint NOT NULL DEFAULT 0,
    created bigint NOT NULL DEFAULT 0,
    updated bigint NOT NULL DEFAULT 0,
    not_imported bigint NOT NULL DEFAULT 0,
    errors jsonb NOT NULL DEFAULT '[]',
    failure text,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    finished_at timestamptz
);
CREATE INDEX product_imports_tenant ON product_imports (tenant_id, id);
