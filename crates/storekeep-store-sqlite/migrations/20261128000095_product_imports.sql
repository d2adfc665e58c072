-- Background CSV imports of products (the console's upload). The file sits
-- in the media object store under `object_key` until the import ends; a
-- job imports it batch by batch and records its progress here, so staff
-- see how far it got. `errors` holds the first row errors (at most the
-- bulk import's reporting cap) as a JSON array of {line, column, message}.
-- Listed newest first per shop: the (tenant_id, id) index (ids are UUIDv7).
CREATE TABLE product_imports (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    format TEXT NOT NULL,
    object_key TEXT NOT NULL,
    total_rows INTEGER,
    rows_done INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    not_imported INTEGER NOT NULL DEFAULT 0,
    errors TEXT NOT NULL DEFAULT '[]',
    failure TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX product_imports_tenant ON product_imports (tenant_id, id);
